"""The municipal workbook's look: column widths, fills, fonts, print setup and sheet
protection (a user-interface guard, not a security boundary: see
:mod:`securexchange.sheets.workbook`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from securexchange.i18n import dutch_date
from securexchange.schema import (
    HEADER_ACTIVITY,
    HEADER_OUTCOME,
    HEADER_QUALITY,
    HEADER_RECORD_ID,
    HEADER_RETENTION,
    SHARED_FIELDS,
)
from securexchange.sheets.layout import (
    ALL_HEADERS,
    DATA_SHEET,
    HEADER_ROW,
    QUALITY_HEADERS,
    Layout,
    WorkbookMeta,
)
from securexchange.sheets.memory import (
    WriteOnlySheet,
)

# Readable widths (characters) per column; each shared field's is in its spec.
WIDTHS: Mapping[str, float] = {
    HEADER_RECORD_ID: 26,
    **{spec.header: spec.width for spec in SHARED_FIELDS},
    HEADER_RETENTION: 13,
    HEADER_ACTIVITY: 24,
    HEADER_QUALITY: 32,
    HEADER_OUTCOME: 20,
    # Narrow: the longest problem ("onnauwkeurig") fits, the header wraps.
    **dict.fromkeys(QUALITY_HEADERS, 14),
}


if set(WIDTHS) != set(ALL_HEADERS):  # the two lists must never drift
    raise RuntimeError("workbook widths and headers disagree")

EDITABLE_FILL = "FFF2CC"  # light yellow: "you may type here"


HEADER_FILL = "D9D9D9"


BANNER_FILL = "C00000"


BANNER_SUB_FILL = "F8CBAD"


DEMO_TAB = "FF0000"


def workbook_styles() -> dict[str, Any]:
    from openpyxl.styles import Alignment, Font, PatternFill, Protection

    return {
        "banner_font": Font(bold=True, color="FFFFFF", size=12),
        "banner_fill": PatternFill("solid", fgColor=BANNER_FILL),
        "banner_sub_font": Font(bold=True, size=11),
        "banner_sub_fill": PatternFill("solid", fgColor=BANNER_SUB_FILL),
        "wrap": Alignment(wrap_text=True, vertical="center"),
        "header_font": Font(bold=True),
        "header_fill": PatternFill("solid", fgColor=HEADER_FILL),
        "editable_fill": PatternFill("solid", fgColor=EDITABLE_FILL),
        "unlocked": Protection(locked=False),
    }


def print_setup(ws: WriteOnlySheet, meta: WorkbookMeta) -> None:
    """Printed pages carry the warning too, and "DEMO" in a demo package."""
    notice = f"Persoonsgegevens – vernietigen uiterlijk op {dutch_date(meta.destroy_by)}"
    header = ws.oddHeader.center
    header.text = "DEMO" if meta.demo else "VERTROUWELIJK"
    header.size = 14
    header.font = "Calibri,Bold"
    ws.oddFooter.center.text = notice
    ws.print_title_rows = f"1:{HEADER_ROW}" if ws.title == DATA_SHEET else "1:2"


def print_landscape(ws: WriteOnlySheet, layout: Layout) -> None:
    """Landscape, fitted to the page width (as many pages down as needed), the names
    repeated on every page: a printed row never loses its person."""
    from openpyxl.utils import get_column_letter

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_cols = f"A:{get_column_letter(layout.frozen_columns)}"


def protect(ws: WriteOnlySheet) -> None:
    """Sheet protection without a password (a UI guard; see the module docstring).

    Filtering, sorting and resizing stay allowed, so staff can work with the list.
    """
    protection = ws.protection
    protection.sheet = True
    protection.autoFilter = False
    protection.sort = False
    protection.formatColumns = False
    protection.formatRows = False
