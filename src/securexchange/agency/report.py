"""``agency report``: the ledger in Dutch, for the agency's trajectory counsellors.

Four sheets: the current status per newcomer (by client id: the agency resolves the
pseudonymous record id through the export's record table; only it can), the full
history, the conflicts, and the data-quality reports with their two-week deadline
(art. 7), overdue ones highlighted.

The workbook holds client ids and statuses: it is personal data of the agency's own,
written atomically with mode 0600; :mod:`securexchange.sheets.tables` makes the .xlsx in
memory, never in a temporary file in ``$TMPDIR``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from securexchange.agency import ledger
from securexchange.agency.registry import list_municipalities, list_recipients
from securexchange.home.atomicio import atomic_write, output_dir, refuse_non_directory
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.i18n import dutch_date
from securexchange.sheets.tables import TableSheet, render_tables

UNKNOWN = "(onbekend)"
_OVERDUE_FILL = "F4B183"
_CONFLICT_FILL = "FFE699"

# record id -> client id, for one municipality (party id).
ClientIds = Callable[[Home, str], Mapping[str, str]]


def default_client_ids(home: Home, party_id: str) -> Mapping[str, str]:
    """The export's record table (agency/packages.py): which client each record id is."""
    from securexchange.agency import packages

    return {
        str(r.record_id): str(r.client_id)
        for p in packages.issued(home, party_id=party_id)
        for r in packages.package_records(home, p.package_id)
    }


@dataclass(frozen=True)
class ReportSummary:
    path: Path
    statuses: int
    history: int
    conflicts: int
    open_reports: int
    overdue: int


def _day(text: str) -> str:
    return dutch_date(date.fromisoformat(text[:10])) if text else ""


_STATUS_HEADERS = (
    "Klant-ID",
    "Gemeente",
    "Status activiteit",
    "Gewijzigd op",
    "Gewijzigd door",
    "Ontvangen op",
    "Conflict",
)
_STATUS_WIDTHS = (18, 24, 22, 18, 40, 18, 10)
_HISTORY_HEADERS = (
    "Klant-ID",
    "Gemeente",
    "Status activiteit",
    "Vorige status (agentschap)",
    "Vorige status (gemeente)",
    "Conflict",
    "Gewijzigd door",
    "Gewijzigd op",
    "Ontvangen op",
    "Terugzending",
)
_HISTORY_WIDTHS = (18, 24, 22, 24, 24, 10, 40, 18, 18, 34)
_QUALITY_HEADERS = (
    "Melding",
    "Klant-ID",
    "Gemeente",
    "Veld",
    "Probleem",
    "Gemeld op",
    "Ontvangen op",
    "Af te handelen tegen",
    "Stand",
)
_QUALITY_WIDTHS = (34, 18, 24, 18, 14, 18, 18, 20, 26)

Row = tuple[tuple[str, ...], str | None]  # cells, fill colour or None


class _Names:
    """Who and what the report names: client ids (resolved per municipality, once),
    municipalities by name and NIS code, signers by name and fingerprint."""

    def __init__(self, home: Home, client_ids: ClientIds) -> None:
        self._home = home
        self._client_ids = client_ids
        self._ids: dict[str, Mapping[str, str]] = {}
        self._places = {r.entry.party_id: r.entry for r in list_municipalities(home)}
        self._people = {
            r.card.fingerprint.display: r.card.owner.name for r in list_recipients(home)
        }

    def client(self, party: str, record: str) -> str:
        if party not in self._ids:
            self._ids[party] = self._client_ids(self._home, party)
        return self._ids[party].get(record, UNKNOWN)

    def place(self, party: str) -> str:
        entry = self._places.get(party)
        return UNKNOWN if entry is None else f"{entry.name} ({entry.nis})"

    def who(self, signer: str) -> str:
        name = self._people.get(signer)
        return signer if name is None else f"{name} ({signer})"


def _status_rows(
    statuses: Sequence[ledger.StatusRow], history: Sequence[ledger.HistoryRow], names: _Names
) -> list[Row]:
    latest_conflict = {(h.party_id, h.record_id): h.conflict for h in history}
    rows: list[Row] = [
        (
            (
                names.client(s.party_id, s.record_id),
                names.place(s.party_id),
                s.status,
                _day(s.changed_at),
                names.who(s.signer),
                _day(s.received_at),
                "ja" if latest_conflict.get((s.party_id, s.record_id)) else "nee",
            ),
            _CONFLICT_FILL if latest_conflict.get((s.party_id, s.record_id)) else None,
        )
        for s in statuses
    ]
    rows.sort(key=lambda r: (r[0][1], r[0][0]))
    return rows


