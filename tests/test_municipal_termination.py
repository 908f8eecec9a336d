"""Termination (protocol art. 8, 12): the agency's notice ends a protocol everywhere."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from cli_helpers import TERMINATION_GROUND, assert_single_error, run_cli
from municipal_flows import World, make_package, make_world, muni, person, vault_tables
from securexchange.home.home import HomeKind, open_home

LATER = date(2027, 3, 1)


def _terminate(world: World, effective: str) -> Path:
    result = run_cli(
        [
            "agency",
            "terminate",
            *TERMINATION_GROUND,
            "--nis",
            world.nis,
            "--effective",
            effective,
            "--out",
            str(world.out),
        ],
        home=world.agency,
    )
    assert result.code == 0, result.stderr
    return Path(result.stdout.strip())


def _status(world: World, now: str | None = None) -> dict[str, object]:
    if now is not None:
        # The home at ``now``: a read-only status under demo time travel shreds nothing.
        assert muni(world, "shred", now=now).code == 0
    result = muni(world, "status", "--json", now=now)
    assert result.code == 0, result.stderr
    value: dict[str, object] = json.loads(result.stdout)
    return value


def test_notice_with_a_past_effective_day_shreds_at_once_and_refuses_later_packages(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    first = make_package(world, [person(1, LATER), person(2, LATER)], sequence=1)
    assert muni(world, "import", str(first.path)).code == 0
    assert muni(world, "open").code == 0
    notice = _terminate(world, "2026-11-01")
    result = muni(world, "import", str(notice))
    assert result.code == 0, result.stderr
    status = _status(world)
    assert status["packages"] == [
        {**status["packages"][0], "state": "terminated", "records": 0}  # type: ignore[index]
    ]
    assert status["workbooks"] == []
    assert vault_tables(world)["vault_records"] == []
    second = make_package(world, [person(1, LATER)], sequence=2, supersedes=first)
    before = vault_tables(world)
    assert_single_error(muni(world, "import", str(second.path)), "SX-PROTOCOL-INACTIVE", 1)
    assert vault_tables(world) == before
    assert muni(world, "import", str(notice)).code == 0  # the same notice again: no-op


def test_notice_with_a_future_effective_day_shreds_on_that_day(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    first = make_package(world, [person(1, LATER)], sequence=1)
    assert muni(world, "import", str(first.path)).code == 0
    assert muni(world, "import", str(_terminate(world, "2026-12-10"))).code == 0
    assert _status(world)["packages"][0]["records"] == 1  # type: ignore[index]
    later = _status(world, now="2026-12-10")
    assert later["packages"][0]["state"] == "terminated"  # type: ignore[index]
    assert later["terminations"][0]["effective"] == "2026-12-10"  # type: ignore[index]


def test_a_successor_protocol_is_not_refused(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    first = make_package(world, [person(1, LATER)], sequence=1)
    assert muni(world, "import", str(first.path)).code == 0
    assert muni(world, "import", str(_terminate(world, "2026-12-10"))).code == 0
    # Make the held notice one of an earlier protocol: the current one is its successor.
    with open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        home.db.execute("UPDATE vault_protocols SET protocol_id = ?", ("protocol-" + "a" * 26,))
    second = make_package(world, [person(1, LATER)], sequence=2, supersedes=first)
    assert muni(world, "import", str(second.path), now="2026-12-11").code == 0
