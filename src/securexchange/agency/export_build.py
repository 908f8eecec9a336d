"""An export's packages planned and built: which municipalities get one and for whom it
is encrypted, each package's rows, body and workbook (in worker processes when large).
Nothing here writes a file or the database."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from securexchange import age, municipalities, pseudonym
from securexchange.agency import erasures, vouched
from securexchange.agency import packages as ledger
from securexchange.agency.export_result import (
    PACKAGE_SUFFIX,
    HeldBack,
    SkippedMunicipality,
    SkipReason,
)
from securexchange.agency.ledger import statuses_for
from securexchange.agency.quality import outcomes_for
from securexchange.agency.registry import SignedKeyring, list_municipalities
from securexchange.artifacts.keyring import MunicipalityEntry
from securexchange.artifacts.package import (
    PackageBody,
    PackageRecipient,
    Superseded,
    default_deadlines,
)
from securexchange.errors import (
    BadSignature,
    Equivocation,
    InternalError,
    Malformed,
    NotFound,
)
from securexchange.home.home import Home
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.intake.master import IntakeResult
from securexchange.keys.identity import Subkey
from securexchange.keys.reach import reach
from securexchange.schema import NAAM, SCHEMA_VERSION, VOORNAAM, MasterRow, retention_deadline
from securexchange.sheets.layout import WorkbookMeta, WorkbookRow
from securexchange.sheets.workbook import (
    pack_rows,
    write_package_workbook,
    write_packed_workbook,
)
from securexchange.vocabularies import INITIAL_ACTIVITY_STATUS


@dataclass(frozen=True)
class Target:
    entry: MunicipalityEntry
    keyring_data: bytes
    keyring_signature: str
    keyring_version: int
    recipients: tuple[PackageRecipient, ...]
    rows: tuple[MasterRow, ...]
    without_subkey: int
    # Recipients with no hybrid post-quantum subkey valid now: while there are any, the
    # package is classic only (empty: it is hybrid only).
    held_back: tuple[HeldBack, ...] = ()

    @property
    def post_quantum(self) -> bool:
        return not self.held_back


def municipality_name(nis: str) -> str:
    if municipalities.is_known(nis):
        return municipalities.lookup(nis).name_nl
    return nis


def protocol_end(entry: MunicipalityEntry) -> date:
    """The last day data may be kept under the protocol (its end or the day before its
    termination takes effect)."""
    end = entry.protocol_until
    if entry.terminated_on is not None:
        end = min(end, entry.terminated_on - timedelta(days=1))
    return end


def current_recipients(
    entry: MunicipalityEntry, now: datetime, listed_subkeys: Iterable[Subkey] = ()
) -> tuple[tuple[PackageRecipient, ...], tuple[HeldBack, ...]]:
    """The subkey each recipient gets the package with, and who holds it back from
    post-quantum encryption (:func:`securexchange.keys.reach.reach`). Recipients with
    no subkey of the chosen kind are left out (``without_subkey``).
    """
    reached = reach(entry.readers, now)
    # Pre-issued subkeys are named with their certification (issue 19): the keyring
    # version the package carries does not list them.
    listed = {s.recipient for s in listed_subkeys}
    held_back = tuple(HeldBack(p.owner.name, p.fingerprint.display) for p in reached.held_back)
    found = []
    for person, subkey in reached.chosen:
        fingerprint, role = person.fingerprint.display, person.owner.role
        if subkey.recipient in listed:
            found.append(PackageRecipient(fingerprint, role, subkey.recipient))
        else:
            found.append(PackageRecipient.of(fingerprint, role, subkey))
    recipients = tuple(sorted(found, key=lambda r: r.fingerprint))
    return recipients, tuple(sorted(held_back, key=lambda h: h.fingerprint))


def _vouched_recipients(
    home: Home, entry: MunicipalityEntry, now: datetime
) -> tuple[tuple[PackageRecipient, ...], tuple[HeldBack, ...]] | None:
    """:func:`current_recipients` over the keyring's people with the subkeys kept for
    them (agency/vouched.py), each verified again; None when one is not vouched for: a
    kept subkey its holder did not certify, or a second key for one slot, means someone
    edited the agency's state, and nobody there gets a package until it is cleared up
    (the export says so, non-zero exit)."""
    try:
        people = tuple(vouched.effective(home, p, now) for p in entry.readers)
    except (BadSignature, Equivocation, Malformed):
        return None
    in_keyring = [s for p in entry.readers for s in p.subkeys]
    return current_recipients(replace(entry, recipients=people), now, in_keyring)


def plan(
    home: Home,
    intake: IntakeResult,
    selection: tuple[str, ...],
    keyrings: Sequence[SignedKeyring],
) -> tuple[list[Target], list[SkippedMunicipality], int]:
    """What to export to whom, under ``keyrings`` (the latest version's signed documents,
    as :func:`registry.signed_keyrings` reads them)."""
    registered = {row.entry.nis: row for row in list_municipalities(home)}
    wanted = set(selection)
    for nis in wanted:
        if nis not in registered:
            raise NotFound(
                "a NIS code given with --nis is not a registered municipality",
                hint="see 'agency municipality list'",
            )
    by_nis: dict[str, list[MasterRow]] = {}
    for row in intake.rows:
        by_nis.setdefault(row.nis, []).append(row)
    outside = 0
    if wanted:
        outside = sum(len(rows) for nis, rows in by_nis.items() if nis not in wanted)
    now = home.now
    # The latest keyring version's views, read once (one per municipality).
    views = {v.keyring.scope: v for v in keyrings if v.keyring.is_view}
    targets: list[Target] = []
    skipped: list[SkippedMunicipality] = []
    for nis in sorted(registered):
        if wanted and nis not in wanted:
            continue
        entry = registered[nis].entry
        rows = tuple(by_nis.get(nis, ()))
        if not entry.active_on(now.date()):
            skipped.append(SkippedMunicipality(nis, entry.name, SkipReason.NO_PROTOCOL, len(rows)))
            continue
        view = views.get(entry.party_id)
        if view is None:
            raise InternalError("the latest keyring has no view for a registered municipality")
        signed_entry = view.keyring.municipalities[0]
        if not signed_entry.readers:
            skipped.append(SkippedMunicipality(nis, entry.name, SkipReason.NO_RECIPIENT, len(rows)))
            continue
        chosen = _vouched_recipients(home, signed_entry, now)
        if chosen is None:
            skipped.append(
                SkippedMunicipality(nis, entry.name, SkipReason.UNVOUCHED_SUBKEY, len(rows))
            )
            continue
        recipients, held_back = chosen
        if not recipients:
            skipped.append(
                SkippedMunicipality(nis, entry.name, SkipReason.NO_CURRENT_SUBKEY, len(rows))
            )
            continue
        if len(recipients) > age.MAX_RECIPIENTS:
            skipped.append(
                SkippedMunicipality(nis, entry.name, SkipReason.TOO_MANY_RECIPIENTS, len(rows))
            )
            continue
        targets.append(
            Target(
                entry=signed_entry,
                keyring_data=view.data,
                keyring_signature=view.signature,
                keyring_version=view.keyring.version,
                recipients=recipients,
                rows=rows,
                without_subkey=len(signed_entry.readers) - len(recipients),
                held_back=held_back,
            )
        )
    if not wanted:
        for nis in sorted(set(by_nis) - set(registered)):
            skipped.append(
                SkippedMunicipality(
                    nis, municipality_name(nis), SkipReason.NOT_REGISTERED, len(by_nis[nis])
                )
            )
    return targets, skipped, outside


@dataclass(frozen=True)
class Prepared:
    target: Target
    package_id: str
    sequence: int
    supersedes: Superseded | None
    records: tuple[ledger.PackageRecord, ...]
    body: PackageBody
    workbook_rows: tuple[WorkbookRow, ...]
    destroy_by: date
    expired: int = 0
    file_name: str = field(default="")
    # Record ids the municipality is to erase (agency/erasures.py), and how many of the
    # master's rows were left out because their client was erased.
    erase: tuple[str, ...] = ()
    erased_rows: int = 0


def _rows(
    home: Home, target: Target, key: bytes, today: date, previous: ledger.IssuedPackage | None
) -> tuple[list[ledger.PackageRecord], tuple[WorkbookRow, ...], int, int]:
    """The package's records and workbook rows (by name), how many rows were left out
    because their retention deadline has passed, and how many because the client was
    erased (``agency erase``). A client keeps the record id sent before: a different
    one means the pseudonym key changed (refused)."""
    entry = target.entry
    end = protocol_end(entry)
    earlier: dict[str, str] = {}
    if previous is not None:
        earlier = {
            r.client_id: r.record_id for r in ledger.package_records(home, previous.package_id)
        }
    # What the municipality returned: the ledger's statuses and the outcomes of its
    # data-quality reports travel back in this package (agency/ledger.py, quality.py).
    statuses = statuses_for(home, entry.party_id)
    outcomes = outcomes_for(home, entry.party_id)
    gone = erasures.erased_digests(home)
    erased = 0
    seen: dict[str, str] = {}
    records: list[ledger.PackageRecord] = []
    rows: list[tuple[tuple[str, str, str], WorkbookRow]] = []
    expired = 0
    for row in target.rows:
        deadline = retention_deadline(row.certificate_date, entry.retention_months, end)
        if deadline <= today:
            expired += 1
            continue
        if gone and pseudonym.erased_client_digest(key, row.client_id) in gone:
            erased += 1
            continue
        rid = pseudonym.record_id(key, client_id=row.client_id, party_id=entry.party_id)
        other = seen.get(rid)
        if other is not None and other != row.client_id:
            raise InternalError("two clients have the same record id in one municipality")
        seen[rid] = row.client_id
        before = earlier.get(row.client_id)
        if before is not None and before != rid:
            raise InternalError(
                "a client's record id differs from the one sent before: the pseudonym key changed",
                hint="restore HOME/keys/pseudonym.key from the backup",
            )
        records.append(ledger.PackageRecord(rid, row.client_id, deadline))
        rows.append(
            (
                (row.record.text(NAAM).casefold(), row.record.text(VOORNAAM).casefold(), rid),
                WorkbookRow(
                    rid,
                    row.record,
                    deadline,
                    statuses.get(rid, INITIAL_ACTIVITY_STATUS),
                    outcome=outcomes.get(rid),
                ),
            )
        )
    rows.sort(key=lambda item: item[0])
    return records, tuple(r for _, r in rows), expired, erased


def prepare(
    home: Home,
    target: Target,
    key: bytes,
    created_at: datetime,
    agency_subkeys: tuple[Subkey, ...] = (),
) -> Prepared:
    entry = target.entry
    today = created_at.date()
    end = protocol_end(entry)
    previous = ledger.latest(home, entry.party_id)
    records, workbook_rows, expired, erased_rows = _rows(home, target, key, today, previous)
    erase = erasures.instructions_for(home, entry.party_id, today)
    import_deadline, valid_until = default_deadlines(created_at)
    # Nothing is imported or opened under a protocol after its last day (art. 5).
    protocol_over = datetime.combine(end + timedelta(days=1), time(), UTC)
    import_deadline = min(import_deadline, protocol_over)
    valid_until = min(valid_until, protocol_over)
    deadlines = [r.retention for r in records]
    sequence = 1 if previous is None else previous.sequence + 1
    supersedes = None if previous is None else Superseded(previous.package_id, previous.sha256)
    body = PackageBody(
        schema_version=SCHEMA_VERSION,
        nis=entry.nis,
        municipality_name=entry.name,
        party_id=entry.party_id,
        protocol_id=entry.protocol_id,
        protocol_until=entry.protocol_until,
        sequence=sequence,
        import_deadline=import_deadline,
        valid_until=valid_until,
        keyring_version=target.keyring_version,
        recipients=target.recipients,
        recipient_stanzas=len(target.recipients),
        records=len(records),
        earliest_retention=min(deadlines) if deadlines else None,
        latest_retention=max(deadlines) if deadlines else None,
        supersedes=supersedes,
        demo=home.demo,
        agency_subkeys=agency_subkeys,
        erasures=len(erase),
    )
    package_id = new_artifact_id(ArtifactKind.PACKAGE)
    return Prepared(
        target=target,
        package_id=package_id,
        sequence=sequence,
        supersedes=supersedes,
        records=tuple(records),
        body=body,
        workbook_rows=workbook_rows,
        destroy_by=min(deadlines) if deadlines else valid_until.date(),
        expired=expired,
        file_name=f"{entry.nis}-{sequence:05d}-{package_id}{PACKAGE_SUFFIX}",
        erase=erase,
        erased_rows=erased_rows,
    )


def workbooks(
    prepared: Iterable[Prepared], demo: bool, workers: int, written_at: datetime
) -> Iterator[tuple[Prepared, bytes]]:
    """Each prepared package with its workbook, in order, with bounded work in flight.

    With ``workers`` > 1 they are written in worker processes, each filling in the
    export's frame, built once there (:mod:`securexchange.sheets.workbook_frame`). Only
    rows go there and only bytes come back: no key.
    """

    def meta(p: Prepared) -> WorkbookMeta:
        return WorkbookMeta(
            p.package_id,
            p.body.nis,
            p.body.municipality_name,
            p.destroy_by,
            demo,
            written_at=written_at,
        )

    if workers <= 1:
        for p in prepared:
            yield p, write_package_workbook(p.workbook_rows, meta(p))
        return

    def submit(pool: ProcessPoolExecutor, p: Prepared) -> Future[bytes]:
        # The rows travel as one string of checked cell texts (sheets/workbook.py).
        return pool.submit(write_packed_workbook, pack_rows(p.workbook_rows), meta(p))

    window = workers * 2
    with ProcessPoolExecutor(max_workers=workers) as pool:
        queue = iter(prepared)
        pending: list[tuple[Prepared, Future[bytes]]] = []
        for p in queue:
            pending.append((p, submit(pool, p)))
            if len(pending) >= window:
                break
        while pending:
            p, future = pending.pop(0)
            result = future.result()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append((nxt, submit(pool, nxt)))
            yield p, result
