"""Bulk intake (C-4.1 screening of the five key industries): read an .xlsx, check every row, then create.

Nothing is created while reading or previewing. An upload is kept as a *batch*: a JSON
file in a folder the caller names, keyed by a random token and bound to the user who
uploaded it; creating from it starts one case per valid row, each its own transaction
(``intake.open_case``), and records per row the case id or the reasons it was refused,
so a batch can be worked in chunks and never creates a row twice. A row that repeats an earlier
row's enterprise and dimension is refused, in the preview and again on creation, naming that row;
so is a row whose enterprise has an open case of the dimension, naming the case.
Who may call: staff of a department that may lead some dimension, administrators, the CLI.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import secrets
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from engine.context import Actor, EngineContext
from engine.errors import CapexitError, Conflict, InvalidInput, NotFound, Problem
from engine.parties import DIMENSIONS, INDUSTRIES, party_name
from engine.services import cases, enterprises, intake

MAX_ROWS = 2000
BATCH_LIFETIME = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
HEADINGS = {key: label for key, (label, *_rest) in intake.FIELDS.items()}


def _norm(text: Any) -> str:
    return "".join(unicodedata.normalize("NFKC", str(text or "")).split()).strip("*＊")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
    return str(value).strip()


def read_workbook(data: bytes) -> list[dict[str, Any]]:
    """The data rows of the first sheet as ``{"line", "values"}``; InvalidInput for a file that is not the template."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise InvalidInput("文件不是有效的 Excel 工作簿（.xlsx）", "the file is not a valid Excel workbook (.xlsx)") from None
    try:
        sheet = book["案件"] if "案件" in book.sheetnames else book.worksheets[0]
        lines = sheet.iter_rows(max_col=40, values_only=True)
        top = next(lines, None) or ()
        wanted = {_norm(label): key for key, label in HEADINGS.items()}
        columns = {wanted[_norm(h)]: i for i, h in enumerate(top) if _norm(h) in wanted}
        missing = [HEADINGS[k] for k in intake.REQUIRED if k not in columns]
        if missing:
            raise InvalidInput(f"第一行缺少列：{'、'.join(missing)}（请使用导入模板）",
                               f"the first row lacks the columns {', '.join(missing)} (use the template)")
        rows = []
        for number, line in enumerate(lines, start=2):
            values = {key: _cell(line[i]) if i < len(line) else "" for key, i in columns.items()}
            if not any(values.values()):
                continue
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(f"一次最多导入 {MAX_ROWS} 行", f"at most {MAX_ROWS} rows per import")
            rows.append({"line": number, "values": values})
    finally:
        book.close()
    if not rows:
        raise InvalidInput("工作簿中没有数据行", "the workbook has no data rows")
    return rows


@dataclass
class RowCheck:
    """One row as the preview shows it: its values, its problems, and the open cases it would repeat."""

    line: int
    values: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    lead_department: str | None = None
    dimension: str | None = None
    credit_code: str | None = None  # normalised (upper case), as it will be stored; None when not valid
    industry: str | None = None
    county: str | None = None  # as the case will have it (a registered enterprise's from the register)
    running: list[int] = field(default_factory=list)  # open cases of the same enterprise and dimension

    @property
    def valid(self) -> bool:
        """True when the row has no problem and will be created on confirmation."""
        return not self.problems


def check_rows(ctx: EngineContext, actor: Actor, rows: list[dict[str, Any]]) -> list[RowCheck]:
    """Check every row without creating anything; every problem of a row is listed.

    A row of a registered enterprise is checked against the register, a row of a new one against
    the first row that gives the same credit code (which will register it). A row whose enterprise
    and dimension repeat an earlier row's, or those of an open case, is refused (``repeated_rows``,
    ``cases.running_cases``): one finding must not run two legal clocks.
    """
    intake.allowed_dimensions(actor)
    register = enterprises.registered_for(ctx, (str(r["values"].get("credit_code") or "") for r in rows))
    keys = {row["line"]: intake.case_key(row["values"]) for row in rows}
    with ctx.reading() as session:
        running = cases.running_cases(session, (key for key in keys.values() if key))
    repeats = repeated_rows(rows)
    earlier: dict[str, tuple[int, dict[str, str]]] = {}  # a new enterprise's first row: later rows must agree
    out = []
    for row in rows:
        line, values = row["line"], row["values"]
        checked = intake.check_values(actor, values, register=register)
        request = checked.request
        problems = [repeat_problem(repeats[line], str(values.get("equipment") or ""))] if line in repeats else []
        key = keys[line]
        if key in running:
            problems.append(cases.running_case_problem(running[key], str(values.get("equipment") or "")))
        problems += checked.problems
        if request is not None and request.enterprise["credit_code"] not in register:
            problems += _against_earlier_row(earlier, line, request.enterprise)
        out.append(RowCheck(line, values, problems, checked.lead_department,
                            request.dimension if request else intake.dimension_of(str(values.get("dimension") or "")),
                            intake.valid_code(str(values.get("credit_code") or "").strip()) or None,
                            request.enterprise["industry"] if request else None,
                            request.enterprise.get("county") if request else None,
                            running.get(key, []) if key else []))
    return out


