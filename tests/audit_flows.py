"""Setup for the audit tests: an agency with municipalities and staff, packages sealed
with the real export key, returns signed by real staff keys, the published keyring.

Packages are sealed through the library (``package.seal_package``) with the agency's
real export key and the municipality's real signed keyring view, exactly as an export
does, so that tests can also make what an export never would (equivocation, a rolled
back keyring) with the same keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flows import Staff, add_staff, export_source, make_agency, register
from securexchange import age
from securexchange.agency.registry import publish_keyring, signed_keyrings, view_for
from securexchange.artifacts.container import seal
from securexchange.artifacts.keyring import Keyring
from securexchange.artifacts.manifest import ArtifactType
from securexchange.artifacts.package import (
    PackageBody,
    PackageRecipient,
    Superseded,
    default_deadlines,
    seal_package,
)
from securexchange.artifacts.returns import ReturnBody, make_document
from securexchange.home.home import HomeKind, open_home
from securexchange.ids import ArtifactKind, new_artifact_id

NIS_CODES = ("11002", "44021", "71016")


@dataclass
class World:
    """An agency, three municipalities with one staff member each, and what was made."""

    agency: Path
    staff: dict[str, Staff]
    parties: dict[str, str]
    packages: dict[str, list[bytes]] = field(default_factory=dict)

    @property
    def root_card(self) -> Path:
        return self.agency / "keys" / "root.card.json"


def make_world(tmp: Path, codes: tuple[str, ...] = NIS_CODES) -> World:
    agency = tmp / "agency"
    make_agency(agency)
    parties: dict[str, str] = {}
    staff: dict[str, Staff] = {}
    for nis in codes:
        parties[nis] = register(agency, nis, name=f"Gemeente {nis}")
        staff[nis] = add_staff(agency, tmp / f"staff-{nis}", nis)
    return World(agency, staff, parties, {nis: [] for nis in codes})


def view(world: World, nis: str, version: int | None = None) -> tuple[Keyring, bytes, str]:
    with open_home(world.agency, env={}, expect=HomeKind.AGENCY) as home:
        if version is None:
            item = view_for(home, nis)
        else:
            party = world.parties[nis]
            item = next(i for i in signed_keyrings(home, version) if i.keyring.scope == party)
    return item.keyring, item.data, item.signature


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def make_package(
    world: World,
    nis: str,
    *,
    sequence: int | None = None,
    supersedes: bytes | None = None,
    keyring_version: int | None = None,
    created_at: datetime | None = None,
    records: int = 3,
    workbook: bytes = b"a workbook",
    earliest_retention: date | None = None,
    post_quantum: bool | None = None,
) -> bytes:
    """A package for ``nis`` sealed with the real export key; appended to the world's
    sequence unless ``sequence`` is given. ``post_quantum=False`` seals it to each
    person's classic companion subkey, as an export for a municipality with a member
    who holds no hybrid subkey does."""
    made = world.packages[nis]
    seq = sequence if sequence is not None else len(made) + 1
    previous = supersedes if supersedes is not None else (made[seq - 2] if seq > 1 else None)
    keyring, data, signature = view(world, nis, keyring_version)
    entry = keyring.municipalities[0]
    moment = created_at or now()
    recipients = []
    for person in entry.recipients:
        subkey = person.subkey_at(moment, post_quantum=post_quantum)
        assert subkey is not None
        recipients.append((person, subkey))
    recipients.sort(key=lambda pair: pair[0].fingerprint.display)
    body_recipients = tuple(
        PackageRecipient(p.fingerprint.display, p.owner.role, s.recipient) for p, s in recipients
    )
    import_deadline, valid_until = default_deadlines(moment)
    superseded = None
    if previous is not None:
        from securexchange.artifacts.package_open import PackageTrust, open_package

        root = keyring.agency.root_key
        prev = open_package(previous, trust=PackageTrust(root), identities=None)
        superseded = Superseded(prev.package_id, hashlib.sha256(previous).hexdigest())
    earliest = earliest_retention or (moment + timedelta(days=40)).date().replace(day=1)
    latest = min(entry.protocol_until, date(moment.year + 1, 1, 1))
    body = PackageBody(
        schema_version="2026.1",
        nis=nis,
        municipality_name=entry.name,
        party_id=entry.party_id,
        protocol_id=entry.protocol_id,
        protocol_until=entry.protocol_until,
        sequence=seq,
        import_deadline=import_deadline,
        valid_until=valid_until,
        keyring_version=keyring.version,
        recipients=body_recipients,
        recipient_stanzas=len(body_recipients),
        records=records,
        earliest_retention=earliest if records else None,
        latest_retention=latest if records else None,
        supersedes=superseded,
        demo=keyring.demo,
    )
    export = export_source(world.agency).unlock()
    sealed = seal_package(
        package_id=new_artifact_id(ArtifactKind.PACKAGE),
        created_at=moment,
        body=body,
        workbook=workbook,
        recipients=[age.parse_recipient(s.recipient) for _, s in recipients],
        keyring_data=data,
        keyring_signature=signature,
        signing_seed=export.seed,
    )
    if sequence is None:
        made.append(sealed)
    return sealed


def make_return(
    world: World,
    nis: str,
    sequence: int,
    *,
    staff: Staff | None = None,
    keyring_version: int = 0,
    created_at: datetime | None = None,
) -> bytes:
    """A return signed by the staff member's real key, encrypted to the agency."""
    person = staff or world.staff[nis]
    identity = person.identity()
    keyring, _, _ = view(world, nis)
    version = keyring_version or keyring.version
    export_subkey = keyring.agency.export.subkey_at(now())
    assert export_subkey is not None
    delta_id = new_artifact_id(ArtifactKind.RETURN)
    document = make_document(
        delta_id=delta_id,
        municipality=nis,
        signer=identity.fingerprint.display,
        sequence=sequence,
        entries=[],
    )
    return seal(
        artifact_type=ArtifactType.RETURN,
        artifact_id=delta_id,
        created_at=created_at or now(),
        municipality=nis,
        body=ReturnBody(
            party_id=world.parties[nis],
            sequence=sequence,
            statuses=0,
            quality_reports=0,
            keyring_version=version,
            demo=False,
        ),
        signing_seed=identity.seed,
        content=document.to_bytes(),
        recipients=[age.parse_recipient(export_subkey.recipient)],
    )


def publish(world: World, out: Path) -> Path:
    with open_home(world.agency, env={}, expect=HomeKind.AGENCY) as home:
        publish_keyring(home, out)
    return out
