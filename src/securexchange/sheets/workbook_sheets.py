"""The municipal workbook's side sheets: "Keuzelijsten" (the drop-downs' lists) and,
in the staff layouts, "Toelichting" (each value explained). Written by openpyxl into
the workbook :mod:`securexchange.sheets.workbook` builds; protected, like the data."""

from __future__ import annotations

from securexchange.schema import HEADER_ACTIVITY, HEADER_OUTCOME, HEADER_QUALITY
from securexchange.sheets.layout import (
    PROBLEMS_LIST_HEADER,
    QUALITY_REPORTS,
    Layout,
    WorkbookMeta,
    help_banner,
    lists_banner,
)
from securexchange.sheets.memory import WriteOnlySheet
from securexchange.sheets.workbook_style import DEMO_TAB, print_setup, protect, workbook_styles
from securexchange.vocabularies import ACTIVITY_STATUSES, QUALITY_PROBLEMS


def _side_sheet(
    ws: WriteOnlySheet,
    meta: WorkbookMeta,
    *,
    width_b: int,
    banner_height: int,
    banner: str,
    landscape: bool = False,
) -> None:
    """A side sheet's two columns, print setup and banner row (A1:B1 merged)."""
    from openpyxl.cell import WriteOnlyCell

    style = workbook_styles()
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = width_b
    ws.row_dimensions[1].height = banner_height
    if meta.demo:
        ws.sheet_properties.tabColor = DEMO_TAB
    print_setup(ws, meta)
    if landscape:
        ws.page_setup.orientation = "landscape"
    cell = WriteOnlyCell(ws, banner)
    cell.font = style["banner_font"]
    cell.fill = style["banner_fill"]
    cell.alignment = style["wrap"]
    ws.append([cell])
    ws.merged_cells.add("A1:B1")


def _header_row(ws: WriteOnlySheet, texts: tuple[str, ...]) -> None:
    """A row of header-styled cells."""
    from openpyxl.cell import WriteOnlyCell

    style = workbook_styles()
    cells = []
    for text in texts:
        cell = WriteOnlyCell(ws, text)
        cell.font = style["header_font"]
        cell.fill = style["header_fill"]
        cells.append(cell)
    ws.append(cells)


def write_lists_sheet(ws: WriteOnlySheet, meta: WorkbookMeta, layout: Layout) -> None:
    _side_sheet(ws, meta, width_b=40, banner_height=32, banner=lists_banner(meta, layout))
    per_field = layout.per_field_quality
    _header_row(ws, (HEADER_ACTIVITY, PROBLEMS_LIST_HEADER if per_field else HEADER_QUALITY))
    statuses = ACTIVITY_STATUSES.values
    reports = (
        list(QUALITY_PROBLEMS.values) if per_field else [report.label for report in QUALITY_REPORTS]
    )
    for index in range(max(len(statuses), len(reports))):
        ws.append(
            [
                statuses[index] if index < len(statuses) else None,
                reports[index] if index < len(reports) else None,
            ]
        )
    protect(ws)


def write_help_sheet(ws: WriteOnlySheet, meta: WorkbookMeta, layout: Layout) -> None:
    """The "Toelichting": each status, each quality problem and each answer explained in
    plain Dutch (:mod:`securexchange.sheets.workbook_help`). Protected, like the lists."""
    from openpyxl.cell import WriteOnlyCell

    from securexchange.sheets.workbook_help import (
        OUTCOME_HELP,
        PROBLEM_HELP,
        QUALITY_INTRO_PER_FIELD,
        STATUS_HELP,
    )

    style = workbook_styles()
    _side_sheet(
        ws,
        meta,
        width_b=90,
        banner_height=48,
        banner=help_banner(meta, layout),
        landscape=True,
    )
    sections = (
        (HEADER_ACTIVITY, "Wat betekent de status?", STATUS_HELP),
        (
            "Melding ..." if layout.per_field_quality else HEADER_QUALITY,
            QUALITY_INTRO_PER_FIELD.nl
            if layout.per_field_quality
            else "Wat is er mis met het gegeven? Kies eerst het veld, dan:",
            PROBLEM_HELP,
        ),
        (HEADER_OUTCOME, "Het antwoord van het Agentschap op uw melding:", OUTCOME_HELP),
    )
    for title, intro, texts in sections:
        ws.append([])
        _header_row(ws, (title, intro))
        for value, help_text in texts.items():
            explained = WriteOnlyCell(ws, help_text.nl)
            explained.alignment = style["wrap"]
            ws.append([value, explained])
    protect(ws)
