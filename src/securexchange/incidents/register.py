"""The incident register of a home (GDPR art. 33(5)): every incident notice it sent or
took in, and per incident the deadlines that follow from it.

A sent notice is recorded in the transaction that logs it, before its file is written
(as ``agency terminate`` does): a killed command leaves it in the register, and the
same command again writes the kept file. A received one is recorded once, after it was
verified; the same file again changes nothing (a replay), another file claiming the
same place in the incident is an equivocation. Rows hold ids, times and counts; the
details stay in the encrypted container.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from securexchange.artifacts.incident import IncidentBody, Phase, Reporter, authority_due
from securexchange.artifacts.manifest import Manifest
from securexchange.clock import format_instant, read_instant
from securexchange.errors import Equivocation, Malformed, NotAuthorised, NotFound, Rollback
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.i18n import _


@dataclass(frozen=True)
class Incident:
    """One incident as the register holds it."""

    incident_id: str
    nis: str
    party_id: str
    reporter: Reporter
    ours: bool  # this home's party reported it
    discovered_at: datetime
    aware_at: datetime  # discovery (ours) or receipt (theirs): the 72 hours run from it
    agency_due: datetime | None
    authority_due: datetime
    opened_at: datetime
    closed_at: datetime | None
    last_sequence: int

    @property
    def open(self) -> bool:
        return self.closed_at is None

    def to_json(self) -> dict[str, object]:
        def instant(moment: datetime | None) -> str | None:
            return None if moment is None else format_instant(moment)

        return {
            "incident": self.incident_id,
            "nis": self.nis,
            "reporter": self.reporter.value,
            "ours": self.ours,
            "discovered_at": instant(self.discovered_at),
            "aware_at": instant(self.aware_at),
            "notify_agency_by": instant(self.agency_due),
            "notify_authority_by": instant(self.authority_due),
            "opened_at": instant(self.opened_at),
            "closed_at": instant(self.closed_at),
            "notices": self.last_sequence,
        }


_COLUMNS = (
    "incident_id, nis, party_id, reporter, ours, discovered_at, aware_at, agency_due, "
    "authority_due, opened_at, closed_at, last_sequence"
)


def _row(row: tuple[object, ...]) -> Incident:
    def at(value: object) -> datetime | None:
        return None if value is None else read_instant(str(value), "the incident register")

    (incident_id, nis, party_id, reporter, ours, discovered, aware, agency, authority) = row[:9]
    opened, closed, last = row[9:]
    return Incident(
        incident_id=str(incident_id),
        nis=str(nis),
        party_id=str(party_id),
        reporter=Reporter(str(reporter)),
        ours=bool(ours),
        discovered_at=read_instant(str(discovered), "the incident register"),
        aware_at=read_instant(str(aware), "the incident register"),
        agency_due=at(agency),
        authority_due=read_instant(str(authority), "the incident register"),
        opened_at=read_instant(str(opened), "the incident register"),
        closed_at=at(closed),
        last_sequence=int(str(last)),
    )


def incidents(home: Home, *, open_only: bool = False) -> list[Incident]:
    where = " WHERE closed_at IS NULL" if open_only else ""
    rows = home.db.execute(
        f"SELECT {_COLUMNS} FROM incident_register{where} ORDER BY opened_at, incident_id"  # noqa: S608
    ).fetchall()
    return [_row(tuple(r)) for r in rows]


def incident(home: Home, incident_id: str) -> Incident:
    row = home.db.execute(
        f"SELECT {_COLUMNS} FROM incident_register WHERE incident_id = ?",  # noqa: S608
        (incident_id,),
    ).fetchone()
    if row is None:
        raise NotFound(
            _("the register holds no incident {id}").format(id=incident_id),
            hint=_("see the register with `incident list`"),
        )
    return _row(tuple(row))


def notices(home: Home, incident_id: str) -> list[tuple[str, int, Phase, bytes]]:
    """(notice id, sequence, phase, container) of an incident, in order."""
    rows = home.db.execute(
        "SELECT notice_id, sequence, phase, container FROM incident_notices "
        "WHERE incident_id = ? ORDER BY sequence",
        (incident_id,),
    ).fetchall()
    return [(str(n), int(s), Phase(str(p)), bytes(c)) for n, s, p, c in rows]


def held(home: Home, notice_id: str) -> bytes | None:
    row = home.db.execute(
        "SELECT container FROM incident_notices WHERE notice_id = ?", (notice_id,)
    ).fetchone()
    return None if row is None else bytes(row[0])


def check_next(home: Home, body: IncidentBody, notice_id: str) -> Incident | None:
    """Refuse a notice that does not continue its incident: a note or close of an
    incident the register lacks (NotFound), one after the close or one whose place is
    taken by another notice (Equivocation), an older one (Rollback). Returns the
    incident held, if any."""
    if body.phase is Phase.OPEN:
        try:
            known = incident(home, body.incident)
        except NotFound:
            return None
        if held(home, notice_id) is None:
            raise Equivocation(_("the register holds another opening notice for this incident"))
        return known
    known = incident(home, body.incident)
    if (known.party_id, known.reporter, known.discovered_at) != (
        body.party_id,
        body.reporter,
        body.discovered_at,
    ):
        # Only the party that opened an incident adds to it or closes it.
        raise NotAuthorised(_("the notice does not continue the incident it names"))
    if known.closed_at is not None and body.sequence > known.last_sequence:
        raise Rollback(_("the incident is closed; no notice follows its close"))
    if body.sequence > known.last_sequence + 1:
        raise Malformed(_("the notice skips a place in its incident"))
    taken = home.db.execute(
        "SELECT notice_id FROM incident_notices WHERE incident_id = ? AND sequence = ?",
        (body.incident, body.sequence),
    ).fetchone()
    if taken is not None and str(taken[0]) != notice_id:
        raise Equivocation(_("the register holds another notice in this place of the incident"))
    return known


def record(
    home: Home,
    manifest: Manifest,
    body: IncidentBody,
    container: bytes,
    *,
    ours: bool,
    sent: bool,
    actor: str,
) -> None:
    """Add a verified (or just sealed, ``sent``) notice and log it, in one transaction.
    ``ours``: this home's party reported the incident (its 72 hours run from the
    discovery; the other party's from the receipt)."""
    now = home.now
    aware = body.discovered_at if ours else now
    with statedb.transaction(home.db):
        if body.phase is Phase.OPEN:
            agency = body.agency_due
            home.db.execute(
                f"INSERT INTO incident_register ({_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 1)",
                (
                    body.incident,
                    manifest.municipality,
                    body.party_id,
                    body.reporter.value,
                    int(ours),
                    format_instant(body.discovered_at),
                    format_instant(aware),
                    None if agency is None else format_instant(agency),
                    format_instant(authority_due(aware)),
                    format_instant(manifest.created_at),
                ),
            )
        else:
            home.db.execute(
                "UPDATE incident_register SET last_sequence = MAX(last_sequence, ?), "
                "closed_at = CASE WHEN ? THEN ? ELSE closed_at END WHERE incident_id = ?",
                (
                    body.sequence,
                    int(body.phase is Phase.CLOSE),
                    format_instant(manifest.created_at),
                    body.incident,
                ),
            )
        home.db.execute(
            "INSERT INTO incident_notices (notice_id, incident_id, sequence, phase, "
            "created_at, recorded_at, sha256, container) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                manifest.artifact_id,
                body.incident,
                body.sequence,
                body.phase.value,
                format_instant(manifest.created_at),
                format_instant(now),
                hashlib.sha256(container).hexdigest(),
                container,
            ),
        )
        home.record(
            Action.INCIDENT_SEND if sent else Action.INCIDENT_IMPORT,
            actor=actor,
            artifacts=[manifest.artifact_id],
            counts={"sequence": body.sequence},
        )
