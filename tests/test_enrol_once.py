"""Enrol once (issue 19): a person enrolled once keeps receiving packages and sending
returns for years, with no ``keys rotate`` and no root key, while every subkey still
expires and is destroyed at its period's end plus the 30-day grace.

Real homes through the library workflows, the clock moved with ``system_now`` (monthly
steps over three years).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from flows import (
    STAFF_PASS,
    Staff,
    add_staff,
    export_source,
    make_agency,
    register,
    staff_identities,
    write_master,
)
from keys_helpers import FAST
from securexchange import age
from securexchange.agency.coming import agency_coming
from securexchange.agency.export import export_master
from securexchange.agency.export_result import ExportOptions, ExportResult, SkipReason
from securexchange.agency.returns import import_returns
from securexchange.errors import NotRecipient
from securexchange.home.home import HomeKind, open_home
from securexchange.keys.identity import period_end
from securexchange.keys.keystore import KeySource
from securexchange.municipality import importer, opening, returns, status
from securexchange.municipality.subkeys import DESTROY_GRACE
from securexchange.reminders import EventKind
from securexchange.vocabularies import ACTIVITY_STATUSES

ANTWERPEN, GENT = "11002", "44021"
MONTHS = 36
IDLE = range(3, 12)  # Bert does nothing for these nine months


def _source(staff: Staff) -> KeySource:
    return KeySource(staff.home / "keys" / "identity.key", lambda: STAFF_PASS, work_factor=FAST)


def _months(start: datetime, n: int) -> datetime:
    month = start.month - 1 + n
    return start.replace(year=start.year + month // 12, month=month % 12 + 1, day=15, hour=10)


@dataclass
class World:
    agency: Path
    an: Staff
    bert: Staff
    master: Path
    tmp: Path


def _world(tmp: Path) -> World:
    agency = tmp / "agency"
    make_agency(agency)
    register(agency, ANTWERPEN, "Antwerpen", protocol_until=date(2035, 12, 31))
    register(agency, GENT, "Gent", protocol_until=date(2035, 12, 31))
    an = add_staff(agency, tmp / "an", ANTWERPEN, "An Peeters")
    bert = add_staff(agency, tmp / "bert", GENT, "Bert Claes")
    master = write_master(tmp / "master.xlsx", 6, [ANTWERPEN, GENT], seed=4)
    return World(agency, an, bert, master, tmp)


def _keyring_versions(agency: Path) -> int:
    conn = sqlite3.connect(agency / "state.sqlite3")
    try:
        return int(conn.execute("SELECT MAX(version) FROM agency_keyrings").fetchone()[0])
    finally:
        conn.close()


def _records(agency: Path, package_id: str) -> list[str]:
    conn = sqlite3.connect(agency / "state.sqlite3")
    try:
        rows = conn.execute(
            "SELECT record_id FROM agency_package_records WHERE package_id = ? ORDER BY 1",
            (package_id,),
        ).fetchall()
    finally:
        conn.close()
    return [str(r[0]) for r in rows]


def _export(world: World, now: datetime) -> ExportResult:
    out = world.tmp / f"out-{now:%Y-%m}"
    with open_home(world.agency, env={}, expect=HomeKind.AGENCY, system_now=now) as home:
        return export_master(
            home, world.master, out, export_key=export_source(world.agency), options=ExportOptions()
        )


def _import(staff: Staff, path: Path, now: datetime) -> None:
    with open_home(staff.home, env={}, expect=HomeKind.MUNICIPALITY, system_now=now) as home:
        importer.import_files(home, [path], _source(staff))


def _return(staff: Staff, now: datetime, out: Path) -> Path | None:
    with open_home(staff.home, env={}, expect=HomeKind.MUNICIPALITY, system_now=now) as home:
        made = returns.make_return(home, _source(staff), out)
    return made.path


def _agency_imports(world: World, files: list[Path], now: datetime) -> int:
    with open_home(world.agency, env={}, expect=HomeKind.AGENCY, system_now=now) as home:
        result = import_returns(
            home, export_source(world.agency), [(f.name, f.read_bytes()) for f in files]
        )
    return sum(1 for r in result.results if r.applied)


def _destroyed_in_time(staff: Staff, now: datetime) -> None:
    """Every subkey whose period ended more than the grace ago is destroyed: no file,
    and the vault says so."""
    conn = sqlite3.connect(staff.home / "state.sqlite3")
    try:
        rows = conn.execute("SELECT recipient, valid_until, destroyed_at FROM vault_subkeys")
        for recipient, until, destroyed in rows.fetchall():
            end = datetime.strptime(str(until), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            if end + DESTROY_GRACE < now:
                assert destroyed is not None, recipient
    finally:
        conn.close()
    remaining = {i.recipient.to_string() for i in staff_identities(staff)}
    with open_home(staff.home, env={}, expect=HomeKind.MUNICIPALITY, system_now=now) as home:
        for item in status.status(home).subkeys:
            if (
                datetime.fromisoformat(item.valid_until.replace("Z", "+00:00")) + DESTROY_GRACE
                < now
            ):
                assert item.recipient not in remaining


@pytest.mark.slow
def test_three_years_of_monthly_exports_and_returns_with_no_rotate_and_no_root_key(
    tmp_path: Path,
) -> None:
    world = _world(tmp_path)
    start = datetime.now(UTC).replace(microsecond=0)
    versions = _keyring_versions(world.agency)
    kept: dict[datetime, tuple[Path, datetime]] = {}  # a package per quarter, and its end
    reminded = lapsed = False
    unreadable = 0
    last = world.master
    statuses = sorted(ACTIVITY_STATUSES)
    for month in range(MONTHS + 1):
        now = _months(start, month)
        if month == IDLE.stop:
            # Bert comes back: one command that unlocks his key (a return, which tops
            # his subkeys up and carries them), and the agency imports it.
            made = _return(world.bert, now, world.tmp / f"back-{month}")
            assert made is not None
            assert _agency_imports(world, [made], now) == 1
        result = _export(world, now)
        by_nis = {p.nis: p for p in result.packages}
        # An is served every month.
        an_package = by_nis[ANTWERPEN]
        assert an_package.file is not None and an_package.package_id is not None
        _import(world.an, an_package.file, now)
        quarter = period_end(now)
        kept.setdefault(quarter, (an_package.file, quarter))
        # An changes a status and returns it; the agency applies it.
        record = _records(world.agency, an_package.package_id)[0]
        with open_home(world.an.home, env={}, expect=HomeKind.MUNICIPALITY, system_now=now) as home:
            opening.set_status(home, _source(world.an), record, statuses[month % 2])
        made = _return(world.an, now, world.tmp / f"returns-{month}")
        assert made is not None
        assert _agency_imports(world, [made], now) == 1
        # Bert: served while active; reminded, then named, while idle.
        if month in IDLE:
            with open_home(world.agency, env={}, expect=HomeKind.AGENCY, system_now=now) as home:
                events = agency_coming(home).get(GENT, ())
            at_agency = any(e.kind is EventKind.KEYS_RUN_OUT and "Bert" in e.who for e in events)
            with open_home(
                world.bert.home,
                env={},
                expect=HomeKind.MUNICIPALITY,
                system_now=now,
                read_only=True,
            ) as home:
                own = status.status(home).coming
            at_home = any(e.kind is EventKind.KEYS_RUN_OUT for e in own)
            assert at_agency == at_home, (month, events, own)  # one function, both sides
            reminded = reminded or at_home
            if GENT not in by_nis:
                (skip,) = [s for s in result.skipped if s.nis == GENT]
                assert skip.reason is SkipReason.NO_CURRENT_SUBKEY and skip.reason.missing
                assert reminded, "named by the export before any reminder"
                lapsed = True
        else:
            assert GENT in by_nis, f"Bert not served in month {month}"
            bert_file = by_nis[GENT].file
            assert bert_file is not None
            _import(world.bert, bert_file, now)
            sent = _return(world.bert, now, world.tmp / f"bert-{month}")
            if sent is not None:  # only when his home made subkeys the agency lacks
                assert _agency_imports(world, [sent], now) == 1
        _destroyed_in_time(world.an, now)
        # A package of a quarter that ended more than the grace ago opens nowhere.
        for path, end in kept.values():
            if end + DESTROY_GRACE < now:
                unreadable += 1
                with pytest.raises(NotRecipient):
                    _open_payload(path, staff_identities(world.an))
        last = an_package.file
    assert reminded and lapsed
    assert unreadable > 50  # quarters' packages checked month after month
    # Long after every subkey the keyring lists ran out, An is reached through a subkey
    # her returns vouched for, named with its certification in the export-signed body.
    body = _manifest(last)["body"]
    (recipient,) = body["recipients"]
    assert "certification" in recipient and body["agency_subkeys"]
    assert _keyring_versions(world.agency) == versions, "the root key signed a new keyring"


def _manifest(path: Path) -> dict[str, Any]:
    from securexchange.artifacts.container import read_container
    from securexchange.artifacts.manifest import MANIFEST

    value: dict[str, Any] = json.loads(read_container(path.read_bytes()).members[MANIFEST])
    assert value["format"] == "securexchange/2"
    return value


def _open_payload(path: Path, identities: list[age.SecretIdentity]) -> None:
    from securexchange.artifacts.container import read_container
    from securexchange.artifacts.manifest import PAYLOAD

    payload = read_container(path.read_bytes()).members[PAYLOAD]
    age.decrypt(payload, list(identities), max_size=64 << 20)
