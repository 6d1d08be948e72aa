"""Which encoding uploaded XML bytes are in, and whether they keep to it.

Any declared encoding is accepted (deploy stores the text as UTF-8), but the bytes must
match it: lxml's own errors for a mismatch are vague ("Invalid bytes in character
encoding", often on line 1), and some mismatches parse silently into mojibake. So the
bytes are decoded here first, the way the XML specification says (byte order mark, then
the declaration, else UTF-8), and every refusal names the line and column.
"""

from __future__ import annotations

import codecs
import re

from engine.errors import DefinitionInvalid, Problem

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_SIGNATURES = ((b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00?\x00", "utf-16-le"),
               (b"\x00<\x00?", "utf-16-be"))
_DECLARATION = re.compile(r"""<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))
_MISMATCH = ("BPMN 文件的字节与其编码不符", "the BPMN file's bytes do not match its encoding")


def decode_upload(data: bytes) -> tuple[str, str]:
    """Decode XML bytes as their byte order mark or declaration says (UTF-8 if neither); return (text, codec).

    Refuses (``DefinitionInvalid``, naming line and column) bytes that do not decode in
    that encoding, a byte order mark or byte layout that contradicts the declaration,
    unknown encodings and encodings that are not ASCII-compatible (UTF-7, EBCDIC), and
    UTF-8 text declared as a legacy encoding such as GBK (it would deploy as mojibake).
    """
    bom, skip = next(((codec, len(mark)) for mark, codec in _BOMS if data.startswith(mark)), (None, 0))
    layout = bom or next((codec for mark, codec in _SIGNATURES if data.startswith(mark)), "utf-8")
    match = _DECLARATION.match(data[skip:skip + 512].decode(layout, errors="replace"))
    declared = match.group(1).strip() if match else None
    codec = layout if declared is None else _declared_codec(declared, layout, bom)
    body = data[skip:]
    if not codec.startswith("utf") and max(body, default=0) >= 0x80 and _is_utf8(body):
        line, _ = _position(body, "utf-8", next(i for i, byte in enumerate(body) if byte >= 0x80))
        raise DefinitionInvalid(*_MISMATCH, [Problem(
            f"文件声明的编码是 {declared}，但内容是 UTF-8（从第 {line} 行起会变成乱码）：请把声明改为 UTF-8",
            f"the file declares {declared} but its content is UTF-8 (it would turn into mojibake from line {line}): "
            "declare UTF-8 instead", line=line)])
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        line, column = _position(body, codec, exc.start)
        if declared is None:
            zh = (f"文件未声明编码，按 XML 规定以 UTF-8 读取，但第 {line} 行第 {column} 列的字节不是有效的 UTF-8："
                  "请另存为 UTF-8，或在 XML 声明中写明实际编码（如 encoding=\"GBK\"）")
            en = (f"the file declares no encoding, so it is read as UTF-8, but the bytes at line {line}, column "
                  f"{column} are not valid UTF-8: save it as UTF-8 or declare its real encoding "
                  "(e.g. encoding=\"GBK\")")
        else:
            fix_zh, fix_en = (("请另存为 UTF-8，或在声明中写明实际编码（如 GBK）",
                               "save the file as UTF-8 or declare its real encoding (e.g. GBK)") if codec == "utf-8"
                              else ("请按声明的编码保存，或另存为 UTF-8", "save the file in that encoding or as UTF-8"))
            zh = f"第 {line} 行第 {column} 列的字节不符合声明的编码 {declared}：{fix_zh}"
            en = f"the bytes at line {line}, column {column} do not match the declared encoding {declared}: {fix_en}"
        raise DefinitionInvalid(*_MISMATCH, [Problem(zh, en, line=line)]) from None
    return text, codec


def _declared_codec(declared: str, layout: str, bom: str | None) -> str:
    """The codec to decode with, checked against how the bytes are laid out."""
    try:
        codec = codecs.lookup(declared).name
        wide = codec.startswith(("utf-16", "utf-32"))
        usable = wide or _PRINTABLE_ASCII.decode(codec) == _PRINTABLE_ASCII.decode("ascii")
    except (LookupError, UnicodeDecodeError):
        usable = False
    if not usable:
        raise DefinitionInvalid("BPMN 文件声明了不支持的编码", "the BPMN file declares an unsupported encoding", [Problem(
            f"不支持 XML 声明中的编码 {declared!r}：请另存为 UTF-8",
            f"the encoding {declared!r} in the XML declaration is not supported: save the file as UTF-8", line=1)])
    codec = "utf-8" if codec == "utf-8-sig" else codec
    if wide:
        consistent = codec[:6] == layout[:6] and codec in (layout, layout[:6])
    else:
        consistent = layout == "utf-8" and (bom is None or codec == "utf-8")
    if not consistent:
        if bom:
            found_zh, found_en = f"{layout.upper()}（带字节顺序标记）", f"{layout.upper()} (with a byte order mark)"
        elif layout != "utf-8":
            found_zh = found_en = layout.upper()
        else:
            found_zh, found_en = "单字节（兼容 ASCII）编码", "an 8-bit encoding"
        raise DefinitionInvalid(*_MISMATCH, [Problem(
            f"XML 声明的编码是 {declared}，但文件以{found_zh}写成：请把声明改为实际编码，或另存为 UTF-8",
            f"the XML declaration says {declared} but the file is written in {found_en}: declare the real encoding "
            "or save the file as UTF-8", line=1)])
    return layout if wide else codec


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _position(body: bytes, codec: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a byte offset (counting the characters before it)."""
    before = body[:offset].decode(codec, errors="replace")
    return before.count("\n") + 1, len(before) - before.rfind("\n")
