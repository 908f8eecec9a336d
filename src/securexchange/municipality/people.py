"""The current records as a list of people, for the app's *Inburgeraars* page.

The same read as ``open`` (the current package with the staff's edits applied, after the
same clock, staleness and deadline checks), without writing a workbook: the rows stay in
this process. Each read is logged like ``open`` (which package, how many records), so a
read of the vault through the app is in the log as every other one is.

``new`` marks the people who were not in the package before the current one, as the
import found them (:mod:`.arrivals`).
"""

from __future__ import annotations

from dataclasses import dataclass

from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.keys.keystore import KeySource
from securexchange.municipality import arrivals, opening, vault
from securexchange.sheets.layout import WorkbookRow


@dataclass(frozen=True)
class People:
    package_id: str
    municipality: str
    rows: tuple[WorkbookRow, ...]
    new: frozenset[str]  # record ids not in the previous package
    compared: bool  # False when the import had no previous package to compare with


def current_people(home: Home, source: KeySource) -> People:
    """The current package's people with the staff's edits, and who is new."""
    package = opening.readable_package(home)
    identities = opening.unlock(home, source)
    rows = tuple(opening.current_rows(home, package, identities))
    key = vault.data_key(home, package.package_id, identities)
    new, compared = arrivals.arrived(home, package.package_id, key, rows)
    with statedb.transaction(home.db):
        home.record(Action.VIEW, artifacts=[package.package_id], counts={"records": len(rows)})
    return People(package.package_id, package.municipality, rows, new, compared)
