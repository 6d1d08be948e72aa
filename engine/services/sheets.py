"""One list as an .xlsx table: a heading row in the red of the exports, text never run as a formula."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter


def table_workbook(title: str, headings: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[int],
                   date_columns: Sequence[int] = ()) -> bytes:
    """An .xlsx of one sheet ``title``: bold white headings on red, the rows, column ``widths``, the heading
    row frozen and filtered; ``date_columns`` (0-based) shown as yyyy-mm-dd. A text cell such as "=..."
    typed into a name stays text: openpyxl would store it as a formula for the spreadsheet to run."""
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(list(headings))
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="A31515")
    for row in rows:
        sheet.append(list(row))
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
        for column in date_columns:
            row[column].number_format = "yyyy-mm-dd"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headings))}{sheet.max_row}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
