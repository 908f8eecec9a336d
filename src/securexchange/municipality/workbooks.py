"""Workbooks ``municipality open`` wrote: registration, harvesting edits, removal.

A workbook is the one place plaintext lives outside memory, so every one is registered
before its file is written (a crash in between leaves a registration without a file,
never a file nobody knows). The registration lists the tags of the records it shows
and, sealed to the staff subkey, the editable cells as written ("expected").

*Absorbing* (with the unlocked subkeys) compares a workbook's editable cells with what
was written and stores every change as a pending edit. *Harvesting* (shredding, no
passphrase) reads the cells of a workbook that must go and keeps them sealed to the
subkey's public key, to be absorbed by the next command that unlocks the key. Then the
file is overwritten and removed (:mod:`securexchange.home.safefs`: never through a link, never
blocking on a FIFO). A file that cannot be removed (on Windows: Excel holds it open) stays listed
with its problem and is retried at every command. An Excel owner file (``~$``) beside a
workbook is not a reason to wait: anyone can create one and Excel leaves one behind
after a crash; it is removed with the workbook.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from securexchange import strictjson
from securexchange.clock import format_instant
from securexchange.errors import HostileFile, InvalidWorkbook, NotRecipient, SxError
from securexchange.home import safefs
from securexchange.home.home import Home
from securexchange.municipality import digests, sealing, staff_edits, subkeys, vault
from securexchange.municipality.subkeys import blob, when
from securexchange.sheets.layout import (
    join_labels,
    reports_from_labels,
    split_reports,
)

if TYPE_CHECKING:
    from securexchange import age
    from securexchange.sheets.layout import WorkbookRow
    from securexchange.sheets.workbook_edits import CellProblem, ChangedCell, WrittenCells

OPEN = "open"
PENDING = "pending"  # must go, could not be removed yet
HARVESTED = "harvested"  # removed; its cells wait to be absorbed
# The workbook reader's own cap on a file (workbook_read.workbook_limits).
MAX_WORKBOOK_BYTES = 64 << 20
DAMAGED_PROBLEM = (
    "the file is damaged or was refused by the spreadsheet guard; its edits cannot be "
    "read (open the package again for a new workbook)"
)

# Lines of a workbook's problem that ``import``, ``open`` and ``return`` repeat as
# warnings: cells that were not read, and a workbook that could not be read at all.
CELL_LINE = "cell not read: "
UNREADABLE_LINE = "not read: "

SYNC_MARKERS = ("onedrive", "dropbox", "sharepoint", "google drive", "googledrive", "icloud")


def looks_synced(path: Path) -> bool:
    """True when ``path`` looks like a folder a sync client copies to the cloud."""
    text = str(path.resolve()).lower()
    return any(marker in text for marker in SYNC_MARKERS) or "mobile documents" in text


def owner_files(path: Path) -> list[Path]:
    """Excel's lock ("owner") files beside ``path`` (they may be stale or planted)."""
    names = {"~$" + path.name, "~$" + path.name[2:]}
    return [path.parent / n for n in sorted(names) if safefs.exists(path.parent / n)]


@dataclass(frozen=True)
class Registered:
    workbook_id: str
    package_id: str
    path: Path
    written_at: datetime
    state: str
    problem: str | None


def registered(home: Home) -> list[Registered]:
    vault.ensure_schema(home)
    return [
        Registered(
            str(r[0]),
            str(r[1]),
            Path(str(r[2])),
            when(str(r[3])),
            str(r[4]),
            None if r[5] is None else str(r[5]),
        )
        for r in home.db.execute(
            "SELECT workbook_id, package_id, path, written_at, state, problem "
            "FROM vault_workbooks ORDER BY written_at, workbook_id"
        )
    ]


def _cells_doc(cells: Mapping[str, tuple[str, str]]) -> bytes:
    # One line: the indented form goes through json's pure-Python encoder, ~10x slower
    # for the thousands of rows of a workbook; the reader accepts either.
    return strictjson.dumps_line({k: [v[0], v[1]] for k, v in sorted(cells.items())})


def _cells_from(data: bytes) -> dict[str, tuple[str, str]]:
    value = strictjson.loads(data, what="workbook cells", max_bytes=vault.MAX_EXPECTED_BYTES)
    if not isinstance(value, dict):
        raise ValueError("workbook cells")
    return {str(k): (str(v[0]), str(v[1])) for k, v in value.items()}


