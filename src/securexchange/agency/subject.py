"""``agency subject``: what was shared about one person (GDPR art. 15), and what came back.

The Klant-ID comes from stdin (never argv). The answer lists, per municipality: every
package that carried the person (id, date, file, the record id the municipality knows
them by, the retention deadline), every status the municipality returned for that
record, every data-quality report with its outcome, and, for an erased person, the
erasure and the packages that carried the instruction. It is written as a workbook or
JSON: personal data of the agency's own, 0600, atomically. The log counts; it never
holds the id.

An erased person is found by the digest ``agency erase`` kept (the export's record
table no longer links the Klant-ID), so a later request is still answered truthfully.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from securexchange.agency import erasures, ledger
from securexchange.agency.registry import list_municipalities
from securexchange.home.home import Home


@dataclass(frozen=True)
class SharedIn:
    """One package that carried the person."""

    nis: str
    municipality: str
    package_id: str
    sequence: int
    created_at: str
    file_name: str
    record_id: str
    retention: date


@dataclass(frozen=True)
class StatusBack:
    nis: str
    record_id: str
    status: str
    changed_at: str
    received_at: str
    return_id: str
    conflict: bool


@dataclass(frozen=True)
class QualityBack:
    nis: str
    report_id: str
    field: str
    problem: str
    reported_at: str
    due_on: date
    outcome: str | None
    resolved_at: str | None


@dataclass(frozen=True)
class Erasure:
    reason: str
    requested_at: str
    instructions: tuple[erasures.Instruction, ...]


@dataclass(frozen=True)
class SubjectAnswer:
    shared: tuple[SharedIn, ...]
    statuses: tuple[StatusBack, ...]
    quality: tuple[QualityBack, ...]
    erasure: Erasure | None
    nis_of: Mapping[str, str]  # party id -> NIS code, for the erasure instructions

    @property
    def municipalities(self) -> int:
        return len({s.nis for s in self.shared})


def _records(home: Home, client_id: str, erasure: Erasure | None) -> list[tuple[str, str]]:
    """(party id, record id) of every record the person had anywhere."""
    found = {
        (str(p), str(r))
        for p, r in home.db.execute(
            "SELECT DISTINCT p.party_id, r.record_id FROM agency_package_records r "
            "JOIN agency_packages p ON p.id = r.package_id WHERE r.client_id = ?",
            (client_id,),
        )
    }
    if erasure is not None:
        found |= {(i.party_id, i.record_id) for i in erasure.instructions}
    return sorted(found)


def _shared(
    home: Home, records: Sequence[tuple[str, str]], names: Mapping[str, str]
) -> list[SharedIn]:
    result: list[SharedIn] = []
    for party_id, record_id in records:
        for pid, seq, created, name, nis, retention in home.db.execute(
            "SELECT p.id, p.sequence, p.created_at, p.file_name, p.nis, r.retention "
            "FROM agency_package_records r JOIN agency_packages p ON p.id = r.package_id "
            "WHERE p.party_id = ? AND r.record_id = ? ORDER BY p.sequence",
            (party_id, record_id),
        ):
            result.append(
                SharedIn(
                    nis=str(nis),
                    municipality=names.get(party_id, ""),
                    package_id=str(pid),
                    sequence=int(seq),
                    created_at=str(created),
                    file_name=str(name),
                    record_id=record_id,
                    retention=date.fromisoformat(str(retention)),
                )
            )
    return result


def answer(home: Home, client_id: str) -> SubjectAnswer:
    """Everything the agency's tool knows it shared about ``client_id``. NotFound when the
    pseudonym key is lost (the answer would be false)."""
    digest = erasures.digest_of(home, client_id)
    erased = erasures.erased_on(home, digest)
    erasure = (
        None
        if erased is None
        else Erasure(erased[0], erased[1], erasures.instructions_of(home, digest))
    )
    records = _records(home, client_id, erasure)
    wanted = set(records)
    entries = [r.entry for r in list_municipalities(home)]
    nis_of = {e.party_id: e.nis for e in entries}
    names = {e.party_id: e.name for e in entries}
    statuses = tuple(
        StatusBack(
            nis_of.get(h.party_id, ""),
            h.record_id,
            h.status,
            h.changed_at,
            h.received_at,
            h.delta_id,
            h.conflict,
        )
        for h in ledger.history(home)
        if (h.party_id, h.record_id) in wanted
    )
    quality = tuple(
        QualityBack(
            nis_of.get(q.party_id, ""),
            q.report_id,
            q.field,
            q.problem,
            q.reported_at,
            q.due_on,
            q.outcome,
            q.resolved_at,
        )
        for q in ledger.quality_reports(home)
        if (q.party_id, q.record_id) in wanted
    )
    shared = tuple(_shared(home, records, names))
    return SubjectAnswer(shared, statuses, quality, erasure, nis_of)
