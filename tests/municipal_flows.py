"""Setup for the municipal client's tests: a demo agency and staff home, and packages
sealed with the agency's real export key, with every date under the test's control.

Demo homes, so the CLI honours SECUREXCHANGE_NOW; keys at scrypt work factor 2. The
packages are real containers (``package.seal_package``) around real workbooks
(``workbook.write_workbook``): only their dates, sequence and records are chosen here.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cli_helpers import CliResult, run_cli
from keys_helpers import make_agency
from return_flows import add_staff, demo_source, register_demo
from securexchange import age
from securexchange.agency import vouched
from securexchange.agency.changes import remove_recipient
from securexchange.agency.registry import view_for
from securexchange.artifacts.package import PackageBody, PackageRecipient, Superseded, seal_package
from securexchange.home.home import HomeKind, open_home
from securexchange.ids import ArtifactKind, new_artifact_id, record_id_from_digest
from securexchange.keys.identity import Subkey
from securexchange.keys.keyfile import DEMO_PASSPHRASE, read_key_file
from securexchange.municipality import vault
from securexchange.schema import SCHEMA_VERSION, Record
from securexchange.sheets.layout import WorkbookMeta, WorkbookRow
from securexchange.sheets.workbook import write_workbook
from securexchange.vocabularies import (
    CONTACT_LANGUAGES,
    DUTCH_LEVELS,
    INITIAL_ACTIVITY_STATUS,
    INTERESTS,
    MO_STATUSES,
)

NIS = "11002"
OTHER_NIS = "44021"


@dataclass(frozen=True)
class World:
    agency: Path
    staff: Path
    out: Path
    nis: str = NIS


def make_world(tmp: Path) -> World:
    agency = tmp / "agency"
    make_agency(agency, demo=True)
    register_demo(agency, NIS, "Antwerpen")
    staff = tmp / "staff"
    add_staff(agency, staff, nis=NIS)
    out = tmp / "out"
    out.mkdir()
    return World(agency, staff, out)


def other_world(world: World, tmp: Path, *, nis: str = OTHER_NIS, name: str = "Gent") -> World:
    """A second municipality (or, with the world's own NIS, a colleague) of one agency."""
    if nis != world.nis:
        register_demo(world.agency, nis, name)
    staff = tmp / f"staff-{nis}-{name}"
    add_staff(world.agency, staff, nis=nis, name=name)
    return World(world.agency, staff, world.out, nis)


def remove(world: World) -> None:
    """The agency withdraws the world's staff member (root key, a new keyring version)."""
    with open_home(world.agency, env={}, expect=HomeKind.AGENCY) as home:
        remove_recipient(
            home,
            demo_source(world.agency / "keys" / "root.key"),
            nis=world.nis,
            fingerprint=fingerprint(world.staff),
        )


def fingerprint(staff: Path) -> str:
    from securexchange.keys.card import read_card

    return read_card((staff / "keys" / "identity.card.json").read_bytes()).fingerprint.display


def person(n: int, retention: date) -> WorkbookRow:
    """A synthetic record with unmistakable name, e-mail and phone (for leak scans)."""
    record = Record(
        naam=f"Canaryname{n:04d}",
        voornaam=f"Voornaam{n:04d}",
        adres=f"Kerkstraat {n}",
        postcode="2000",
        gemeente="Antwerpen",
        telefoon=f"+3247{n:07d}",
        email=f"canary{n:04d}@example.org",
        contacttaal=CONTACT_LANGUAGES.values[0],
        niveau_nederlands=DUTCH_LEVELS.values[1],
        status_mo=MO_STATUSES.values[0],
        interesses=(INTERESTS.values[0],),
    )
    rid = record_id_from_digest(hashlib.sha256(f"client-{n}".encode()).digest())
    return WorkbookRow(rid, record, retention, INITIAL_ACTIVITY_STATUS)


@dataclass(frozen=True)
class Made:
    path: Path
    data: bytes
    package_id: str
    sha256: str


def make_package(
    world: World,
    rows: Sequence[WorkbookRow],
    *,
    sequence: int = 1,
    created_at: datetime | None = None,
    import_days: int = 30,
    valid_days: int = 60,
    supersedes: Made | None = None,
    name: str | None = None,
    only: Sequence[str] | None = None,
    workbook: Callable[[bytes], bytes] | None = None,
    subkeys: Mapping[str, Subkey] | None = None,
    agency_subkeys: Sequence[Subkey] = (),
) -> Made:
    """A package for the world's municipality, encrypted to its staff's current subkey.

    ``workbook`` rewrites the workbook bytes before sealing (a stolen export key signs
    whatever it is given)."""
    created = (created_at or datetime.now(UTC)).replace(microsecond=0)
    with open_home(world.agency, env={}, expect=HomeKind.AGENCY) as home:
        view = view_for(home, world.nis)
        keyring = view.keyring
        entry = keyring.municipalities[0]
        # As the export sees them: the keyring's people with the subkeys kept for them.
        people = [
            vouched.effective(home, p, created)
            for p in sorted(entry.recipients, key=lambda p: p.fingerprint.display)
            if only is None or p.fingerprint.display in only
        ]
    listed = {s.recipient for p in entry.recipients for s in p.subkeys}
    recipients = []
    ages = []
    # As the export chooses: hybrid only when everyone holds a hybrid subkey, else classic.
    post_quantum = all(p.subkey_at(created, post_quantum=True) for p in people)
    for person_ in people:
        given = (subkeys or {}).get(person_.fingerprint.display)
        if given is not None:
            # A subkey the keyring does not list, named with its certification.
            recipients.append(
                PackageRecipient.of(person_.fingerprint.display, person_.owner.role, given)
            )
            ages.append(age.parse_recipient(given.recipient))
            continue
        subkey = person_.subkey_at(created, post_quantum=post_quantum)
        assert subkey is not None
        recipients.append(
            PackageRecipient(person_.fingerprint.display, person_.owner.role, subkey.recipient)
            if subkey.recipient in listed
            else PackageRecipient.of(person_.fingerprint.display, person_.owner.role, subkey)
        )
        ages.append(age.parse_recipient(subkey.recipient))
    package_id = new_artifact_id(ArtifactKind.PACKAGE)
    retentions = [r.retention for r in rows]
    body = PackageBody(
        schema_version=SCHEMA_VERSION,
        nis=world.nis,
        municipality_name=entry.name,
        party_id=entry.party_id,
        protocol_id=entry.protocol_id,
        protocol_until=entry.protocol_until,
        sequence=sequence,
        import_deadline=created + timedelta(days=import_days),
        valid_until=created + timedelta(days=valid_days),
        keyring_version=keyring.version,
        recipients=tuple(recipients),
        recipient_stanzas=len(recipients),
        records=len(rows),
        earliest_retention=min(retentions) if rows else None,
        latest_retention=max(retentions) if rows else None,
        supersedes=None
        if supersedes is None
        else Superseded(supersedes.package_id, supersedes.sha256),
        demo=keyring.demo,
        agency_subkeys=tuple(agency_subkeys),
    )
    meta = WorkbookMeta(
        package_id=package_id,
        nis=world.nis,
        municipality=entry.name,
        destroy_by=min(retentions) if rows else created.date(),
        demo=keyring.demo,
    )
    export = read_key_file(world.agency / "keys" / "export.key", DEMO_PASSPHRASE)
    data = seal_package(
        package_id=package_id,
        created_at=created,
        body=body,
        workbook=(workbook or (lambda data: data))(write_workbook(rows, meta)),
        recipients=ages,
        keyring_data=view.data,
        keyring_signature=view.signature,
        signing_seed=export.seed,
    )
    path = world.out / (name or f"{package_id}.sxp")
    path.write_bytes(data)
    return Made(path, data, package_id, hashlib.sha256(data).hexdigest())


def muni(world: World, *args: str, now: str | None = None) -> CliResult:
    env = {"SECUREXCHANGE_NOW": now} if now else {}
    return run_cli(["municipality", *args], home=world.staff, env=env)


def vault_tables(world: World) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(world.staff / "state.sqlite3")
    try:
        return vault.table_snapshot(conn)
    finally:
        conn.close()


def log_lines(world: World) -> list[str]:
    return (world.staff / "log.jsonl").read_text().splitlines()


def home_identities(staff: Path) -> list[age.SecretIdentity]:
    """Every age identity anything in the home holds: identity.key and subkey files."""
    found = [
        age.parse_identity(s.identity)
        for s in read_key_file(staff / "keys" / "identity.key", DEMO_PASSPHRASE).subkeys
    ]
    sub = staff / "keys" / "subkeys"
    if sub.is_dir():
        for path in sorted(sub.iterdir()):
            plain = age.decrypt(
                path.read_bytes(), [age.ScryptIdentity(DEMO_PASSPHRASE, max_work_factor=22)]
            )
            import json

            found.append(age.parse_identity(json.loads(plain)["identity"]))
    return found