def repeated_rows(rows: list[dict[str, Any]]) -> dict[int, int]:
    """Line -> the earliest line it repeats: the same finding (``cases.same_finding``)."""
    earlier: dict[tuple[str, str], list[tuple[str, int]]] = {}  # (code, dimension) -> (equipment, line) of rows
    repeats: dict[int, int] = {}
    for row in rows:
        key = intake.case_key(row["values"])
        if key is None:
            continue
        seen = earlier.setdefault(key[:2], [])
        first = next((line for equipment, line in seen if cases.same_finding(key[2], equipment)), None)
        if first is not None:
            repeats[row["line"]] = first
        seen.append((key[2], row["line"]))
    return repeats


def repeat_problem(first_line: int, equipment: str = "") -> Problem:
    """The refusal of a row that repeats an earlier row's finding, naming that row and the equipment."""
    named = equipment.strip()
    if named:
        return Problem(f"与第 {first_line} 行重复：同一企业、同一类别、同一设备「{named}」的发现在本表中只能出现一次",
                       f"repeats row {first_line}: one finding (enterprise, category, equipment {named}) per sheet")
    return Problem(f"与第 {first_line} 行重复：本行未写明涉及设备，无法与第 {first_line} 行的同类发现区分；"
                   "另一条生产线、另一台设备或另一种产品，请在“涉及设备”中写明",
                   f"repeats row {first_line}: this row names no equipment, so it cannot be told apart from the "
                   f"finding of row {first_line}; for another line, furnace or product, name it under equipment")


def _against_earlier_row(earlier: dict[str, tuple[int, dict[str, str]]], line: int,
                         enterprise: dict[str, Any]) -> list[Problem]:
    """A new enterprise's details against the first row that gives its credit code (which registers it)."""
    code = enterprise["credit_code"]
    if code not in earlier:
        earlier[code] = (line, {k: str(enterprise.get(k) or "") for k in ("credit_code", *enterprises.DETAILS)})
        return []
    first_line, first = earlier[code]
    return enterprises.reconcile(first, enterprise, first_line)[1]


def template_workbook() -> bytes:
    """The import template: the heading row, drop-down lists, and a sheet explaining each column."""
    book = Workbook()
    sheet = book.active
    sheet.title = "案件"
    sheet.append(list(HEADINGS.values()))
    for i, cell in enumerate(sheet[1]):
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="A31515")
        cell.alignment = Alignment(horizontal="center")
        sheet.column_dimensions[cell.column_letter].width = (24, 24, 14, 12, 30, 14, 22, 34, 30, 24, 24, 14)[i]
    sheet.freeze_panes = "A2"
    for row in range(2, MAX_ROWS + 2):
        sheet.cell(row=row, column=2).number_format = "@"
    lists = book.create_sheet("代码表")
    columns = {"县市区": list(intake.COUNTIES), "行业": [n[0] for n in INDUSTRIES.values()],
               "类别": [d.name_zh for d in DIMENSIONS.values()] + ["环保（固体废物）"],
               "牵头部门": [party_name(c) for c in intake.lead_departments()]}
    for col, (title, items) in enumerate(columns.items(), start=1):
        lists.cell(row=1, column=col, value=title).font = Font(bold=True)
        for row, item in enumerate(items, start=2):
            lists.cell(row=row, column=col, value=item)
        letter = lists.cell(row=1, column=col).column_letter
        lists.column_dimensions[letter].width = 22
        target = {"县市区": "C", "行业": "D", "类别": "F", "牵头部门": "G"}[title]
        check = DataValidation(type="list", formula1=f"代码表!${letter}$2:${letter}${len(items) + 1}",
                               allow_blank=True, showErrorMessage=False)
        check.add(f"{target}2:{target}{MAX_ROWS + 1}")
        sheet.add_data_validation(check)
    notes = book.create_sheet("填写说明")
    notes.append(["列", "说明"])
    for key, text in (("name", "必填"), ("credit_code", "必填，18 位，按 GB 32100-2015 校验；已登记的企业，企业名称、县市区、行业可空"
                                      "（取登记信息），填写的须与登记信息一致，如需更正请由管理员更正"),
                      ("county", "必填，济宁市所辖县市区及功能区，见“代码表”"),
                      ("industry", "必填，钢铁、煤炭、水泥、电解铝、平板玻璃或其他（也可填代码，如 steel）"),
                      ("dimension", "必填，能耗、环保、质量、安全、技术、产能退出；固体废物严重污染环境填“环保（固体废物）”"),
                      ("lead_department", "可空：按类别和行业确定（煤炭行业的能耗、技术、安全类由市能源局牵头）"),
                      ("standard", "必填，如强制性能耗限额标准编号，或《产业结构调整指导目录（2019年本）》淘汰类条目"),
                      ("capacity_tpy", "数字，单位吨/年")):
        notes.append([HEADINGS[key], text])
    notes.column_dimensions["A"].width, notes.column_dimensions["B"].width = 24, 90
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _path(folder: Path, token: str) -> Path:
    if not _TOKEN.match(token or ""):
        raise NotFound("导入批次不存在或已过期", "no such import batch, or it has expired")
    return Path(folder) / f"{token}.json"


