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
6. One transaction: every package row, its records, the sequence numbers, the quality
   reports whose answer it carries (art. 7, :func:`quality.link_answers`), the log
   entry. 7. Publication into the output directory, then the rows are marked (and those
   answers count as sent).

Never prints; progress goes to a callback.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from securexchange import age
from securexchange.agency import erasures, quality, vouched
from securexchange.agency import packages as ledger
from securexchange.agency.coming import AGENCY, keyring_coming
from securexchange.agency.export_build import (
    Prepared,
    Target,
    plan,
    prepare,
    protocol_end,
    workbooks,
)
from securexchange.agency.export_key import export_keys_until, unlock_export
from securexchange.agency.export_result import (
    MIN_RECORDS_FOR_WORKERS,
    ExportOptions,
    ExportResult,
    HeldBack,
    PackageSummary,
)
from securexchange.agency.pseudonym_key import (
    load_or_create_pseudonym_key,
    pseudonym_key_path,
)
from securexchange.agency.registry import agency_keys, signed_keyrings
from securexchange.artifacts.keyring import Keyring
from securexchange.artifacts.package import (
    seal_package,
)
from securexchange.clock import format_instant
from securexchange.collector import paused, unfreezing
from securexchange.errors import (
    InternalError,
    NoRecipient,
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
from securexchange.intake.master import read_master
from securexchange.keys.identity import Identity, check_nis
from securexchange.keys.keystore import KeySource
from securexchange.reminders import Event
from securexchange.schema import retention_deadline

Progress = Callable[[int, int], None]  # (packages done, packages in total)


# --- the pseudonym key --------------------------------------------------------------


# --- planning -------------------------------------------------------------------------


# --- building ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Issued:
    """A sealed, staged package: what the transaction and the summary need (no rows)."""

    package: ledger.IssuedPackage
    records: tuple[ledger.PackageRecord, ...]
    name: str
    expired: int
    without_subkey: int
    held_back: tuple[HeldBack, ...]
    erase: tuple[str, ...] = ()
    erased_rows: int = 0


DEFAULT_OPTIONS = ExportOptions()  # frozen: one shared default is safe


def _issued(p: Prepared, data: bytes, created_at: datetime, out_dir: Path) -> _Issued:
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
        held_back=p.target.held_back,
        erase=p.erase,
        erased_rows=p.erased_rows,
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
            quality.mark_published(home, item.package_id)
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


@contextmanager
def _master_rows_outside_collector() -> Iterator[None]:
    """The master's rows are built with Python's cyclic garbage collector paused, and
    kept out of its later passes (``gc.freeze``) until the export ends (issue 22).

    They are hundreds of thousands of small objects (frozen dataclasses of text, dates
    and tuples) that hold no cycle, and the collector's full passes over them, while
    they grow and after, cost about 0.65 s of a 100,000-row export's CPU time. Memory is
    unaffected: reference counting frees them as before. The worker processes forked
    later inherit them outside the collector too (fewer copy-on-write pages).
    """
    with paused():
        yield
        gc.freeze()


@unfreezing  # what the intake froze (_master_rows_outside_collector) goes back after
def export_master(
    home: Home,
    master: Path,
    out_dir: Path,
    *,
    export_key: KeySource,
    options: ExportOptions = DEFAULT_OPTIONS,
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
    selection = tuple(sorted({check_nis(n) for n in options.nis}))
    rolled: list[Path] = []
    if not options.dry_run:
        # Encrypted, but personal data all the same: 0700 when created.
        output_dir(out_dir, private=True)
        remove_temp_leftovers(out_dir)
        rolled = _roll_forward(home, out_dir)
    if not master.is_file():
        raise NotFound(f"no master file at {master}")
    with _master_rows_outside_collector():
        intake = read_master(
            master,
            mapping=options.mapping,
            drop_columns=options.drop_columns,
            skip_invalid=options.skip_invalid,
        )
    # Read once: the views for the packages, the full keyring for the reminders.
    keyrings = signed_keyrings(home)
    targets, skipped, outside = plan(home, intake, selection, keyrings)
    created_at = home.now.replace(microsecond=0)

    def result(summaries: list[PackageSummary], created: bool) -> ExportResult:
        return ExportResult(
            packages=tuple(summaries),
            skipped=tuple(skipped),
            rows_read=len(intake.rows),
            rows_outside_selection=outside,
            problems=intake.problems,
            problems_omitted=intake.problems_omitted,
            dry_run=options.dry_run,
            pseudonym_key=pseudonym_key_path(home),
            pseudonym_key_created=created,
            rolled_forward=tuple(rolled),
            out_dir=out_dir,
            coming=_reminders(home, keyrings[0].keyring),
        )

    if options.dry_run:
        return result(_dry_run(home, targets, created_at), False)

    # Every check that needs no key has passed: now the key.
    identity = unlock_export(home, export_key)
    key, created = load_or_create_pseudonym_key(home)
    issued = _seal_all(
        home,
        targets,
        identity=identity,
        key=key,
        created_at=created_at,
        out_dir=out_dir,
        workers_option=options.workers,
        progress=progress,
    )
    _commit(home, issued, identity, skipped=len(skipped))
    return result(_publish(home, issued, out_dir), created)


def _reminders(home: Home, full: Keyring) -> tuple[Event, ...]:
    """The coming events for the report, the agency's own first; read after the export
    key's top-up (unlock_export), so its new subkeys count."""
    events = keyring_coming(
        home.now, full, kept=vouched.latest_until(home), export_until=export_keys_until(home)
    )
    return tuple(e for key in (AGENCY, *sorted(set(events) - {AGENCY})) for e in events[key])


def _commit(home: Home, issued: Sequence[_Issued], identity: Identity, *, skipped: int) -> None:
    """One transaction: sequence numbers, records and the log entry, or nothing."""
    carried = sum(len(item.erase) for item in issued)
    with statedb.transaction(home.db):
        for item in issued:
            ledger.insert(home, item.package, item.records)
            erasures.note_carried(home, item.package.party_id, item.erase, item.package.package_id)
            quality.link_answers(
                home,
                item.package.package_id,
                item.package.party_id,
                (r.record_id for r in item.records),
            )
        home.record(
            Action.EXPORT,
            actor=identity.fingerprint.display,
            artifacts=[item.package.package_id for item in issued],
            counts={
                "packages": len(issued),
                "records": sum(item.package.records for item in issued),
                "skipped": skipped,
                **({"erasures": carried} if carried else {}),
            },
        )


def _dry_run(home: Home, targets: Sequence[Target], created_at: datetime) -> list[PackageSummary]:
    """What an export would make, without a key: counts per municipality."""
    summaries = []
    for t in targets:
        end = protocol_end(t.entry)
        deadlines = [
            retention_deadline(r.certificate_date, t.entry.retention_months, end) for r in t.rows
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
                held_back=t.held_back,
            )
        )
    return summaries


def _seal_all(
    home: Home,
    targets: Sequence[Target],
    *,
    identity: Identity,
    key: bytes,
    created_at: datetime,
    out_dir: Path,
    workers_option: int | None,
    progress: Progress | None,
) -> list[_Issued]:
    """Seal one package per target into the outbox; on any failure, none stays."""
    # Packages are prepared lazily, so only those in flight hold their workbook rows.
    # The export key's live subkeys the keyring does not list yet travel in each body.
    listed = {s.recipient for s in agency_keys(home).export.subkeys}
    agency_subkeys = tuple(
        s for s in identity.public.live_subkeys(created_at) if s.recipient not in listed
    )
    prepared = (prepare(home, t, key, created_at, agency_subkeys) for t in targets)
    workers = _worker_count(workers_option, sum(len(t.rows) for t in targets))
    make_private_dir(ledger.outbox(home))
    issued: list[_Issued] = []
    if progress is not None:
        progress(0, len(targets))
    try:
        for done, (p, workbook) in enumerate(
            workbooks(prepared, home.demo, workers, created_at), 1
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
                erase=p.erase,
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
    return issued


def _publish(home: Home, issued: Sequence[_Issued], out_dir: Path) -> list[PackageSummary]:
    """Place the committed packages in ``out_dir``; a summary of each."""
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
    return [
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
            held_back=item.held_back,
            erasures=len(item.erase),
            erased_rows=item.erased_rows,
        )
        for item, (package, path) in zip(issued, placed, strict=True)
    ]


def check_every_municipality_reached(result: ExportResult) -> None:
    """Refuse (SX-NO-RECIPIENT, exit 1) an export that left a municipality with an active
    protocol without a package, after every package that could be written was written:
    a scheduled export must notice that a data flow stopped."""
    missing = result.missing
    if not missing:
        return
    noun = "municipality" if len(missing) == 1 else "municipalities"
    codes = ", ".join(f"{s.nis} ({s.reason.value})" for s in missing)
    raise NoRecipient(
        f"{len(missing)} {noun} with an active protocol got no package: {codes}",
        hint=(
            "their staff run 'keys rotate' and send the new card, or enrol; "
            "--allow-missing accepts such an export"
        ),
    )