def register(
    home: Home,
    *,
    workbook_id: str,
    package_id: str,
    path: Path,
    rows: Sequence[WorkbookRow],
    tags: Sequence[str],
    recipient: str,
) -> None:
    """List a workbook before its file is written (inside the caller's transaction)."""
    expected = {r.record_id: (r.status, join_labels(r.reports)) for r in rows}
    home.db.execute(
        "INSERT INTO vault_workbooks (workbook_id, package_id, path, written_at, subkey, "
        "expected, state) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            workbook_id,
            package_id,
            str(path),
            format_instant(home.now),
            recipient,
            sealing.wrap(_cells_doc(expected), recipient),
            OPEN,
        ),
    )
    home.db.executemany(
        "INSERT INTO vault_workbook_rows (workbook_id, package_id, tag) VALUES (?, ?, ?)",
        ((workbook_id, package_id, tag) for tag in tags),
    )
    # For ``status``, which counts typed changes without the passphrase (digests.py).
    digests.keep(home, workbook_id, expected)


def _written_cells(status: str, quality: str) -> WrittenCells:
    from securexchange.sheets.workbook_edits import WrittenCells

    first, more = split_reports(reports_from_labels(quality))
    return WrittenCells(status, first, more)


def _written_rows(
    home: Home,
    package_id: str,
    expected: Mapping[str, tuple[str, str]],
    identities: Mapping[str, age.SecretIdentity],
) -> tuple[WorkbookRow, ...] | None:
    """The rows as ``open`` wrote them: the vault's records (decrypted) with the editable
    cells as written; None when the package's data key or one of the records is gone."""
    from dataclasses import replace

    try:
        key = vault.data_key(home, package_id, identities)
    except NotRecipient:
        return None
    by_id = {row.record_id: row for row in vault.read_rows(home, package_id, key)}
    if any(record_id not in by_id for record_id in expected):
        return None
    rows = []
    for record_id, (status, quality) in expected.items():
        first, more = split_reports(reports_from_labels(quality))
        rows.append(replace(by_id[record_id], status=status, quality=first, more_quality=more))
    return tuple(rows)


@dataclass(frozen=True)
class _Read:
    """A workbook's editable cells; a status that could not be read is "" (no edit),
    and so is a quality cell that could not be read where what was written is unknown."""

    cells: dict[str, tuple[str, str]]
    changed: tuple[ChangedCell, ...]
    problems: tuple[CellProblem, ...] = ()
    unread_status: frozenset[str] = frozenset()  # record ids whose status cell was bad


def _read_cells(
    home: Home,
    workbook_id: str,
    path: Path,
    *,
    expected: Mapping[str, tuple[str, str]] | None = None,
    identities: Mapping[str, age.SecretIdentity] | None = None,
    strict: bool = False,
    skip_damaged: bool = False,
) -> _Read | None:
    """The editable cells of a workbook file (:mod:`securexchange.sheets.workbook_read`); None
    when it is gone.

    ``expected`` (the editable cells as written, unsealed) lets the reader refuse record
    ids that were not written; with ``identities`` too, the rows as written are rebuilt
    from the vault so that changed cells outside the editable columns are found. Without
    either (shredding without a passphrase) any well-formed record id is read, and
    absorbing later keeps only the ones that were written.

    Cells that cannot be read (a value outside the lists, a formula, a record id that
    was not written) are listed in ``problems`` and dropped; every other cell is read.
    A workbook that cannot be read at all (a damaged file, another package's workbook,
    added sheets) is None. With ``strict`` (``return``) either is an error listing every
    cell, so the staff member corrects them instead of the edits being dropped unseen.
    Shredding is never strict: retention does not wait for a workbook to be fixed. With
    ``skip_damaged`` (``import``, ``open``) nothing of a workbook is an error: its
    problem is recorded for ``status`` and repeated as warnings, and importing and
    opening never wait for it.
    """
    from securexchange.sheets.workbook_edits import ExpectedWorkbook
    from securexchange.sheets.workbook_read import read_workbook, read_workbook_cells

    found = home.db.execute(
        "SELECT w.package_id, (SELECT COUNT(*) FROM vault_workbook_rows r "
        "WHERE r.workbook_id = w.workbook_id) FROM vault_workbooks w WHERE w.workbook_id = ?",
        (workbook_id,),
    ).fetchone()
    if found is None:
        return None
    package_id = str(found[0])
    # Never followed, never a FIFO or device: what stands at a registered workbook's
    # name may have been planted there, and a FIFO would hang every command (each one
    # shreds first) instead of being skipped.
    try:
        data = safefs.read_regular(path, limit=MAX_WORKBOOK_BYTES)
    except OSError:
        return None  # a workbook that cannot be read is not there
    if data is None:
        return None
    if len(data) > MAX_WORKBOOK_BYTES:
        if skip_damaged:
            _note_damaged(home, workbook_id)
        elif strict:
            raise HostileFile(f"{path.name} is too large to be a workbook")
        return None
    rows = None
    if expected is not None and identities is not None:
        try:
            rows = _written_rows(home, package_id, expected, identities)
        except SxError:
            if strict:
                raise  # a damaged vault is not a cell staff can correct
    try:
        if rows is not None:
            edits = read_workbook(data, expected=ExpectedWorkbook(package_id, rows), name=path.name)
        else:
            written = (
                None if expected is None else {k: _written_cells(*v) for k, v in expected.items()}
            )
            edits = read_workbook_cells(
                data,
                package_id=package_id,
                written=written,
                record_count=max(int(found[1]), len(expected or ())),
                name=path.name,
            )
    except SxError as error:
        if skip_damaged and isinstance(error, HostileFile):
            _note_damaged(home, workbook_id)
            return None
        if skip_damaged and isinstance(error, InvalidWorkbook):
            _note_damaged(home, workbook_id, f"{UNREADABLE_LINE}{error.message}")
            return None
        if strict:
            if error.hint is None:
                error.hint = (
                    "correct that cell in Excel (choose from the list) and run the command again"
                )
            raise
        return None
    if edits.problems and strict and not skip_damaged:
        from securexchange.sheets.workbook_read import refusal

        raise refusal(path.name, edits.problems)
    as_written = expected or {}
    cells = {
        r.record_id: (
            r.status if r.status is not None else as_written.get(r.record_id, ("", ""))[0],
            join_labels(r.reports),
        )
        for r in edits.records
    }
    unread = frozenset(r.record_id for r in edits.records if r.status is None)
    return _Read(cells, edits.changed_cells, edits.problems, unread)