def _write(path: Path, batch: dict[str, Any]) -> None:
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(batch, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)


def save_batch(folder: Path, owner: str, filename: str, rows: list[dict[str, Any]]) -> str:
    """Keep parsed rows for the confirm step; returns the batch token (batches older than a day are removed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.*"):
        if old.stat().st_mtime < time.time() - BATCH_LIFETIME:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    _write(_path(folder, token), {"owner": owner, "filename": filename[:200], "created": time.time(),
                                  "rows": rows, "results": {}})
    return token


def load_batch(folder: Path, owner: str, token: str) -> dict[str, Any]:
    """A batch of this owner's (NotFound for another user's, an unknown or an expired one)."""
    path = _path(folder, token)
    try:
        batch = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise NotFound("导入批次不存在或已过期", "no such import batch, or it has expired") from None
    if batch.get("owner") != owner or batch.get("created", 0) < time.time() - BATCH_LIFETIME:
        raise NotFound("导入批次不存在或已过期", "no such import batch, or it has expired")
    return batch


def create_from_batch(ctx: EngineContext, actor: Actor, folder: Path, token: str,
                      limit: int | None = None) -> dict[str, Any]:
    """Create the next ``limit`` rows of a batch (all when None), each in its own transaction; returns progress."""
    intake.allowed_dimensions(actor)
    path = _path(folder, token)
    with open(path.with_suffix(".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict("该批次正在创建中，请稍候", "this batch is being created already; wait for it") from None
        batch = load_batch(folder, actor.username, token)
        results = batch["results"]
        pending = [r for r in batch["rows"] if str(r["line"]) not in results]
        repeats = repeated_rows(batch["rows"])  # checked again: the preview may be stale or never seen
        for done, row in enumerate(pending[:limit] if limit is not None else pending, start=1):
            line = row["line"]
            results[str(line)] = (_refused([repeat_problem(repeats[line], str(row["values"].get("equipment") or ""))])
                                  if line in repeats
                                  else create_row(ctx, actor, row["values"]))
            if done % 20 == 0:
                _write(path, batch)
        _write(path, batch)
    return progress(batch)


def create_row(ctx: EngineContext, actor: Actor, values: dict[str, str]) -> dict[str, Any]:
    """Start one row's case; ``{"case_id"}`` or ``{"errors": [[zh, en], ...]}``."""
    try:
        return {"case_id": intake.open_case(ctx, actor, values)}
    except CapexitError as exc:
        return _refused(exc.problems or [Problem(exc.message_zh, exc.message_en)])


def _refused(problems: list[Problem]) -> dict[str, Any]:
    return {"errors": [[p.message_zh, p.message_en, p.field] for p in problems]}


def progress(batch: dict[str, Any]) -> dict[str, Any]:
    """How far a batch has got: rows done of total, created case ids (with the credit code as stored) and refused rows."""
    results = batch["results"]
    codes = {str(r["line"]): intake.valid_code(str(r["values"].get("credit_code") or "").strip()) for r in batch["rows"]}
    created = [{"line": int(k), "case_id": v["case_id"], "credit_code": codes.get(k, "")}
               for k, v in results.items() if "case_id" in v]
    failed = [{"line": int(k), "errors": v["errors"]} for k, v in results.items() if "errors" in v]
    return {"total": len(batch["rows"]), "done": len(results), "finished": len(results) >= len(batch["rows"]),
            "created": sorted(created, key=lambda r: r["line"]), "failed": sorted(failed, key=lambda r: r["line"])}
