"""Shredding: retention that enforces itself (protocol art. 3, 5, 8, 12).

:func:`shred` runs at the start of every municipal command (before the command's own
checks, so also when the command then fails) and as ``municipality shred`` for a
scheduler. It needs no passphrase. In order:

0. **Bounds** (:mod:`.bounds`): every clear-text deadline is held to the agency-signed
   copies kept in the vault; a package that disagrees is shredded as ``tampered``, a
   subkey's validity and a termination's day are cut back, and the clock is moved up to
   the latest time the home's records prove it has seen.
1. **Terminations** whose effective day has come: every package of that protocol loses
   its data key and rows; pending edits go with them.
2. **Records** whose retention deadline has come (``Bewaren tot`` <= today): rows deleted.
3. **Packages** that are superseded by a newer one, or whose records are all gone: data
   key destroyed, rows deleted. Staleness alone (past valid-until) never deletes.
4. **Subkeys** past their valid-until plus :data:`subkeys.DESTROY_GRACE`: destroyed
   whatever is still wrapped to them. What was (a package's data key, an unreturned
   edit, a workbook's harvested cells) is lost, and counted as such: every command that
   unlocked the key before then would have moved it to the current subkey.
5. **Workbooks** showing a shredded record, or sealed to a destroyed subkey: the cells
   staff may have edited are harvested into the vault first (while they still matter),
   then the file is overwritten and removed (a file that cannot be removed stays listed
   and is retried; an Excel owner file beside it is no reason to wait).
6. **Subkeys** whose validity has ended and that nothing in the vault is wrapped to:
   destroyed at once. Subkey files no held subkey owns (a removal that failed, a file
   restored from a backup) are removed again.

Only time decides steps 1-4: nothing a user can create (a planted file, a workbook held
open, an edit never returned) postpones them. Keys go before workbook files, so a file
that cannot be removed never keeps a key.

The home's clock never goes back (:mod:`securexchange.clock`), so winding the system
clock back neither brings data back nor delays any of this. The log gets counts only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from securexchange.clock import format_instant
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.municipality import bounds, erasure, rewrap, subkeys, vault, workbooks

if TYPE_CHECKING:
    from securexchange import age

LAST_SHRED = "last_shred"


@dataclass
class ShredReport:
    """What one pass did (or, with ``dry_run``, would do)."""

    records: int = 0
    packages: int = 0
    workbooks: int = 0
    workbooks_pending: int = 0
    subkeys: int = 0
    edits: int = 0
    lost_packages: int = 0
    lost_edits: int = 0
    lost_workbooks: int = 0
    subkey_files_pending: int = 0
    tampered: int = 0
    clock_moved: bool = False
    dry_run: bool = False
    destroyed_subkeys: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """Items a subkey took with it because no command re-wrapped them in time."""
        return self.lost_packages + self.lost_edits + self.lost_workbooks

    def counts(self) -> dict[str, int]:
        return {
            "records": self.records,
            "packages": self.packages,
            "workbooks": self.workbooks,
            "workbooks_pending": self.workbooks_pending,
            "subkeys": self.subkeys,
            "edits": self.edits,
            "lost_packages": self.lost_packages,
            "lost_edits": self.lost_edits,
            "lost_workbooks": self.lost_workbooks,
            "subkey_files_pending": self.subkey_files_pending,
            "tampered": self.tampered,
            "clock_moved": int(self.clock_moved),
        }


def last_shred(home: Home) -> datetime | None:
    value = statedb.get_setting(home.db, LAST_SHRED)
    return None if value is None else subkeys.when(value)


def _terminated_protocols(home: Home, signed: Mapping[str, str]) -> set[str]:
    """Protocols ended by today: by a held row, or by a signed termination (notice or
    keyring, ``signed``) whose row was deleted."""
    today = home.now.date().isoformat()
    held = {
        str(r[0])
        for r in home.db.execute(
            "SELECT protocol_id FROM vault_protocols WHERE effective <= ?", (today,)
        )
    }
    return held | {protocol_id for protocol_id, day in signed.items() if day <= today}


def _plan_packages(
    home: Home,
    terminated: set[str],
    today: str,
    expired_keys: set[str],
    *,
    tampered: frozenset[str] = frozenset(),
    legacy_over: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """package id -> the state it is shredded with."""
    live = [p for p in vault.packages(home) if p.live]
    wrapped_to = _data_key_subkeys_by_package(home)
    plan: dict[str, str] = {}
    # An edited sequence number must not make another package look superseded or not.
    newest = max((p.sequence for p in live if p.package_id not in tampered), default=0)
    for package in live:
        if package.package_id in tampered:
            plan[package.package_id] = vault.TAMPERED
        elif package.package_id in legacy_over:
            plan[package.package_id] = vault.EXPIRED
        elif package.protocol_id in terminated:
            plan[package.package_id] = vault.TERMINATED
        elif package.sequence < newest:
            plan[package.package_id] = vault.SUPERSEDED
        elif wrapped_to.get(package.package_id) in expired_keys:
            plan[package.package_id] = vault.LOST
        else:
            remaining = home.db.execute(
                "SELECT COUNT(*) FROM vault_records WHERE package_id = ? AND retention > ?",
                (package.package_id, today),
            ).fetchone()[0]
            if package.records > 0 and remaining == 0:
                plan[package.package_id] = vault.EXPIRED
    return plan


def expired_subkeys(home: Home) -> set[str]:
    """Held subkeys past valid-until + grace, or every held one once this person may no
    longer receive (removed from the keyring held, or the protocol over: issue 19):
    destroyed whatever is wrapped to them."""
    held = [s for s in subkeys.listed(home) if s.held]
    if _access_ended(home):
        return {s.recipient for s in held}
    return {s.recipient for s in held if s.destroy_by <= home.now}


def _access_ended(home: Home) -> bool:
    from securexchange.municipality.enrolment import held_keyring
    from securexchange.municipality.horizon import access_ended
    from securexchange.municipality.vouched import own_fingerprint

    keyring = held_keyring(home)
    me = own_fingerprint(home)
    if me is None:
        # The card and the kept fingerprint are gone or disagree (edited): whom this
        # home serves cannot be told, so it serves nobody (fail closed). A home that
        # holds no keyring yet has nothing to lose this way.
        return keyring is not None
    return access_ended(home, keyring, me)


def shred(
    home: Home,
    *,
    dry_run: bool = False,
    identities: Mapping[str, age.SecretIdentity] | None = None,
    log_always: bool = False,
) -> ShredReport:
    """One shredding pass (see the module doc). ``identities``: unlocked subkeys, when
    the command has them, so edits in removed workbooks are absorbed at once."""
    report = ShredReport(dry_run=dry_run)
    found = bounds.check(home)
    if not dry_run:
        _apply_bounds(home, found, report)
    today = home.now.date().isoformat()
    terminated = _terminated_protocols(home, found.effective)
    expired_keys = expired_subkeys(home)
    plan = _plan_packages(
        home,
        terminated,
        today,
        expired_keys,
        tampered=found.tampered,
        legacy_over=found.legacy_over,
    )
    report.tampered += len(found.tampered)
    db = home.db
    if dry_run:
        marks = ",".join("?" * len(plan))
        query = (
            f"SELECT COUNT(*) FROM vault_records WHERE retention <= ? OR package_id IN ({marks})"  # noqa: S608
        )
        report.records = int(db.execute(query, (today, *plan)).fetchone()[0])
        report.packages = len(plan)
        report.lost_packages = sum(state == vault.LOST for state in plan.values())
        report.workbooks = len(workbooks.doomed(home))
        report.subkeys = len(expired_keys | set(_doomed_subkeys(home, ignore_packages=set(plan))))
        return report

    with statedb.transaction(db):
        for package_id, state in plan.items():
            report.records += vault.shred_package(home, package_id, state)
            report.packages += 1
            report.lost_packages += state == vault.LOST
        report.records += int(
            db.execute("DELETE FROM vault_records WHERE retention <= ?", (today,)).rowcount
        )
        for recipient in sorted(expired_keys):
            _lose_what_is_wrapped_to(home, recipient, report)
            _destroy(home, recipient, report)
        if vault.current_package(home) is None:
            # No live package: every record is gone (past its deadline, terminated),
            # so the edits about them are too.
            report.edits += int(db.execute("DELETE FROM vault_edits").rowcount)
        # Logged in the transaction that shreds: a kill after its commit must not leave
        # records destroyed with no entry (the next pass finds nothing left to log).
        shredded_now = {"records": report.records, "packages": report.packages}
        if report.records or report.packages or report.edits:
            home.record(Action.SHRED, counts={**shredded_now, "edits": report.edits})

    for workbook_id, path, _state, keep in workbooks.doomed(home):
        if workbooks.shred_workbook(
            home, workbook_id, path, keep_edits=keep, identities=identities
        ):
            report.workbooks += 1
        else:
            report.workbooks_pending += 1

    with statedb.transaction(db):
        for recipient in _doomed_subkeys(home, ignore_packages=set()):
            _destroy(home, recipient, report)
        report.subkey_files_pending = subkeys.retry_leftovers(home)
        erasure.forget_past(home, home.now.date())
        statedb.set_setting(db, LAST_SHRED, format_instant(home.now))
        rest = {k: v for k, v in report.counts().items() if k not in shredded_now}
        logged = report.records or report.packages or report.edits
        if any(rest.values()) or (log_always and not logged):
            home.record(Action.SHRED, counts=rest)
        if report.subkeys:
            home.record(Action.SUBKEY_DESTROY, counts={"subkeys": report.subkeys})
    return report


def _apply_bounds(home: Home, found: bounds.Bounds, report: ShredReport) -> None:
    """Hold the clock and the subkeys' validity to what the home's signed records say
    (packages that disagree are planned as ``tampered`` by the caller)."""
    if found.floor is not None and home.advance_clock(found.floor):
        report.clock_moved = True
    longer = [
        (recipient, until)
        for s in subkeys.listed(home)
        if s.held
        for recipient, until in [(s.recipient, found.subkey_until.get(s.recipient))]
        if until is not None and s.valid_until > until
    ]
    if longer:
        with statedb.transaction(home.db):
            for recipient, until in longer:
                home.db.execute(
                    "UPDATE vault_subkeys SET valid_until = ? WHERE recipient = ?",
                    (format_instant(until), recipient),
                )
        report.tampered += len(longer)
    later = [
        (protocol_id, day)
        for protocol_id, held in vault.terminated(home).items()
        for day in [found.effective.get(protocol_id)]
        if day is not None and held > day
    ]
    if later:
        with statedb.transaction(home.db):
            home.db.executemany(
                "UPDATE vault_protocols SET effective = ? WHERE protocol_id = ?",
                ((day, protocol_id) for protocol_id, day in later),
            )
        report.tampered += len(later)


def _destroy(home: Home, recipient: str, report: ShredReport) -> None:
    subkeys.destroy(home, recipient)  # a file left behind is retried below, every pass
    report.subkeys += 1
    report.destroyed_subkeys.append(recipient)


def _lose_what_is_wrapped_to(home: Home, recipient: str, report: ShredReport) -> None:
    """Delete what only ``recipient`` could open (inside the caller's transaction).

    Packages wrapped to it were shredded by the plan (state ``lost``). Unreturned edits
    and the harvested cells of removed workbooks are lost; a workbook still on disk
    keeps its row (its file must still go: :func:`workbooks.doomed` lists it).
    """
    db = home.db
    report.lost_packages += int(
        db.execute("DELETE FROM vault_data_keys WHERE subkey = ?", (recipient,)).rowcount
    )
    report.lost_edits += int(
        db.execute(
            "SELECT COUNT(*) FROM vault_edits WHERE subkey = ? AND returned_in IS NULL",
            (recipient,),
        ).fetchone()[0]
    )
    db.execute("DELETE FROM vault_edits WHERE subkey = ?", (recipient,))
    for (workbook_id,) in db.execute(
        "SELECT workbook_id FROM vault_workbooks WHERE subkey = ? AND state = ?",
        (recipient, workbooks.HARVESTED),
    ).fetchall():
        report.lost_workbooks += 1
        workbooks.forget(home, str(workbook_id))


def _doomed_subkeys(home: Home, *, ignore_packages: set[str]) -> list[str]:
    needed = rewrap.needed_subkeys(home)
    if ignore_packages:  # a dry run: the data keys of packages about to go do not count
        marks = ",".join("?" * len(ignore_packages))
        keep = {
            str(r[0])
            for r in home.db.execute(
                f"SELECT subkey FROM vault_data_keys WHERE package_id NOT IN ({marks})",  # noqa: S608
                tuple(ignore_packages),
            )
        }
        needed = (needed - _data_key_subkeys(home)) | keep
    found = []
    for subkey in subkeys.listed(home):
        if not subkey.held:
            continue
        missing = not subkeys.file_present(home, subkey)
        if missing or (subkey.valid_until <= home.now and subkey.recipient not in needed):
            found.append(subkey.recipient)
    return found


def _data_key_subkeys(home: Home) -> set[str]:
    return {str(r[0]) for r in home.db.execute("SELECT subkey FROM vault_data_keys")}


def _data_key_subkeys_by_package(home: Home) -> dict[str, str]:
    return {
        str(r[0]): str(r[1])
        for r in home.db.execute("SELECT package_id, subkey FROM vault_data_keys")
    }
