"""The two cell-to-text rules, in their one home (sheets/cells.py)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from securexchange.sheets.cells import master_text, written_text


@pytest.mark.parametrize(
    ("value", "text"), [("9000", "9000"), (2000.0, "2000"), (2000, "2000"), (None, "")]
)
def test_a_master_cell_is_text_or_an_integral_number(value: object, text: str) -> None:
    assert master_text(value) == text


@pytest.mark.parametrize("value", [True, 2.5, date(2027, 3, 1), time(9), object()])
def test_a_master_cell_that_is_not_text_is_refused_not_guessed(value: object) -> None:
    with pytest.raises(ValueError):
        master_text(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("gestart", "gestart"),
        (None, ""),
        (True, "TRUE"),
        (1000, "1000"),
        (1000.0, "1000"),
        (2.5, "2.5"),
        (datetime(2027, 3, 1), "2027-03-01"),
        (datetime(2027, 3, 1, 9, 30), "2027-03-01T09:30:00"),
        (date(2027, 3, 1), "2027-03-01"),
    ],
)
def test_a_typed_over_cell_of_our_workbook_reads_as_the_text_excel_shows(
    value: object, text: str
) -> None:
    assert written_text(value) == text
