"""Data-quality reports (protocol art. 7): listing, resolving, and the answer going back.

A municipality reports a problem with one art. 3 field of a record; the agency
investigates "binnen 2 weken" and tells the municipality. Here: every report has a
``qr-`` id (assigned when its return was imported), a due date two weeks after the
finding, and, once resolved, one outcome from :data:`schema.QUALITY_OUTCOMES`. The
outcome travels back in the next package: the export calls :func:`outcomes_for`, and
the workbook shows it in "Afhandeling melding".
"""

from __future__ import annotations

from collections.abc import Mapping
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


def list_reports(home: Home, *, include_resolved: bool = False) -> QualityListing:
    """Open reports (or all), earliest due date first."""
    rows = ledger.quality_reports(home, open_only=not include_resolved)
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
    one. One outcome per record: the latest resolution wins.
    """
    rows = home.db.execute(
        "SELECT record_id, outcome FROM quality_reports WHERE party_id = ? "
        "AND outcome IS NOT NULL ORDER BY resolved_at, report_id",
        (party_id,),
    ).fetchall()
    return {str(record): str(outcome) for record, outcome in rows}
