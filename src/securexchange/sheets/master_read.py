"""The master's one data sheet read from .xlsx bytes: the archive guard, then
python-calamine, from the same bytes (so the file cannot change between check and read).

Only the one visible sheet with data is read; a hidden sheet with data, or a second
visible one, refuses the master (``SX-INVALID-MASTER``): what is exported is what the
agency sees in Excel.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from securexchange.errors import InvalidMaster
from securexchange.sheets.xlsxguard import XlsxLimits, inspect_xlsx

if TYPE_CHECKING:
    import python_calamine


@dataclass(frozen=True)
class DataSheet:
    name: str
    first_column: int  # 1-based index of the first column read
    rows: Iterator[tuple[int, Sequence[object]]]  # (row number as Excel shows it, cells)


def read_data_sheet(data: bytes, limits: XlsxLimits, *, what: str) -> DataSheet:
    """The one sheet that is exported, its rows read lazily (calamine's cell values)."""
    inspect_xlsx(data, limits, what=what)

    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = _data_sheet(book, what)
        name = str(sheet.name)
        start = sheet.start
        cells = sheet.iter_rows()
    except InvalidMaster:
        raise
    except Exception:  # calamine's errors quote XML; report the place only
        raise InvalidMaster(f"{what} cannot be read as a workbook") from None
    first_row = (start[0] + 1) if start else 1
    first_col = (start[1] + 1) if start else 1

    def numbered() -> Iterator[tuple[int, Sequence[object]]]:
        for offset, row in enumerate(cells):
            yield first_row + offset, row

    return DataSheet(name=name, first_column=first_col, rows=numbered())


def _holds_data(sheet: python_calamine.CalamineSheet) -> bool:
    """True when any cell of ``sheet`` has a value (formatting alone is not data)."""
    if sheet.start is None:
        return False
    return any(cell not in ("", None) for row in sheet.iter_rows() for cell in row)


def _data_sheet(book: python_calamine.CalamineWorkbook, what: str) -> python_calamine.CalamineSheet:
    """The one sheet that is exported: the only visible sheet with data (each sheet is
    loaded once; loading is most of the time a large master takes).

    What is exported must be what the agency sees in Excel. A hidden (or "very hidden")
    sheet is invisible there, yet it used to be the one read when it came first: a
    master with a hidden sheet holding data is refused, whatever its place. Two
    visible sheets with data are refused too: which one is meant is a guess.
    """
    from python_calamine import SheetVisibleEnum

    metadata = book.sheets_metadata
    if not metadata:
        raise InvalidMaster(f"{what} has no worksheet")
    with_data: list[python_calamine.CalamineSheet] = []
    visible: list[int] = []
    for index, meta in enumerate(metadata):
        shown = meta.visible == SheetVisibleEnum.Visible
        if shown:
            visible.append(index)
        sheet = book.get_sheet_by_index(index)
        if not _holds_data(sheet):
            continue
        if not shown:
            raise InvalidMaster(
                f"{what}: sheet {index + 1} is hidden and holds data; only what Excel shows "
                "may be exported",
                hint="unhide the sheet and delete it (or move its data to the master sheet)",
            )
        with_data.append(sheet)
    if len(with_data) > 1:
        raise InvalidMaster(
            f"{what}: {len(with_data)} visible sheets hold data; the master must have one",
            hint="keep the master on one sheet and delete the others",
        )
    if with_data:
        return with_data[0]
    if not visible:
        raise InvalidMaster(f"{what} has no visible worksheet")
    return book.get_sheet_by_index(visible[0])  # empty: its own error (no header) follows
