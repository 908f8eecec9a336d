"""A spreadsheet cell's value (as python-calamine gives it) as text: the two rules.

* :func:`master_text`, for the agency's master: every field of art. 3 is text, so a
  value Excel stored as a true/false, a fraction or a date is refused, never guessed at
  (an integral number loses Excel's ".0": a postcode 2000 is stored as 2000.0).
* :func:`written_text`, for workbooks securexchange wrote (package and staff
  workbooks): every cell was written as text, so any other value is what a person typed
  over it, read back as the text Excel shows, for the reader to judge (a typed 1000
  reads "1000", a typed TRUE "TRUE").
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta


def master_text(cell: object) -> str:
    """The text of a master's cell; ValueError naming what it is instead of text."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        raise ValueError("is a true/false value, expected text")
    if isinstance(cell, float):
        if cell.is_integer():
            return str(int(cell))
        raise ValueError("is a number, expected text")
    if isinstance(cell, int):
        return str(cell)
    if cell is None:
        return ""
    if isinstance(cell, (date, datetime, time, timedelta)):
        raise ValueError("is a date or time, expected text")
    raise ValueError("has an unexpected type")


def written_text(value: object) -> str:
    """A cell of a workbook we wrote, as the text the writer would have written for it."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
