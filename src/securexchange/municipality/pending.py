"""What a municipal home has not yet returned to the agency.

An adapter over the vault (:mod:`securexchange.municipality.vault`), which stores the
status edits (``set-status``, and registered workbooks once absorbed by
:mod:`securexchange.municipality.workbooks`) and quality reports sealed to
the staff member's current subkey until they are returned. Reading them needs the
subkeys, so :func:`collect` takes the passphrase source.

Per record, the return carries one status entry: the latest status, with as base the
status the *first* edit not yet returned replaced, which is the status the agency last
heard of. (Each edit's own base is the status before it, possibly one the agency never
received.) Quality reports go one entry each, without repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from securexchange.artifacts.returns import Entry, QualityEntry, StatusEntry
from securexchange.clock import utc
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.municipality import erasure, rewrap, staff_edits, subkeys, workbooks
from securexchange.municipality.staff_edits import Edit

if TYPE_CHECKING:
    from securexchange import age


@dataclass(frozen=True)
class Pending:
    """The entries of the next return, and the vault's handles to mark them sent."""

    entries: tuple[Entry, ...]
    handles: tuple[int, ...] = ()


def _absorb(home: Home, identities: Mapping[str, age.SecretIdentity]) -> None:
    """Run the workbooks' absorb in one transaction where it allows one.

    (It reaches schema statements, which end an open transaction in SQLite; then the
    rest of it runs statement by statement rather than failing the command.)
    """
    home.db.execute("BEGIN IMMEDIATE")
    try:
        workbooks.absorb(home, identities)
    except BaseException:
        if home.db.in_transaction:
            home.db.execute("ROLLBACK")
        raise
    if home.db.in_transaction:
        home.db.execute("COMMIT")


def collect(home: Home, passphrase: Callable[[], bytes]) -> Pending:
    """Status changes and quality reports not yet returned, after absorbing what staff
    typed in registered workbooks (needs the passphrase: the edits are sealed)."""
    # Schemas first: CREATE statements would end the transaction below implicitly.
    identities = subkeys.unlock(home, passphrase)
    # The key is unlocked: move what older subkeys hold to the current one before they
    # are destroyed (valid-until + grace) and take it with them.
    rewrap.rewrap_to_current(home, identities)
    # What staff typed in registered workbooks becomes pending edits first.
    _absorb(home, identities)
    if staff_edits.pending_count(home) == 0:
        return Pending(())
    first_base: dict[str, str] = {}
    latest: dict[str, Edit] = {}
    quality: dict[tuple[str, str, str], Edit] = {}
    handles: list[int] = []
    every = staff_edits.edits(home, identities)
    # The agency erased these people (municipality/erasure.py): what was typed for them
    # since, in a workbook that outlived the import, goes instead of travelling back.
    gone = erasure.erased_among(home, {e.record for e in every})
    if gone:
        with statedb.transaction(home.db):
            erasure.drop_edits(home, gone, identities)
        every = [e for e in every if e.record not in gone]
    for edit in every:
        if edit.returned_in is not None:
            continue
        handles.append(edit.handle)
        if edit.kind == "status":
            first_base.setdefault(edit.record, edit.base)
            latest[edit.record] = edit
        else:
            quality.setdefault((edit.record, edit.field, edit.problem), edit)
    entries: list[Entry] = []
    for record, edit in latest.items():
        base = first_base[record]
        if base == edit.status:
            continue  # changed and changed back: nothing for the agency
        at = utc(edit.at).replace(microsecond=0)
        entries.append(StatusEntry(record, edit.status, base, at))
    for (record, field, problem), edit in quality.items():
        entries.append(QualityEntry(record, field, problem, utc(edit.at).replace(microsecond=0)))
    return Pending(tuple(entries), tuple(handles))


def mark_sent(home: Home, pending: Pending, delta_id: str) -> None:
    """Mark the entries as returned in ``delta_id`` (inside the caller's transaction)."""
    if not pending.handles:
        return
    staff_edits.mark_returned(home, pending.handles, delta_id)
