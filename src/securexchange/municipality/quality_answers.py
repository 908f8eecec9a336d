"""The quality reports this municipality sent, and the agency's answers (protocol art. 7).

The agency answers a data-quality report within two weeks of the finding
(:func:`schema.quality_due`, the rule the agency's list applies too). Its answer is the
outcome in the "Afhandeling melding" cell of the report's record, in a package: the next
scheduled one, or one it sends at once (``agency quality answer``).

No record data is kept in clear for this. A report is a sealed vault edit (kind
``quality``, sealed to the staff member's subkey); what this module reads and writes are
the edit's clear columns: ``made_at`` (the finding, so the due date follows from it and
is not stored), ``returned_in``/``returned_at`` (the return that carried it), and
``answered_in``/``answered_at`` (the package that brought the answer, and that package's
date). Matching a report to its answer needs the record id, so it happens at a
package's import (:func:`match`), where the subkeys are unlocked to decrypt the package
anyway; ``municipality status`` then shows what waits and what is overdue without a
passphrase.

A returned report stays in the vault until it is answered, and then as long as the
package that answered it is in use; it goes at once when a package no longer holds its
record (no answer can reach it then, and the record is gone). A package counts as an
answer to a report returned before it was made and whose record it gives an outcome; the
agency leaves a record's outcome out while any report on it is open
(``agency.quality.outcomes_for``), so an earlier report's outcome is not read as the
answer to a later one. A package made after a return the agency had not yet imported
still shows an earlier outcome for that record: the agency's own list
(``agency quality list``) is the record of what was answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from securexchange.clock import format_instant
from securexchange.home.home import Home
from securexchange.municipality import staff_edits
from securexchange.municipality.subkeys import when
from securexchange.schema import quality_due
from securexchange.sheets.layout import WorkbookRow

if TYPE_CHECKING:
    from securexchange import age


@dataclass(frozen=True)
class SentReport:
    """A quality report carried by a return: when, in which, and the answer if any."""

    reported_at: datetime
    returned_in: str
    answered_in: str | None
    answered_at: datetime | None

    @property
    def due_on(self) -> date:
        return quality_due(self.reported_at)

    def overdue(self, today: date) -> bool:
        return self.answered_in is None and today > self.due_on


def sent_reports(home: Home) -> list[SentReport]:
    """Every returned quality report the vault holds, oldest first (clear columns only:
    no passphrase needed)."""
    rows = home.db.execute(
        "SELECT made_at, returned_in, answered_in, answered_at FROM vault_edits "
        "WHERE kind = 'quality' AND returned_in IS NOT NULL ORDER BY id"
    ).fetchall()
    return [
        SentReport(
            reported_at=when(str(r[0])),
            returned_in=str(r[1]),
            answered_in=None if r[2] is None else str(r[2]),
            answered_at=None if r[3] is None else when(str(r[3])),
        )
        for r in rows
    ]


def match(
    home: Home,
    identities: Mapping[str, age.SecretIdentity],
    *,
    package_id: str,
    created_at: datetime,
    rows: Sequence[WorkbookRow],
) -> int:
    """At a package's import, inside its transaction: mark the returned reports it
    answers, drop those whose record it no longer holds and those answered by a package
    no longer in use. How many it answered."""
    made = format_instant(created_at)
    waiting = {
        int(r[0])
        for r in home.db.execute(
            "SELECT id FROM vault_edits WHERE kind = 'quality' AND returned_in IS NOT NULL "
            "AND answered_in IS NULL AND returned_at <= ?",
            (made,),
        )
    }
    answered: list[int] = []
    gone: list[int] = []
    if waiting:
        outcomes = {row.record_id for row in rows if row.outcome}
        present = {row.record_id for row in rows}
        for edit in staff_edits.edits(home, identities):
            if edit.handle not in waiting:
                continue
            if edit.record in outcomes:
                answered.append(edit.handle)
            elif edit.record not in present:
                gone.append(edit.handle)
    home.db.executemany(
        "UPDATE vault_edits SET answered_in = ?, answered_at = ? WHERE id = ?",
        ((package_id, made, handle) for handle in answered),
    )
    home.db.executemany("DELETE FROM vault_edits WHERE id = ?", ((h,) for h in gone))
    home.db.execute(
        "DELETE FROM vault_edits WHERE kind = 'quality' AND answered_in IS NOT NULL "
        "AND answered_in NOT IN (SELECT package_id FROM vault_packages WHERE state = 'live')"
    )
    return len(answered)
