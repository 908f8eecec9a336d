"""``municipality import``: every refusal through the CLI changes nothing but the log."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from cli_helpers import assert_single_error
from municipal_flows import (
    World,
    fingerprint,
    log_lines,
    make_package,
    make_world,
    muni,
    other_world,
    person,
    vault_tables,
)

DEADLINE = date(2027, 3, 1)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def _refused(world: World, path: Path, name: str, now: str | None = None, lang: str = "en") -> str:
    before = vault_tables(world)
    lines = len(log_lines(world))
    result = muni(world, "--lang", lang, "import", str(path), now=now)
    assert_single_error(result, name, 1)
    assert vault_tables(world) == before
    new = [json.loads(line) for line in log_lines(world)[lines:]]
    assert [(e["action"], e["error"]) for e in new] == [("refusal", name)]
    return result.stderr


def test_import_stores_records_only_as_ciphertext_and_again_is_a_no_op(world: World) -> None:
    made = make_package(world, [person(i, DEADLINE) for i in range(3)])
    assert muni(world, "import", str(made.path)).code == 0
    tables = vault_tables(world)
    assert len(tables["vault_records"]) == 3
    db = (world.staff / "state.sqlite3").read_bytes()
    assert b"Canaryname0001" not in db and b"canary0001@example.org" not in db
    again = muni(world, "import", str(made.path))
    assert again.code == 0 and "nothing changed" in again.stderr
    assert vault_tables(world) == tables


def test_lower_sequence_is_refused_as_rollback(world: World) -> None:
    first = make_package(world, [person(1, DEADLINE)], sequence=1)
    second = make_package(world, [person(1, DEADLINE)], sequence=2, supersedes=first)
    assert muni(world, "import", str(second.path)).code == 0
    _refused(world, first.path, "SX-ROLLBACK")


def test_same_sequence_other_content_is_refused_as_equivocation(world: World) -> None:
    one = make_package(world, [person(1, DEADLINE)], sequence=1)
    other = make_package(world, [person(2, DEADLINE)], sequence=1)
    assert muni(world, "import", str(one.path)).code == 0
    _refused(world, other.path, "SX-EQUIVOCATION")


@pytest.mark.parametrize(("lang", "meaning"), [("en", "not a data breach"), ("nl", "geen datalek")])
def test_package_past_its_import_deadline_is_refused_as_stale_and_not_a_breach(
    world: World, lang: str, meaning: str
) -> None:
    made = make_package(world, [person(1, DEADLINE)], import_days=30)
    later = (datetime.now(UTC) + timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # The shredding pass every command runs first may destroy a subkey by then (split
    # out at init): run it alone, so that the refusal is seen to write nothing itself.
    assert muni(world, "shred", now=later).code == 0
    stderr = _refused(world, made.path, "SX-STALE", now=later, lang=lang)
    assert meaning in stderr and "art. 6" not in stderr


def test_package_dated_more_than_a_day_ahead_is_refused_as_future(world: World) -> None:
    made = make_package(
        world, [person(1, DEADLINE)], created_at=datetime.now(UTC) + timedelta(days=2)
    )
    _refused(world, made.path, "SX-FUTURE")


def test_package_for_another_municipality_is_refused(world: World, tmp_path: Path) -> None:
    gent = other_world(world, tmp_path)
    made = make_package(gent, [person(1, DEADLINE)])
    _refused(world, made.path, "SX-WRONG-MUNICIPALITY")


def test_package_not_encrypted_to_our_key_is_refused(world: World, tmp_path: Path) -> None:
    colleague = other_world(world, tmp_path, nis=world.nis, name="Bram Claes")
    made = make_package(world, [person(1, DEADLINE)], only=[fingerprint(colleague.staff)])
    _refused(world, made.path, "SX-NOT-RECIPIENT")


@pytest.mark.parametrize(
    ("lang", "duty"),
    [
        ("en", "data protection officer within 48 hours"),
        ("nl", "binnen 48 uur aan het Agentschap en aan uw functionaris voor gegevensbescherming"),
    ],
)
def test_tampered_package_is_refused_with_the_48_hour_duty(
    world: World, lang: str, duty: str
) -> None:
    made = make_package(world, [person(i, DEADLINE) for i in range(3)])
    data = bytearray(made.data)
    data[len(data) // 2] ^= 0x01
    bad = made.path.with_name("tampered.sxp")
    bad.write_bytes(bytes(data))
    stderr = _refused(world, bad, "SX-TAMPERED", lang=lang)
    assert duty in stderr


def test_refused_package_after_a_good_one_leaves_the_vault_as_it_was(world: World) -> None:
    good = make_package(world, [person(1, DEADLINE)], sequence=1)
    assert muni(world, "import", str(good.path)).code == 0
    data = bytearray(make_package(world, [person(2, DEADLINE)], sequence=2, supersedes=good).data)
    data[len(data) // 2] ^= 0x80
    bad = good.path.with_name("bad.sxp")
    bad.write_bytes(bytes(data))
    _refused(world, bad, "SX-TAMPERED")


def test_newer_package_supersedes_and_shreds_records_no_longer_present(world: World) -> None:
    rows = [person(i, DEADLINE) for i in range(3)]
    first = make_package(world, rows, sequence=1)
    assert muni(world, "import", str(first.path)).code == 0
    assert muni(world, "set-status", rows[0].record_id, "gecontacteerd").code == 0
    second = make_package(world, rows[:2], sequence=2, supersedes=first)
    assert muni(world, "import", str(second.path)).code == 0
    status = json.loads(muni(world, "status", "--json").stdout)
    states = {p["id"]: (p["state"], p["records"]) for p in status["packages"]}
    assert states == {first.package_id: ("superseded", 0), second.package_id: ("live", 2)}
    assert status["pending_edits"] == 1
