"""The municipal workbook written (brief §5): the Excel file municipal staff open and edit.

The layout (sheets, headers, rows, banners) is :mod:`securexchange.sheets.layout`; here
it becomes an .xlsx with openpyxl: the banner, the headers, one row per record, the
drop-down lists, the "Toelichting" sheet, sheet protection and the document properties.

Sheet protection here is a user-interface guard, not a security boundary: it has no
password, and even a password would not help, because anyone can remove sheet
protection from an .xlsx in seconds. It stops staff from typing in the wrong column by
accident; what the workbook may change is enforced when it is read back
(:mod:`securexchange.sheets.workbook_read`), which takes only the editable columns and
reports every other changed cell.

openpyxl is imported inside :func:`write_workbook`, so that importing this module costs
little. Plaintext never touches the disk here (brief §3): each sheet's frame (everything
but the record rows) streams into memory (:mod:`securexchange.sheets.memory`) and is
written into its deflated member of a ZIP archive built in memory, with the record rows
(written as text by :mod:`securexchange.sheets.sheetxml`) spliced in, so there is no
temporary file to leak, even when the process is killed mid-write. The caller writes the
returned bytes atomically where the workbook belongs. The document's time is the
caller's (:attr:`WorkbookMeta.written_at`): the writer reads no clock.

openpyxl writes one export's frame once (per process), not once per municipality
(:mod:`securexchange.sheets.workbook_frame`, issue 22): each package's workbook is that
frame with its own values and rows, proven against :func:`write_workbook_reference`
when the frame is built. The side sheets are :mod:`securexchange.sheets.workbook_sheets`.
"""

from __future__ import annotations

import functools
import io
import operator
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, cast

from securexchange.errors import InternalError
from securexchange.i18n import _
from securexchange.ids import is_record_id
from securexchange.schema import HEADER_ACTIVITY, HEADER_QUALITY
from securexchange.sheets import sheetxml
from securexchange.sheets.layout import (
    BANNER_ROWS,
    DATA_SHEET,
    FIELD_BY_QUALITY_HEADER,
    FIRST_DATA_ROW,
    HEADER_ROW,
    HELP_SHEET,
    LAYOUTS,
    LISTS_SHEET,
    NO_FIELD_CELLS,
    PACKAGE_LAYOUT,
    PROP_DEMO,
    PROP_DESTROY_BY,
    PROP_NIS,
    PROP_PACKAGE,
    PROP_RECORD_COUNT,
    PROP_RECORDS_DIGEST,
    PROP_SCHEMA,
    QUALITY_HEADERS,
    QUALITY_REPORTS,
    STAFF_LAYOUT,
    Layout,
    WorkbookMeta,
    WorkbookRow,
    banner_lines,
    field_cells,
    layout_order,
    records_digest,
    validation_formula,
)
from securexchange.sheets.memory import (
    MAX_CELL_TEXT,
    UNSTORABLE,
    WriteOnlySheet,
    memory_sheet_class,
    write_other_parts,
)
from securexchange.sheets.shipped_frames import shipped_frame
from securexchange.sheets.workbook_frame import (
    FrameValues,
    StyleIds,
    WorkbookFrame,
    build_frame,
)
from securexchange.sheets.workbook_sheets import write_help_sheet, write_lists_sheet
from securexchange.sheets.workbook_style import (
    DEMO_TAB,
    WIDTHS,
    print_landscape,
    print_setup,
    protect,
    workbook_styles,
)
from securexchange.vocabularies import ACTIVITY_STATUSES, QUALITY_PROBLEMS

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook


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

    workbook, _styles = _write_openpyxl(meta, layout, len(ids), records_digest(ids), record_rows)
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


def built_frame(layout: Layout, demo: bool, schema_version: str) -> WorkbookFrame:
    """The frame of ``layout``'s workbooks, built with openpyxl and proven against it."""

    def render(meta: WorkbookMeta, count: int, digest: str) -> tuple[bytes, StyleIds]:
        return _write_openpyxl(meta, layout, count, digest, None)

    return build_frame(render, demo=demo, schema_version=schema_version)


