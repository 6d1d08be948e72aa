"""One list as an .xlsx table: a heading row in the red of the exports, text never run as a formula."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from engine.clock import SHANGHAI

ABOUT_TITLE = "导出说明"


def taken(now: datetime, exporter: str) -> list[tuple[str, str]]:
    """The first lines of an export's ``about``: when it was taken (Beijing time, by the system's clock) and by whom."""
    return [("导出时间", f"{now.astimezone(SHANGHAI):%Y-%m-%d %H:%M}（北京时间，按本系统的时钟）"), ("导出人", exporter)]


def table_workbook(title: str, headings: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[int],
                   date_columns: Sequence[int] = (), about: Sequence[tuple[str, Any]] = ()) -> bytes:
    """An .xlsx of one sheet ``title``: bold white headings on red, the rows, column ``widths``, the heading
    row frozen and filtered; ``date_columns`` (0-based) shown as yyyy-mm-dd. A text cell such as "=..."
    typed into a name stays text: openpyxl would store it as a formula for the spreadsheet to run.
    ``about`` (label, value) pairs, such as when the list was taken and how it was filtered, go on a second
    sheet, ``导出说明``, with the number of rows."""
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(list(headings))
    _heading(sheet[1])
    for row in rows:
        sheet.append(list(row))
    _as_text(sheet, 2)
    for row in sheet.iter_rows(min_row=2):
        for column in date_columns:
            row[column].number_format = "yyyy-mm-dd"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headings))}{sheet.max_row}"
    if about:
        notes = book.create_sheet(ABOUT_TITLE)
        notes.append(["项目", "内容"])
        _heading(notes[1])
        for label, value in [*about, ("行数", sheet.max_row - 1)]:
            notes.append([label, value])
        _as_text(notes, 2)
        notes.column_dimensions["A"].width, notes.column_dimensions["B"].width = 16, 60
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _heading(cells: Sequence[Any]) -> None:
    for cell in cells:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="A31515")


def _as_text(sheet: Any, first_row: int) -> None:
    """Keep every cell from ``first_row`` on that openpyxl took for a formula as the text it is."""
    for row in sheet.iter_rows(min_row=first_row):
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
