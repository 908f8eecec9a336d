"""Attacks on shredding: nothing a user can create may hold a deletion back.

Each test is named after the attack it defeats (issue 14, items 1 and 4). The subkey
of a home made now is valid until the end of the quarter; it is destroyed at the
latest 30 days after that (``subkeys.DESTROY_GRACE``), whatever is still wrapped to it.
The home also holds pre-issued subkeys for coming quarters (issue 19), which no package
here is encrypted to: the checks look at the first period's pair, the one that holds
the data (``_subkeys``, ``_subkey_files``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cli_helpers import run_cli
from municipal_flows import World, home_identities, make_package, make_world, muni, person
from retention_helpers import immutable
from securexchange import age
from securexchange.artifacts.manifest import MEMBER_ORDER, PAYLOAD
from securexchange.artifacts.zipstrict import read as read_zip
from securexchange.errors import NotRecipient

T = date(2026, 12, 15)  # a record's deadline this quarter
FAR = date(2028, 6, 1)  # a record's deadline long after the subkey's validity
PAST_GRACE = "2027-02-01"  # after the current subkey's valid-until + 30 days


def _payload(data: bytes) -> bytes:
    return next(m.data for m in read_zip(data, MEMBER_ORDER) if m.name == PAYLOAD)


def _decrypts(data: bytes, world: World) -> bool:
    try:
        age.decrypt(_payload(data), home_identities(world.staff))
    except NotRecipient:
        return False
    return True


def _open(world: World, now: str | None = None) -> Path:
    result = muni(world, "open", now=now)
    assert result.code == 0, result.stderr
    return Path(result.stdout.strip())


def _status(world: World, now: str | None = None) -> dict[str, object]:
    if now is not None:
        # The home at ``now``: a read-only status under demo time travel shreds nothing
        # and stays in the present, so the shredding pass at ``now`` is its own command.
        assert muni(world, "shred", now=now).code == 0
    result = muni(world, "status", "--json", now=now)
    assert result.code == 0, result.stderr
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def _subkeys(doc: dict[str, object]) -> list[dict[str, object]]:
    """The first period's subkeys (the one the home was made in)."""
    found = _all_subkeys(doc)
    first = min(str(s["valid_until"]) for s in found)
    return [s for s in found if s["valid_until"] == first]


def _all_subkeys(doc: dict[str, object]) -> list[dict[str, object]]:
    found = doc["subkeys"]
    assert isinstance(found, list)
    return found


def _no_past_destruction_date(doc: dict[str, object]) -> None:
    now = datetime.fromisoformat(str(doc["now"]))
    for subkey in _subkeys(doc):
        if subkey["state"] == "held":
            assert datetime.fromisoformat(str(subkey["destroy_by"])) > now, subkey


def _subkey_files(world: World) -> list[Path]:
    """The first period's subkey files still on disk."""
    from securexchange.home.home import HomeKind, open_home
    from securexchange.municipality import subkeys

    with open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        listed = subkeys.listed(home)
        first = min(s.valid_until for s in listed)
        names = {s.file for s in listed if s.valid_until == first}
    return sorted(p for p in (world.staff / "keys" / "subkeys").iterdir() if p.name in names)


def _files_on_disk(world: World) -> list[Path]:
    """Every file in the subkey directory (for a home whose database cannot be read:
    without it, the scheduled shred destroys them all, pre-issued ones included)."""
    return sorted((world.staff / "keys" / "subkeys").iterdir())


def _hybrid_file(world: World) -> Path:
    """The file of the home's hybrid post-quantum subkey of the first period (its data
    key goes to it; its classic companion holds nothing in an all-hybrid municipality)."""
    from securexchange.home.home import HomeKind, open_home
    from securexchange.municipality import subkeys

    with open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        listed = subkeys.listed(home)
        first = min(s.valid_until for s in listed)
        (held,) = [
            s for s in listed if subkeys.post_quantum(s.recipient) and s.valid_until == first
        ]
        return subkeys.subkey_dir(home) / held.file


