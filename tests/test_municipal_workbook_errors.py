"""A workbook staff filled in wrongly is reported, not silently ignored."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cli_helpers import assert_single_error
from municipal_flows import make_package, make_world, muni, person
from test_municipal_workbook import _open, _type_status

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