def current_cells(home: Home, workbook_id: str, path: Path) -> dict[str, tuple[str, str]] | None:
    """The editable cells of a registered workbook's file as they are now, read without
    the passphrase (never through a link); None when it is gone or unreadable."""
    read = _read_cells(home, workbook_id, path)
    if read is None:
        return None
    # A bad status cell is listed as a problem, not an edit: absorbing keeps what was
    # written, so it is no change to count.
    return {k: v for k, v in read.cells.items() if k not in read.unread_status}


def _note_damaged(home: Home, workbook_id: str, problem: str = DAMAGED_PROBLEM) -> None:
    home.db.execute(
        "UPDATE vault_workbooks SET problem = ? WHERE workbook_id = ?",
        (problem, workbook_id),
    )


def _problem_text(read: _Read) -> str | None:
    """What ``status`` lists for a workbook: each cell not read (the CLI repeats those as
    warnings), then the changed cells outside the editable columns."""
    lines = [f"{CELL_LINE}{problem}" for problem in read.problems]
    changed = _changed_problem(read.changed)
    if changed is not None:
        lines.append(changed)
    return "; ".join(lines) if lines else None


def warnings(home: Home) -> list[str]:
    """The cells not read and the workbooks not read, one line each, for the CLI."""
    found = []
    for workbook in registered(home):
        # One line of `status` output: the parts are joined with "; ", which no cell
        # problem's own text holds.
        for line in (workbook.problem or "").split("; "):
            if line.startswith((CELL_LINE, UNREADABLE_LINE)):
                found.append(f"{workbook.path.name}: {line}")
    return found


def _changed_problem(changed: Sequence[ChangedCell]) -> str | None:
    """The warning ``status`` lists for a workbook with changed cells (positions only)."""
    if not changed:
        return None
    shown = ", ".join(f"{c.column}{c.row}" for c in changed[:10])
    more = f" and {len(changed) - 10} more" if len(changed) > 10 else ""
    return (
        f"{len(changed)} cell(s) outside the editable columns differ from what was "
        f"written ({shown}{more}); only the editable columns are read"
    )


def _diff(
    home: Home,
    expected: Mapping[str, tuple[str, str]],
    now_cells: Mapping[str, tuple[str, str]],
    recipient: str,
) -> int:
    """Store every changed editable cell as an edit; returns how many."""
    made = 0
    for record_id, (status, quality) in now_cells.items():
        if record_id not in expected:
            continue  # a row staff added: not a record we sent
        old_status, old_quality = expected[record_id]
        if status and status != old_status:  # "": a cell that could not be read
            staff_edits.add_edit(
                home,
                kind="status",
                record=record_id,
                recipient=recipient,
                status=status,
                base=old_status,
            )
            made += 1
        # One edit per report typed that was not written (a new field reported, or a
        # field's problem changed); an emptied cell withdraws nothing (as before).
        old_reports = set(reports_from_labels(old_quality))
        for report in reports_from_labels(quality):
            if report not in old_reports:
                staff_edits.add_edit(
                    home,
                    kind="quality",
                    record=record_id,
                    recipient=recipient,
                    field=report.field,
                    problem=report.problem,
                )
                made += 1
    return made


