"""``agency import-return``: verify returns and apply them to the status ledger.

Every file passes, in this order, before anything is applied (promise P6):

1. :func:`securexchange.returns.open_return`, the same verification ``audit verify``
   runs: strict ZIP, a return manifest, its signature by a person authorised for the
   manifest's municipality in the keyring version the return names *and* in the
   agency's current version (a removed person cannot backdate their way in:
   SX-NOT-AUTHORISED), the payload digest, the protocol active when it was made and
   not terminated then or more than 7 days before receipt (SX-PROTOCOL-INACTIVE), and
   exactly one recipient stanza (SX-NOT-AUTHORISED: nobody else may read a return);
2. the body: not dated more than a day ahead (SX-FUTURE), a demo return only in a demo
   home (SX-NOT-AUTHORISED);
3. decryption with the export key's subkeys, the binding frame, then the return
   document: strict JSON with status entries and quality reports from the closed
   vocabularies only (SX-MALFORMED), its repeated fields equal to the manifest's
   (SX-TAMPERED);
4. every record id was sent to that municipality in its latest package or the one
   before (SX-UNKNOWN-RECORD);
5. the signer's sequence number: the same delta again is a no-op; the same number or
   delta id with other content is SX-EQUIVOCATION.

Then every file is applied in order of the command line, in one transaction: a single
refusal leaves the ledger as it was (and the home's log gains one refusal entry).
Gaps in a signer's sequence numbers are reported, not refused: a return can get lost
on its way and arrive later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from securexchange import age, statedb
from securexchange.agency import clients, ledger
from securexchange.agency.registry import agency_keys, ensure_schema, signed_keyrings
from securexchange.atomicio import read_capped
from securexchange.card import parse_time
from securexchange.errors import (
    Equivocation,
    Future,
    Malformed,
    NotAuthorised,
    UnknownRecord,
)
from securexchange.eventlog import Action
from securexchange.home import Home
from securexchange.keyring import SCOPE_FULL, Keyring, MunicipalityEntry, version_in_force
from securexchange.keys import Identity
from securexchange.keystore import KeySource
from securexchange.manifest import Manifest
from securexchange.returns import (
    OpenedReturn,
    ReturnBody,
    ReturnDocument,
    ReturnTrust,
    open_return,
)

FUTURE_TOLERANCE = timedelta(days=1)
MAX_RETURN_BYTES = 64 << 20

# Which record ids a municipality may return: those sent in its latest package or the
# one before. Given the agency home and the municipality's party id.
SentRecords = Callable[[Home, str], frozenset[str]]


class StoredKeyrings:
    """The agency's own signed keyring versions, as :func:`open_return` asks for them
    (read from the registry on demand: an import needs two or three of them)."""

    def __init__(self, home: Home) -> None:
        self._home = home
        rows = home.db.execute(
            "SELECT version, issued_at FROM agency_keyrings WHERE scope = ?", (SCOPE_FULL,)
        ).fetchall()
        self._issued = [(int(v), parse_time(str(at), "a stored keyring")) for v, at in rows]
        self._cache: dict[int, Keyring] = {}

    def _load(self, version: int) -> Keyring | None:
        if version not in self._cache:
            if version not in {v for v, _ in self._issued}:
                return None
            self._cache[version] = signed_keyrings(self._home, version)[0].keyring
        return self._cache[version]

    def version(self, party_id: str, version: int) -> Keyring | None:
        keyring = self._load(version)
        return keyring if keyring is not None and keyring.by_party(party_id) else None

    def in_force(self, party_id: str, moment: datetime) -> Keyring | None:
        found = version_in_force(self._issued, moment)
        return None if found is None else self.version(party_id, found)

    def newest_version(self) -> int:
        return max((v for v, _ in self._issued), default=0)


def return_trust(home: Home) -> ReturnTrust:
    """What this agency verifies returns against: every keyring version it issued, the
    terminations it signed (a notice takes effect before any keyring records it), and
    its clock as the moment of receipt."""
    rows = home.db.execute(
        "SELECT protocol_id, terminated_on FROM agency_municipalities "
        "WHERE terminated_on IS NOT NULL"
    ).fetchall()
    return ReturnTrust(
        keyrings=StoredKeyrings(home),
        terminations=MappingProxyType({str(p): date.fromisoformat(str(d)) for p, d in rows}),
        received_at=home.now,
        every_version=True,
    )


def default_sent_records(home: Home, party_id: str) -> frozenset[str]:
    """Record ids of the municipality's latest package and the one before (the export's
    record table)."""
    import importlib

    # The export's module (agency/packages.py) owns the record table; imported by name
    # so this module does not depend on its load order.
    packages = importlib.import_module("securexchange.agency.packages")
    packages.ensure_schema(home)
    recent = packages.issued(home, party_id=party_id)[-2:]
    return frozenset(
        str(r.record_id) for p in recent for r in packages.package_records(home, p.package_id)
    )


@dataclass(frozen=True)
class _Checked:
    """A return that passed steps 1-2 (no key needed yet)."""

    name: str
    data: bytes
    opened: OpenedReturn


@dataclass(frozen=True)
class _Ready:
    """A return that passed every check, waiting to be applied."""

    name: str
    manifest: Manifest
    body: ReturnBody
    entry: MunicipalityEntry
    document: ReturnDocument


@dataclass(frozen=True)
class ReturnResult:
    """What happened to one file."""

    file: str
    delta_id: str
    nis: str
    signer: str
    sequence: int
    applied: bool  # False: the same delta was imported before (a no-op)
    statuses: int = 0
    quality_reports: int = 0
    conflicts: int = 0
    report_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportReturns:
    results: tuple[ReturnResult, ...]
    gaps: dict[str, list[int]] = field(default_factory=dict)  # signer -> missing numbers


def _check_container(home: Home, name: str, data: bytes, trust: ReturnTrust) -> _Checked:
    opened = open_return(data, trust=trust, identities=None)
    if opened.body.demo and not home.demo:
        raise NotAuthorised(f"{name} was made in a demo home")
    if opened.manifest.created_at > home.now + FUTURE_TOLERANCE:
        raise Future(f"{name} is dated more than a day after this home's clock")
    return _Checked(name, data, opened)


def _unlock_export(home: Home, export: KeySource) -> Identity:
    identity = export.unlock()
    if identity.signing_key != agency_keys(home).export.signing_key:
        raise NotAuthorised(f"the key file {export.path.name} is not this agency's export key")
    home.note_signer(identity.seed, identity.fingerprint.display)
    return identity


def _decrypt(checked: _Checked, identities: Sequence[age.Identity], trust: ReturnTrust) -> _Ready:
    opened = open_return(checked.data, trust=trust, identities=identities)
    if opened.document is None:  # pragma: no cover - open_return decrypts with identities
        raise Malformed(f"{checked.name} has no content")
    return _Ready(checked.name, opened.manifest, opened.body, opened.entry, opened.document)


def _check_records(ready: _Ready, sent: frozenset[str]) -> None:
    for entry in ready.document.entries:
        if entry.record not in sent:
            raise UnknownRecord(
                f"{ready.name} names a record that was not sent to that municipality in its "
                "latest package or the one before",
                hint="nothing was applied; ask the municipality to import the latest package",
            )


def _replay(home: Home, ready: _Ready) -> bool:
    """True when this exact delta was applied before; Equivocation for a clash."""
    doc = ready.document
    by_id = ledger.delta_by_id(home, doc.delta_id)
    by_seq = ledger.delta_by_sequence(home, doc.signer, doc.sequence)
    for row in (by_id, by_seq):
        if row is None:
            continue
        if (
            row.delta_id != doc.delta_id
            or row.signer != doc.signer
            or row.sequence != doc.sequence
            or row.content_sha256 != doc.sha256
        ):
            raise Equivocation(
                f"{ready.name} reuses a sequence number or delta id with other content",
                hint="nothing was applied; the municipality's client sent two different "
                "returns under one number",
            )
    return by_id is not None


def import_returns(
    home: Home,
    export: KeySource,
    files: Sequence[tuple[str, bytes]],
    *,
    sent_records: SentRecords = default_sent_records,
) -> ImportReturns:
    """Verify every file, then apply them all in one transaction (or none).

    ``files`` are (display name, bytes) pairs in order of receipt.
    """
    ensure_schema(home)
    ledger.ensure_schema(home)
    clients.ensure_schema(home)
    trust = return_trust(home)
    checked = [_check_container(home, name, data, trust) for name, data in files]
    identity = _unlock_export(home, export)
    identities = [age.X25519Identity.from_string(s.identity) for s in identity.subkeys]
    ready = [_decrypt(c, identities, trust) for c in checked]
    sent_cache: dict[str, frozenset[str]] = {}
    for item in ready:
        party = item.entry.party_id
        if party not in sent_cache:
            sent_cache[party] = sent_records(home, party)
        _check_records(item, sent_cache[party])

    results: list[ReturnResult] = []
    signers: list[str] = []
    with statedb.transaction(home.db):
        for item in ready:
            doc = item.document
            if doc.signer not in signers:
                signers.append(doc.signer)
            base = ReturnResult(
                file=item.name,
                delta_id=doc.delta_id,
                nis=item.manifest.municipality,
                signer=doc.signer,
                sequence=doc.sequence,
                applied=False,
            )
            if _replay(home, item):
                results.append(base)
                continue
            applied = ledger.apply_delta(
                home,
                delta_id=doc.delta_id,
                party_id=item.entry.party_id,
                signer=doc.signer,
                sequence=doc.sequence,
                content_sha256=doc.sha256,
                created_at=item.manifest.created_at,
                statuses=doc.statuses,
                quality_reports=doc.quality_reports,
            )
            clients.record_return(
                home,
                party_id=item.entry.party_id,
                manifest=item.manifest,
                version=item.body.client_version,
            )
            results.append(
                ReturnResult(
                    file=base.file,
                    delta_id=base.delta_id,
                    nis=base.nis,
                    signer=base.signer,
                    sequence=base.sequence,
                    applied=True,
                    statuses=applied.statuses,
                    quality_reports=applied.quality_reports,
                    conflicts=applied.conflicts,
                    report_ids=applied.report_ids,
                )
            )
        gaps = {s: g for s in signers if (g := ledger.missing_sequences(home, s))}
        # In the transaction that applies the returns: the log names a delta if and
        # only if the ledger holds it (after the commit, a kill lost the entry).
        for result in results:
            home.record(
                Action.IMPORT_RETURN,
                actor=result.signer,
                artifacts=[result.delta_id],
                counts={
                    "sequence": result.sequence,
                    "applied": int(result.applied),
                    "statuses": result.statuses,
                    "quality_reports": result.quality_reports,
                    "conflicts": result.conflicts,
                },
            )
    return ImportReturns(tuple(results), gaps)


def read_return_file(path: Path) -> bytes:
    """A return file's bytes, capped before reading."""
    return read_capped(path, limit=MAX_RETURN_BYTES, what="return file")
