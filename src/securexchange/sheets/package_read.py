"""Reading the workbook inside an imported package back into rows.

The workbook inside a package was written by the agency and authenticated (signature,
digest, AEAD) before it gets here; it is still guarded and parsed strictly (headers, record ids,
every value through :class:`schema.Record`), and a mismatch is :class:`Malformed`.

It goes through the spreadsheet guard (:mod:`securexchange.sheets.xlsxguard`) first, like
every spreadsheet: a signature says who wrote it, not that it is safe to parse.

A workbook that ``municipality open`` wrote and staff edited in Excel is another
matter (hostile input, only the editable columns): :mod:`securexchange.sheets.workbook_read`
reads it, called from :mod:`securexchange.municipality.workbooks`. The two readers do
different jobs: this one turns every cell into records, the other compares a returned
workbook with the rows that were written.

python-calamine reads (it is fast and writes no temporary files); messages name the
sheet, row and column, never a value.
"""

from __future__ import annotations

import io
import operator
from datetime import date
from typing import Any

from securexchange.errors import Malformed
from securexchange.i18n import _
from securexchange.ids import is_record_id
from securexchange.schema import (
    HEADER_ACTIVITY,
    HEADER_OUTCOME,
    HEADER_QUALITY,
    HEADER_RECORD_ID,
    HEADER_RETENTION,
    SHARED_HEADERS,
    FieldError,
    Record,
)
from securexchange.sheets.cells import written_text
from securexchange.sheets.layout import (
    DATA_SHEET,
    FIELD_BY_QUALITY_HEADER,
    HEADER_ROW,
    LAYOUTS,
    QualityReport,
    WorkbookRow,
)
from securexchange.sheets.workbook_limits import workbook_limits
from securexchange.sheets.xlsxguard import check_xlsx

# Every layout's columns by header: a package workbook is read by header name, so an
# agency that writes a newer layout is still read (and an older one too).
_COLUMNS = {
    layout.headers: {header: index for index, header in enumerate(layout.headers)}
    for layout in LAYOUTS
}


def _rows(data: bytes) -> list[list[Any]]:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheet = book.get_sheet_by_name(DATA_SHEET)
    rows: list[list[Any]] = sheet.to_python(skip_empty_area=False)
    return rows


def parse_quality(label: str) -> QualityReport | None:
    """A drop-down label ("Telefoon: foutief") as a report; None for an empty cell.

    Raises ValueError for any other text."""
    return QualityReport.from_label(label) if label else None


def _reports(cells: list[str], column: dict[str, int]) -> tuple[QualityReport, ...]:
    """A row's quality reports: the one "field: problem" cell (layouts 1 and 2) or each
    field's own column (layout 3). Raises ValueError for a value outside the lists."""
    if HEADER_QUALITY in column:
        report = parse_quality(cells[column[HEADER_QUALITY]])
        return () if report is None else (report,)
    return tuple(
        QualityReport(field, cells[column[header]])
        for header, field in FIELD_BY_QUALITY_HEADER.items()
        if cells[column[header]]
    )


def read_package_rows(data: bytes, *, records: int) -> list[WorkbookRow]:
    """Every row of an authenticated package workbook of ``records`` records (as its
    signed manifest says). Raises Malformed, or HostileFile from the spreadsheet guard.
    """
    # A valid signature proves who made the workbook, not that it is safe to parse: a
    # stolen export key must not reach calamine's native code with a far cell reference
    # or a zip bomb while the decrypted records are in memory. Guarded like any other.
    check_xlsx(data, workbook_limits(records))
    try:
        rows = _rows(data)
    except Exception:
        raise Malformed(_("the package's workbook cannot be read")) from None
    found = tuple(written_text(c) for c in rows[HEADER_ROW - 1]) if len(rows) >= HEADER_ROW else ()
    column = _COLUMNS.get(found)
    if column is None:
        raise Malformed(
            _("sheet {sheet}: the headers are not the package layout").format(sheet=DATA_SHEET)
        )
    result: list[WorkbookRow] = []
    seen: set[str] = set()
    shared_cells = operator.itemgetter(*(column[h] for h in SHARED_HEADERS))
    for number, raw in enumerate(rows[HEADER_ROW:], start=HEADER_ROW + 1):
        cells = [c if type(c) is str else written_text(c) for c in raw]
        cells += [""] * (len(found) - len(raw))
        if not any(cells):
            continue
        try:
            record_id = cells[column[HEADER_RECORD_ID]]
            if not is_record_id(record_id) or record_id in seen:
                raise ValueError("record id")
            seen.add(record_id)
            record = Record.from_cell_texts(shared_cells(cells))
            outcome = cells[column[HEADER_OUTCOME]] or None
            reports = _reports(cells, column)
            if len(reports) > 1:
                # The agency writes one open report per row, and the vault row holds
                # one (sealing.encode_row); staff's further reports are edits.
                raise ValueError("several quality reports")
            result.append(
                WorkbookRow(
                    record_id=record_id,
                    record=record,
                    retention=date.fromisoformat(cells[column[HEADER_RETENTION]]),
                    status=cells[column[HEADER_ACTIVITY]],
                    quality=reports[0] if reports else None,
                    outcome=outcome,
                )
            )
        except (ValueError, FieldError):
            raise Malformed(
                _("sheet {sheet}, row {row}: not a valid record").format(
                    sheet=DATA_SHEET, row=number
                )
            ) from None
    return result