def test_a_stale_excel_owner_file_does_not_keep_the_workbook_or_its_subkey(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T), person(2, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    workbook = _open(world)
    owner = workbook.with_name("~$" + workbook.name)
    owner.write_bytes(b"")  # what Excel leaves after a crash; anyone can make one

    assert muni(world, "shred", now="2026-12-16").code == 0
    assert not workbook.exists() and not owner.exists()

    # The harvested workbook's cells are sealed to the subkey: they do not keep it.
    doc = _status(world, now=PAST_GRACE)
    assert {s["state"] for s in _subkeys(doc)} == {"destroyed"}
    assert not _decrypts(made.data, world)


def test_a_fifo_planted_at_the_workbook_path_neither_hangs_nor_holds_back_shredding(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T), person(2, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    workbook = _open(world)
    workbook.unlink()
    os.mkfifo(workbook)

    result = run_cli(
        ["municipality", "shred"],
        home=world.staff,
        env={"SECUREXCHANGE_NOW": "2026-12-16"},
        timeout=60,
    )
    assert result.code == 0, result.stderr
    assert not os.path.lexists(workbook)
    books = _status(world)["workbooks"]
    assert [w["state"] for w in books] == ["harvested"]  # type: ignore[union-attr]
    assert {s["state"] for s in _subkeys(_status(world, now=PAST_GRACE))} == {"destroyed"}


def test_an_unreturned_edit_and_a_stale_package_do_not_keep_a_subkey_past_its_grace(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    record = person(1, FAR)
    made = make_package(world, [record])
    assert muni(world, "import", str(made.path)).code == 0
    assert muni(world, "set-status", record.record_id, "gecontacteerd").code == 0

    before = _status(world, now="2027-01-20")
    _no_past_destruction_date(before)
    # The hybrid subkey holds the data; its classic companion held nothing and went.
    held = [s["destroy_by"] for s in _subkeys(before) if s["state"] == "held"]
    assert held == ["2027-01-31T00:00:00Z"]
    packages = before["packages"]
    assert isinstance(packages, list)
    assert [p["key_destroyed_by"] for p in packages] == ["2027-01-31T00:00:00Z"]

    result = muni(world, "shred", now=PAST_GRACE)
    assert result.code == 0, result.stderr
    assert "lost 1 package(s), 1 unreturned edit(s)" in result.stderr, result.stderr
    after = _status(world, now=PAST_GRACE)
    assert {s["state"] for s in _subkeys(after)} == {"destroyed"}
    assert [p["state"] for p in after["packages"]] == ["lost"]
    assert after["pending_edits"] == 0
    assert _subkey_files(world) == []
    assert not _decrypts(made.data, world)
    log = (world.staff / "log.jsonl").read_text()
    assert '"lost_packages":1' in log and '"lost_edits":1' in log


def test_a_command_that_unlocks_the_key_moves_live_data_off_a_subkey_before_its_destruction(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)], valid_days=120)
    assert muni(world, "import", str(made.path)).code == 0
    env = {"SECUREXCHANGE_NOW": "2027-01-05T10:00:00Z"}
    assert run_cli(["keys", "rotate"], home=world.staff, env=env).code == 0
    # Next quarter, before the old subkey's grace ends: open unlocks and re-wraps.
    _open(world, now="2027-01-10")

    doc = _status(world, now=PAST_GRACE)
    _no_past_destruction_date(doc)
    # The old period's pair is destroyed; the later (pre-issued) pairs are held.
    assert sorted(str(s["state"]) for s in _subkeys(doc)) == ["destroyed"] * 2
    later = [s for s in _all_subkeys(doc) if s not in _subkeys(doc)]
    assert later and {s["state"] for s in later} == {"held"}
    assert [p["state"] for p in doc["packages"]] == ["live"]  # type: ignore[index]
    assert not _decrypts(made.data, world)  # the mailed copy is dead ...
    _open(world, now=PAST_GRACE)  # ... the vault's records are not


def test_a_workbook_that_cannot_be_removed_does_not_postpone_the_destruction_of_its_subkey(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T), person(2, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    workbook = _open(world)
    with immutable(workbook):  # as Excel holding it open on Windows
        result = muni(world, "shred", now="2026-12-16")
        assert result.code == 0 and "could not be removed" in result.stderr
        doc = _status(world, now=PAST_GRACE)
        assert {s["state"] for s in _subkeys(doc)} == {"destroyed"}
        assert [w["state"] for w in doc["workbooks"]] == ["pending"]  # type: ignore[index]
        assert not _decrypts(made.data, world)
    assert muni(world, "shred").code == 0
    assert not workbook.exists()
    assert _status(world)["workbooks"] == []


def test_a_subkey_file_that_cannot_be_removed_is_destroyed_retried_and_reported(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    key_file = _hybrid_file(world)  # the subkey the data key is wrapped to
    with immutable(key_file):
        result = muni(world, "shred", now=PAST_GRACE)
        assert result.code == 0, result.stderr
        assert "could not be removed yet" in result.stderr
        env = {"SECUREXCHANGE_NOW": PAST_GRACE, "SECUREXCHANGE_LANG": "nl"}
        shown = run_cli(["municipality", "status"], home=world.staff, env=env)
        assert "opnieuw geprobeerd" in shown.stdout  # in Dutch: retried at every command
        doc = _status(world)
        assert sorted((s["state"], s["file_remains"]) for s in _subkeys(doc)) == [
            ("destroyed", False),  # the classic companion
            ("destroyed", True),
        ]
        # Marked destroyed: no command reads it again, even with the passphrase.
        assert muni(world, "open").code != 0
    assert muni(world, "shred").code == 0
    assert _subkey_files(world) == []
    assert [s["file_remains"] for s in _subkeys(_status(world))] == [False, False]


def test_a_subkey_file_restored_from_a_backup_is_destroyed_again(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T)])
    assert muni(world, "import", str(made.path)).code == 0
    backup = tmp_path / "file-history"
    shutil.copytree(world.staff / "keys" / "subkeys", backup)

    # Its records and validity are over: the subkey goes at the first shred.
    assert {s["state"] for s in _subkeys(_status(world, now="2027-01-02"))} == {"destroyed"}
    assert _subkey_files(world) == []
    shutil.copytree(backup, world.staff / "keys" / "subkeys", dirs_exist_ok=True)
    assert _decrypts(made.data, world)  # the restored file opens the mailed package

    assert muni(world, "status").code == 0
    assert _subkey_files(world) == []
    assert not _decrypts(made.data, world)


def test_a_home_restored_from_a_backup_destroys_again_what_is_past_its_date(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    snapshot = tmp_path / "snapshot"
    shutil.copytree(world.staff, snapshot, symlinks=True)
    assert {s["state"] for s in _subkeys(_status(world, now=PAST_GRACE))} == {"destroyed"}

    shutil.rmtree(world.staff)
    shutil.copytree(snapshot, world.staff, symlinks=True)
    assert _decrypts(made.data, world)
    # The home's clock (never behind the system clock) sees the key past its date.
    later = datetime(2027, 2, 2, tzinfo=UTC).strftime("%Y-%m-%d")
    assert {s["state"] for s in _subkeys(_status(world, now=later))} == {"destroyed"}
    assert not _decrypts(made.data, world)


@pytest.mark.parametrize("planted", ["symlink", "hardlink"])
def test_a_link_planted_at_the_workbook_path_is_removed_without_touching_its_target(
    tmp_path: Path, planted: str
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T), person(2, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    workbook = _open(world)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    workbook.unlink()
    if planted == "symlink":
        workbook.symlink_to(victim)
    else:
        os.link(victim, workbook)
    assert muni(world, "shred", now="2026-12-16").code == 0
    assert not os.path.lexists(workbook)
    assert victim.read_bytes() == b"precious"


def test_a_package_mailed_to_a_home_that_never_imports_dies_with_its_subkey(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])  # mailed, never imported
    assert _decrypts(made.data, world)
    doc = _status(world, now=PAST_GRACE)  # a scheduled shred, no passphrase
    assert {s["state"] for s in _subkeys(doc)} == {"destroyed"}
    assert not _decrypts(made.data, world)


def test_a_fifo_planted_at_the_subkey_file_neither_hangs_a_command_nor_outlives_its_date(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    key_file = _hybrid_file(world)
    key_file.unlink()
    os.mkfifo(key_file, 0o600)

    opened = run_cli(["municipality", "open"], home=world.staff, timeout=60)
    assert opened.code != 0 and "Traceback" not in opened.stderr
    shredded = run_cli(
        ["municipality", "shred"],
        home=world.staff,
        env={"SECUREXCHANGE_NOW": PAST_GRACE},
        timeout=60,
    )
    assert shredded.code == 0, shredded.stderr
    assert _subkey_files(world) == []


def test_a_state_database_restored_from_a_backup_does_not_bring_shredded_records_back(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T), person(2, FAR)], valid_days=40, import_days=10)
    assert muni(world, "import", str(made.path)).code == 0
    database = world.staff / "state.sqlite3"
    backup = tmp_path / "state.sqlite3.bak"
    shutil.copy2(database, backup)
    assert muni(world, "shred", now="2026-12-16").code == 0  # the log moves on
    shutil.copy2(backup, database)  # File History restores only the database

    # The system clock is before T again, the restored mark too: the log is not.
    doc = _status(world)
    assert str(doc["now"]) >= "2026-12-16"
    packages = doc["packages"]
    assert isinstance(packages, list) and [p["records"] for p in packages] == [1]


def test_a_workbook_harvested_after_a_rotation_is_still_absorbed(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, date(2027, 1, 8)), person(2, FAR)], valid_days=120)
    assert muni(world, "import", str(made.path)).code == 0
    workbook = _open(world)
    env = {"SECUREXCHANGE_NOW": "2027-01-05T10:00:00Z"}
    assert run_cli(["keys", "rotate"], home=world.staff, env=env).code == 0
    # No key: the harvest is sealed while the workbook's cells are under the old subkey.
    assert muni(world, "shred", now="2027-01-09").code == 0
    assert not workbook.exists()
    opened = muni(world, "open", now="2027-01-10")
    assert opened.code == 0, opened.stderr


