"""The canary: a record past its deadline leaves no trace the home could give back.

A package holds record A (deadline T) and record B (later). Before T we take A's
ciphertext bytes out of the vault and see A in the workbook ``open`` wrote. After T,
one command later: the bytes are in no file under the home, the workbook is gone, and
A's name, e-mail and phone are in no file under the home. Once the package is
superseded its data key is gone; once the subkey's validity has ended and nothing needs
it, the original package file no longer decrypts with anything the home holds. Back at
today's clock, nothing returns.
"""

from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path

import pytest

from municipal_flows import home_identities, make_package, make_world, muni, person
from securexchange import age
from securexchange.artifacts.manifest import MEMBER_ORDER, PAYLOAD
from securexchange.artifacts.zipstrict import read as read_zip
from securexchange.errors import NotRecipient
from securexchange.home.home import HomeKind, open_home
from securexchange.keys.keyfile import DEMO_PASSPHRASE
from securexchange.municipality import sealing, subkeys, vault

T = date(2026, 12, 15)
LATER = date(2027, 2, 1)


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _anywhere(root: Path, needle: bytes) -> list[Path]:
    return [p for p in _files(root) if needle in p.read_bytes()]


def _ciphertext_of(staff: Path, record_id: str, package_id: str) -> bytes:
    with open_home(staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        identities = subkeys.unlock(home, lambda: DEMO_PASSPHRASE)
        key = vault.data_key(home, package_id, identities)
        tag = sealing.record_tag(key, record_id)
        row = home.db.execute(
            "SELECT sealed FROM vault_records WHERE package_id = ? AND tag = ?", (package_id, tag)
        ).fetchone()
    assert row is not None
    return bytes(row[0])


def _workbook_text(path: Path) -> bytes:
    with zipfile.ZipFile(path) as z:
        return b"".join(z.read(n) for n in z.namelist())


def _payload(data: bytes) -> bytes:
    return next(m.data for m in read_zip(data, MEMBER_ORDER) if m.name == PAYLOAD)


def test_record_past_its_deadline_leaves_nothing_the_home_could_give_back(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    a, b = person(1, T), person(2, LATER)
    first = make_package(world, [a, b], sequence=1)
    assert muni(world, "import", str(first.path)).code == 0

    # Before T: the ciphertext is in the vault, the record in the workbook.
    secret = _ciphertext_of(world.staff, a.record_id, first.package_id)
    assert len(secret) > 32 and _anywhere(world.staff, secret)
    opened = muni(world, "open")
    assert opened.code == 0, opened.stderr
    workbook = Path(opened.stdout.strip())
    assert workbook.is_relative_to(world.staff / "workbooks")
    assert a.record.naam.encode() in _workbook_text(workbook)

    # Past T: any command that acts shreds first (a read-only one under demo time
    # travel only looks).
    assert muni(world, "shred", now="2026-12-16").code == 0
    assert _anywhere(world.staff, secret) == []  # (a) main DB, journal, temp: nowhere
    assert not workbook.exists()  # (b) the registered workbook is gone ...
    for needle in (a.record.naam, a.record.email, a.record.telefoon):
        assert _anywhere(world.staff, needle.encode()) == []  # ... and every trace of A
    assert [p.name for p in _files(world.staff) if p.name.endswith(("-journal", "-wal"))] == []

    # (c) Superseded: its data key is destroyed, so nothing in the home opens its rows.
    second = make_package(world, [b], sequence=2, supersedes=first)
    assert muni(world, "import", str(second.path), now="2026-12-16").code == 0
    with open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        identities = subkeys.unlock(home, lambda: DEMO_PASSPHRASE)
        with pytest.raises(NotRecipient):
            vault.data_key(home, first.package_id, identities)
    # The subkey still opens the original file until its validity ends ...
    age.decrypt(_payload(first.data), home_identities(world.staff))

    # ... and after it ended and nothing needs it, it is destroyed with the last data.
    assert muni(world, "shred", now="2027-02-02").code == 0
    status = json.loads(muni(world, "status", "--json").stdout)
    # The period's pair (the pre-issued ones for coming quarters hold nothing yet).
    ends = min(s["valid_until"] for s in status["subkeys"])
    assert {s["state"] for s in status["subkeys"] if s["valid_until"] == ends} == {"destroyed"}
    for made in (first, second):
        with pytest.raises(NotRecipient):
            age.decrypt(_payload(made.data), home_identities(world.staff))
    for needle in (b.record.naam, b.record.email):
        assert _anywhere(world.staff, needle.encode()) == []

    # (d) Back at today's clock: nothing returns.
    assert muni(world, "status").code == 0
    again = muni(world, "open")
    assert again.code != 0
    assert vault_records_left(world.staff) == 0


def vault_records_left(staff: Path) -> int:
    with open_home(staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        return int(home.db.execute("SELECT COUNT(*) FROM vault_records").fetchone()[0])
