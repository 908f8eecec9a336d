"""The municipal workbook written (brief §5): the Excel file municipal staff open and edit.

The layout (sheets, headers, rows, banners) is :mod:`securexchange.sheets.layout`; its
.xlsx as openpyxl writes it (the banner, the headers, the drop-down lists, the
"Toelichting" sheet, sheet protection and the document properties) is
:mod:`securexchange.sheets.workbook_openpyxl`.

Sheet protection here is a user-interface guard, not a security boundary: it has no
password, and even a password would not help, because anyone can remove sheet
protection from an .xlsx in seconds. It stops staff from typing in the wrong column by
accident; what the workbook may change is enforced when it is read back
(:mod:`securexchange.sheets.workbook_read`), which takes only the editable columns and
reports every other changed cell.

Everything but the records' rows and a few per-workbook values (the municipality, the
package id, the destroy-by date, the record count and digest, the document's time) is
the same for every workbook of one layout: each workbook is that frame
(:mod:`securexchange.sheets.workbook_frame`) with its values and its rows, written as
text (:mod:`securexchange.sheets.sheetxml`) into the deflated members of a ZIP archive
built in memory. The frames of the current layouts ship with the package
(:mod:`securexchange.sheets.shipped_frames`, proven against openpyxl by the tests);
another is built with openpyxl once per process and proven when it is built.
Plaintext never touches the disk here (brief §3): there is no temporary file to leak,
even when the process is killed mid-write. The caller writes the returned bytes
atomically where the workbook belongs. The document's time is the caller's
(:attr:`WorkbookMeta.written_at`): the writer reads no clock.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from securexchange.errors import InternalError
from securexchange.i18n import _
from securexchange.ids import is_record_id
from securexchange.sheets import sheetxml
from securexchange.sheets.layout import (
    DATA_SHEET,
    FIRST_DATA_ROW,
    LAYOUTS,
    NO_FIELD_CELLS,
    PACKAGE_LAYOUT,
    STAFF_LAYOUT,
    Layout,
    WorkbookMeta,
    WorkbookRow,
    field_cells,
    layout_order,
    records_digest,
)
from securexchange.sheets.memory import (
    MAX_CELL_TEXT,
    UNSTORABLE,
)
from securexchange.sheets.shipped_frames import shipped_frame
from securexchange.sheets.workbook_frame import (
    FrameValues,
    StyleIds,
    WorkbookFrame,
)
from securexchange.sheets.workbook_openpyxl import built_frame, write_openpyxl

if TYPE_CHECKING:
    pass


# --- writing -------------------------------------------------------------------------------


# The fewest rows whose workbook is the frame filled in (see write_workbook).
MIN_FRAMED_ROWS = 2


def write_package_workbook(rows: Sequence[WorkbookRow], meta: WorkbookMeta) -> bytes:
    """:func:`write_workbook` in the package layout (layout 1), which clients of every
    version read."""
    return write_workbook(rows, meta, layout=PACKAGE_LAYOUT)


def write_workbook(
    rows: Sequence[WorkbookRow],
    meta: WorkbookMeta,
    *,
    layout: Layout = STAFF_LAYOUT,
    compresslevel: int | None = None,
) -> bytes:
    """The .xlsx bytes of the municipal workbook for ``rows``; nothing is written to disk.

    ``layout``: the staff workbook's (default) or :data:`PACKAGE_LAYOUT`.
    ``compresslevel``: zlib's level for the records' sheet (None: zlib's default).

    Everything but the records' rows and a few per-package values (the municipality,
    the package id, the destroy-by date, the record count and digest) is the same for
    every workbook of one export: it comes from a frame built once per process and
    export with openpyxl (:mod:`securexchange.sheets.workbook_frame`), which proves
    itself against :func:`write_workbook_reference` when it is built.

    Raises ValueError for duplicate record ids; :class:`InternalError` if a value
    cannot be stored in a workbook (the vault should never hold one).
    """
    ids = _checked_ids(rows, meta, layout)
    return _written(meta, layout, ids, _row_texts(rows, layout), compresslevel)


def write_workbook_reference(
    rows: Sequence[WorkbookRow], meta: WorkbookMeta, *, layout: Layout = STAFF_LAYOUT
) -> bytes:
    """:func:`write_workbook` with every part written by openpyxl: what the frame is
    built from and held to."""
    ids = _checked_ids(rows, meta, layout)
    return _written_by_openpyxl(meta, layout, ids, _row_texts(rows, layout))


def _written(
    meta: WorkbookMeta,
    layout: Layout,
    ids: Sequence[str],
    texts: Iterator[tuple[str, ...]],
    compresslevel: int | None = None,
) -> bytes:
    if len(ids) < MIN_FRAMED_ROWS:
        # Rare, and framed differently: no rows, no drop-downs and no editable style;
        # one row, a drop-down range of one cell ("N4", not "N4:N4"). openpyxl writes it.
        return _written_by_openpyxl(meta, layout, ids, texts)
    frame = _frame(layout, meta.demo, meta.schema_version)
    values = FrameValues(
        meta.municipality,
        meta.nis,
        meta.package_id,
        meta.destroy_by,
        len(ids),
        records_digest(ids),
        meta.written_at,
    )
    rows = sheetxml.rows_xml(FIRST_DATA_ROW, texts, frame.styles)
    return frame.render(values, rows, compresslevel)


def _written_by_openpyxl(
    meta: WorkbookMeta, layout: Layout, ids: Sequence[str], texts: Iterator[tuple[str, ...]]
) -> bytes:
    def record_rows(styles: StyleIds) -> Iterator[bytes]:
        return sheetxml.rows_xml(FIRST_DATA_ROW, texts, styles)

    workbook, _styles = write_openpyxl(meta, layout, len(ids), records_digest(ids), record_rows)
    return workbook


# --- rows sent to a worker process ---------------------------------------------------------

# Between the cells of packed rows: a character no cell may hold (refused, row by row,
# before packing), so splitting gives back exactly the cells.
_CELL_SEPARATOR = "\x00"


@dataclass(frozen=True)
class PackedRows:
    """Workbook rows as their checked cell texts, in layout order, in one string: what
    the export sends to a worker process (pickling one string is a copy; the 16
    strings of each row cost more to send than to write)."""

    record_ids: tuple[str, ...]
    cells: str
    width: int


def pack_rows(rows: Sequence[WorkbookRow], layout: Layout = PACKAGE_LAYOUT) -> PackedRows:
    """``rows`` packed for :func:`write_packed_workbook`; raises as :func:`write_workbook`
    does for a value a workbook cannot store."""
    if not all(isinstance(row, WorkbookRow) for row in rows):
        raise TypeError("rows must be WorkbookRow values")
    texts = _row_texts(rows, layout)
    cells = _CELL_SEPARATOR.join(cell for row in texts for cell in row)
    return PackedRows(tuple(row.record_id for row in rows), cells, len(layout.headers))


def write_packed_workbook(
    packed: PackedRows, meta: WorkbookMeta, layout: Layout = PACKAGE_LAYOUT
) -> bytes:
    """:func:`write_workbook` for rows :func:`pack_rows` packed (in a worker process)."""
    if not isinstance(packed, PackedRows) or packed.width != len(layout.headers):
        raise TypeError("packed rows of another layout")
    if not all(isinstance(i, str) and is_record_id(i) for i in packed.record_ids):
        raise ValueError("the packed rows need record ids")
    ids = _checked_ids((), meta, layout, packed.record_ids)
    cells = packed.cells.split(_CELL_SEPARATOR) if ids else []
    width = packed.width
    if len(cells) != len(ids) * width:
        raise ValueError("the packed rows do not hold a cell for each column of each row")
    texts = (tuple(cells[start : start + width]) for start in range(0, len(cells), width))
    return _written(meta, layout, ids, texts)


def _checked_ids(
    rows: Sequence[WorkbookRow],
    meta: WorkbookMeta,
    layout: Layout,
    record_ids: Sequence[str] | None = None,
) -> list[str]:
    if not isinstance(meta, WorkbookMeta):
        raise TypeError("meta must be a WorkbookMeta")
    if layout not in LAYOUTS:
        raise TypeError("layout must be one of LAYOUTS")
    if not all(isinstance(row, WorkbookRow) for row in rows):
        raise TypeError("rows must be WorkbookRow values")
    ids = [row.record_id for row in rows] if record_ids is None else list(record_ids)
    if len(set(ids)) != len(ids):
        raise ValueError("the workbook rows have a duplicate record id")
    return ids


@functools.lru_cache(maxsize=4)
def _frame(layout: Layout, demo: bool, schema_version: str) -> WorkbookFrame:
    """The frame of ``layout``'s workbooks: the shipped one, or one built (per process)."""
    return shipped_frame(layout, demo, schema_version) or built_frame(layout, demo, schema_version)


