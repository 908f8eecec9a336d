"""``agency export``: the master -> one signed, encrypted package per municipality.

Steps (protocol art. 3-6; docs/architecture.md, "Export atomicity"):

1. Finish an earlier export that committed but was interrupted before publishing
   (roll-forward), and remove what an uncommitted one staged.
2. Read and validate the master (:func:`securexchange.intake.master.read_master`): all or
   nothing, unless ``skip_invalid`` (then the problems are reported).
3. Plan: every registered municipality (or those named) with an active protocol at the
   home's clock and at least one recipient with a current subkey gets a package, an
   empty one if it has no records, so that people who moved away are shredded there.
   The others are listed as skipped, with the rows they would have received; rows for
   an unregistered municipality are reported, never exported.
4. Only then the export key is unlocked (a refused export never asks for it), and the
   pseudonym key read (created at the first export: ``HOME/keys/pseudonym.key``).
5. Per municipality: record ids (HMAC, :mod:`securexchange.pseudonym`; collisions and
   a changed key refused), retention deadlines (:func:`schema.retention_deadline`),
   the workbook (:mod:`securexchange.sheets.workbook`, optionally in worker processes), the
   container (:func:`securexchange.artifacts.package.seal_package`), staged in ``HOME/outbox``.
6. One transaction: every package row, its records, the sequence numbers, the log
   entry. 7. Publication into the output directory, then the rows are marked.

Never prints; progress goes to a callback.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path

from securexchange import age, municipalities, pseudonym, strictjson
from securexchange.agency import packages as ledger
from securexchange.agency.ledger import statuses_for
from securexchange.agency.quality import outcomes_for
from securexchange.agency.registry import agency_keys, list_municipalities, signed_keyrings
from securexchange.artifacts.keyring import MunicipalityEntry
from securexchange.artifacts.package import (
    PackageBody,
    PackageRecipient,
    Superseded,
    default_deadlines,
    seal_package,
)
from securexchange.clock import format_instant
from securexchange.errors import (
    InternalError,
    Malformed,
    NoRecipient,
    NotAuthorised,
    NotFound,
)
from securexchange.home import statedb
from securexchange.home.atomicio import (
    atomic_write,
    fsync_dir,
    make_private_dir,
    output_dir,
    remove_temp_leftovers,
)
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.intake.master import IntakeResult, Problem, read_master
from securexchange.keys.identity import check_nis
from securexchange.keys.keyfile import read_private_file
from securexchange.keys.keystore import KeySource
from securexchange.schema import (
    INITIAL_ACTIVITY_STATUS,
    SCHEMA_VERSION,
    MasterRow,
    retention_deadline,
)
from securexchange.sheets.layout import WorkbookMeta, WorkbookRow
from securexchange.sheets.workbook import write_package_workbook

PSEUDONYM_KEY = "pseudonym.key"
PSEUDONYM_FORMAT = "securexchange-pseudonym-key/1"
PACKAGE_SUFFIX = ".sxpkg"
# Below this many records a worker pool costs more than it saves.
MIN_RECORDS_FOR_WORKERS = 5000

Progress = Callable[[int, int], None]  # (packages done, packages in total)


class SkipReason(StrEnum):
    NOT_REGISTERED = "not registered"
    NO_PROTOCOL = "no active protocol"
    NO_RECIPIENT = "no recipient"
    NO_CURRENT_SUBKEY = "no recipient with a current subkey"

    @property
    def missing(self) -> bool:
        """A municipality with an active protocol that nobody there can receive: the
        data flow has stopped, which an export must not pass over in silence."""
        return self in (SkipReason.NO_RECIPIENT, SkipReason.NO_CURRENT_SUBKEY)


@dataclass(frozen=True)
class ExportOptions:
    nis: tuple[str, ...] = ()  # only these municipalities (default: every registered one)
    dry_run: bool = False
    skip_invalid: bool = False
    drop_columns: tuple[str, ...] = ()
    mapping: Mapping[str, str] | None = None
    workers: int | None = None  # None: as many as CPUs for large exports, else 1


@dataclass(frozen=True)
class PackageSummary:
    nis: str
    name: str
    records: int
    expired: int  # rows left out because their retention deadline has passed
    recipients: int
    sequence: int
    package_id: str | None  # None in a dry run
    file: Path | None  # None in a dry run
    without_subkey: int = 0  # recipients left out: no subkey valid now (ask them to rotate)


@dataclass(frozen=True)
class SkippedMunicipality:
    nis: str
    name: str
    reason: SkipReason
    rows: int  # master rows for it that were not exported


@dataclass(frozen=True)
class ExportResult:
    packages: tuple[PackageSummary, ...]
    skipped: tuple[SkippedMunicipality, ...]
    rows_read: int
    rows_outside_selection: int  # rows for municipalities not named with --nis
    problems: tuple[Problem, ...]  # with skip_invalid: the rows left out
    problems_omitted: int
    dry_run: bool
    pseudonym_key: Path
    pseudonym_key_created: bool
    rolled_forward: tuple[Path, ...]  # packages of an interrupted export, published now
    out_dir: Path

    @property
    def missing(self) -> tuple[SkippedMunicipality, ...]:
        """Municipalities with an active protocol that got no package (see SkipReason)."""
        return tuple(s for s in self.skipped if s.reason.missing)

    @property
    def records(self) -> int:
        return sum(p.records for p in self.packages)


# --- the pseudonym key --------------------------------------------------------------


def pseudonym_key_path(home: Home) -> Path:
    return home.paths.keys / PSEUDONYM_KEY


def _read_pseudonym_key(path: Path) -> bytes:
    data = read_private_file(path, limit=4096)
    value = strictjson.loads(data, what="the pseudonym key file", max_bytes=4096)
    with strictjson.Fields(value, "the pseudonym key file") as f:
        if f.text("format") != PSEUDONYM_FORMAT:
            raise Malformed("the pseudonym key file has an unknown format")
        text = f.text("key")
    try:
        key = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise Malformed("the pseudonym key file does not hold base64") from None
    if len(key) != pseudonym.KEY_BYTES:
        raise Malformed("the pseudonym key file does not hold a 32-byte key")
    return key


def load_or_create_pseudonym_key(home: Home) -> tuple[bytes, bool]:
    """The agency's pseudonym key, created (0600, never replaced) on first use.

    Returns the key and whether it was created now. It must be backed up with the
    home: without it the same person gets a new record id in every municipality.
    """
    path = pseudonym_key_path(home)
    if path.exists():
        return _read_pseudonym_key(path), False
    key = os.urandom(pseudonym.KEY_BYTES)
    document = strictjson.dumps(
        {"format": PSEUDONYM_FORMAT, "key": base64.b64encode(key).decode("ascii")}
    )
    try:
        atomic_write(path, document, mode=0o600, exclusive=True)
    except FileExistsError:  # pragma: no cover - another writer despite the home lock
        return _read_pseudonym_key(path), False
    return key, True


# --- planning -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    entry: MunicipalityEntry
    keyring_data: bytes
    keyring_signature: str
    keyring_version: int
    recipients: tuple[PackageRecipient, ...]
    rows: tuple[MasterRow, ...]
    without_subkey: int


def _name(nis: str) -> str:
    if municipalities.is_known(nis):
        return municipalities.lookup(nis).name_nl
    return nis


def _protocol_end(entry: MunicipalityEntry) -> date:
    """The last day data may be kept under the protocol (its end or the day before its
    termination takes effect)."""
    end = entry.protocol_until
    if entry.terminated_on is not None:
        end = min(end, entry.terminated_on - timedelta(days=1))
    return end


def _current_recipients(entry: MunicipalityEntry, now: datetime) -> tuple[PackageRecipient, ...]:
    found = []
    for person in entry.recipients:
        subkey = person.subkey_at(now)
        if subkey is not None:
            found.append(
                PackageRecipient(person.fingerprint.display, person.owner.role, subkey.recipient)
            )
    return tuple(sorted(found, key=lambda r: r.fingerprint))


def _plan(
    home: Home, intake: IntakeResult, selection: tuple[str, ...]
) -> tuple[list[_Target], list[SkippedMunicipality], int]:
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
    views = {v.keyring.scope: v for v in signed_keyrings(home) if v.keyring.is_view}
    targets: list[_Target] = []
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
        if not signed_entry.recipients:
            skipped.append(SkippedMunicipality(nis, entry.name, SkipReason.NO_RECIPIENT, len(rows)))
            continue
        recipients = _current_recipients(signed_entry, now)
        if not recipients:
            skipped.append(
                SkippedMunicipality(nis, entry.name, SkipReason.NO_CURRENT_SUBKEY, len(rows))
            )
            continue
        targets.append(
            _Target(
                entry=signed_entry,
                keyring_data=view.data,
                keyring_signature=view.signature,
                keyring_version=view.keyring.version,
                recipients=recipients,
                rows=rows,
                without_subkey=len(signed_entry.recipients) - len(recipients),
            )
        )
    if not wanted:
        for nis in sorted(set(by_nis) - set(registered)):
            skipped.append(
                SkippedMunicipality(nis, _name(nis), SkipReason.NOT_REGISTERED, len(by_nis[nis]))
            )
    return targets, skipped, outside


# --- building ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    target: _Target
    package_id: str
    sequence: int
    supersedes: Superseded | None
    records: tuple[ledger.PackageRecord, ...]
    body: PackageBody
    workbook_rows: tuple[WorkbookRow, ...]
    destroy_by: date
    expired: int = 0
    file_name: str = field(default="")


def _prepare(home: Home, target: _Target, key: bytes, created_at: datetime) -> _Prepared:
    entry = target.entry
    today = created_at.date()
    end = _protocol_end(entry)
    previous = ledger.latest(home, entry.party_id)
    earlier: dict[str, str] = {}
    if previous is not None:
        earlier = {
            r.client_id: r.record_id for r in ledger.package_records(home, previous.package_id)
        }
    # What the municipality returned: the ledger's statuses and the outcomes of its
    # data-quality reports travel back in this package (agency/ledger.py, quality.py).
    statuses = statuses_for(home, entry.party_id)
    outcomes = outcomes_for(home, entry.party_id)
    seen: dict[str, str] = {}
    records: list[ledger.PackageRecord] = []
    rows: list[tuple[tuple[str, str, str], WorkbookRow]] = []
    expired = 0
    for row in target.rows:
        deadline = retention_deadline(row.certificate_date, entry.retention_months, end)
        if deadline <= today:
            expired += 1
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
                (row.record.naam.casefold(), row.record.voornaam.casefold(), rid),
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
    )
    package_id = new_artifact_id(ArtifactKind.PACKAGE)
    return _Prepared(
        target=target,
        package_id=package_id,
        sequence=sequence,
        supersedes=supersedes,
        records=tuple(records),
        body=body,
        workbook_rows=tuple(r for _, r in rows),
        destroy_by=min(deadlines) if deadlines else valid_until.date(),
        expired=expired,
        file_name=f"{entry.nis}-{sequence:05d}-{package_id}{PACKAGE_SUFFIX}",
    )


def _workbooks(
    prepared: Iterable[_Prepared], demo: bool, workers: int, written_at: datetime
) -> Iterator[tuple[_Prepared, bytes]]:
    """Each prepared package with its workbook, in order, with bounded work in flight.

    Workbooks dominate the export's time (openpyxl); with ``workers`` > 1 they are
    written in worker processes. Only rows go there and only bytes come back: no key.
    """

    def meta(p: _Prepared) -> WorkbookMeta:
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
    window = workers * 2
    with ProcessPoolExecutor(max_workers=workers) as pool:
        queue = iter(prepared)
        pending: list[tuple[_Prepared, Future[bytes]]] = []
        for p in queue:
            pending.append((p, pool.submit(write_package_workbook, p.workbook_rows, meta(p))))
            if len(pending) >= window:
                break
        while pending:
            p, future = pending.pop(0)
            result = future.result()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append(
                    (nxt, pool.submit(write_package_workbook, nxt.workbook_rows, meta(nxt)))
                )
            yield p, result


@dataclass(frozen=True)
class _Issued:
    """A sealed, staged package: what the transaction and the summary need (no rows)."""

    package: ledger.IssuedPackage
    records: tuple[ledger.PackageRecord, ...]
    name: str
    expired: int
    without_subkey: int


def _issued(p: _Prepared, data: bytes, created_at: datetime, out_dir: Path) -> _Issued:
    return _Issued(
        package=ledger.IssuedPackage(
            package_id=p.package_id,
            party_id=p.body.party_id,
            nis=p.body.nis,
            sequence=p.sequence,
            sha256=hashlib.sha256(data).hexdigest(),
            created_at=format_instant(created_at),
            file_name=p.file_name,
            out_dir=str(out_dir.resolve()),
            supersedes=None if p.supersedes is None else p.supersedes.package_id,
            records=len(p.records),
            recipients=len(p.body.recipients),
            published=False,
        ),
        records=p.records,
        name=p.body.municipality_name,
        expired=p.expired,
        without_subkey=p.target.without_subkey,
    )


# --- publication ----------------------------------------------------------------------


def _place(item: ledger.IssuedPackage, data: bytes, out_dir: Path) -> Path:
    """Put a committed package into ``out_dir``; idempotent (a rerun finds it there)."""
    target = out_dir / item.file_name
    try:
        atomic_write(target, data, mode=0o644, exclusive=True)
    except FileExistsError:
        if hashlib.sha256(target.read_bytes()).hexdigest() != item.sha256:
            raise InternalError(
                "a file with a package's name but other content is in the output directory"
            ) from None
    return target


def _mark_published(home: Home, placed: Sequence[tuple[ledger.IssuedPackage, Path]]) -> None:
    """One transaction for all, then the staged copies go."""
    if not placed:
        return
    with statedb.transaction(home.db):
        for item, path in placed:
            ledger.mark_published(home, item.package_id, str(path.parent.resolve()))
    for item, _ in placed:
        ledger.staged_path(home, item.package_id).unlink(missing_ok=True)
    fsync_dir(ledger.outbox(home))


def _roll_forward(home: Home, out_dir: Path) -> list[Path]:
    """Publish what a committed export staged but did not publish; drop the rest."""
    box = ledger.outbox(home)
    placed: list[tuple[ledger.IssuedPackage, Path]] = []
    for item in ledger.unpublished(home):
        staged = ledger.staged_path(home, item.package_id)
        try:
            data = staged.read_bytes()
        except FileNotFoundError:
            raise InternalError("a committed package's staged file is missing") from None
        if hashlib.sha256(data).hexdigest() != item.sha256:
            raise InternalError("a committed package's staged file was changed")
        recorded = Path(item.out_dir)
        destination = recorded if recorded.is_dir() else out_dir
        output_dir(destination, private=True)
        placed.append((item, _place(item, data, destination)))
    _mark_published(home, placed)
    if box.is_dir():
        keep = {ledger.staged_path(home, p.package_id).name for p in ledger.unpublished(home)}
        removed = False
        for entry in box.iterdir():
            # A directory someone made in the outbox is not ours to remove (and unlink
            # on it raised: exit 3); links and other files are unlinked, never opened.
            if entry.name not in keep and not (entry.is_dir() and not entry.is_symlink()):
                entry.unlink(missing_ok=True)
                removed = True
        if removed:
            fsync_dir(box)
    return [path for _, path in placed]


# --- the workflow -----------------------------------------------------------------------


def _worker_count(option: int | None, records: int) -> int:
    if option is not None:
        return max(1, option)
    if records < MIN_RECORDS_FOR_WORKERS:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def export_master(
    home: Home,
    master: Path,
    out_dir: Path,
    *,
    export_key: KeySource,
    options: ExportOptions = ExportOptions(),
    progress: Progress | None = None,
) -> ExportResult:
    """Export ``master`` to one package per municipality in ``out_dir``.

    Raises, before anything is written or a key is asked for: InvalidMaster /
    HostileFile / UsageError (the master, the mapping), NotFound (an unknown ``--nis``
    code, a missing master); then BadPassphrase / KeyPermissions (the export key),
    NotAuthorised (a key file that is not this agency's export key), Malformed /
    KeyPermissions (the pseudonym key file), InternalError (a record id collision, a
    changed pseudonym key).
    """
    ledger.ensure_schema(home)
    selection = tuple(sorted({check_nis(n) for n in options.nis}))
    rolled: list[Path] = []
    if not options.dry_run:
        # Encrypted, but personal data all the same: 0700 when created.
        output_dir(out_dir, private=True)
        remove_temp_leftovers(out_dir)
        rolled = _roll_forward(home, out_dir)
    if not master.is_file():
        raise NotFound(f"no master file at {master}")
    intake = read_master(
        master,
        mapping=options.mapping,
        drop_columns=options.drop_columns,
        skip_invalid=options.skip_invalid,
    )
    targets, skipped, outside = _plan(home, intake, selection)
    created_at = home.now.replace(microsecond=0)
    key_path = pseudonym_key_path(home)

    def result(summaries: list[PackageSummary], created: bool) -> ExportResult:
        return ExportResult(
            packages=tuple(summaries),
            skipped=tuple(skipped),
            rows_read=len(intake.rows),
            rows_outside_selection=outside,
            problems=intake.problems,
            problems_omitted=intake.problems_omitted,
            dry_run=options.dry_run,
            pseudonym_key=key_path,
            pseudonym_key_created=created,
            rolled_forward=tuple(rolled),
            out_dir=out_dir,
        )

    if options.dry_run:
        summaries = []
        for t in targets:
            end = _protocol_end(t.entry)
            deadlines = [
                retention_deadline(r.certificate_date, t.entry.retention_months, end)
                for r in t.rows
            ]
            live = sum(1 for d in deadlines if d > created_at.date())
            last = ledger.latest(home, t.entry.party_id)
            summaries.append(
                PackageSummary(
                    nis=t.entry.nis,
                    name=t.entry.name,
                    records=live,
                    expired=len(deadlines) - live,
                    recipients=len(t.recipients),
                    sequence=1 if last is None else last.sequence + 1,
                    package_id=None,
                    file=None,
                    without_subkey=t.without_subkey,
                )
            )
        return result(summaries, False)

    # Every check that needs no key has passed: now the key.
    identity = export_key.unlock()
    if identity.signing_key != agency_keys(home).export.signing_key:
        raise NotAuthorised(f"the key file {export_key.path.name} is not this agency's export key")
    home.note_signer(identity.seed, identity.fingerprint.display)
    key, created = load_or_create_pseudonym_key(home)

    # Packages are prepared lazily, so only those in flight hold their workbook rows.
    prepared = (_prepare(home, t, key, created_at) for t in targets)
    workers = _worker_count(options.workers, sum(len(t.rows) for t in targets))
    box = ledger.outbox(home)
    make_private_dir(box)
    issued: list[_Issued] = []
    if progress is not None:
        progress(0, len(targets))
    try:
        for done, (p, workbook) in enumerate(
            _workbooks(prepared, home.demo, workers, created_at), 1
        ):
            data = seal_package(
                package_id=p.package_id,
                created_at=created_at,
                body=p.body,
                workbook=workbook,
                recipients=[age.parse_recipient(r.subkey) for r in p.body.recipients],
                keyring_data=p.target.keyring_data,
                keyring_signature=p.target.keyring_signature,
                signing_seed=identity.seed,
            )
            atomic_write(ledger.staged_path(home, p.package_id), data, mode=0o600)
            issued.append(_issued(p, data, created_at, out_dir))
            if progress is not None:
                progress(done, len(targets))
    except BaseException:
        # Nothing was committed: what this run staged is no package and goes now (or,
        # after a kill, at the next export's roll-forward).
        for item in issued:
            ledger.staged_path(home, item.package.package_id).unlink(missing_ok=True)
        raise
    total_records = sum(item.package.records for item in issued)

    # One transaction: sequence numbers, records and the log entry, or nothing.
    with statedb.transaction(home.db):
        for item in issued:
            ledger.insert(home, item.package, item.records)
        home.record(
            Action.EXPORT,
            actor=identity.fingerprint.display,
            artifacts=[item.package.package_id for item in issued],
            counts={"packages": len(issued), "records": total_records, "skipped": len(skipped)},
        )

    placed = [
        (
            item.package,
            _place(
                item.package,
                ledger.staged_path(home, item.package.package_id).read_bytes(),
                out_dir,
            ),
        )
        for item in issued
    ]
    _mark_published(home, placed)
    summaries = []
    for item, (package, path) in zip(issued, placed, strict=True):
        summaries.append(
            PackageSummary(
                nis=package.nis,
                name=item.name,
                records=package.records,
                expired=item.expired,
                recipients=package.recipients,
                sequence=package.sequence,
                package_id=package.package_id,
                file=path,
                without_subkey=item.without_subkey,
            )
        )
    return result(summaries, created)


__all__ = [
    "ExportOptions",
    "ExportResult",
    "PackageSummary",
    "SkipReason",
    "SkippedMunicipality",
    "export_master",
    "load_or_create_pseudonym_key",
    "pseudonym_key_path",
]


def check_every_municipality_reached(result: ExportResult) -> None:
    """Refuse (SX-NO-RECIPIENT, exit 1) an export that left a municipality with an active
    protocol without a package, after every package that could be written was written:
    a scheduled export must notice that a data flow stopped."""
    missing = result.missing
    if not missing:
        return
    noun = "municipality" if len(missing) == 1 else "municipalities"
    codes = ", ".join(s.nis for s in missing)
    raise NoRecipient(
        f"{len(missing)} {noun} with an active protocol got no package "
        f"(no recipient with a key valid now): {codes}",
        hint=(
            "their staff run 'keys rotate' and send the new card, or enrol; "
            "--allow-missing accepts such an export"
        ),
    )
