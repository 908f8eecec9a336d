"""Reading municipal workbooks back: a package's rows, and the cells staff may edit.

Two inputs, two levels of trust. The workbook inside a package was written by the
agency and authenticated (signature, digest, AEAD) before it gets here; it is still
parsed strictly (headers, record ids, every value through :class:`schema.Record`),
and a mismatch is :class:`Malformed`. A workbook that ``municipality open`` wrote and
staff edited in Excel is hostile input: it passes :mod:`securexchange.xlsxguard` first,
and only the two editable columns are taken, each value from its closed list.

python-calamine reads (it is fast and writes no temporary files); messages name the
sheet, row and column, never a value.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from securexchange.errors import HostileFile, InvalidWorkbook, Malformed
from securexchange.ids import is_record_id
from securexchange.schema import (
    ACTIVITY_STATUSES,
    HEADER_ACTIVITY,
    HEADER_OUTCOME,
    HEADER_QUALITY,
    HEADER_RECORD_ID,
    HEADER_RETENTION,
    SHARED_HEADERS,
    FieldError,
    Record,
)
from securexchange.workbook import DATA_SHEET, HEADER_ROW, HEADERS, QualityReport, WorkbookRow
from securexchange.xlsxguard import XlsxLimits, inspect_xlsx

_COLUMN = {header: index for index, header in enumerate(HEADERS)}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rows(data: bytes) -> list[list[Any]]:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheet = book.get_sheet_by_name(DATA_SHEET)
    rows: list[list[Any]] = sheet.to_python(skip_empty_area=False)
    return rows


def parse_quality(label: str) -> QualityReport | None:
    """A drop-down label ("Telefoon: foutief") as a report; None for an empty cell.

    Raises ValueError for any other text."""
    if not label:
        return None
    field, sep, problem = label.partition(": ")
    if not sep:
        raise ValueError("not a quality report label")
    return QualityReport(field, problem)


def read_package_rows(data: bytes) -> list[WorkbookRow]:
    """Every row of an authenticated package workbook. Raises Malformed."""
    try:
        rows = _rows(data)
    except Exception:
        raise Malformed("the package's workbook cannot be read") from None
    if len(rows) < HEADER_ROW or tuple(_text(c) for c in rows[HEADER_ROW - 1]) != HEADERS:
        raise Malformed(f"sheet {DATA_SHEET}: the headers are not the package layout")
    result: list[WorkbookRow] = []
    seen: set[str] = set()
    for number, raw in enumerate(rows[HEADER_ROW:], start=HEADER_ROW + 1):
        cells = [_text(c) for c in raw] + [""] * (len(HEADERS) - len(raw))
        if not any(cells):
            continue
        try:
            record_id = cells[_COLUMN[HEADER_RECORD_ID]]
            if not is_record_id(record_id) or record_id in seen:
                raise ValueError("record id")
            seen.add(record_id)
            record = Record.from_cells({h: cells[_COLUMN[h]] for h in SHARED_HEADERS})
            outcome = cells[_COLUMN[HEADER_OUTCOME]] or None
            result.append(
                WorkbookRow(
                    record_id=record_id,
                    record=record,
                    retention=date.fromisoformat(cells[_COLUMN[HEADER_RETENTION]]),
                    status=cells[_COLUMN[HEADER_ACTIVITY]],
                    quality=parse_quality(cells[_COLUMN[HEADER_QUALITY]]),
                    outcome=outcome,
                )
            )
        except (ValueError, FieldError):
            raise Malformed(f"sheet {DATA_SHEET}, row {number}: not a valid record") from None
    return result


@dataclass(frozen=True)
class EditedCells:
    """The editable cells of one row of a staff workbook."""

    record_id: str
    status: str
    quality: QualityReport | None


def read_edited_cells(data: bytes, *, what: str) -> list[EditedCells]:
    """The editable columns of a workbook staff had open. Raises InvalidWorkbook or
    HostileFile; values outside the closed lists are refused by row and column."""
    inspect_xlsx(data, XlsxLimits(), what=what)
    try:
        rows = _rows(data)
    except HostileFile:
        raise
    except Exception:
        raise InvalidWorkbook(f"{what} cannot be read as a workbook") from None
    if len(rows) < HEADER_ROW or tuple(_text(c) for c in rows[HEADER_ROW - 1]) != HEADERS:
        raise InvalidWorkbook(f"{what}, sheet {DATA_SHEET}: the header row was changed")
    result: list[EditedCells] = []
    for number, raw in enumerate(rows[HEADER_ROW:], start=HEADER_ROW + 1):
        cells = [_text(c).strip() for c in raw] + [""] * (len(HEADERS) - len(raw))
        record_id = cells[_COLUMN[HEADER_RECORD_ID]]
        if not record_id:
            continue
        if not is_record_id(record_id):
            raise InvalidWorkbook(f"{what}, sheet {DATA_SHEET}, row {number}: not a record id")
        status = ACTIVITY_STATUSES.canonical(cells[_COLUMN[HEADER_ACTIVITY]])
        if status is None:
            raise InvalidWorkbook(
                f"{what}, sheet {DATA_SHEET}, row {number}, column {HEADER_ACTIVITY}: "
                "not a value from the list"
            )
        try:
            quality = parse_quality(cells[_COLUMN[HEADER_QUALITY]])
        except ValueError:
            raise InvalidWorkbook(
                f"{what}, sheet {DATA_SHEET}, row {number}, column {HEADER_QUALITY}: "
                "not a value from the list"
            ) from None
        result.append(EditedCells(record_id, status, quality))
    return result
