"""Demo time travel (``SECUREXCHANGE_NOW`` in a ``--demo`` home) stays in the command
that asked for it when that command only looks: no clock mark stored, no shredding, no
log entry dated in the future, one ``note:`` instead of a clock warning. Real homes
refuse the override and keep their clock mark as before."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cli_helpers import assert_single_error, run_cli
from municipal_flows import make_package, make_world, muni, person
from securexchange.home.home import CLOCK_MARK, HomeKind, create_home, open_home

TODAY = datetime.now(UTC).date()
SOON = TODAY + timedelta(days=20)
FAR = TODAY + timedelta(days=400)
LATER = (TODAY + timedelta(days=200)).isoformat()


def _mark(home: Path) -> str | None:
    conn = sqlite3.connect(home / "state.sqlite3")
    try:
        row = conn.execute("SELECT value FROM settings WHERE key = ?", (CLOCK_MARK,)).fetchone()
    finally:
        conn.close()
    return None if row is None else str(row[0])


def _records(home: Path) -> int:
    result = run_cli(["municipality", "status", "--json"], home=home)
    assert result.code == 0, result.stderr
    return sum(p["records"] for p in json.loads(result.stdout)["packages"])


def test_a_read_only_command_under_time_travel_does_not_move_the_demo_clock_for_good(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    first = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(first.path)).code == 0
    for command in (["status"], ["status", "--json"], ["shred", "--dry-run"]):
        result = muni(world, *command, now=LATER)
        assert result.code == 0, result.stderr
    assert run_cli(["keys", "show"], home=world.staff, env={"SECUREXCHANGE_NOW": LATER}).code == 0
    assert run_cli(["audit", "log"], home=world.staff, env={"SECUREXCHANGE_NOW": LATER}).code == 0
    assert (_mark(world.staff) or "") < LATER
    assert all(json.loads(line)["time"] < LATER for line in _log(world.staff))
    # The next package, made today, is neither in the future nor stale for the home.
    second = make_package(world, [person(2, FAR)], sequence=2, supersedes=first)
    result = muni(world, "import", str(second.path))
    assert result.code == 0, result.stderr
    assert "warning:" not in result.stderr


def _log(home: Path) -> list[str]:
    return (home / "log.jsonl").read_text().splitlines()


def test_a_read_only_status_under_time_travel_shreds_nothing(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, SOON), person(2, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    result = muni(world, "status", now=LATER)
    assert result.code == 0, result.stderr
    assert _records(world.staff) == 2
    # A command that acts (shred) under the same override still shreds: that is the demo.
    assert muni(world, "shred", now=LATER).code == 0
    assert _records(world.staff) < 2


def test_time_travel_says_one_note_and_no_clock_behind_warning(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    assert muni(world, "shred", now=LATER).code == 0  # moves this demo home's clock on
    for command in (["status"], ["shred"]):
        result = muni(world, *command, now=LATER)
        assert result.code == 0, result.stderr
        lines = result.stderr.splitlines()
        assert not [line for line in lines if line.startswith("warning:")], result.stderr
        travel = [line for line in lines if line.startswith("note: time travel")]
        assert len(travel) == 1, result.stderr


def test_a_real_home_refuses_the_override_also_for_read_only_commands(tmp_path: Path) -> None:
    home = tmp_path / "real"
    create_home(home, HomeKind.AGENCY, demo=False, env={})
    for command in (["agency", "municipality", "list"], ["keys", "show"], ["audit", "log"]):
        result = run_cli(command, home=home, env={"SECUREXCHANGE_NOW": "2031-01-01"})
        assert_single_error(result, "SX-CLOCK-OVERRIDE", 2)


def test_a_read_only_open_of_a_real_home_still_stores_the_clock_mark(tmp_path: Path) -> None:
    home = tmp_path / "real"
    create_home(home, HomeKind.MUNICIPALITY, demo=False, env={})
    ahead = datetime(2030, 6, 1, tzinfo=UTC)
    with open_home(home, env={}, system_now=ahead, read_only=True) as opened:
        assert not opened.holds_still
    with open_home(home, env={}, system_now=ahead - timedelta(days=30)) as reopened:
        assert reopened.now == ahead  # turning the system clock back brings nothing back
        assert reopened.clock.behind


def test_a_demo_home_opened_to_act_under_time_travel_keeps_the_new_time(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    create_home(home, HomeKind.MUNICIPALITY, demo=True, env={})
    with open_home(home, env={"SECUREXCHANGE_NOW": "2031-05-05"}, read_only=True) as looked:
        assert looked.holds_still and looked.now.date() == date(2031, 5, 5)
    with open_home(home, env={}) as after_looking:
        assert after_looking.now.year < 2031 and not after_looking.clock.behind
    with open_home(home, env={"SECUREXCHANGE_NOW": "2031-05-05"}):
        pass
    with open_home(home, env={}) as after_acting:
        assert after_acting.now.date() == date(2031, 5, 5)
