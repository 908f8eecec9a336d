"""``municipality status``: what the vault holds and when it goes, without a passphrase.

Everything here is public within the home: package ids, counts, dates, file paths of
registered workbooks, subkey recipients (public keys). No record id, no personal data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from securexchange.artifacts.protocol_notice import NoticeKind
from securexchange.clock import format_instant
from securexchange.ending import notices
from securexchange.home import safefs
from securexchange.home.home import Home
from securexchange.incidents import register
from securexchange.municipality import (
    digests,
    quality_answers,
    retention,
    rewrap,
    staff_edits,
    subkeys,
    vault,
    workbooks,
)
from securexchange.municipality.workbook_cells import MAX_WORKBOOK_BYTES
from securexchange.reminders import Event, coming


@dataclass(frozen=True)
class PackageState:
    id: str
    sequence: int
    state: str
    records: int
    created_at: str
    imported_at: str
    valid_until: str
    stale: bool
    shredded_at: str | None
    key_destroyed_by: str | None


@dataclass(frozen=True)
class Deadline:
    date: str
    records: int


@dataclass(frozen=True)
class SubkeyState:
    recipient: str
    valid_from: str
    valid_until: str
    state: str  # held or destroyed
    destroyed_at: str | None
    # Destroyed at the first shred after valid-until once nothing needs it, and at
    # destroy_by whatever still needs it (shredding ran before this, so a held key's
    # destroy_by is never in the past).
    destroy_by: str | None
    needed: bool
    # A destroyed subkey whose file could not be removed yet: retried every shred.
    file_remains: bool


@dataclass(frozen=True)
class WorkbookState:
    id: str
    path: str
    package: str
    written_at: str
    state: str
    problem: str | None
    typed_changes: int | None  # None: cannot be counted without the passphrase


@dataclass(frozen=True)
class Termination:
    protocol: str
    effective: str


@dataclass(frozen=True)
class OpenIncident:
    incident: str
    ours: bool  # this municipality reported it (its 48 hours to the agency run)
    discovered_at: str
    agency_due: str | None
    authority_due: str


@dataclass(frozen=True)
class WrittenNotice:
    notice: str
    given_by: str  # agency or municipality
    decision: str | None
    received_on: str | None  # this home took the agency's notice in that day
    effective: str | None  # three months after receipt (the keyring states it then)


@dataclass(frozen=True)
class SentQualityReport:
    """A quality report returned to the agency, and its answer (art. 7: two weeks)."""

    reported_at: str
    returned_in: str
    due_on: str
    overdue: bool
    answered_in: str | None  # the package that brought the outcome
    answered_at: str | None  # that package's date


@dataclass(frozen=True)
class VaultStatus:
    """What ``municipality status`` shows; :meth:`to_json` is its ``--json`` document
    (times as ``YYYY-MM-DDTHH:MM:SSZ``, dates as ``YYYY-MM-DD``)."""

    now: str
    clock_behind: bool
    packages: tuple[PackageState, ...]
    next_deadlines: tuple[Deadline, ...]
    # Everything the next return would carry as far as it can be counted without the
    # passphrase: edits stored in the vault plus changes typed in workbooks.
    pending_edits_stored: int
    pending_edits_in_workbooks: int
    pending_edits_complete: bool  # False when a workbook's changes could not be counted
    workbooks: tuple[WorkbookState, ...]
    subkeys: tuple[SubkeyState, ...]
    terminations: tuple[Termination, ...]
    last_shred: str | None
    leftover_subkey_files: int
    # Within the reminder window (securexchange.reminders): keys running out, the
    # protocol's end, a termination taking effect, the next shredding.
    coming: tuple[Event, ...] = ()
    # Open incidents with their deadlines (protocol art. 6, GDPR art. 33), and written
    # notices of the protocol (art. 5) given or received.
    incidents: tuple[OpenIncident, ...] = ()
    notices: tuple[WrittenNotice, ...] = ()
    # Quality reports returned to the agency: waiting for its answer, or answered by
    # the package in use (municipality/quality_answers.py).
    quality_reports: tuple[SentQualityReport, ...] = ()

    @property
    def pending_edits(self) -> int:
        return self.pending_edits_stored + self.pending_edits_in_workbooks

    def to_json(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "clock_behind": self.clock_behind,
            "packages": [asdict(p) for p in self.packages],
            "next_deadlines": [asdict(d) for d in self.next_deadlines],
            "pending_edits": self.pending_edits,
            "pending_edits_stored": self.pending_edits_stored,
            "pending_edits_in_workbooks": self.pending_edits_in_workbooks,
            "pending_edits_complete": self.pending_edits_complete,
            "workbooks": [asdict(w) for w in self.workbooks],
            "subkeys": [asdict(k) for k in self.subkeys],
            "terminations": [asdict(x) for x in self.terminations],
            "last_shred": self.last_shred,
            "leftover_subkey_files": self.leftover_subkey_files,
            "coming": [e.to_json() for e in self.coming],
            "incidents": [asdict(i) for i in self.incidents],
            "notices": [asdict(n) for n in self.notices],
            "quality_reports": [asdict(q) for q in self.quality_reports],
        }


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else format_instant(moment)


def status(home: Home) -> VaultStatus:
    """The vault's state, all of it public within the home."""
    registered = workbooks.registered(home)
    typed_changes = [_typed_changes(home, w) for w in registered]
    last = retention.last_shred(home)
    deadlines = _deadlines(home)
    return VaultStatus(
        now=format_instant(home.now),
        clock_behind=home.clock.behind,
        packages=_packages(home),
        next_deadlines=deadlines,
        pending_edits_stored=staff_edits.pending_count(home),
        pending_edits_in_workbooks=sum(n or 0 for n in typed_changes),
        pending_edits_complete=all(n is not None for n in typed_changes),
        workbooks=tuple(
            WorkbookState(
                id=w.workbook_id,
                path=str(w.path),
                package=w.package_id,
                written_at=format_instant(w.written_at),
                state=w.state,
                problem=w.problem,
                typed_changes=changes,
            )
            for w, changes in zip(registered, typed_changes, strict=True)
        ),
        subkeys=_subkeys(home),
        terminations=tuple(
            Termination(protocol=k, effective=v) for k, v in vault.terminated(home).items()
        ),
        last_shred=_instant(last),
        leftover_subkey_files=len(subkeys.leftover_files(home)),
        coming=_coming(home, deadlines),
        incidents=_open_incidents(home),
        notices=_notices(home),
        quality_reports=_quality_reports(home),
    )


