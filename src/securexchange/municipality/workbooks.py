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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from securexchange import strictjson
from securexchange.clock import format_instant
from securexchange.home.home import Home
from securexchange.i18n import _, ngettext
from securexchange.municipality import digests, sealing, staff_edits, subkeys, vault
from securexchange.municipality.subkeys import blob, when
from securexchange.municipality.workbook_cells import (
    CELL_LINE,
    UNREADABLE_LINE,
    ReadBack,
    read_cells,
    shown_problem,
)
from securexchange.municipality.workbook_files import (
    own_name,
    remove_file,
)
from securexchange.sheets.layout import join_labels, reports_from_labels

if TYPE_CHECKING:
    from securexchange import age
    from securexchange.sheets.layout import WorkbookRow
    from securexchange.sheets.workbook_edits import ChangedCell

OPEN = "open"
PENDING = "pending"  # must go, could not be removed yet
HARVESTED = "harvested"  # removed; its cells wait to be absorbed


@dataclass(frozen=True)
class Registered:
    workbook_id: str
    package_id: str
    path: Path
    written_at: datetime
    state: str
    problem: str | None


def registered(home: Home) -> list[Registered]:
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
            # In the order they were written: two opens within one second (the times
            # are kept to the second) by the order they were registered in.
            "FROM vault_workbooks ORDER BY written_at, rowid"
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


def current_cells(home: Home, workbook_id: str, path: Path) -> dict[str, tuple[str, str]] | None:
    """The editable cells of a registered workbook's file as they are now, read without
    the passphrase (never through a link); None when it is gone or unreadable."""
    read = read_cells(home, workbook_id, path)
    if read is None:
        return None
    # A bad status cell is listed as a problem, not an edit: absorbing keeps what was
    # written, so it is no change to count.
    return {k: v for k, v in read.cells.items() if k not in read.unread_status}


def _problem_text(read: ReadBack) -> str | None:
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
                found.append(f"{workbook.path.name}: {shown_problem(line)}")
    return found


def _changed_problem(changed: Sequence[ChangedCell]) -> str | None:
    """The warning ``status`` lists for a workbook with changed cells (positions only)."""
    if not changed:
        return None
    shown = ", ".join(f"{c.column}{c.row}" for c in changed[:10])
    if len(changed) > 10:
        shown = _("{cells} and {n} more").format(cells=shown, n=len(changed) - 10)
    return ngettext(
        "{n} cell outside the editable columns differs from what was written ({cells}); "
        "only the editable columns are read",
        "{n} cells outside the editable columns differ from what was written ({cells}); "
        "only the editable columns are read",
        len(changed),
    ).format(n=len(changed), cells=shown)


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
        read = read_cells(
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
        read = read_cells(home, workbook_id, path)
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
    read = read_cells(home, workbook_id, path, expected=expected, identities=identities)
    if read is not None:
        _diff(home, expected, read.cells, recipient)
