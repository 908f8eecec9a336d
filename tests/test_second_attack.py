"""The second attack on issue 14's hardening: what a person who can edit a municipal
home's state database, or plant files in it, can still do to postpone a deletion or
to crash a command (exit 3)."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from municipal_flows import World, make_package, make_world, muni, person
from test_municipal_termination import _status, _terminate

T = date(2026, 12, 15)
PAST_EVERYTHING = (
    "2027-11-05"  # past the record's deadline and every subkey's grace (pre-issued too)
)


def _edit(world: World, sql: str) -> None:
    conn = sqlite3.connect(world.staff / "state.sqlite3")
    try:
        with conn:
            assert conn.execute(sql).rowcount > 0
    finally:
        conn.close()


def _subkey_files(world: World) -> list[str]:
    return sorted(p.name for p in (world.staff / "keys" / "subkeys").iterdir())


def _imported(tmp_path: Path) -> World:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T)])
    assert muni(world, "import", str(made.path)).code == 0
    assert _subkey_files(world)
    return world


UNREADABLE_COLUMNS = [
    "UPDATE vault_subkeys SET valid_until = 'soon'",
    "UPDATE vault_subkeys SET valid_from = 'soon'",
    "UPDATE vault_subkeys SET destroyed_at = 'soon'",
    "UPDATE vault_packages SET valid_until = 'soon'",
    "UPDATE vault_packages SET import_deadline = 'soon'",
    "UPDATE vault_packages SET created_at = 'soon'",
    "UPDATE vault_packages SET imported_at = 'soon'",
    "UPDATE vault_packages SET sequence = 'many'",
    "UPDATE vault_packages SET records = 'many'",
    "UPDATE settings SET value = 'x' WHERE key = 'agency_root_key'",
    "DELETE FROM settings WHERE key = 'agency_root_key'",
]


@pytest.mark.parametrize("sql", UNREADABLE_COLUMNS)
def test_an_unreadable_value_written_into_the_state_database_neither_crashes_nor_keeps_the_subkey(
    tmp_path: Path, sql: str
) -> None:
    world = _imported(tmp_path)
    _edit(world, sql)
    shred = muni(world, "shred", now=PAST_EVERYTHING)
    status = muni(world, "status", "--json", now=PAST_EVERYTHING)
    assert (shred.code, status.code) == (0, 0), (shred.stderr, status.stderr)
    assert "SX-INTERNAL" not in shred.stderr + status.stderr
    assert _subkey_files(world) == [], status.stdout
    doc = json.loads(status.stdout)
    assert all(p["records"] == 0 for p in doc["packages"])


@pytest.mark.parametrize("key", ["log_head_count", "log_head_size"])
def test_an_edited_log_counter_is_a_broken_log_not_an_internal_error(
    tmp_path: Path, key: str
) -> None:
    world = _imported(tmp_path)
    _edit(world, f"UPDATE settings SET value = 'x' WHERE key = '{key}'")
    for args in (("status",), ("shred",)):
        result = muni(world, *args, now=PAST_EVERYTHING)
        assert result.code != 3, result.stderr
        assert "SX-INTERNAL" not in result.stderr
        if result.code:
            assert "SX-LOG-BROKEN" in result.stderr
    audit = muni(world, "status", now=PAST_EVERYTHING)
    assert audit.code in (0, 1), audit.stderr


def test_a_subkey_validity_edited_together_with_a_record_deadline_is_still_held_to_its_keyring(
    tmp_path: Path,
) -> None:
    world = _imported(tmp_path)
    # The package row now disagrees with its signed copy; its keyring view still counts.
    _edit(world, "UPDATE vault_records SET retention = '2099-01-01'")
    _edit(world, "UPDATE vault_subkeys SET valid_until = '2099-01-01T00:00:00Z'")
    assert muni(world, "shred", now="2026-12-20").code == 0
    assert muni(world, "shred", now=PAST_EVERYTHING).code == 0
    assert _subkey_files(world) == []


def test_a_subkey_validity_edited_after_its_packages_are_gone_is_held_to_the_held_keyring(
    tmp_path: Path,
) -> None:
    world = _imported(tmp_path)
    assert muni(world, "shred", now="2026-12-16").code == 0  # the record's deadline: gone
    _edit(world, "UPDATE vault_subkeys SET valid_until = '2099-01-01T00:00:00Z'")
    assert muni(world, "shred", now=PAST_EVERYTHING).code == 0
    assert _subkey_files(world) == []


@pytest.mark.parametrize(
    "sql",
    ["DELETE FROM vault_protocols", "UPDATE vault_protocols SET protocol_id = 'p-none'"],
)
def test_a_deleted_termination_row_does_not_undo_a_signed_termination(
    tmp_path: Path, sql: str
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, date(2027, 3, 1))])
    assert muni(world, "import", str(made.path)).code == 0
    assert muni(world, "import", str(_terminate(world, "2026-12-10"))).code == 0
    _edit(world, sql)  # the signed notice stays in vault_signed_notices
    doc = _status(world, now="2026-12-11")
    assert [(p["state"], p["records"]) for p in doc["packages"]] == [("terminated", 0)]  # type: ignore[union-attr,index]


@pytest.mark.parametrize("name", ["state.sqlite3-wal", "state.sqlite3-shm"])
@pytest.mark.parametrize("kind", ["symlink", "directory"])
def test_a_link_or_directory_planted_at_the_state_databases_wal_is_an_unsafe_home_not_exit_3(
    tmp_path: Path, name: str, kind: str
) -> None:
    world = _imported(tmp_path)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    planted = world.staff / name
    if kind == "symlink":
        planted.symlink_to(victim)
    else:
        planted.mkdir()
    result = muni(world, "shred", now=PAST_EVERYTHING)
    assert "SX-UNSAFE-HOME" in result.stderr, result.stderr
    assert result.code == 1
    assert victim.read_bytes() == b"precious"


@pytest.mark.parametrize("damage", ["random", "truncated"])
def test_a_damaged_state_database_is_a_named_error_not_exit_3(tmp_path: Path, damage: str) -> None:
    world = _imported(tmp_path)
    db = world.staff / "state.sqlite3"
    data = db.read_bytes()
    db.write_bytes(os.urandom(8192) if damage == "random" else data[: len(data) // 3])
    for args in (("status",), ("shred",)):
        result = muni(world, *args, now=PAST_EVERYTHING)
        assert result.code == 1, result.stderr
        assert "SX-UNSAFE-HOME" in result.stderr and "damaged" in result.stderr


def test_a_clock_override_near_the_year_9999_is_refused_by_name_not_an_overflow(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T)])
    result = muni(world, "import", str(made.path), now="9999-12-31T23:59:59Z")
    assert result.code == 2 and "SX-CLOCK-OVERRIDE" in result.stderr, result.stderr
    assert muni(world, "import", str(made.path)).code == 0  # nothing was stored


def test_a_clock_mark_edited_to_the_year_9999_shreds_but_never_overflows(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T)])
    assert muni(world, "import", str(made.path)).code == 0
    _edit(world, "UPDATE settings SET value = '9999-12-31T23:59:59Z' WHERE key = 'clock_mark'")
    _edit(world, "UPDATE vault_subkeys SET valid_until = '9999-12-31T23:59:59Z'")
    _edit(world, "DELETE FROM municipal_keyrings")
    for args in (("shred",), ("status", "--json")):
        result = muni(world, *args)
        assert result.code == 0, result.stderr
    assert _subkey_files(world) == []  # late, not never
    again = make_package(world, [person(2, T)], sequence=2, supersedes=made)
    result = muni(world, "import", str(again.path))
    assert result.code in (1, 2) and "SX-INTERNAL" not in result.stderr, result.stderr


def test_a_workbook_path_edited_to_another_file_does_not_make_the_shredder_destroy_it(
    tmp_path: Path,
) -> None:
    world = _imported(tmp_path)
    assert muni(world, "open", "--out", str(tmp_path / "wb")).code == 0
    victim = tmp_path / "documents" / "thesis.docx"
    victim.parent.mkdir()
    victim.write_bytes(b"years of work")
    conn = sqlite3.connect(world.staff / "state.sqlite3")
    with conn:
        conn.execute("UPDATE vault_workbooks SET path = ?", (str(victim),))
    conn.close()
    assert muni(world, "shred", now="2026-12-16").code == 0  # the record's deadline
    assert victim.read_bytes() == b"years of work"
    assert json.loads(muni(world, "status", "--json", now="2026-12-16").stdout)["workbooks"] == []


@pytest.mark.parametrize("value", ["", "../identity.key", "/etc/passwd"])
def test_an_edited_subkey_file_column_names_no_other_file_and_crashes_nothing(
    tmp_path: Path, value: str
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, date(2027, 6, 15))])
    assert muni(world, "import", str(made.path)).code == 0
    conn = sqlite3.connect(world.staff / "state.sqlite3")
    with conn:
        conn.execute("UPDATE vault_subkeys SET file = ?", (value,))
    conn.close()
    result = muni(world, "open", "--out", str(tmp_path / "wb"), now="2026-12-20")
    assert result.code == 0, result.stderr


@pytest.mark.parametrize("table", ["vault_signed", "vault_signed_notices"])
@pytest.mark.parametrize("value", ["text", -1])
def test_a_signed_copy_replaced_by_another_type_is_shredded_as_tampered_not_exit_3(
    tmp_path: Path, table: str, value: object
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, date(2027, 6, 15))])
    assert muni(world, "import", str(made.path)).code == 0
    assert muni(world, "import", str(_terminate(world, "2027-05-01"))).code == 0
    conn = sqlite3.connect(world.staff / "state.sqlite3")
    with conn:
        assert conn.execute(f"UPDATE {table} SET container = ?", (value,)).rowcount
    conn.close()
    shred = muni(world, "shred", now="2026-12-20")
    assert shred.code == 0, shred.stderr
    doc = _status(world, now="2026-12-20")
    assert all(p["records"] == 0 for p in doc["packages"])  # type: ignore[union-attr,index]