def _write_openpyxl(
    meta: WorkbookMeta,
    layout: Layout,
    count: int,
    digest: str,
    record_rows: Callable[[StyleIds], Iterator[bytes]] | None,
) -> tuple[bytes, StyleIds]:
    """The workbook written by openpyxl for ``count`` records, whose rows
    ``record_rows`` writes (given each column's cell style; None: none), and the
    style of each column."""
    from openpyxl import Workbook
    from openpyxl.workbook.protection import WorkbookProtection

    wb = Workbook(write_only=True)
    _set_properties(wb, meta, count, digest)
    # Structure protection keeps sheets from being added, removed, renamed or hidden by
    # accident (the reader refuses all of that anyway); no password, as for the sheets.
    wb.security = WorkbookProtection(lockStructure=True)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        sheet_class = memory_sheet_class()
        # Sheets are numbered in workbook order, as openpyxl's ExcelWriter names them.
        data = sheet_class(wb, DATA_SHEET, "xl/worksheets/sheet1.xml")
        lists = sheet_class(wb, LISTS_SHEET, "xl/worksheets/sheet2.xml")
        cast(Any, wb)._add_sheet(data)
        cast(Any, wb)._add_sheet(lists)
        help_sheet = None
        if HELP_SHEET in layout.sheets:
            help_sheet = sheet_class(wb, HELP_SHEET, "xl/worksheets/sheet3.xml")
            cast(Any, wb)._add_sheet(help_sheet)
        # openpyxl writes everything but the records' rows (a few KB); the rows are
        # written as text (sheetxml) straight into the sheet's deflated member.
        styles = _write_data_sheet(data, count, meta, layout)
        data.finish()
        write_lists_sheet(lists, meta, layout)
        lists.finish()
        data.store(archive, None if record_rows is None else record_rows(styles))
        lists.store(archive, None)
        if help_sheet is not None:
            write_help_sheet(help_sheet, meta, layout)
            help_sheet.finish()
            help_sheet.store(archive, None)
        write_other_parts(wb, archive, meta.written_at)
    return buffer.getvalue(), styles


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


def _set_properties(wb: Workbook, meta: WorkbookMeta, count: int, digest: str) -> None:
    from openpyxl.packaging.custom import BoolProperty, IntProperty, StringProperty

    props = wb.properties
    props.creator = "securexchange"
    props.lastModifiedBy = "securexchange"
    props.title = f"Inburgeraars {meta.municipality}" + (" (DEMO)" if meta.demo else "")
    custom = cast(Any, wb).custom_doc_props  # not in the stubs (openpyxl 3.1 has it)
    custom.append(StringProperty(name=PROP_PACKAGE, value=meta.package_id))
    custom.append(StringProperty(name=PROP_SCHEMA, value=meta.schema_version))
    custom.append(StringProperty(name=PROP_NIS, value=meta.nis))
    custom.append(StringProperty(name=PROP_DESTROY_BY, value=meta.destroy_by.isoformat()))
    custom.append(BoolProperty(name=PROP_DEMO, value=meta.demo))
    custom.append(IntProperty(name=PROP_RECORD_COUNT, value=count))
    custom.append(StringProperty(name=PROP_RECORDS_DIGEST, value=digest))


def _set_data_sheet_view(ws: WriteOnlySheet, meta: WorkbookMeta, layout: Layout) -> None:
    """Widths, heights, frozen panes, tab colour and print setup: everything write-only
    mode emits before <sheetData> must be set before the first row."""
    from openpyxl.utils import get_column_letter

    for index, header in enumerate(layout.headers, 1):
        ws.column_dimensions[get_column_letter(index)].width = WIDTHS[header]
    for banner_row in range(1, BANNER_ROWS + 1):
        ws.row_dimensions[banner_row].height = 32
    # Layout 3's narrow quality columns wrap their headers over three lines.
    ws.row_dimensions[HEADER_ROW].height = 45 if layout.per_field_quality else 30
    # The banner, the headers and the first columns (the names, in layout 2) stay in view.
    ws.freeze_panes = f"{get_column_letter(layout.frozen_columns + 1)}{FIRST_DATA_ROW}"
    if meta.demo:
        ws.sheet_properties.tabColor = DEMO_TAB
    print_setup(ws, meta)
    if layout.landscape:
        print_landscape(ws, layout)


