"""The municipal workbook as openpyxl writes it: the reference every frame is built from.

:mod:`securexchange.sheets.workbook` writes each workbook from a frame
(:mod:`securexchange.sheets.workbook_frame`); the frame is this writer's workbook cut
at sentinel values and proven against it. This writer also writes the rare workbook of
fewer than two rows, and ``scripts/frames.py`` builds the shipped frames with it.
openpyxl is imported inside the functions, so importing this module costs little.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from securexchange.schema import HEADER_ACTIVITY, HEADER_QUALITY
from securexchange.sheets.layout import (
    BANNER_ROWS,
    DATA_SHEET,
    FIELD_BY_QUALITY_HEADER,
    FIRST_DATA_ROW,
    HEADER_ROW,
    HELP_SHEET,
    LISTS_SHEET,
    PROP_DEMO,
    PROP_DESTROY_BY,
    PROP_NIS,
    PROP_PACKAGE,
    PROP_RECORD_COUNT,
    PROP_RECORDS_DIGEST,
    PROP_SCHEMA,
    QUALITY_HEADERS,
    QUALITY_REPORTS,
    Layout,
    WorkbookMeta,
    banner_lines,
    validation_formula,
)
from securexchange.sheets.memory import (
    WriteOnlySheet,
    memory_sheet_class,
    write_other_parts,
)
from securexchange.sheets.workbook_frame import (
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


def built_frame(layout: Layout, demo: bool, schema_version: str) -> WorkbookFrame:
    """The frame of ``layout``'s workbooks, built with openpyxl and proven against it."""

    def render(meta: WorkbookMeta, count: int, digest: str) -> tuple[bytes, StyleIds]:
        return write_openpyxl(meta, layout, count, digest, None)

    return build_frame(render, demo=demo, schema_version=schema_version)


def write_openpyxl(
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
