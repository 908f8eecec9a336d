"""What a staff member does to a municipal workbook in Excel: type into a cell, read a
column. The demo plays the staff member with it; the client itself never edits a
workbook in place."""

from __future__ import annotations

from pathlib import Path

from securexchange.schema import HEADER_ACTIVITY, HEADER_RECORD_ID
from securexchange.sheets.layout import DATA_SHEET, FIRST_DATA_ROW, HEADERS


def type_status(path: Path, status: str, *, rows: int) -> int:
    """Type ``status`` in the activity column of the first ``rows`` records and save, as
    Excel would. Returns how many rows were typed in."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    sheet = book[DATA_SHEET]
    id_col = HEADERS.index(HEADER_RECORD_ID) + 1
    status_col = HEADERS.index(HEADER_ACTIVITY) + 1
    typed = 0
    for row in range(FIRST_DATA_ROW, sheet.max_row + 1):
        if typed < rows and sheet.cell(row, id_col).value:
            sheet.cell(row, status_col).value = status
            typed += 1
    book.save(path)
    book.close()
    return typed


def column_texts(path: Path, header: str) -> list[str]:
    """The non-empty text values of one column of the data sheet, top to bottom."""
    import openpyxl

    column = HEADERS.index(header)
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return [
            value
            for row in book[DATA_SHEET].iter_rows(min_row=FIRST_DATA_ROW, values_only=True)
            if len(row) > column and isinstance(value := row[column], str) and value
        ]
    finally:
        book.close()