def absorb(
    home: Home, identities: Mapping[str, age.SecretIdentity], *, skip_damaged: bool = False
) -> int:
    """Turn what staff typed in registered workbooks into edits (keys unlocked).

    Inside the caller's transaction. Returns the number of edits made. Cells staff can
    correct stop the command (all listed at once); a damaged or hostile file does too,
    unless ``skip_damaged`` (import, open): then every readable cell is absorbed, and
    the cells and files that are not are listed by ``status`` and :func:`warnings`.
    """
    recipient = subkeys.current_recipient(home)
    if recipient is None:
        return 0
    made = 0
    for workbook_id, path, subkey, expected_blob, harvest, state in home.db.execute(
        "SELECT workbook_id, path, subkey, expected, harvest, state FROM vault_workbooks"
    ).fetchall():
        identity = identities.get(str(subkey))
        if identity is None:
            continue
        expected = _cells_from(
            sealing.unwrap(blob(expected_blob), [identity], vault.MAX_EXPECTED_BYTES)
        )
        if state == HARVESTED:
            if harvest is not None:
                cells = _cells_from(
                    sealing.unwrap(bytes(harvest), [identity], vault.MAX_EXPECTED_BYTES)
                )
                made += _diff(home, expected, cells, recipient)
            forget(home, str(workbook_id))
            continue
        read = _read_cells(
            home,
            str(workbook_id),
            Path(str(path)),
            expected=expected,
            identities=identities,
            strict=True,
            skip_damaged=skip_damaged,
        )
        if read is None:
            continue
        made += _diff(home, expected, read.cells, recipient)
        merged = {k: read.cells.get(k, v) for k, v in expected.items()}
        home.db.execute(
            "UPDATE vault_workbooks SET subkey = ?, expected = ? WHERE workbook_id = ?",
            (recipient, sealing.wrap(_cells_doc(merged), recipient), workbook_id),
        )
        digests.keep(home, str(workbook_id), merged)
        if state == OPEN:  # a pending workbook's problem says why it is still there
            home.db.execute(
                "UPDATE vault_workbooks SET problem = ? WHERE workbook_id = ?",
                (_problem_text(read), workbook_id),
            )
    return made


def forget(home: Home, workbook_id: str) -> None:
    home.db.execute("DELETE FROM vault_workbook_rows WHERE workbook_id = ?", (workbook_id,))
    home.db.execute("DELETE FROM vault_workbooks WHERE workbook_id = ?", (workbook_id,))


def doomed(home: Home) -> list[tuple[str, Path, str, bool]]:
    """Workbooks that must go: (id, path, state, whether its edits still matter).

    A workbook must go when a record it shows was shredded (its row is gone from the
    vault: past its deadline, superseded, terminated), or when the subkey its cells are
    sealed to was destroyed (what it shows can no longer be matched to anything). Its
    edits matter while its package was superseded by a newer one (records may carry
    over) or is still live, and its subkey is held.
    """
    vault.ensure_schema(home)
    rows = home.db.execute(
        "SELECT w.workbook_id, w.path, w.state, p.state, "
        "  EXISTS (SELECT 1 FROM vault_subkeys s "
        "          WHERE s.recipient = w.subkey AND s.state = 'destroyed') "
        "FROM vault_workbooks w "
        "LEFT JOIN vault_packages p ON p.package_id = w.package_id "
        "WHERE w.state IN (?, ?) AND (EXISTS ("
        "  SELECT 1 FROM vault_workbook_rows r WHERE r.workbook_id = w.workbook_id "
        "  AND NOT EXISTS (SELECT 1 FROM vault_records v "
        "                  WHERE v.package_id = r.package_id AND v.tag = r.tag)) "
        "  OR EXISTS (SELECT 1 FROM vault_subkeys s "
        "             WHERE s.recipient = w.subkey AND s.state = 'destroyed'))",
        (OPEN, PENDING),
    ).fetchall()
    return [
        (
            str(r[0]),
            Path(str(r[1])),
            str(r[2]),
            str(r[3]) in (vault.LIVE, vault.SUPERSEDED) and not r[4],
        )
        for r in rows
    ]