# The drop-down's own messages, shown by Excel: written into the workbook, which is
# always Dutch (not translated).
_STATUS_ERROR = "Kies een status uit de lijst."
_STATUS_PROMPT = "Kies de status van de activiteit."


def _status_list(status_col: str, last_row: int) -> Any:
    """The status column's drop-down: only a value from the list."""
    from openpyxl.worksheet.datavalidation import DataValidation

    status_list = DataValidation(
        type="list",
        formula1=validation_formula("A", len(ACTIVITY_STATUSES.values)),
        allow_blank=False,
        showErrorMessage=True,
        errorStyle="stop",
        errorTitle=HEADER_ACTIVITY,
        error=_STATUS_ERROR,
        showInputMessage=True,
        promptTitle=HEADER_ACTIVITY,
        prompt=_STATUS_PROMPT,
    )
    status_list.add(f"{status_col}{FIRST_DATA_ROW}:{status_col}{last_row}")
    return status_list


def _write_data_sheet(
    ws: WriteOnlySheet, count: int, meta: WorkbookMeta, layout: Layout
) -> StyleIds:
    """The data sheet's frame for ``count`` records; returns the cell style of each
    column for the rows."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    style = workbook_styles()
    headers = layout.headers
    last_col = get_column_letter(len(headers))
    last_row = HEADER_ROW + count
    status_col = get_column_letter(layout.column(HEADER_ACTIVITY) + 1)

    _set_data_sheet_view(ws, meta, layout)

    # The banner: two merged rows above the headers.
    first, second = banner_lines(meta, layout)
    for row_index, (text, font, fill) in enumerate(
        (
            (first, style["banner_font"], style["banner_fill"]),
            (second, style["banner_sub_font"], style["banner_sub_fill"]),
        ),
        1,
    ):
        cell = WriteOnlyCell(ws, text)
        cell.font = font
        cell.fill = fill
        cell.alignment = style["wrap"]
        ws.append([cell])
        ws.merged_cells.add(f"A{row_index}:{last_col}{row_index}")

    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(ws, header)
        cell.font = style["header_font"]
        cell.fill = style["header_fill"]
        cell.alignment = style["wrap"]
        header_cells.append(cell)
    ws.append(header_cells)

    # The records' rows are written as text (see ``store``); the editable columns'
    # cells carry one style, registered here so openpyxl writes it into styles.xml.
    styles: list[int | None] = [None] * len(headers)
    if count:
        editable = WriteOnlyCell(ws)
        editable.protection = style["unlocked"]
        editable.fill = style["editable_fill"]
        for header in layout.editable:
            styles[layout.column(header)] = editable.style_id

    ws.auto_filter.ref = f"A{HEADER_ROW}:{last_col}{last_row}"
    if count:
        ws.data_validations.append(_status_list(status_col, last_row))
        for quality_list in _quality_lists(layout, last_row):
            ws.data_validations.append(quality_list)
    protect(ws)
    return tuple(styles)


def _quality_lists(layout: Layout, last_row: int) -> Iterator[Any]:
    """The quality drop-downs: in layout 3 one per field column, each the six problems
    (column B of "Keuzelijsten"); before, one of every "field: problem" pair."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    columns: list[tuple[str, str | None]]
    if layout.per_field_quality:
        columns = [(header, FIELD_BY_QUALITY_HEADER[header]) for header in QUALITY_HEADERS]
        count = len(QUALITY_PROBLEMS.values)
    else:
        columns = [(HEADER_QUALITY, None)]
        count = len(QUALITY_REPORTS)
    for header, field in columns:
        letter = get_column_letter(layout.column(header) + 1)
        prompt = (
            f"Is '{field}' fout, onvolledig, verouderd...? Kies het probleem, of laat de "
            "cel leeg. (art. 7 protocol)"
            if field is not None
            else "Welk gegeven is fout, onvolledig, verouderd...? (art. 7 protocol)"
        )
        quality_list = DataValidation(
            type="list",
            formula1=validation_formula("B", count),
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="stop",
            # Excel caps a title at 32 characters: "Melding Interesses en noden" fits.
            errorTitle=header,
            error="Kies een melding uit de lijst, of laat de cel leeg.",
            showInputMessage=True,
            promptTitle=header,
            prompt=prompt,
        )
        quality_list.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}")
        yield quality_list
