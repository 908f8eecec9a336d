"""The spreadsheet guard's caps for a workbook this program wrote, of a known number of
records (a package's workbook, or a staff workbook coming back)."""

from __future__ import annotations

from securexchange.sheets.xlsxguard import XlsxLimits


def workbook_limits(record_count: int) -> XlsxLimits:
    """Caps for a returned workbook of ``record_count`` records.

    Room for 10,000 rows more than were written (inserted empty rows, notes), at most
    32 columns and 32 cells a row; 64 MiB of file (a 100,000-record workbook is about
    11 MB). The cell cap is checked against the sheet's dimension, a rectangle: layout
    3 is 26 columns wide, so fewer cells a row would refuse a large workbook we wrote.
    calamine's rectangle for 110,000 rows of 32 cells stays within the guard's memory
    budget (xlsxguard.XlsxLimits).
    """
    rows = record_count + 10_000
    return XlsxLimits(
        max_file_bytes=64 << 20,
        max_rows=rows,
        max_cells=rows * 32,
        max_sheets=8,  # an added sheet gets the clearer InvalidWorkbook below
    )
