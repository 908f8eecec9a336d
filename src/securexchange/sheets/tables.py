"""Plain tables as an .xlsx workbook: one header row, text cells, a fill colour per row.

The agency's counsellors' report is written with it. Like
:mod:`securexchange.sheets.workbook` it streams worksheets into memory, never into a
temporary file in ``$TMPDIR``: the tables hold personal data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from securexchange.sheets.memory import attach_memory_writer, save_in_memory

HEADER_FILL = "D9D9D9"


@dataclass(frozen=True)
class TableSheet:
    title: str
    headers: tuple[str, ...]
    widths: tuple[int, ...]
    rows: Sequence[tuple[tuple[str, ...], str | None]]  # cells, fill colour or None


def render_tables(
    sheets: Sequence[TableSheet], title: str, *, written_at: datetime | None = None
) -> bytes:
    """The workbook's .xlsx bytes (write-only openpyxl, worksheets in memory)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    wb.properties.title = title
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor=HEADER_FILL)
    for spec in sheets:
        ws: Any = wb.create_sheet(spec.title)
        for i, width in enumerate(spec.widths, 1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(spec.headers))}{len(spec.rows) + 1}"
        attach_memory_writer(ws)
        header = []
        for text in spec.headers:
            cell = WriteOnlyCell(ws, text)
            cell.font = bold
            cell.fill = header_fill
            header.append(cell)
        ws.append(header)
        for cells, fill in spec.rows:
            row = []
            for text in cells:
                # Every value is text the caller made or a label from a closed list; data
                # type "s" keeps a client id that starts with "=" from becoming a formula.
                cell = WriteOnlyCell(ws, text)
                cell.data_type = "s"
                if fill is not None:
                    cell.fill = PatternFill("solid", fgColor=fill)
                row.append(cell)
            ws.append(row)
    return save_in_memory(wb, written_at)
