"""Data-quality reports (protocol art. 7): listing, resolving, and the answer going back.

A municipality reports a problem with one art. 3 field of a record; the agency
investigates "binnen 2 weken" and tells the municipality. Here: every report has a
``qr-`` id (assigned when its return was imported), a due date two weeks after the
finding (:func:`schema.quality_due`), and, once resolved, one outcome from
:data:`schema.QUALITY_OUTCOMES`. The outcome travels back in a package: the export calls
:func:`outcomes_for`, and the workbook shows it in "Afhandeling melding". That is the
next scheduled export, or one made at once for that municipality alone (``agency
quality answer``, :mod:`securexchange.agency.quality_answer`).

The answer counts as given when a package carrying it is published, not when the
report is resolved: the export's commit names the package in ``answered_in``
(:func:`link_answers`), its publication sets ``answered_at`` (:func:`mark_published`).
A report resolved and not yet sent is listed as such, and is overdue like an open one
once its due date has passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from securexchange.agency import ledger
from securexchange.agency.ledger import QualityRow
from securexchange.clock import format_instant
from securexchange.errors import NotFound, UsageError
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.ids import is_artifact_id
from securexchange.vocabularies import QUALITY_OUTCOMES


@dataclass(frozen=True)
class QualityListing:
    rows: tuple[QualityRow, ...]
    today: date

    @property
    def overdue(self) -> tuple[QualityRow, ...]:
        return tuple(r for r in self.rows if r.overdue(self.today))


def list_reports(home: Home, *, include_answered: bool = False) -> QualityListing:
    """Reports whose answer was not sent yet (or all), earliest due date first."""
    rows = ledger.quality_reports(home, open_only=not include_answered)
    return QualityListing(tuple(rows), home.now.date())


def resolve(home: Home, report_id: str, outcome: str) -> QualityRow:
    """Record the agency's outcome for one report; refuses a report resolved already."""
    if outcome not in QUALITY_OUTCOMES.values:
        raise UsageError(
            "the outcome is not one of the three outcomes",
            hint="use gecorrigeerd, correct-bevonden or ingetrokken",
        )
    if not is_artifact_id(report_id) or not report_id.startswith("qr-"):
        raise UsageError("a quality report id starts with 'qr-'", hint="see 'agency quality list'")
    row = home.db.execute(
        "SELECT outcome FROM quality_reports WHERE report_id = ?", (report_id,)
    ).fetchone()
    if row is None:
        raise NotFound("no quality report with that id", hint="see 'agency quality list'")
    if row[0] is not None:
        raise UsageError("that quality report is resolved already")
    with statedb.transaction(home.db):
        home.db.execute(
            "UPDATE quality_reports SET outcome = ?, resolved_at = ? WHERE report_id = ?",
            (outcome, format_instant(home.now), report_id),
        )
        home.record(Action.QUALITY_RESOLVE, artifacts=[report_id], counts={"reports": 1})
    return next(r for r in ledger.quality_reports(home) if r.report_id == report_id)


def outcomes_for(home: Home, party_id: str) -> Mapping[str, str]:
    """record id -> the outcome of its most recently resolved report, for the export.

    Reports still open are left out: the workbook shows an outcome only once there is
    one. One outcome per record: the latest resolution wins. A record with a report
    still open shows none: an outcome given to an earlier report would read as the
    answer to the open one (and the municipality would count it answered).
    """
    rows = home.db.execute(
        "SELECT record_id, outcome FROM quality_reports q WHERE party_id = ? "
        "AND outcome IS NOT NULL AND NOT EXISTS (SELECT 1 FROM quality_reports o "
        "WHERE o.party_id = q.party_id AND o.record_id = q.record_id AND o.outcome IS NULL) "
        "ORDER BY resolved_at, report_id",
        (party_id,),
    ).fetchall()
    return {str(record): str(outcome) for record, outcome in rows}


def link_answers(home: Home, package_id: str, party_id: str, records: Iterable[str]) -> int:
    """Name ``package_id`` as the answer to every resolved report of ``party_id`` it
    carries the outcome of (its record is among ``records`` and in :func:`outcomes_for`)
    and that no earlier package answered; inside the export's commit. How many."""
    carried = set(outcomes_for(home, party_id)) & set(records)
    if not carried:
        return 0
    cursor = home.db.executemany(
        "UPDATE quality_reports SET answered_in = ? WHERE party_id = ? AND record_id = ? "
        "AND outcome IS NOT NULL AND answered_in IS NULL",
        ((package_id, party_id, record) for record in sorted(carried)),
    )
    return int(cursor.rowcount)


def mark_published(home: Home, package_id: str) -> None:
    """The answers ``package_id`` carries are given now: it was published (inside the
    transaction that marks it published, first publication or a roll-forward)."""
    home.db.execute(
        "UPDATE quality_reports SET answered_at = ? WHERE answered_in = ? AND answered_at IS NULL",
        (format_instant(home.now), package_id),
    )


def awaiting_answer(home: Home, party_id: str) -> list[QualityRow]:
    """Resolved reports of ``party_id`` whose answer no package carried yet."""
    return [
        r
        for r in ledger.quality_reports(home, open_only=True)
        if r.party_id == party_id and r.outcome is not None and r.answered_in is None
    ]