def _damage_state_database(world: World) -> None:
    db = world.staff / "state.sqlite3"
    data = db.read_bytes()
    db.write_bytes(b"\0" * 100 + data[100:])  # the SQLite header: "not a database"


def test_a_damaged_state_database_does_not_keep_the_keys_the_scheduled_shred_destroys(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    opened = muni(world, "open")
    assert opened.code == 0, opened.stderr
    workbook = Path(opened.stdout.strip())
    assert _files_on_disk(world) and workbook.exists()
    victim = tmp_path / "thesis.docx"
    victim.write_bytes(b"not the program's")
    (world.staff / "keys" / "subkeys" / "sk-0123456789abcdef.key").symlink_to(victim)
    _damage_state_database(world)

    assert muni(world, "status").code == 1  # every other command refuses, as before
    assert muni(world, "shred", "--dry-run").code == 1
    assert len(_files_on_disk(world)) == 7  # a dry run destroys nothing (3 pairs, a link)

    result = muni(world, "shred")
    assert result.code == 1
    assert (
        "SX-UNSAFE-HOME" in result.stderr
        and "destroyed without it: 7 subkey files" in result.stderr
    )
    assert "1 workbook" in result.stderr
    assert _files_on_disk(world) == [] and not workbook.exists()
    assert victim.read_bytes() == b"not the program's"  # the link was unlinked, not followed


def _damage_pages(world: World, form: str) -> None:
    """Damage past the header: the file still opens, its pages do not read back."""
    db = world.staff / "state.sqlite3"
    data = db.read_bytes()
    page = int.from_bytes(data[16:18], "big")
    if form == "zeroed pages in the middle":
        data = data[:page] + b"\0" * (len(data) - 2 * page) + data[-page:]
    elif form == "random bytes after the header":
        data = data[:100] + os.urandom(len(data) - 100)
    else:  # truncated inside a page
        data = data[: len(data) // 2 + 7]
    db.write_bytes(data)


@pytest.mark.parametrize(
    "form",
    ["zeroed pages in the middle", "random bytes after the header", "truncated inside a page"],
)
def test_damage_past_the_header_is_still_damage_the_scheduled_shred_destroys_on(
    tmp_path: Path, form: str
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    _damage_pages(world, form)

    result = muni(world, "shred")
    assert result.code == 1, result.stderr
    assert "SX-UNSAFE-HOME" in result.stderr and "destroyed without it: 6 subkey files" in (
        result.stderr
    )
    assert _files_on_disk(world) == []


def test_a_database_that_reads_back_whole_at_the_second_look_keeps_every_key(
    tmp_path: Path,
) -> None:
    # The command that met the damage has let go of the home before anything is
    # destroyed: a home restored in that window (or a read error that passed) must not
    # lose the keys its now whole database still needs.
    from securexchange.municipality.damaged import shred_damaged_home

    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    keys = _files_on_disk(world)
    assert keys

    assert shred_damaged_home(world.staff, env={}) is None
    assert _files_on_disk(world) == keys
    assert muni(world, "status").code == 0


def test_the_shred_of_a_damaged_home_waits_for_the_home_lock_another_command_holds(
    tmp_path: Path,
) -> None:
    from securexchange.errors import Locked
    from securexchange.home.home import LOCK_TIMEOUT_ENV
    from securexchange.municipality.damaged import shred_damaged_home

    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    _damage_state_database(world)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from securexchange.home.home import holding_lock\n"
            "with holding_lock(__import__('pathlib').Path(sys.argv[1]), env={}):\n"
            "    print('held', flush=True)\n"
            "    sys.stdin.read()\n",
            str(world.staff),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(Locked):
            shred_damaged_home(world.staff, env={LOCK_TIMEOUT_ENV: "0.2"})
        assert (
            len(_files_on_disk(world)) == 6
        )  # three periods, each a hybrid subkey and its companion
    finally:
        holder.communicate("")
    assert holder.returncode == 0
    assert muni(world, "shred").code == 1
    assert _files_on_disk(world) == []


def test_a_fifo_a_hard_link_and_a_directory_at_the_shredded_names_neither_hang_nor_reach_outside(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    subkeys = world.staff / "keys" / "subkeys"
    outside = tmp_path / "colleague.key"
    outside.write_bytes(b"not the program's")
    os.link(outside, subkeys / "sk-00000000000000aa.key")
    os.mkfifo(subkeys / "sk-00000000000000bb.key")
    (subkeys / "sk-00000000000000cc.key").mkdir()
    os.mkfifo(world.staff / "workbooks" / "inburgeraars-fifo.xlsx")
    _damage_state_database(world)

    result = run_cli(["municipality", "shred"], home=world.staff, timeout=60)
    assert result.code == 1, result.stderr
    assert "(1 could not be removed yet)" in result.stderr
    assert [p.name for p in _files_on_disk(world)] == ["sk-00000000000000cc.key"]
    assert list((world.staff / "workbooks").iterdir()) == []
    assert outside.read_bytes() == b"not the program's"  # a hard link is not written through


@pytest.mark.parametrize("name", ["keys", "subkeys", "workbooks"])
def test_a_home_folder_swapped_for_a_link_lets_the_damaged_shred_touch_nothing_outside(
    tmp_path: Path, name: str
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    _damage_state_database(world)
    victim = tmp_path / "victim"
    (victim / "subkeys").mkdir(parents=True)
    planted = [
        victim / "subkeys" / "sk-00000000000000aa.key",
        victim / "inburgeraars-victim.xlsx",
    ]
    for path in planted:
        path.write_bytes(b"not the program's")
    folder = {
        "keys": world.staff / "keys",
        "subkeys": world.staff / "keys" / "subkeys",
        "workbooks": world.staff / "workbooks",
    }[name]
    folder.rename(tmp_path / "moved-aside")
    folder.symlink_to(victim / "subkeys" if name == "subkeys" else victim)

    result = muni(world, "shred")
    assert result.code == 1 and "SX-UNSAFE-HOME" in result.stderr
    assert "destroyed without it" not in result.stderr
    assert all(path.read_bytes() == b"not the program's" for path in planted)


def test_a_damaged_agency_home_or_a_folder_that_is_no_home_loses_nothing_to_municipality_shred(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    agency_db = world.agency / "state.sqlite3"
    agency_db.write_bytes(b"\0" * 100 + agency_db.read_bytes()[100:])
    stranger = tmp_path / "not-a-home"
    for root in (world.agency, stranger):
        (root / "keys" / "subkeys").mkdir(parents=True, exist_ok=True)
        (root / "keys" / "subkeys" / "sk-00000000000000aa.key").write_bytes(b"kept")
        (root / "workbooks").mkdir(exist_ok=True)
        (root / "workbooks" / "inburgeraars-x.xlsx").write_bytes(b"kept")
    (stranger / "state.sqlite3").write_bytes(b"not a database" * 100)

    assert run_cli(["municipality", "shred"], home=world.agency).code == 2
    assert run_cli(["municipality", "shred"], home=stranger).code == 2
    for root in (world.agency, stranger):
        assert (root / "keys" / "subkeys" / "sk-00000000000000aa.key").read_bytes() == b"kept"
        assert (root / "workbooks" / "inburgeraars-x.xlsx").read_bytes() == b"kept"


def test_a_missing_state_database_is_not_made_anew_and_the_scheduled_shred_destroys_the_keys(
    tmp_path: Path,
) -> None:
    # Made anew, an empty database knew no subkey and shred removed every file silently
    # as a leftover; refused alone, deleting one file would postpone every deletion.
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    assert muni(world, "import", str(made.path)).code == 0
    keys = _files_on_disk(world)
    db = world.staff / "state.sqlite3"
    db.rename(tmp_path / "moved-aside.sqlite3")

    for args in (("status",), ("shred", "--dry-run")):
        result = muni(world, *args)
        assert result.code == 1 and "SX-UNSAFE-HOME" in result.stderr, result.stderr
        assert "state database (state.sqlite3) is missing" in result.stderr
    assert _files_on_disk(world) == keys and not db.exists()  # only shred destroys

    result = muni(world, "shred")
    assert result.code == 1 and "is missing" in result.stderr, result.stderr
    assert "destroyed without it: 6 subkey files" in result.stderr
    assert _files_on_disk(world) == [] and not db.exists()  # never made anew

    # Put back, the database works again; what its keys opened cannot be opened.
    (tmp_path / "moved-aside.sqlite3").rename(db)
    assert muni(world, "status").code == 0
    assert not _decrypts(made.data, world)