def _row_texts(rows: Sequence[WorkbookRow], layout: Layout) -> Iterator[tuple[str, ...]]:
    """The records' cell texts in ``layout``'s order, every text checked first (never
    quoted)."""
    # The layout's order as one C call per row (order has more than one column, so
    # itemgetter gives a tuple).
    in_order = operator.itemgetter(*layout_order(layout))
    per_field = layout.per_field_quality

    def texts() -> Iterator[tuple[str, ...]]:
        dates: dict[date, str] = {}
        for number, row in enumerate(rows):
            retention = dates.get(row.retention)
            if retention is None:
                retention = dates[row.retention] = row.retention.isoformat()
            quality = row.quality
            cells = (
                row.record_id,
                *row.record.cells(),
                retention,
                row.status,
                quality.label if quality is not None else "",
                row.outcome or "",
                # A row without a report (most rows) has every field's cell empty.
                *(field_cells(row.reports) if per_field and quality else NO_FIELD_CELLS),
            )
            # One search over the row finds a bad character in any cell; the length
            # limit is per cell.
            if (
                UNSTORABLE.search("".join(cells)) is not None
                or max(map(len, cells)) > MAX_CELL_TEXT
            ):
                raise InternalError(
                    _(
                        "sheet {sheet}, row {row}: a value holds a character a workbook "
                        "cannot store"
                    ).format(sheet=DATA_SHEET, row=FIRST_DATA_ROW + number)
                )
            yield in_order(cells)

    return texts()