def _quality_reports(home: Home) -> tuple[SentQualityReport, ...]:
    today = home.now.date()
    return tuple(
        SentQualityReport(
            reported_at=format_instant(q.reported_at),
            returned_in=q.returned_in,
            due_on=q.due_on.isoformat(),
            overdue=q.overdue(today),
            answered_in=q.answered_in,
            answered_at=_instant(q.answered_at),
        )
        for q in quality_answers.sent_reports(home)
    )


def _open_incidents(home: Home) -> tuple[OpenIncident, ...]:
    return tuple(
        OpenIncident(
            incident=i.incident_id,
            ours=i.ours,
            discovered_at=format_instant(i.discovered_at),
            agency_due=_instant(i.agency_due) if i.ours else None,
            authority_due=format_instant(i.authority_due),
        )
        for i in register.incidents(home, open_only=True)
    )


def _notices(home: Home) -> tuple[WrittenNotice, ...]:
    return tuple(
        WrittenNotice(
            notice=n.notice_id,
            given_by=n.given_by.value,
            decision=n.decision,
            received_on=None if n.received_on is None else n.received_on.isoformat(),
            effective=None if n.effective is None else n.effective.isoformat(),
        )
        for n in notices.all_held(home)
        if n.kind is NoticeKind.NOTICE
    )


def _coming(home: Home, deadlines: tuple[Deadline, ...]) -> tuple[Event, ...]:
    """This home's coming events: its keys running out (the end of the last subkey it
    holds), its protocol's end and termination, the next shredding."""
    from securexchange.municipality.enrolment import held_keyring

    held = [s for s in subkeys.listed(home) if s.held]
    keyring = held_keyring(home)
    ends = [("", keyring.municipalities[0].protocol_until)] if keyring is not None else []
    return coming(
        home.now,
        keys_until=[("", max(s.valid_until for s in held))] if held else [],
        protocol_ends=ends,
        terminations=[("", date.fromisoformat(day)) for day in vault.terminated(home).values()],
        shredding=[(date.fromisoformat(d.date), d.records) for d in deadlines],
    )


