"""Attacks on the clear-text deadlines of the vault (issue 14, item 3).

Whoever can edit ``state.sqlite3`` can move a deadline column; shredding (no
passphrase) holds every one to the agency-signed manifest kept in the vault, and
``open`` holds each record's to the copy sealed in its row.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cli_helpers import TERMINATION_GROUND, assert_single_error
from municipal_flows import World, make_package, make_world, muni, person
from securexchange.sheets.layout import WorkbookRow

T = date(2026, 12, 15)
LATER = date(2027, 6, 1)
FAR = date(2028, 6, 1)


def _edit(world: World, sql: str, *args: object) -> None:
    conn = sqlite3.connect(world.staff / "state.sqlite3")
    try:
        with conn:
            assert conn.execute(sql, args).rowcount > 0
    finally:
        conn.close()


def _status(world: World, now: str | None = None) -> dict[str, object]:
    if now is not None:
        # Under demo time travel a read-only command changes nothing: shred explicitly.
        shredded = muni(world, "shred", now=now)
        assert shredded.code == 0, shredded.stderr
    result = muni(world, "status", "--json", now=now)
    assert result.code == 0, result.stderr
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def _records(doc: dict[str, object]) -> int:
    packages = doc["packages"]
    assert isinstance(packages, list)
    return sum(int(p["records"]) for p in packages)


def test_a_retention_column_edited_past_the_signed_manifest_is_detected_and_shredded(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T), person(2, LATER)])
    assert muni(world, "import", str(made.path)).code == 0
    _edit(world, "UPDATE vault_records SET retention = '2099-01-01'")

    shredded = muni(world, "shred", now="2026-12-16")
    assert shredded.code == 0, shredded.stderr
    assert "disagreed with what the agency signed" in shredded.stderr
    doc = _status(world)
    assert _records(doc) == 0
    assert [p["state"] for p in doc["packages"]] == ["tampered"]
    assert '"tampered":1' in (world.staff / "log.jsonl").read_text()


def _open_shreds_the_edited_record_and_shows_the_other(world: World) -> None:
    """Both records held until `open` reads the sealed deadlines: it shreds the edited
    one and refuses (SX-TAMPERED); the next `open` shows the other."""
    assert _records(_status(world, now="2026-12-16")) == 2
    assert_single_error(muni(world, "open", now="2026-12-16"), "SX-TAMPERED", 1)
    assert _records(_status(world, now="2026-12-16")) == 1
    opened = muni(world, "open", now="2026-12-16")
    assert opened.code == 0, opened.stderr
    assert "1 record" in opened.stderr


def _early_deadline_moved_within_the_manifest(tmp_path: Path) -> tuple[World, WorkbookRow]:
    """Two records imported, the earlier one's clear deadline moved to a later day that
    is still within the signed [earliest, latest]: only the sealed copy can tell."""
    world = make_world(tmp_path)
    early, late = person(1, T), person(2, LATER)
    made = make_package(world, [early, late])
    assert muni(world, "import", str(made.path)).code == 0
    _edit(
        world,
        "UPDATE vault_records SET retention = ? WHERE retention = ?",
        "2027-06-01",
        "2026-12-15",
    )
    return world, late


def test_a_retention_column_edited_within_the_manifest_is_caught_by_open_against_the_sealed_row(
    tmp_path: Path,
) -> None:
    world, _late = _early_deadline_moved_within_the_manifest(tmp_path)
    _open_shreds_the_edited_record_and_shows_the_other(world)


@pytest.mark.parametrize("tag", ["tag || '0'", "CAST(tag AS BLOB)", "'é' || substr(tag, 2)"])
def test_a_row_whose_tag_was_edited_with_its_deadline_is_shredded_not_kept_unreadable(
    tmp_path: Path, tag: str
) -> None:
    """A row whose clear tag (another text, a blob, not ASCII) no longer authenticates cannot
    tell its sealed deadline, so that may have passed: the row is shredded as an edited
    deadline is (else moving the deadline and the tag kept the record until the moved
    deadline, and every open refused meanwhile)."""
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T), person(2, LATER)])
    assert muni(world, "import", str(made.path)).code == 0
    _edit(
        world,
        f"UPDATE vault_records SET retention = ?, tag = {tag} WHERE retention = ?",
        LATER.isoformat(),
        T.isoformat(),
    )
    _open_shreds_the_edited_record_and_shows_the_other(world)


def test_a_status_set_on_another_record_still_checks_every_sealed_deadline(
    tmp_path: Path,
) -> None:
    """The command line's set-status reads every row (the app's save reads its own only,
    after a page view that read them all)."""
    world, late = _early_deadline_moved_within_the_manifest(tmp_path)
    result = muni(world, "set-status", late.record_id, "gestart", now="2026-12-16")
    assert_single_error(result, "SX-TAMPERED", 1)
    assert _records(_status(world, now="2026-12-16")) == 1


def test_an_edited_valid_until_column_does_not_keep_a_stale_package_openable(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)], valid_days=20, import_days=10)
    assert muni(world, "import", str(made.path)).code == 0
    _edit(world, "UPDATE vault_packages SET valid_until = '2099-01-01T00:00:00Z'")

    result = muni(world, "open", now="2026-12-25")  # past the signed valid-until
    assert result.code != 0
    doc = _status(world)
    assert [p["state"] for p in doc["packages"]] == ["tampered"] and _records(doc) == 0


def test_a_deleted_signed_copy_does_not_free_a_package_from_its_bounds(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    _edit(world, "DELETE FROM vault_signed")
    assert [p["state"] for p in _status(world)["packages"]] == ["tampered"]  # type: ignore[union-attr]


def test_an_edited_subkey_valid_until_column_does_not_keep_the_key(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T)])
    assert muni(world, "import", str(made.path)).code == 0
    _edit(world, "UPDATE vault_subkeys SET valid_until = '2099-01-01T00:00:00Z'")
    # Still live: the package's record is there, and its keyring certifies the subkey.
    doc = _status(world)
    subkeys = doc["subkeys"]
    assert isinstance(subkeys, list)
    # Each held to its certified validity, not the edited column: the period's pair (the
    # hybrid subkey and its classic companion) and the two pre-issued pairs.
    assert sorted(str(s.get("destroy_by")) for s in subkeys) == [
        "2027-01-31T00:00:00Z",
        "2027-01-31T00:00:00Z",
        "2027-05-01T00:00:00Z",
        "2027-05-01T00:00:00Z",
        "2027-07-31T00:00:00Z",
        "2027-07-31T00:00:00Z",
    ]
    first = {str(s["recipient"]) for s in subkeys if s["destroy_by"] == "2027-01-31T00:00:00Z"}
    # Past the record's deadline and the signed validity: nothing needs it, it goes.
    doc = _status(world, now="2027-01-02")
    subkeys = doc["subkeys"]
    assert isinstance(subkeys, list)
    assert {s["state"] for s in subkeys if s["recipient"] in first} == {"destroyed"}
    assert {s["state"] for s in subkeys if s["recipient"] not in first} == {"held"}


def test_a_clock_mark_edited_back_does_not_reopen_a_stale_package(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T), person(2, FAR)], valid_days=20, import_days=10)
    assert muni(world, "import", str(made.path)).code == 0
    # Shredding at the 25th logs it; the package is stale from the 22nd.
    assert muni(world, "shred", now="2026-12-25").code == 0
    for key in ("clock_mark", "last_shred"):
        _edit(world, "UPDATE settings SET value = '2026-12-01T00:00:00Z' WHERE key = ?", key)

    result = muni(world, "open")  # the system clock: before the 22nd
    assert result.code != 0
    assert _status(world)["now"] >= "2026-12-25"  # type: ignore[operator]


def test_an_edited_termination_day_does_not_postpone_the_termination(tmp_path: Path) -> None:
    from cli_helpers import run_cli

    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    terminated = run_cli(
        [
            *(
                "agency",
                "terminate",
                *TERMINATION_GROUND,
                "--nis",
                world.nis,
            ),
            *("--effective", "2026-12-20", "--out", str(world.out)),
        ],
        home=world.agency,
    )
    assert terminated.code == 0, terminated.stderr
    assert muni(world, "import", terminated.stdout.strip()).code == 0
    _edit(world, "UPDATE vault_protocols SET effective = '2099-01-01'")

    doc = _status(world, now="2026-12-21")
    assert [p["state"] for p in doc["packages"]] == ["terminated"]  # type: ignore[index]
    assert doc["terminations"][0]["effective"] == "2026-12-20"  # type: ignore[index]


def _as_before_signed_copies(world: World) -> None:
    """The state database as a release before ``vault_signed`` left it."""
    conn = sqlite3.connect(world.staff / "state.sqlite3")
    try:
        with conn:
            conn.execute("DROP TABLE vault_signed")
            conn.execute("DROP TABLE vault_legacy")
    finally:
        conn.close()


def test_an_upgraded_home_keeps_its_packages_as_legacy_and_logs_the_upgrade(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    _as_before_signed_copies(world)
    doc = _status(world)
    assert [p["state"] for p in doc["packages"]] == ["live"]  # type: ignore[union-attr]
    log = (world.staff / "log.jsonl").read_text().splitlines()
    upgrades = [json.loads(line) for line in log if '"vault-upgrade"' in line]
    assert len(upgrades) == 1 and upgrades[0]["artifacts"] == [made.package_id]
    assert muni(world, "status").code == 0  # once: the tables exist from now on
    log = (world.staff / "log.jsonl").read_text()
    assert log.count('"vault-upgrade"') == 1


def test_an_upgrade_interrupted_after_the_tables_were_made_runs_at_the_next_command(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    _as_before_signed_copies(world)
    # Refused after the tables were created and before the upgrade could run.
    assert muni(world, "status", now="not-a-time").code != 0
    assert muni(world, "shred").code == 0
    doc = _status(world)
    assert [p["state"] for p in doc["packages"]] == ["live"]  # type: ignore[union-attr]
    log = (world.staff / "log.jsonl").read_text()
    assert log.count('"vault-upgrade"') == 1


def test_a_legacy_package_is_shredded_sixty_days_after_the_upgrade_whatever_its_columns(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    _as_before_signed_copies(world)
    assert muni(world, "status").code == 0
    _edit(world, "UPDATE vault_packages SET valid_until = '2099-01-01T00:00:00Z'")
    states = [p["state"] for p in _status(world, now="2027-03-01")["packages"]]  # type: ignore[union-attr]
    assert states == ["expired"]


def test_a_legacy_bound_edited_into_the_future_ends_with_the_last_legacy_day(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    _as_before_signed_copies(world)
    assert muni(world, "status").code == 0
    _edit(world, "UPDATE vault_legacy SET bound = '9000-01-01T00:00:00Z'")
    _edit(world, "UPDATE vault_packages SET valid_until = '2099-01-01T00:00:00Z'")
    states = [p["state"] for p in _status(world, now="2027-03-02")["packages"]]  # type: ignore[union-attr]
    assert states == ["expired"]


def test_a_pre_issued_subkey_is_held_to_its_own_certification_and_an_edited_one_fails_closed(
    tmp_path: Path,
) -> None:
    # The pre-issued subkeys are on no keyring since issue 19: their signed validity is
    # the person's own certification, kept beside each row (vault_subkey_certs).
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T)])
    assert muni(world, "import", str(made.path)).code == 0
    late = "SELECT recipient FROM vault_subkeys WHERE valid_from > ? ORDER BY valid_from"
    conn = sqlite3.connect(world.staff / "state.sqlite3")
    try:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        latest = [str(r[0]) for r in conn.execute(late, (now,))][-2:]
    finally:
        conn.close()
    assert len(latest) == 2  # the last pre-issued period's pair
    _edit(world, "UPDATE vault_subkeys SET valid_until = '2099-01-01T00:00:00Z'")
    held = {str(s["recipient"]): s for s in _status(world)["subkeys"]}  # type: ignore[union-attr]
    assert all(str(held[r]["destroy_by"]) < "2099" for r in latest)
    # Editing the certification as well only destroys the subkey.
    _edit(
        world,
        "UPDATE vault_subkey_certs SET valid_until = '2099-01-01T00:00:00Z' WHERE recipient = ?",
        latest[0],
    )
    assert muni(world, "shred").code == 0
    states = {str(s["recipient"]): s["state"] for s in _status(world)["subkeys"]}  # type: ignore[union-attr]
    assert states[latest[0]] == "destroyed" and states[latest[1]] == "held"


def test_remembered_verifications_still_hold_every_column_and_never_keep_a_refusal(
    tmp_path: Path,
) -> None:
    """The app keeps what each pass verified (bounds.Verified); the columns are still held
    to it, and a changed copy is verified anew."""
    from securexchange.home.home import HomeKind, open_home
    from securexchange.municipality import bounds

    world = make_world(tmp_path)
    made = make_package(world, [person(1, T), person(2, LATER)])
    assert muni(world, "import", str(made.path)).code == 0
    verified = bounds.Verified()
    with open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        plain = bounds.check(home)
        with bounds.remembering(verified):
            first, again = bounds.check(home), bounds.check(home)
        assert plain == first == again and not first.tampered
        assert len(verified._packages) == 1 and len(verified._keyrings) >= 1

    _edit(world, "UPDATE vault_records SET retention = '2099-01-01'")
    with (
        open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY) as home,
        bounds.remembering(verified),
    ):
        assert bounds.check(home).tampered  # the column, held to the kept answer
    _edit(world, "UPDATE vault_records SET retention = ?", LATER.isoformat())
    _edit(world, "UPDATE vault_signed SET container = substr(container, 1, 200)")
    with open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        with bounds.remembering(verified):
            assert bounds.check(home).tampered  # a changed copy: verified anew, refused
        # The refusal was not kept, nor the answer for bytes the vault no longer holds.
        assert not verified._packages


def test_a_remembered_keyring_does_not_answer_for_its_bytes_split_another_way(
    tmp_path: Path,
) -> None:
    """The remembered keyring is found by its document and signature each taken whole: a
    row whose document took the signature's first line (so the two joined read the same)
    does not verify, with or without memory."""
    from securexchange.home.home import HomeKind, open_home
    from securexchange.municipality import bounds

    world = make_world(tmp_path)
    verified = bounds.Verified()
    with (
        open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY) as home,
        bounds.remembering(verified),
    ):
        assert bounds.check(home).subkey_until  # the keyring bounds the subkeys
    _edit(
        world,
        "UPDATE municipal_keyrings SET "
        "document = CAST(document || x'0a' || "
        "substr(signature, 1, instr(signature, char(10)) - 1) AS BLOB), "
        "signature = substr(signature, instr(signature, char(10)) + 1)",
    )
    with open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        plain = bounds.check(home)
        with bounds.remembering(verified):
            assert bounds.check(home) == plain
    assert not plain.subkey_until  # refused: the split row bounds nothing


def test_remembered_verifications_are_only_those_of_the_copies_the_vault_still_holds(
    tmp_path: Path,
) -> None:
    """A package shredded (here: superseded) leaves the process's memory with the next
    pass, its signed copy with it: what the app remembers does not grow with every
    package it ever saw."""
    import hashlib

    from securexchange.home.home import HomeKind, open_home
    from securexchange.municipality import bounds, vault

    world = make_world(tmp_path)
    first = make_package(world, [person(1, T), person(2, LATER)])
    assert muni(world, "import", str(first.path)).code == 0
    verified = bounds.Verified()
    with (
        open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY) as home,
        bounds.remembering(verified),
    ):
        bounds.check(home)
    second = make_package(world, [person(1, T)], sequence=2, supersedes=first)
    assert muni(world, "import", str(second.path)).code == 0
    with (
        open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY) as home,
        bounds.remembering(verified),
    ):
        bounds.check(home)
        live = [p for p in vault.packages(home) if p.live]
        held = {
            hashlib.sha256(vault.signed_container(home, p.package_id) or b"").digest() for p in live
        }
    assert len(live) == 1
    assert {digest for digest, _root in verified._packages} == held
