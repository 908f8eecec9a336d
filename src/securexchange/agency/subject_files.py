"""The answer of ``agency subject`` as JSON or as a Dutch workbook, and its log entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from securexchange import strictjson
from securexchange.agency.subject import SubjectAnswer
from securexchange.errors import UsageError
from securexchange.home.atomicio import atomic_write, output_dir, refuse_non_directory
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.sheets.tables import TableSheet, render_tables

FORMAT = "securexchange-subject-access/1"


def to_json(answer: SubjectAnswer) -> dict[str, Any]:
    erasure = answer.erasure
    nis_of = answer.nis_of
    return {
        "format": FORMAT,
        "shared": [
            {
                "nis": s.nis,
                "municipality": s.municipality,
                "package": s.package_id,
                "sequence": s.sequence,
                "created_at": s.created_at,
                "file": s.file_name,
                "record_id": s.record_id,
                "retention": s.retention.isoformat(),
            }
            for s in answer.shared
        ],
        "statuses": [
            {
                "nis": s.nis,
                "record_id": s.record_id,
                "status": s.status,
                "changed_at": s.changed_at,
                "received_at": s.received_at,
                "return": s.return_id,
                "conflict": s.conflict,
            }
            for s in answer.statuses
        ],
        "quality_reports": [
            {
                "nis": q.nis,
                "report": q.report_id,
                "field": q.field,
                "problem": q.problem,
                "reported_at": q.reported_at,
                "due_on": q.due_on.isoformat(),
                "outcome": q.outcome,
                "resolved_at": q.resolved_at,
            }
            for q in answer.quality
        ],
        "erasure": None
        if erasure is None
        else {
            "reason": erasure.reason,
            "requested_at": erasure.requested_at,
            "instructions": [
                {
                    "nis": nis_of.get(i.party_id, ""),
                    "record_id": i.record_id,
                    "held_until": i.held_until.isoformat(),
                    "first_carried_in": i.carried_in,
                }
                for i in erasure.instructions
            ],
        },
    }


_SHARED_HEADERS: tuple[str, ...] = ("Gemeente", "NIS", "Pakket", "Volgnummer", "Datum")
_SHARED_HEADERS += ("Bestand", "Record-ID", "Bewaren tot")
_STATUS_HEADERS = ("NIS", "Record-ID", "Status", "Gewijzigd", "Ontvangen", "Terugzending")
_QUALITY_HEADERS: tuple[str, ...] = ("NIS", "Melding", "Veld", "Probleem", "Gemeld", "Uiterlijk")
_QUALITY_HEADERS += ("Afhandeling", "Afgehandeld")
_ERASURE_HEADERS = ("Reden", "Gevraagd", "NIS", "Record-ID", "Meegestuurd tot", "Eerst in pakket")


def _sheets(answer: SubjectAnswer) -> list[TableSheet]:
    shared = [
        (
            (
                *(s.municipality, s.nis, s.package_id, str(s.sequence), s.created_at[:10]),
                *(s.file_name, s.record_id, s.retention.isoformat()),
            ),
            None,
        )
        for s in answer.shared
    ]
    statuses = [
        (
            (s.nis, s.record_id, s.status, s.changed_at[:10], s.received_at[:10], s.return_id),
            None,
        )
        for s in answer.statuses
    ]
    quality = [
        (
            (
                *(q.nis, q.report_id, q.field, q.problem, q.reported_at[:10]),
                *(q.due_on.isoformat(), q.outcome or "open", (q.resolved_at or "")[:10]),
            ),
            None,
        )
        for q in answer.quality
    ]
    erasure = answer.erasure
    erased = (
        []
        if erasure is None
        else [
            (
                (
                    *(erasure.reason, erasure.requested_at[:10], answer.nis_of.get(i.party_id, "")),
                    i.record_id,
                    *(i.held_until.isoformat(), i.carried_in or "nog niet verzonden"),
                ),
                None,
            )
            for i in erasure.instructions
        ]
    )
    return [
        TableSheet("Gedeeld", _SHARED_HEADERS, (22, 8, 30, 12, 12, 40, 26, 14), shared),
        TableSheet("Statussen", _STATUS_HEADERS, (8, 26, 24, 12, 12, 30), statuses),
        TableSheet(
            "Meldingen kwaliteit", _QUALITY_HEADERS, (8, 30, 20, 14, 12, 12, 18, 12), quality
        ),
        TableSheet("Wissing", _ERASURE_HEADERS, (20, 12, 8, 26, 16, 30), erased),
    ]


def write_answer(home: Home, answer: SubjectAnswer, out: Path) -> Path:
    """Write ``answer`` to ``out`` (.xlsx or .json), 0600, atomically, and log it."""
    suffix = out.suffix.lower()
    if suffix == ".json":
        data = strictjson.dumps(to_json(answer))
    elif suffix == ".xlsx":
        title = "Inzage: gedeelde gegevens van één persoon"
        if home.demo:
            title = f"DEMO – {title}"
        data = render_tables(_sheets(answer), title, written_at=home.now)
    else:
        raise UsageError("the answer is written as .xlsx or .json", hint="e.g. --out inzage.xlsx")
    refuse_non_directory(out.parent)
    output_dir(out.parent, private=True)
    counts = counts_of(answer)
    home.log.intend(Action.SUBJECT_ACCESS, now=home.now, witness=out, counts=counts)
    atomic_write(out, data, mode=0o600)
    home.record(Action.SUBJECT_ACCESS, counts=counts)
    return out


def counts_of(answer: SubjectAnswer) -> dict[str, int]:
    return {
        "packages": len(answer.shared),
        "municipalities": answer.municipalities,
        "statuses": len(answer.statuses),
        "quality_reports": len(answer.quality),
    }


def record_shown(home: Home, answer: SubjectAnswer) -> None:
    """Log an answer shown on stdout (``--json`` without ``--out``)."""
    home.record(Action.SUBJECT_ACCESS, counts=counts_of(answer))