def _packages(home: Home) -> tuple[PackageState, ...]:
    db = home.db
    counts = dict(
        db.execute("SELECT package_id, COUNT(*) FROM vault_records GROUP BY package_id").fetchall()
    )
    held = {s.recipient: s for s in subkeys.listed(home) if s.held}
    wrapped_to = {
        str(r[0]): str(r[1])
        for r in db.execute("SELECT package_id, subkey FROM vault_data_keys").fetchall()
    }

    def key_destroyed_by(package_id: str) -> str | None:
        # The package is lost at this moment unless a command unlocks the key before
        # (and so moves its data key to the current subkey).
        subkey = held.get(wrapped_to.get(package_id, ""))
        return None if subkey is None else format_instant(subkey.destroy_by)

    return tuple(
        PackageState(
            id=p.package_id,
            sequence=p.sequence,
            state=p.state,
            records=int(counts.get(p.package_id, 0)),
            created_at=format_instant(p.created_at),
            imported_at=format_instant(p.imported_at),
            valid_until=format_instant(p.valid_until),
            stale=p.live and home.now >= p.valid_until,
            shredded_at=_instant(p.shredded_at),
            key_destroyed_by=key_destroyed_by(p.package_id) if p.live else None,
        )
        for p in vault.packages(home)
    )


def _deadlines(home: Home) -> tuple[Deadline, ...]:
    # A termination notice held destroys its protocol's records on its effective day,
    # before any later retention deadline: that day is their deadline.
    return tuple(
        Deadline(date=str(day), records=int(n))
        for day, n in home.db.execute(
            "SELECT CASE WHEN t.effective IS NOT NULL AND t.effective < r.retention "
            "THEN t.effective ELSE r.retention END AS day, COUNT(*) "
            "FROM vault_records r JOIN vault_packages p ON p.package_id = r.package_id "
            "LEFT JOIN vault_protocols t ON t.protocol_id = p.protocol_id "
            "GROUP BY day ORDER BY day LIMIT 5"
        )
    )


def _subkeys(home: Home) -> tuple[SubkeyState, ...]:
    needed = rewrap.needed_subkeys(home)
    return tuple(
        SubkeyState(
            recipient=s.recipient,
            valid_from=format_instant(s.valid_from),
            valid_until=format_instant(s.valid_until),
            state="held" if s.held else "destroyed",
            destroyed_at=_instant(s.destroyed_at),
            destroy_by=format_instant(s.destroy_by) if s.held else None,
            needed=s.recipient in needed,
            file_remains=not s.held and subkeys.file_present(home, s),
        )
        for s in subkeys.listed(home)
    )


def _typed_changes(home: Home, book: workbooks.Registered) -> int | None:
    """Edits typed in a workbook and not yet absorbed, counted against the digests kept
    when it was written (digests.py); None when that cannot be known: a workbook written
    by a version that kept no digests, or a file that is gone or unreadable."""
    if book.state == workbooks.HARVESTED:
        counted = digests.harvested_changes(home, book.workbook_id)
        kept = home.db.execute(
            "SELECT harvest IS NOT NULL FROM vault_workbooks WHERE workbook_id = ?",
            (book.workbook_id,),
        ).fetchone()
        # No harvest kept (the file was gone when it had to go): nothing to absorb.
        return 0 if counted is None and kept is not None and not kept[0] else counted
    if digests.file_as_written(home, book.workbook_id, book.path, MAX_WORKBOOK_BYTES):
        return 0  # byte for byte what `open` wrote: nothing typed
    cells = workbooks.current_cells(home, book.workbook_id, book.path)
    if cells is None:
        # A file staff deleted holds nothing to return; one that is there but cannot
        # be read (damaged, a value outside the lists) cannot be counted.
        return None if safefs.exists(book.path) else 0
    return digests.count_changes(home, book.workbook_id, cells)