def file_name(nis: str, day: str, workbook_id: str) -> str:
    """The name ``open`` gives a workbook file (the only name shredding ever removes)."""
    return f"inburgeraars-{nis}-{day}-{workbook_id[3:11]}.xlsx"


def own_name(workbook_id: str, path: Path) -> bool:
    """Whether ``path`` has the name :func:`file_name` gives ``workbook_id``'s file.

    The registered path is a clear column of the state database: whoever can edit it
    could point the shredder, which runs as the staff member, at any file they may
    write (overwritten, then deleted). Only a name this tool gives that very workbook
    is ever removed; any other is not ours to touch.
    """
    token = re.escape(workbook_id[3:11])
    pattern = rf"inburgeraars-[0-9]+-[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}-{token}\.xlsx"
    return len(workbook_id) >= 11 and re.fullmatch(pattern, path.name) is not None


def remove_file(path: Path) -> str | None:
    """Overwrite and delete a workbook file; returns a problem text, or None when gone.

    The workbook's folder is trusted as registered; the name in it is never followed:
    a symbolic link, a hard link, a FIFO or any other non-regular file standing there
    is unlinked without being opened, and a read-only workbook is still overwritten
    (safefs). Overwriting helps on plain disks only; on SSDs and copy-on-write
    filesystems the old blocks may survive (docs/threat-model.md). Excel owner files
    are no reason to wait (anyone can create one): the removal is tried, and where
    Excel really holds the file (Windows) it fails and is retried at the next command.
    """
    owners = owner_files(path)
    problem = safefs.remove(path.parent, (path.name,))
    if problem is not None:
        if owners and problem == safefs.NOT_REMOVABLE:
            return "open in Excel (an owner file ~$ is next to it); close it"
        return problem
    for owner in owners:
        safefs.remove(path.parent, (owner.name,))  # a stale lock file naming the staff member
    return None


def shred_workbook(
    home: Home,
    workbook_id: str,
    path: Path,
    *,
    keep_edits: bool,
    identities: Mapping[str, age.SecretIdentity] | None,
) -> bool:
    """Harvest and remove one workbook. Returns True when its file is gone.

    Each step commits on its own: the harvest before the file is touched, so a crash
    never loses an edit that was typed in it.
    """
    from securexchange.home import statedb

    if keep_edits and identities:
        with statedb.transaction(home.db):
            absorb_one(home, workbook_id, path, identities)
    elif keep_edits:
        # Sealed to the subkey its expected cells are sealed to: absorbing opens both
        # with that one key (and re-wrapping moves both together).
        found = home.db.execute(
            "SELECT subkey FROM vault_workbooks WHERE workbook_id = ?", (workbook_id,)
        ).fetchone()
        recipient = None if found is None else str(found[0])
        read = _read_cells(home, workbook_id, path)
        if recipient is not None and read is not None:
            with statedb.transaction(home.db):
                home.db.execute(
                    "UPDATE vault_workbooks SET harvest = ? WHERE workbook_id = ?",
                    (sealing.wrap(_cells_doc(read.cells), recipient), workbook_id),
                )
                digests.note_harvest(home, workbook_id, read.cells)
    # A path edited to another file's is forgotten, that file left alone (own_name).
    problem = remove_file(path) if own_name(workbook_id, path) else None
    with statedb.transaction(home.db):
        if problem is not None:
            home.db.execute(
                "UPDATE vault_workbooks SET state = ?, problem = ? WHERE workbook_id = ?",
                (PENDING, problem, workbook_id),
            )
        elif keep_edits and not identities:
            home.db.execute(
                "UPDATE vault_workbooks SET state = ?, problem = NULL WHERE workbook_id = ?",
                (HARVESTED, workbook_id),
            )
            home.db.execute("DELETE FROM vault_workbook_rows WHERE workbook_id = ?", (workbook_id,))
        else:
            forget(home, workbook_id)
    return problem is None


def absorb_one(
    home: Home, workbook_id: str, path: Path, identities: Mapping[str, age.SecretIdentity]
) -> None:
    row = home.db.execute(
        "SELECT subkey, expected FROM vault_workbooks WHERE workbook_id = ?", (workbook_id,)
    ).fetchone()
    recipient = subkeys.current_recipient(home)
    if row is None or recipient is None:
        return
    identity = identities.get(str(row[0]))
    if identity is None:
        return
    expected = _cells_from(sealing.unwrap(blob(row[1]), [identity], vault.MAX_EXPECTED_BYTES))
    read = _read_cells(home, workbook_id, path, expected=expected, identities=identities)
    if read is not None:
        _diff(home, expected, read.cells, recipient)
