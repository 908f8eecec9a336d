"""What a municipal home has not yet returned to the agency.

An adapter over the vault (:mod:`securexchange.municipality.vault`), which stores the
status edits (``set-status`` and registered workbooks) and quality reports encrypted at
rest until they are returned. The return workflow asks here for the entries and marks
them sent here, in its own transaction, once the file is complete.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from securexchange.home import Home
from securexchange.returns import Entry, QualityEntry, StatusEntry


@dataclass(frozen=True)
class Pending:
    """The entries of the next return, and the vault's handles to mark them sent."""

    entries: tuple[Entry, ...]
    handles: tuple[Any, ...] = ()


def _vault() -> ModuleType | None:
    try:
        return importlib.import_module("securexchange.municipality.vault")
    except ModuleNotFoundError:
        return None


def collect(home: Home) -> Pending:
    """Status changes (the latest per record, with its base) and quality reports not
    yet returned."""
    vault = _vault()
    if vault is None or not hasattr(vault, "pending_returns"):
        return Pending(())
    entries: list[Entry] = []
    handles: list[Any] = []
    for item in vault.pending_returns(home):
        if item.kind == "status":
            entries.append(StatusEntry(item.record, item.status, item.base, item.at))
        else:
            entries.append(QualityEntry(item.record, item.field, item.problem, item.at))
        handles.append(item.handle)
    return Pending(tuple(entries), tuple(handles))


def mark_sent(home: Home, pending: Pending, delta_id: str) -> None:
    """Mark the entries as returned in ``delta_id`` (inside the caller's transaction)."""
    vault = _vault()
    if vault is None or not pending.handles:
        return
    vault.mark_returned(home, pending.handles, delta_id)
