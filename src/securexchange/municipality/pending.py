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

The vault module is imported by name: it is the municipal client's, and this adapter
must not fail to import while it is being changed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from securexchange.clock import utc
from securexchange.home import Home
from securexchange.returns import Entry, QualityEntry, StatusEntry


@dataclass(frozen=True)
class Pending:
    """The entries of the next return, and the vault's handles to mark them sent."""

    entries: tuple[Entry, ...]
    handles: tuple[Any, ...] = ()


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"securexchange.municipality.{name}")
    except ModuleNotFoundError:
        return None


def _count(home: Home, vault: ModuleType) -> int:
    return int(vault.pending_count(home)) if hasattr(vault, "pending_count") else 1


def _absorb(home: Home, workbooks: ModuleType, identities: object) -> None:
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
    vault = _module("vault")
    subkeys = _module("subkeys")
    workbooks = _module("workbooks")
    if vault is None or subkeys is None:
        return Pending(())
    # Schemas first: CREATE statements would end the transaction below implicitly.
    for module in (vault, subkeys, workbooks):
        if module is not None and hasattr(module, "ensure_schema"):
            module.ensure_schema(home)
    identities = subkeys.unlock(home, passphrase)
    if hasattr(vault, "rewrap_to_current"):
        # The key is unlocked: move what older subkeys hold to the current one before
        # they are destroyed (valid-until + grace) and take it with them.
        vault.rewrap_to_current(home, identities)
    if workbooks is not None and hasattr(workbooks, "absorb"):
        # What staff typed in registered workbooks becomes pending edits first.
        _absorb(home, workbooks, identities)
    if _count(home, vault) == 0:
        return Pending(())
    first_base: dict[str, str] = {}
    latest: dict[str, Any] = {}
    quality: dict[tuple[str, str, str], Any] = {}
    handles: list[Any] = []
    for edit in vault.edits(home, identities):
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
    vault = _module("vault")
    if vault is None or not pending.handles:
        return
    vault.mark_returned(home, pending.handles, delta_id)
