"""A termination notice held is the deadline the municipality is shown: ``status`` and
the workbook's banner name its effective day, not the later retention deadlines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl

from municipal_flows import World, make_package, make_world, muni, person
from securexchange.i18n import dutch_date
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
    assert f"vernietigt dit bestand zelf op {dutch_date(ENDS)}:" in banner
    assert dutch_date(LATER) not in banner


def test_a_lost_notice_does_not_keep_the_data_once_a_keyring_records_the_termination(
    tmp_path: Path,
) -> None:
    from cli_helpers import run_cli

    world = make_world(tmp_path)
    first = make_package(world, [person(1, LATER)], sequence=1)
    assert muni(world, "import", str(first.path)).code == 0
    _terminate(world, TODAY.isoformat())  # the notice never reaches the municipality
    # Any root-signed change makes the next version, which records the termination.
    add = ["agency", "municipality", "add", "--nis", "44021", "--name", "Gent"]
    assert run_cli([*add, "--protocol-until", "2030-12-31"], home=world.agency).code == 0
    published = tmp_path / "published"
    assert (
        run_cli(["agency", "keyring", "publish", "--out", str(published)], home=world.agency).code
        == 0
    )
    result = muni(world, "import", str(published / f"keyring-{world.nis}.json"))
    assert result.code == 0, result.stderr
    status = _status(world)
    assert status["packages"][0]["state"] == "terminated"  # type: ignore[index]
    assert status["packages"][0]["records"] == 0  # type: ignore[index]
