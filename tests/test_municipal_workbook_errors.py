"""A workbook staff filled in wrongly is reported, not silently ignored."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter

from cli_helpers import assert_single_error
from municipal_flows import make_package, make_world, muni, person
from securexchange.schema import HEADER_RECORD_ID
from securexchange.sheets.layout import DATA_SHEET, HEADERS
from test_municipal_workbook import _open, _type_status

SECRET = "Geheimenaam"

LATER = date(2027, 2, 1)


def test_a_value_outside_the_list_refuses_the_return_naming_row_and_column(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    a, b = person(1, LATER), person(2, LATER)
    made = make_package(world, [a, b])
    assert muni(world, "import", str(made.path)).code == 0
    workbook = _open(world)
    _type_status(workbook, a.record_id, "toegeleid")
    _type_status(workbook, b.record_id, "bijna klaar")
    out = tmp_path / "terug"
    out.mkdir()

    result = muni(world, "return", "--out", str(out))
    assert_single_error(result, "SX-INVALID-WORKBOOK", 2)
    assert "Status activiteit" in result.stderr and "bijna" not in result.stderr
    assert list(out.iterdir()) == []

    # Corrected in the file, the return goes out with both edits.
    _type_status(workbook, b.record_id, "gestart")
    fixed = muni(world, "return", "--out", str(out))
    assert fixed.code == 0, fixed.stderr
    assert "2 status change(s)" in fixed.stderr


def _set_cell(path: Path, cell: str, value: str | None) -> str | None:
    """Set one cell as Excel would save it; returns what it held."""
    book = openpyxl.load_workbook(path)
    before = book[DATA_SHEET][cell].value
    book[DATA_SHEET][cell] = value
    book.save(path)
    return None if before is None else str(before)


def test_a_changed_cell_outside_the_editable_columns_is_listed_by_position_only(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    a, b = person(1, LATER), person(2, LATER)
    assert muni(world, "import", str(make_package(world, [a, b]).path)).code == 0
    workbook = _open(world)
    _type_status(workbook, a.record_id, "toegeleid")
    naam = _set_cell(workbook, "B5", SECRET)
    out = tmp_path / "terug"
    out.mkdir()

    result = muni(world, "return", "--out", str(out))
    assert result.code == 0, result.stderr
    assert "1 status change(s)" in result.stderr and SECRET not in result.stderr
    status = muni(world, "status", "--json")
    (book,) = json.loads(status.stdout)["workbooks"]
    assert book["state"] == "open" and "(B5)" in book["problem"]
    text = muni(world, "status")
    assert "B5" in text.stdout
    assert SECRET not in status.stdout + text.stdout + text.stderr

    # Put back as written, the warning goes at the next command that reads the workbook.
    _set_cell(workbook, "B5", naam)
    assert muni(world, "return", "--out", str(out)).code == 0
    (book,) = json.loads(muni(world, "status", "--json").stdout)["workbooks"]
    assert book["problem"] is None


def test_a_record_id_that_was_not_written_refuses_naming_the_row(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    a, b = person(1, LATER), person(2, LATER)
    assert muni(world, "import", str(make_package(world, [a, b]).path)).code == 0
    workbook = _open(world)
    stranger = person(3, LATER).record_id
    row = 4 + [_shown_id(workbook, r) for r in (4, 5)].index(b.record_id)
    _set_cell(workbook, f"{ID_COLUMN}{row}", stranger)
    out = tmp_path / "terug"
    out.mkdir()

    result = muni(world, "return", "--out", str(out))
    assert_single_error(result, "SX-INVALID-WORKBOOK", 2)
    assert f"row {row}, column {ID_COLUMN}" in result.stderr and stranger not in result.stderr
    assert list(out.iterdir()) == []


ID_COLUMN = get_column_letter(HEADERS.index(HEADER_RECORD_ID) + 1)


def _shown_id(path: Path, row: int) -> str:
    return str(openpyxl.load_workbook(path)[DATA_SHEET][f"{ID_COLUMN}{row}"].value)
