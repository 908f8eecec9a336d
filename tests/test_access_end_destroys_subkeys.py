"""A person removed from the keyring, or a home whose protocol was terminated or has
ended, destroys every subkey at its next command, pre-issued ones included, and makes
no new one (issue 19, "Removal and end").

Demo homes through the CLI.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli_helpers import TERMINATION_GROUND, assert_single_error, run_cli
from keys_helpers import make_agency
from municipal_flows import NIS, World, make_world, muni, remove
from return_flows import add_staff, register_demo
from securexchange.keys.identity import period_end


def _held(world: World) -> int:
    conn = sqlite3.connect(world.staff / "state.sqlite3")
    try:
        return int(
            conn.execute("SELECT COUNT(*) FROM vault_subkeys WHERE state = 'held'").fetchone()[0]
        )
    finally:
        conn.close()


def _files(world: World) -> list[Path]:
    return sorted((world.staff / "keys" / "subkeys").glob("*.key"))


def _status_subkeys(world: World, now: str | None = None) -> list[dict[str, object]]:
    result = muni(world, "status", "--json", now=now)
    assert result.code == 0, result.stderr
    return list(json.loads(result.stdout)["subkeys"])


def _remove_and_tell(world: World, tmp_path: Path) -> None:
    """The agency removes the staff member; their home imports the published view."""
    remove(world)
    published = tmp_path / "published"
    publish = ["agency", "keyring", "publish", "--out", str(published)]
    assert run_cli(publish, home=world.agency).code == 0
    imported = muni(world, "import", str(published / f"keyring-{world.nis}.json"))
    assert imported.code == 0, imported.stderr


def test_a_person_removed_from_the_keyring_destroys_every_subkey_at_the_next_command(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    assert _held(world) == 6 and len(_files(world)) == 6  # three periods, two kinds
    _remove_and_tell(world, tmp_path)
    shredded = muni(world, "shred")
    assert shredded.code == 0, shredded.stderr
    assert _held(world) == 0 and _files(world) == []
    assert all(s["state"] == "destroyed" for s in _status_subkeys(world))
    # Unlocking the key again makes nothing new.
    rotated = run_cli(["keys", "rotate"], home=world.staff)
    assert_single_error(rotated, "SX-NOT-AUTHORISED", 1)
    assert _held(world) == 0 and _files(world) == []


def test_a_terminated_protocol_destroys_every_subkey_from_its_effective_day(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    notices = tmp_path / "notices"
    terminate = [
        "agency",
        "terminate",
        *TERMINATION_GROUND,
        "--nis",
        world.nis,
        "--effective",
        "2031-01-01",
    ]
    assert run_cli([*terminate, "--out", str(notices)], home=world.agency).code == 0
    (notice,) = notices.iterdir()
    assert muni(world, "import", str(notice)).code == 0
    assert _held(world) == 6  # not yet in force
    assert muni(world, "shred", now="2031-01-01T08:00:00Z").code == 0
    assert _held(world) == 0 and _files(world) == []


def test_the_end_of_the_protocol_destroys_the_subkeys_of_the_current_quarter_too(
    tmp_path: Path,
) -> None:
    agency = tmp_path / "agency"
    make_agency(agency, demo=True)
    today = datetime.now(UTC).date()
    last_day = today
    register_demo(agency, NIS, protocol_until=last_day)
    world = World(agency, tmp_path / "staff", tmp_path)
    add_staff(agency, world.staff, nis=NIS)
    quarter_end = period_end(datetime.now(UTC))
    assert _held(world) == 6  # made before its keyring: the current quarter and two more
    after = last_day + timedelta(days=1)
    if after >= quarter_end.date():  # the quarter's own end would destroy them anyway
        pytest.skip("the protocol's end must fall inside the quarter: run on another day")
    assert muni(world, "shred", now=f"{after.isoformat()}T08:00:00Z").code == 0
    assert _held(world) == 0 and _files(world) == []


def _sql(home: Path, sql: str) -> None:
    conn = sqlite3.connect(home / "state.sqlite3")
    try:
        with conn:
            conn.execute(sql)
    finally:
        conn.close()


def test_deleting_the_kept_certifications_does_not_keep_pre_issued_subkeys(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    _sql(world.staff, "DELETE FROM vault_subkey_certs")
    _sql(world.staff, "UPDATE vault_subkeys SET valid_until = '2099-01-01T00:00:00Z'")
    (world.staff / "keys" / "identity.card.json").unlink()  # and the card that lists them
    assert muni(world, "shred").code == 0
    states = {str(s["recipient"]): s for s in _status_subkeys(world)}
    # The keyring lists the current period's pair (held to it); the pre-issued ones
    # have no signed validity left and go at once.
    held = [s for s in states.values() if s["state"] == "held"]
    assert len(held) == 2 and len(states) == 6
    assert all(str(s["destroy_by"]) < "2099" for s in held)


def test_deleting_the_card_does_not_keep_a_removed_persons_subkeys(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    _remove_and_tell(world, tmp_path)
    (world.staff / "keys" / "identity.card.json").unlink()
    _sql(world.staff, "DELETE FROM settings WHERE key = 'identity_fingerprint'")
    assert muni(world, "shred").code == 0
    assert _held(world) == 0 and _files(world) == []


def test_an_edited_kept_subkey_at_the_agency_does_not_stop_a_removal(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    _sql(world.agency, "UPDATE agency_subkeys SET valid_until = 'never'")
    remove(world)
