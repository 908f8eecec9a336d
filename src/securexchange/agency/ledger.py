"""The agency's status ledger: every accepted return, each signer's in sequence order.

Tables (SQLite, the agency home's state database)::

    ledger_deltas    one row per accepted return: delta id, party id, signer
                     fingerprint, per-signer sequence number, SHA-256 of the canonical
                     return document, created/received time, receipt number, counts
    ledger_status    (party id, record id) -> current activity status, who set it
                     (signer), when (changed_at, received_at), from which delta
    ledger_history   every status entry ever applied: record, new status, its base,
                     the ledger's status before it, conflict flag, signer, times, delta
    quality_reports  every data-quality report (art. 7): qr- id, record, field, problem,
                     reported/received time, due date (two weeks), outcome once resolved,
                     the package carrying the answer and when it was published

A record the ledger has no row for has the initial status
(:data:`schema.INITIAL_ACTIVITY_STATUS`). A status entry whose base differs from the
ledger's current status is applied and flagged as a conflict, unless it sets the
status the ledger holds already (nothing to reconcile then). Every entry enters the
history; it becomes the current status only if it is newer than the one held
(:func:`_newer`: the later change wins, a signer's later return over its earlier ones).
Record ids are personal data: they live here and in the export's record table, never in the log.

Everything here runs inside the caller's transaction (:func:`statedb.transaction`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from securexchange.artifacts.returns import QualityEntry, StatusEntry
from securexchange.clock import format_instant
from securexchange.errors import InternalError
from securexchange.home.home import Home
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.schema import quality_due
from securexchange.vocabularies import INITIAL_ACTIVITY_STATUS

# --- deltas and sequence numbers --------------------------------------------------------


@dataclass(frozen=True)
class DeltaRow:
    delta_id: str
    party_id: str
    signer: str
    sequence: int
    content_sha256: str


def delta_by_id(home: Home, delta_id: str) -> DeltaRow | None:
    row = home.db.execute(
        "SELECT delta_id, party_id, signer, sequence, content_sha256 FROM ledger_deltas "
        "WHERE delta_id = ?",
        (delta_id,),
    ).fetchone()
    return None if row is None else DeltaRow(*row)


def delta_by_sequence(home: Home, signer: str, sequence: int) -> DeltaRow | None:
    row = home.db.execute(
        "SELECT delta_id, party_id, signer, sequence, content_sha256 FROM ledger_deltas "
        "WHERE signer = ? AND sequence = ?",
        (signer, sequence),
    ).fetchone()
    return None if row is None else DeltaRow(*row)


# --- applying ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    statuses: int
    quality_reports: int
    conflicts: int
    report_ids: tuple[str, ...]


def current_status(home: Home, party_id: str, record_id: str) -> str:
    row = home.db.execute(
        "SELECT status FROM ledger_status WHERE party_id = ? AND record_id = ?",
        (party_id, record_id),
    ).fetchone()
    return INITIAL_ACTIVITY_STATUS if row is None else str(row[0])


def due_on(reported_at: datetime, received_at: datetime) -> date:
    """Two weeks after the finding; a report dated after its arrival counts from arrival."""
    return quality_due(min(reported_at, received_at))


def _order_time(home: Home, party_id: str, record: str, signer: str, up_to: int) -> str | None:
    """The latest change time among ``signer``'s applied entries for ``record`` with a
    sequence number up to ``up_to`` (None: there are none)."""
    row = home.db.execute(
        "SELECT MAX(h.changed_at) FROM ledger_history h "
        "JOIN ledger_deltas d ON d.delta_id = h.delta_id "
        "WHERE h.party_id = ? AND h.record_id = ? AND h.signer = ? AND d.sequence <= ?",
        (party_id, record, signer, up_to),
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def _newer(home: Home, party_id: str, record: str, key: tuple[str, str, int]) -> bool:
    """Whether a status entry (change time, signer, sequence) replaces the current one.

    The current status of a record is the entry with the greatest ordering key
    (order time, signer fingerprint, sequence), whatever the order in which returns
    arrived: so every arrival order ends in the same ledger (issue 15, item 2). The
    order time of a signer's entry is the latest change time of that signer's entries
    for the record up to its sequence number, so a signer's later return always wins
    over its earlier ones (sequence order, even if a clock went back), and between
    signers the later change wins; a tie goes to the greater fingerprint.
    """
    changed, signer, sequence = key
    earlier = _order_time(home, party_id, record, signer, sequence - 1)
    mine = (max(changed, earlier or changed), signer, sequence)
    row = home.db.execute(
        "SELECT s.signer, d.sequence FROM ledger_status s "
        "JOIN ledger_deltas d ON d.delta_id = s.delta_id "
        "WHERE s.party_id = ? AND s.record_id = ?",
        (party_id, record),
    ).fetchone()
    if row is None:
        return True
    holder, held_sequence = str(row[0]), int(row[1])
    held_time = _order_time(home, party_id, record, holder, held_sequence)
    return held_time is None or mine > (held_time, holder, held_sequence)


@dataclass(frozen=True)
class _Delta:
    """The return an entry came in: who sent it, its number, when it was received."""

    delta_id: str
    party_id: str
    signer: str
    sequence: int
    received: str


def _apply_status(home: Home, entry: StatusEntry, delta: _Delta) -> bool:
    """One status change into the history, and into the ledger unless it holds a newer
    change; True when the change conflicts with the status the ledger held."""
    party_id, signer, delta_id, received = (
        delta.party_id,
        delta.signer,
        delta.delta_id,
        delta.received,
    )
    previous = current_status(home, party_id, entry.record)
    conflict = previous not in (entry.base, entry.status)
    changed = format_instant(entry.changed_at)
    home.db.execute(
        "INSERT INTO ledger_history (party_id, record_id, status, base, previous, conflict, "
        "signer, changed_at, received_at, delta_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            party_id,
            entry.record,
            entry.status,
            entry.base,
            previous,
            int(conflict),
            signer,
            changed,
            received,
            delta_id,
        ),
    )
    if _newer(home, party_id, entry.record, (changed, signer, delta.sequence)):
        home.db.execute(
            "INSERT INTO ledger_status (party_id, record_id, status, signer, changed_at, "
            "received_at, delta_id) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(party_id, record_id) DO UPDATE SET status = excluded.status, "
            "signer = excluded.signer, changed_at = excluded.changed_at, "
            "received_at = excluded.received_at, delta_id = excluded.delta_id",
            (party_id, entry.record, entry.status, signer, changed, received, delta_id),
        )
    # (else history only: the ledger holds a newer change, see _newer)
    return conflict


def _add_quality_report(home: Home, quality: QualityEntry, delta: _Delta) -> str:
    """One data-quality report, due two weeks after it was made (art. 7); its id."""
    party_id, signer, delta_id, received = (
        delta.party_id,
        delta.signer,
        delta.delta_id,
        delta.received,
    )
    report_id = new_artifact_id(ArtifactKind.QUALITY)
    home.db.execute(
        "INSERT INTO quality_reports (report_id, party_id, record_id, field, problem, "
        "signer, reported_at, received_at, due_on, delta_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            report_id,
            party_id,
            quality.record,
            quality.field,
            quality.problem,
            signer,
            format_instant(quality.reported_at),
            received,
            due_on(quality.reported_at, home.now).isoformat(),
            delta_id,
        ),
    )
    return report_id


def apply_delta(
    home: Home,
    *,
    delta_id: str,
    party_id: str,
    signer: str,
    sequence: int,
    content_sha256: str,
    created_at: datetime,
    statuses: Iterable[StatusEntry],
    quality_reports: Iterable[QualityEntry],
) -> Applied:
    """Record one verified, validated return and apply its entries, in entry order.

    Must run inside a transaction (the caller's); raises InternalError otherwise.
    """
    if not home.db.in_transaction:
        raise InternalError("a return is applied inside a transaction")
    received = format_instant(home.now)
    (receipt,) = home.db.execute(
        "SELECT COALESCE(MAX(receipt), 0) + 1 FROM ledger_deltas"
    ).fetchone()
    status_list = list(statuses)
    quality_list = list(quality_reports)
    home.db.execute(
        "INSERT INTO ledger_deltas (delta_id, party_id, signer, sequence, content_sha256, "
        "created_at, received_at, receipt, statuses, quality_reports, conflicts) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        (
            delta_id,
            party_id,
            signer,
            sequence,
            content_sha256,
            format_instant(created_at),
            received,
            int(receipt),
            len(status_list),
            len(quality_list),
        ),
    )
    delta = _Delta(delta_id, party_id, signer, sequence, received)
    conflicts = sum(_apply_status(home, entry, delta) for entry in status_list)
    report_ids = [_add_quality_report(home, quality, delta) for quality in quality_list]
    home.db.execute(
        "UPDATE ledger_deltas SET conflicts = ? WHERE delta_id = ?", (conflicts, delta_id)
    )
    return Applied(len(status_list), len(quality_list), conflicts, tuple(report_ids))


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRow:
    party_id: str
    record_id: str
    status: str
    signer: str
    changed_at: str
    received_at: str
    delta_id: str


def statuses(home: Home) -> list[StatusRow]:
    rows = home.db.execute(
        "SELECT party_id, record_id, status, signer, changed_at, received_at, delta_id "
        "FROM ledger_status ORDER BY party_id, record_id"
    ).fetchall()
    return [StatusRow(*(str(v) for v in row)) for row in rows]


def statuses_for(home: Home, party_id: str) -> dict[str, str]:
    """record id -> current status for one municipality (for the next package's
    "Status activiteit"; records without a row have the initial status)."""
    rows = home.db.execute(
        "SELECT record_id, status FROM ledger_status WHERE party_id = ?", (party_id,)
    ).fetchall()
    return {str(record): str(status) for record, status in rows}


@dataclass(frozen=True)
class HistoryRow:
    party_id: str
    record_id: str
    status: str
    base: str
    previous: str
    conflict: bool
    signer: str
    changed_at: str
    received_at: str
    delta_id: str


def history(home: Home) -> list[HistoryRow]:
    """Every applied status entry, in order of receipt."""
    rows = home.db.execute(
        "SELECT party_id, record_id, status, base, previous, conflict, signer, changed_at, "
        "received_at, delta_id FROM ledger_history ORDER BY id"
    ).fetchall()
    return [
        HistoryRow(
            str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), bool(r[5]), *map(str, r[6:])
        )
        for r in rows
    ]


@dataclass(frozen=True)
class QualityRow:
    report_id: str
    party_id: str
    record_id: str
    field: str
    problem: str
    signer: str
    reported_at: str
    received_at: str
    due_on: date
    delta_id: str
    outcome: str | None
    resolved_at: str | None
    # The package that carries the outcome (set when it is committed) and when that
    # package was published: the answer counts as given then (art. 7), not at resolve.
    answered_in: str | None = None
    answered_at: str | None = None

    @property
    def sent(self) -> bool:
        return self.answered_at is not None

    def overdue(self, today: date) -> bool:
        """Past its due date with no answer sent (resolved or not)."""
        return not self.sent and today > self.due_on

    @property
    def late(self) -> bool:
        """Answered, but after the due date."""
        return self.answered_at is not None and self.answered_at[:10] > self.due_on.isoformat()


def quality_reports(home: Home, *, open_only: bool = False) -> list[QualityRow]:
    """Every report, or only those whose answer was not sent yet (``open_only``)."""
    rows = home.db.execute(
        "SELECT report_id, party_id, record_id, field, problem, signer, reported_at, "
        "received_at, due_on, delta_id, outcome, resolved_at, answered_in, answered_at "
        "FROM quality_reports WHERE answered_at IS NULL OR ? = 0 "
        "ORDER BY due_on, received_at, report_id",
        (int(open_only),),
    ).fetchall()
    return [
        QualityRow(
            report_id=str(r[0]),
            party_id=str(r[1]),
            record_id=str(r[2]),
            field=str(r[3]),
            problem=str(r[4]),
            signer=str(r[5]),
            reported_at=str(r[6]),
            received_at=str(r[7]),
            due_on=date.fromisoformat(str(r[8])),
            delta_id=str(r[9]),
            outcome=None if r[10] is None else str(r[10]),
            resolved_at=None if r[11] is None else str(r[11]),
            answered_in=None if r[12] is None else str(r[12]),
            answered_at=None if r[13] is None else str(r[13]),
        )
        for r in rows
    ]
