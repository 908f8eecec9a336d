"""A termination notice held is the deadline the municipality is shown: ``status`` and
the workbook's banner name its effective day, not the later retention deadlines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl

from municipal_flows import World, make_package, make_world, muni, person
from securexchange.workbook import dutch_date
from test_municipal_termination import _terminate

TODAY = datetime.now(UTC).date()
LATER = TODAY + timedelta(days=90)  # the records' own retention deadline
ENDS = TODAY + timedelta(days=10)  # the termination's effective day
EFFECTIVE = ENDS.isoformat()


def _world_with_notice(tmp_path: Path) -> World:
    world = make_world(tmp_path)
    first = make_package(world, [person(1, LATER), person(2, LATER)], sequence=1)
    assert muni(world, "import", str(first.path)).code == 0
    assert muni(world, "import", str(_terminate(world, EFFECTIVE))).code == 0
    return world


def _status(world: World) -> dict[str, object]:
    result = muni(world, "status", "--json")
    assert result.code == 0, result.stderr
    value: dict[str, object] = json.loads(result.stdout)
    return value


def test_status_shows_the_termination_day_as_the_deadline_not_the_later_retention(
    tmp_path: Path,
) -> None:
    world = _world_with_notice(tmp_path)
    assert _status(world)["next_deadlines"] == [{"date": EFFECTIVE, "records": 2}]


def test_the_workbook_banner_names_the_termination_day_as_the_destroy_by_date(
    tmp_path: Path,
) -> None:
    world = _world_with_notice(tmp_path)
    assert muni(world, "open").code == 0, "open"
    books = _status(world)["workbooks"]
    assert isinstance(books, list)
    workbook = openpyxl.load_workbook(books[0]["path"])
    banner = " ".join(
        str(c.value) for row in workbook.worksheets[0].iter_rows(max_row=2) for c in row if c.value
    )
    assert f"uiterlijk op {dutch_date(ENDS)}." in banner
    assert dutch_date(LATER) not in banner
