"""Unified social credit code (GB 32100-2015)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.credit_code import (
    CHARSET,
    CreditCodeError,
    check_character,
    make_credit_code,
    validate_credit_code,
)

# public codes of well-known companies, checked against the algorithm
VALID = ["91350100M000100Y43", "91110000802100433B", "91440300708461136T"]


@pytest.mark.parametrize("code", VALID)
def test_valid_public_codes(code: str) -> None:
    assert validate_credit_code(code) == code


@pytest.mark.parametrize(
    "raw",
    [
        "91350100m000100y43",
        " 9135 0100 M000 100Y 43 ",
        "91350100M000100Y43\n",
        "９１３５０１００Ｍ０００１００Ｙ４３　",  # full-width, ideographic space
    ],
)
def test_normalised(raw: str) -> None:
    assert validate_credit_code(raw) == "91350100M000100Y43"


@pytest.mark.parametrize("code", ["", "9135010", "91350100M000100Y4", "91350100M000100Y433"])
def test_wrong_length(code: str) -> None:
    with pytest.raises(CreditCodeError) as info:
        validate_credit_code(code)
    err = info.value
    assert f"found {len(code)}" in err.message_en and f"实际为 {len(code)} 位" in err.message_zh
    assert err.position is None and str(err) == err.message_en and isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("code", "position", "char"),
    [
        ("I1350100M000100Y43", 1, "I"),
        ("91350100M0001O0Y43", 14, "O"),
        ("91350100M000100S43", 16, "S"),
        ("91350100M000100Y4Z", 18, "Z"),
        ("91350100M00-100Y43", 12, "-"),
        ("91A50100M000100Y43", 3, "A"),  # administrative division must be digits
    ],
)
def test_invalid_character(code: str, position: int, char: str) -> None:
    with pytest.raises(CreditCodeError) as info:
        validate_credit_code(code)
    err = info.value
    assert err.position == position
    assert f"position {position}" in err.message_en and repr(char) in err.message_en
    assert f"第 {position} 位" in err.message_zh and char in err.message_zh


def test_wrong_check_character() -> None:
    with pytest.raises(CreditCodeError) as info:
        validate_credit_code("91350100M000100Y44")
    err = info.value
    assert err.position == 18
    assert "expected '3'" in err.message_en and "found '4'" in err.message_en
    assert "应为“3”" in err.message_zh and "实际为“4”" in err.message_zh


def test_check_character_zero_case() -> None:
    # a prefix whose weighted sum is divisible by 31 gets '0', not CHARSET[31]
    assert check_character("0" * 17) == "0"
    assert validate_credit_code("0" * 18) == "0" * 18


@pytest.mark.parametrize("code", VALID)
def test_make_reproduces_public_codes(code: str) -> None:
    assert make_credit_code(code[:17]) == code
    assert make_credit_code(code[:17].lower()) == code


def test_make_refuses_bad_prefix() -> None:
    with pytest.raises(CreditCodeError):
        make_credit_code("9135")
    with pytest.raises(CreditCodeError) as info:
        make_credit_code("91350100M000100I4")
    assert info.value.position == 16


_PREFIX = st.tuples(
    st.text(CHARSET, min_size=2, max_size=2), st.text("0123456789", min_size=6, max_size=6),
    st.text(CHARSET, min_size=9, max_size=9),
).map("".join)


@settings(max_examples=200, deadline=None)
@given(_PREFIX, st.sampled_from(CHARSET))
def test_make_round_trip_and_single_substitution(prefix: str, other: str) -> None:
    code = make_credit_code(prefix)
    assert validate_credit_code(code) == code
    if other != code[-1]:
        with pytest.raises(CreditCodeError):
            validate_credit_code(code[:-1] + other)


def test_non_string_refused() -> None:
    with pytest.raises(CreditCodeError):
        validate_credit_code(None)  # type: ignore[arg-type]
