"""The current records as a list of people, for the app's *Inburgeraars* page.

The same read as ``open`` (the current package with the staff's edits applied, after the
same clock, staleness and deadline checks), without writing a workbook: the rows stay in
this process. Each read is logged like ``open`` (which package, how many records), so a
read of the vault through the app is in the log as every other one is.

``new`` marks the people who were not in the package before the current one, when that
one is still held: its rows are keyed by a per-package tag of the record id
(:class:`~securexchange.municipality.vault.RowCipher`), so no record needs decrypting.
"""

from __future__ import annotations

from dataclasses import dataclass

from securexchange import age
from securexchange.errors import ClockBehind, NotRecipient, Stale
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.i18n import _
from securexchange.keys.keystore import KeySource
from securexchange.municipality import opening, staff_edits, vault
from securexchange.municipality.sealing import RowCipher
from securexchange.sheets.layout import WorkbookRow


@dataclass(frozen=True)
class People:
    package_id: str
    municipality: str
    rows: tuple[WorkbookRow, ...]
    new: frozenset[str]  # record ids not in the previous package
    compared: bool  # False when there is no previous package to compare with


def current_people(home: Home, source: KeySource) -> People:
    """The current package's people with the staff's edits, and who is new."""
    if home.clock.behind:
        raise ClockBehind(
            _("the system clock is more than 24 hours behind the latest time this home has seen"),
            hint=_("correct the computer's date and time; shredding still runs meanwhile"),
        )
    package = opening.current(home)
    if home.now >= package.valid_until:
        raise Stale(
            _("the package is past its valid-until date"),
            hint=_("import a newer package from the agency; nothing was deleted"),
        )
    identities = opening.unlock(home, source)
    opening.shred_edited_deadlines(home, package, identities)
    rows = tuple(staff_edits.current_rows(home, package.package_id, identities))
    new, compared = _new_since_previous(home, package, rows, identities)
    with statedb.transaction(home.db):
        home.record(Action.VIEW, artifacts=[package.package_id], counts={"records": len(rows)})
    return People(package.package_id, package.municipality, rows, new, compared)


def _new_since_previous(
    home: Home,
    package: vault.PackageRow,
    rows: tuple[WorkbookRow, ...],
    identities: dict[str, age.SecretIdentity],
) -> tuple[frozenset[str], bool]:
    before = [p for p in vault.packages(home) if p.live and p.sequence < package.sequence]
    if not before:
        return frozenset(), False
    previous = before[-1]
    try:
        key = vault.data_key(home, previous.package_id, identities)
    except NotRecipient:
        return frozenset(), False
    cipher = RowCipher(key, previous.package_id)
    held = {
        str(r[0])
        for r in home.db.execute(
            "SELECT tag FROM vault_records WHERE package_id = ?", (previous.package_id,)
        )
    }
    return frozenset(r.record_id for r in rows if cipher.tag(r.record_id) not in held), True