def _history_cells(h: ledger.HistoryRow, names: _Names) -> tuple[str, ...]:
    return (
        names.client(h.party_id, h.record_id),
        names.place(h.party_id),
        h.status,
        h.previous,
        h.base,
        "ja" if h.conflict else "nee",
        names.who(h.signer),
        _day(h.changed_at),
        _day(h.received_at),
        h.delta_id,
    )


def _quality_rows(reports: Sequence[ledger.QualityRow], names: _Names, today: date) -> list[Row]:
    rows: list[Row] = []
    for q in reports:
        # Answered once a published package carried the outcome (art. 7), not at resolve.
        if q.sent:
            state = f"afgehandeld: {q.outcome}, verzonden {_day(q.answered_at or '')}"
        elif q.overdue(today):
            state = "TE LAAT" if q.outcome is None else f"TE LAAT (opgelost: {q.outcome})"
        elif q.outcome is not None:
            state = f"opgelost ({q.outcome}), nog niet verzonden"
        else:
            state = "open"
        cells = (
            q.report_id,
            names.client(q.party_id, q.record_id),
            names.place(q.party_id),
            q.field,
            q.problem,
            _day(q.reported_at),
            _day(q.received_at),
            dutch_date(q.due_on),
            state,
        )
        rows.append((cells, _OVERDUE_FILL if q.overdue(today) else None))
    return rows


def _sheets(home: Home, client_ids: ClientIds) -> tuple[list[TableSheet], ReportSummary]:
    names = _Names(home, client_ids)
    today = home.now.date()
    history = ledger.history(home)
    statuses = ledger.statuses(home)
    history_rows = [
        (_history_cells(h, names), _CONFLICT_FILL if h.conflict else None) for h in history
    ]
    conflict_rows = [(_history_cells(h, names), _CONFLICT_FILL) for h in history if h.conflict]
    reports = ledger.quality_reports(home)
    sheets = [
        TableSheet(
            "Huidige status",
            _STATUS_HEADERS,
            _STATUS_WIDTHS,
            _status_rows(statuses, history, names),
        ),
        TableSheet("Geschiedenis", _HISTORY_HEADERS, _HISTORY_WIDTHS, history_rows),
        TableSheet("Conflicten", _HISTORY_HEADERS, _HISTORY_WIDTHS, conflict_rows),
        TableSheet(
            "Meldingen kwaliteit",
            _QUALITY_HEADERS,
            _QUALITY_WIDTHS,
            _quality_rows(reports, names, today),
        ),
    ]
    open_reports = [q for q in reports if q.outcome is None]
    unsent = [q for q in reports if not q.sent]
    summary = ReportSummary(
        path=Path(),
        statuses=len(statuses),
        history=len(history),
        conflicts=len(conflict_rows),
        open_reports=len(open_reports),
        overdue=sum(1 for q in unsent if q.overdue(today)),
    )
    return sheets, summary


def write_report(
    home: Home, out: Path, *, client_ids: ClientIds = default_client_ids
) -> ReportSummary:
    """Write the counsellors' report to ``out`` (an .xlsx file)."""
    refuse_non_directory(out.parent)
    sheets, summary = _sheets(home, client_ids)
    title = "Opvolging participatie- en netwerktraject"
    if home.demo:
        title = f"DEMO – {title}"
    counts = {
        "statuses": summary.statuses,
        "conflicts": summary.conflicts,
        "open_reports": summary.open_reports,
        "overdue": summary.overdue,
    }
    data = render_tables(sheets, title, written_at=home.now)
    output_dir(out.parent, private=True)  # statuses per client id: personal data
    # The file cannot commit with the log: the entry waits as an intent (EventLog.intend).
    home.log.intend(Action.REPORT, now=home.now, witness=out, counts=counts)
    atomic_write(out, data, mode=0o600)
    home.record(Action.REPORT, counts=counts)
    return ReportSummary(
        out,
        summary.statuses,
        summary.history,
        summary.conflicts,
        summary.open_reports,
        summary.overdue,
    )
