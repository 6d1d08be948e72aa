"""Unified social credit code (统一社会信用代码, GB 32100-2015): validation and check character."""

from __future__ import annotations

import unicodedata

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters, values 0..30 (no I O S V Z)
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
_VALUES = {c: i for i, c in enumerate(CHARSET)}


class CreditCodeError(ValueError):
    """Invalid credit code; str() is the English message, position is 1-based when a character is at fault."""

    def __init__(self, message_en: str, message_zh: str | None = None, position: int | None = None) -> None:
        super().__init__(message_en)
        self.message_en, self.message_zh, self.position = message_en, message_zh or message_en, position


def normalise(code: str) -> str:
    """Fold full-width characters (NFKC), strip all whitespace and uppercase."""
    return "".join(unicodedata.normalize("NFKC", str(code)).split()).upper()


def _bad_char(code: str, allowed: str) -> None:
    """Raise for the first character of code outside allowed."""
    for pos, char in enumerate(code, start=1):
        if char not in allowed:
            hint = "" if allowed != CHARSET else " (I, O, S, V and Z are never used)"
            hint_zh = "" if allowed != CHARSET else "（不使用 I、O、S、V、Z）"
            raise CreditCodeError(f"invalid character {char!r} at position {pos}{hint}",
                                  f"第 {pos} 位字符“{char}”无效{hint_zh}", pos)


def check_character(prefix17: str) -> str:
    """Check character for the first 17 characters (already normalised and valid)."""
    remainder = sum(_VALUES[c] * w for c, w in zip(prefix17, WEIGHTS, strict=True)) % 31
    return CHARSET[(31 - remainder) % 31]


def validate_credit_code(code: str) -> str:
    """Return the normalised code, or raise CreditCodeError saying precisely what is wrong."""
    if not isinstance(code, str):
        raise CreditCodeError("credit code must be text", "统一社会信用代码必须是文本")
    code = normalise(code)
    if len(code) != LENGTH:
        raise CreditCodeError(f"credit code must have {LENGTH} characters, found {len(code)}",
                              f"统一社会信用代码应为 {LENGTH} 位，实际为 {len(code)} 位")
    _bad_char(code, CHARSET)
    division = code[2:8]
    if not division.isascii() or not division.isdigit():
        pos = next(i for i, c in enumerate(division, start=3) if c not in "0123456789")
        raise CreditCodeError(f"invalid character {code[pos - 1]!r} at position {pos} "
                              "(positions 3-8, the administrative division code, must be digits)",
                              f"第 {pos} 位字符“{code[pos - 1]}”无效（第 3-8 位行政区划码必须是数字）", pos)
    expected = check_character(code[:17])
    if code[17] != expected:
        raise CreditCodeError(f"wrong check character at position 18: expected {expected!r}, "
                              f"found {code[17]!r}",
                              f"第 18 位校验码错误：应为“{expected}”，实际为“{code[17]}”", 18)
    return code


def make_credit_code(prefix17: str) -> str:
    """Append the check character to a 17-character prefix (demo data and tests)."""
    prefix = normalise(prefix17)
    if len(prefix) != 17:
        raise CreditCodeError(f"prefix must have 17 characters, found {len(prefix)}",
                              f"前缀应为 17 位，实际为 {len(prefix)} 位")
    _bad_char(prefix, CHARSET)
    return validate_credit_code(prefix + check_character(prefix))
