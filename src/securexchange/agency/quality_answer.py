"""``agency quality answer``: the answer to quality reports sent at once (art. 7).

The agency answers a data-quality report "binnen 2 weken"; the next scheduled export may
come later. This runs the normal export (:func:`export.export_master`) for one
municipality only: the same package kind and format, the next sequence number,
superseding that municipality's last package as any export does, and carrying every
resolved outcome (with the statuses and records of the master, as always). No other
municipality gets a package. The reports it answers count as answered once it is
published (:mod:`securexchange.agency.quality`).

Refused before any key is asked for when the municipality has no resolved report whose
answer no package carried yet: an out-of-cycle package needs a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from securexchange.agency import quality
from securexchange.agency.export import Progress, export_master
from securexchange.agency.export_result import ExportOptions, ExportResult
from securexchange.agency.registry import municipality_entry
from securexchange.errors import NoRecipient, UsageError
from securexchange.home.home import Home
from securexchange.keys.identity import check_nis
from securexchange.keys.keystore import KeySource


@dataclass(frozen=True)
class AnswerResult:
    export: ExportResult
    answered: tuple[str, ...]  # the report ids the package carries the answer to
    not_carried: tuple[str, ...]  # resolved, but their record is not in the master


def answer(
    home: Home,
    master: Path,
    out_dir: Path,
    *,
    nis: str,
    export_key: KeySource,
    options: ExportOptions | None = None,
    progress: Progress | None = None,
) -> AnswerResult:
    """Export ``master`` for ``nis`` alone, now, so that the resolved outcomes reach it.

    Raises UsageError (nothing resolved awaits sending), NotFound (an unregistered
    code), NoRecipient (the municipality gets no package: no recipient with a key valid
    now, no active protocol), and whatever :func:`export_master` raises.
    """
    code = check_nis(nis)
    party = municipality_entry(home, code).party_id
    waiting = quality.awaiting_answer(home, party)
    if not waiting:
        raise UsageError(
            f"no resolved quality report of {code} is waiting to be sent",
            hint="resolve one first with 'agency quality resolve'; see 'agency quality list'",
        )
    result = export_master(
        home,
        master,
        out_dir,
        export_key=export_key,
        options=replace(options or ExportOptions(), nis=(code,), dry_run=False),
        progress=progress,
    )
    made = {p.package_id for p in result.packages if p.package_id is not None}
    if not made:
        reasons = ", ".join(s.reason.value for s in result.skipped if s.nis == code)
        raise NoRecipient(
            f"no package could be made for {code} ({reasons or 'not planned'}): "
            "the answers were not sent",
            hint="see 'agency municipality list' and 'agency recipient list'",
        )
    answered = tuple(
        r.report_id
        for r in quality.list_reports(home, include_answered=True).rows
        if r.answered_in in made
    )
    sent = set(answered)
    return AnswerResult(
        export=result,
        answered=answered,
        not_carried=tuple(r.report_id for r in waiting if r.report_id not in sent),
    )
