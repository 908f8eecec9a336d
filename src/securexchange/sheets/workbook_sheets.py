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


def write_lists_sheet(ws: WriteOnlySheet, meta: WorkbookMeta, layout: Layout) -> None:
    from openpyxl.cell import WriteOnlyCell

    style = workbook_styles()
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 40
    ws.row_dimensions[1].height = 32
    if meta.demo:
        ws.sheet_properties.tabColor = DEMO_TAB
    print_setup(ws, meta)

    banner = WriteOnlyCell(ws, lists_banner(meta, layout))
    banner.font = style["banner_font"]
    banner.fill = style["banner_fill"]
    banner.alignment = style["wrap"]
    ws.append([banner])
    ws.merged_cells.add("A1:B1")
    headers = []
    per_field = layout.per_field_quality
    for header in (HEADER_ACTIVITY, PROBLEMS_LIST_HEADER if per_field else HEADER_QUALITY):
        cell = WriteOnlyCell(ws, header)
        cell.font = style["header_font"]
        cell.fill = style["header_fill"]
        headers.append(cell)
    ws.append(headers)
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
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 90
    ws.row_dimensions[1].height = 48
    if meta.demo:
        ws.sheet_properties.tabColor = DEMO_TAB
    print_setup(ws, meta)
    ws.page_setup.orientation = "landscape"

    banner = WriteOnlyCell(ws, help_banner(meta, layout))
    banner.font = style["banner_font"]
    banner.fill = style["banner_fill"]
    banner.alignment = style["wrap"]
    ws.append([banner])
    ws.merged_cells.add("A1:B1")
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
        heads = []
        for text in (title, intro):
            cell = WriteOnlyCell(ws, text)
            cell.font = style["header_font"]
            cell.fill = style["header_fill"]
            heads.append(cell)
        ws.append(heads)
        for value, help_text in texts.items():
            explained = WriteOnlyCell(ws, help_text.nl)
            explained.alignment = style["wrap"]
            ws.append([value, explained])
    protect(ws)
