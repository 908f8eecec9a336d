"""``municipality status``: typed changes counted without a passphrase, said in Dutch."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from cli_helpers import run_cli
from municipal_flows import World, make_package, make_world, muni, person
from securexchange.i18n import dutch_date
from securexchange.municipality.status_text import render
from securexchange.schema import HEADER_ACTIVITY, HEADER_RECORD_ID
from securexchange.sheets.layout import DATA_SHEET, FIRST_DATA_ROW, HEADERS, quality_header

T = date(2026, 12, 15)
LATER = date(2027, 2, 1)


def _type(path: Path, record_id: str, header: str, value: str) -> None:
    """Type in one editable cell as Excel would save it (openpyxl, protection kept)."""
    book = openpyxl.load_workbook(path)
    sheet = book[DATA_SHEET]
    id_col = HEADERS.index(HEADER_RECORD_ID) + 1
    col = HEADERS.index(header) + 1
    for row in range(FIRST_DATA_ROW, sheet.max_row + 1):
        if sheet.cell(row, id_col).value == record_id:
            sheet.cell(row, col).value = value
            break
    else:
        raise AssertionError("record not in the workbook")
    book.save(path)


def _open(world: World, now: str | None = None) -> Path:
    result = muni(world, "open", now=now)
    assert result.code == 0, result.stderr
    return Path(result.stdout.strip())


def _status(world: World, now: str | None = None) -> dict[str, Any]:
    result = muni(world, "status", "--json", now=now)
    assert result.code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _text(world: World, lang: str = "nl") -> str:
    result = run_cli(["municipality", "status"], home=world.staff, env={"SECUREXCHANGE_LANG": lang})
    assert result.code == 0, result.stderr
    return result.stdout


def _db(world: World) -> sqlite3.Connection:
    return sqlite3.connect(world.staff / "state.sqlite3")


def _imported(tmp_path: Path, retention: date = LATER, n: int = 2) -> tuple[World, list[str]]:
    world = make_world(tmp_path)
    people = [person(i + 1, retention) for i in range(n)]
    made = make_package(world, people, sequence=1)
    assert muni(world, "import", str(made.path)).code == 0
    return world, [p.record_id for p in people]


def test_a_status_typed_in_a_workbook_and_not_returned_is_counted_without_a_passphrase(
    tmp_path: Path,
) -> None:
    world, (a, b) = _imported(tmp_path)
    workbook = _open(world)
    assert _status(world)["pending_edits"] == 0
    _type(workbook, a, HEADER_ACTIVITY, "gecontacteerd")
    _type(workbook, b, quality_header("Naam"), "foutief")

    doc = _status(world)
    assert doc["pending_edits"] == 2
    assert doc["pending_edits_in_workbooks"] == 2 and doc["pending_edits_stored"] == 0
    assert doc["pending_edits_complete"] is True
    assert [w["typed_changes"] for w in doc["workbooks"]] == [2]
    assert "Nog terug te sturen naar het Agentschap: 2 wijziging(en)" in _text(world)


def test_a_file_still_as_written_is_known_by_its_digest_and_any_change_is_read(
    tmp_path: Path,
) -> None:
    """``status`` skips parsing a workbook that is byte for byte what ``open`` wrote
    (digests.file_as_written); one saved by Excel is read cell by cell as before."""
    import hashlib

    world, (a, _) = _imported(tmp_path)
    workbook = _open(world)
    with _db(world) as db:
        (kept,) = db.execute("SELECT written_sha256 FROM vault_workbook_digest_keys").fetchone()
    assert kept == hashlib.sha256(workbook.read_bytes()).digest()
    assert [w["typed_changes"] for w in _status(world)["workbooks"]] == [0]
    _type(workbook, a, HEADER_ACTIVITY, "gecontacteerd")
    assert [w["typed_changes"] for w in _status(world)["workbooks"]] == [1]
    # The digest is what decides: told that the typed file is the written one, status
    # believes it (the count is informational; `return` always reads the cells).
    with _db(world) as db:
        db.execute(
            "UPDATE vault_workbook_digest_keys SET written_sha256 = ?",
            (hashlib.sha256(workbook.read_bytes()).digest(),),
        )
    assert [w["typed_changes"] for w in _status(world)["workbooks"]] == [0]
    # Absorbing moves the written state on: the digest goes, the cells are read again.
    assert muni(world, "open").code == 0
    with _db(world) as db:
        kept_now = [
            r[0] for r in db.execute("SELECT written_sha256 FROM vault_workbook_digest_keys")
        ]
    assert sorted(k is None for k in kept_now) == [False, True]


def test_a_typed_change_taken_in_by_a_passphrase_command_is_not_counted_twice(
    tmp_path: Path,
) -> None:
    world, (a, _) = _imported(tmp_path)
    workbook = _open(world)
    _type(workbook, a, HEADER_ACTIVITY, "gecontacteerd")
    # import/open absorb what was typed into the vault: one stored edit, none typed.
    assert muni(world, "open").code == 0
    doc = _status(world)
    assert (doc["pending_edits"], doc["pending_edits_stored"]) == (1, 1)
    assert [w["typed_changes"] for w in doc["workbooks"]] == [0, 0]
    returned = muni(world, "return", "--out", str(world.out))
    assert returned.code == 0, returned.stderr
    assert _status(world)["pending_edits"] == 0
    assert "Niets terug te sturen" in _text(world)


def test_a_workbook_harvested_by_shredding_without_a_passphrase_keeps_its_count(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    a, b = person(1, T), person(2, LATER)
    made = make_package(world, [a, b], sequence=1)
    assert muni(world, "import", str(made.path)).code == 0
    workbook = _open(world)
    _type(workbook, b.record_id, HEADER_ACTIVITY, "gecontacteerd")
    # Past A's deadline: the workbook goes, its cells are kept sealed for the next key.
    assert muni(world, "shred", now="2026-12-16").code == 0
    assert not workbook.exists()
    doc = _status(world, now="2026-12-16")
    assert [(w["state"], w["typed_changes"]) for w in doc["workbooks"]] == [("harvested", 1)]
    assert doc["pending_edits"] == 1


def test_an_old_home_without_digests_says_it_cannot_count_instead_of_zero(
    tmp_path: Path,
) -> None:
    world, (a, _) = _imported(tmp_path)
    workbook = _open(world)
    _type(workbook, a, HEADER_ACTIVITY, "gecontacteerd")
    with _db(world) as conn:  # what a workbook written by an older version has
        conn.execute("DELETE FROM vault_workbook_digests")
        conn.execute("DELETE FROM vault_workbook_digest_keys")
    doc = _status(world)
    assert [w["typed_changes"] for w in doc["workbooks"]] == [None]
    assert doc["pending_edits_complete"] is False
    assert "kan het aantal getypte wijzigingen niet geteld worden" in _text(world)
    # The next command with the passphrase takes the change in and keeps digests again.
    assert muni(world, "open").code == 0
    doc = _status(world)
    assert doc["pending_edits_complete"] is True and doc["pending_edits"] == 1


def test_the_kept_digests_give_a_reader_of_the_state_database_nothing_to_match(
    tmp_path: Path,
) -> None:
    """Equal cells do not give equal digests (per-row salt, per-workbook key), and no
    record id or cell value is stored in clear."""
    world, ids = _imported(tmp_path, n=3)
    _open(world)
    _open(world)
    with _db(world) as conn:
        keys = [bytes(r[0]) for r in conn.execute("SELECT key FROM vault_workbook_digest_keys")]
        rows = conn.execute("SELECT salt, status, quality FROM vault_workbook_digests").fetchall()
    assert len(keys) == 2 and len(set(keys)) == 2
    assert len(rows) == 6  # every record starts "nog niet gecontacteerd", no quality
    assert len({bytes(r[0]) for r in rows}) == 6
    assert len({bytes(r[1]) for r in rows}) == 6 and len({bytes(r[2]) for r in rows}) == 6
    blob = b"".join(bytes(c) for r in rows for c in r)
    assert not any(i.encode() in blob for i in ids)


def test_a_subkey_is_explained_with_dates_in_dutch_and_in_english_on_request(
    tmp_path: Path,
) -> None:
    world, _ = _imported(tmp_path)
    doc = _status(world)
    key = next(k for k in doc["subkeys"] if k["state"] == "held")
    days = [date.fromisoformat(key[k][:10]) for k in ("valid_from", "valid_until", "destroy_by")]
    start, end, by = (dutch_date(d) for d in days)
    dutch = _text(world)
    assert (
        f"Uw sleutel voor pakketten van {start} tot {end} wordt uiterlijk op {by} "
        "vernietigd; daarna kan niemand die pakketten nog openen."
    ) in dutch
    assert "subkey" not in dutch and "age1" not in dutch
    english = _text(world, "en")
    start, end, by = (f"{d.day} {d:%B} {d.year}" for d in days)
    assert f"Your key for packages from {start} to {end} is destroyed on {by}" in english
    assert "age1" not in english


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "now": "2027-02-10T00:00:00Z",
        "clock_behind": False,
        "packages": [],
        "next_deadlines": [{"date": "2027-03-01", "records": 1}],
        "pending_edits": 0,
        "pending_edits_stored": 0,
        "pending_edits_in_workbooks": 0,
        "pending_edits_complete": True,
        "workbooks": [],
        "subkeys": [
            {
                "recipient": "age1" + "q" * 58,
                "valid_from": "2026-10-01T00:00:00Z",
                "valid_until": "2027-01-01T00:00:00Z",
                "state": "held",
                "destroyed_at": None,
                "destroy_by": "2027-01-31T00:00:00Z",
                "needed": True,
                "file_remains": False,
            }
        ],
        "terminations": [],
        "last_shred": None,
        "leftover_subkey_files": 0,
    }
    doc.update(changes)
    return doc


@pytest.mark.usefixtures("dutch")
def test_a_past_key_that_still_holds_data_tells_staff_to_act_before_its_destruction() -> None:
    lines = render(_doc()).lines
    assert "Op 1 maart 2027 wordt 1 dossier vernietigd (bewaartermijn)." in lines
    assert any(
        "voer vóór 31 januari 2027 een opdracht met uw wachtwoordzin uit" in x for x in lines
    )
    # The current key (its period not over) needs no such warning.
    current = _doc(now="2026-12-01T00:00:00Z")
    assert not any("wachtwoordzin" in x for x in render(current).lines)


def test_a_hostile_workbook_path_is_escaped_in_the_status_lines() -> None:
    book = {
        "id": "wb-1",
        "path": "/home/x/\x1b[2Jevil\u202e.xlsx",
        "package": "pkg-1",
        "written_at": "2027-01-01T00:00:00Z",
        "state": "open",
        "problem": None,
        "typed_changes": 0,
    }
    lines = render(_doc(workbooks=[book])).lines
    assert not any("\x1b" in x or "\u202e" in x for x in lines)


def test_a_damaged_workbook_is_reported_uncounted_and_a_deleted_one_holds_nothing(
    tmp_path: Path,
) -> None:
    world, (a, _) = _imported(tmp_path)
    workbook = _open(world)
    _type(workbook, a, HEADER_ACTIVITY, "gecontacteerd")
    workbook.write_bytes(b"PK\x03\x04 not a workbook any more")
    doc = _status(world)
    assert [w["typed_changes"] for w in doc["workbooks"]] == [None]
    assert doc["pending_edits_complete"] is False
    workbook.unlink()  # what staff deleted cannot be returned: nothing pending
    doc = _status(world)
    assert [w["typed_changes"] for w in doc["workbooks"]] == [0]
    assert doc["pending_edits_complete"] is True and doc["pending_edits"] == 0
