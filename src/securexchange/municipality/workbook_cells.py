"""A registered workbook read back against what was written into it: the cells staff
changed, the cells that could not be read, and the rows as they were written (from the
sealed cells document, so nothing in the file is trusted for what it replaced)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from securexchange.errors import HostileFile, InvalidWorkbook, NotRecipient, SxError
from securexchange.home import safefs
from securexchange.home.home import Home
from securexchange.i18n import N_, _
from securexchange.municipality import vault
from securexchange.sheets.layout import join_labels, reports_from_labels, split_reports

if TYPE_CHECKING:
    from securexchange import age
    from securexchange.sheets.layout import WorkbookRow
    from securexchange.sheets.workbook_edits import (
        CellProblem,
        ChangedCell,
        WorkbookEdits,
        WrittenCells,
    )


# The workbook reader's own cap on a file (workbook_read.workbook_limits).
MAX_WORKBOOK_BYTES = 64 << 20


DAMAGED_PROBLEM = N_(
    "the file is damaged or was refused by the spreadsheet guard; its edits cannot be "
    "read (open the package again for a new workbook)"
)


# Lines of a workbook's problem that ``import``, ``open`` and ``return`` repeat as
# warnings: cells that were not read, and a workbook that could not be read at all. The
# marks are stored in English, whatever the language of the command that stored the
# text after them, so that they can be found again; shown_problem translates them.
CELL_LINE = N_("cell not read: ")


UNREADABLE_LINE = N_("not read: ")


def shown_problem(stored: str) -> str:
    """A workbook's stored problem in this run's language, as far as it can be: the
    marks, and each part that is one of our fixed texts (a file that cannot be removed,
    a damaged file), are translated; a text the storing command already wrote in its own
    language is shown as it was written. The parts are joined with "; "."""
    parts = []
    for part in stored.split("; "):
        for mark in (CELL_LINE, UNREADABLE_LINE):
            if part.startswith(mark):
                parts.append(_(mark) + part[len(mark) :])
                break
        else:
            parts.append(_(part))
    return "; ".join(parts)


def written_cells(status: str, quality: str) -> WrittenCells:
    from securexchange.sheets.workbook_edits import WrittenCells

    first, more = split_reports(reports_from_labels(quality))
    return WrittenCells(status, first, more)


def written_rows(
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
    by_id = {row.record_id: row for row in vault.read_rows(home, package_id, key).rows}
    if any(record_id not in by_id for record_id in expected):
        return None
    rows = []
    for record_id, (status, quality) in expected.items():
        first, more = split_reports(reports_from_labels(quality))
        rows.append(replace(by_id[record_id], status=status, quality=first, more_quality=more))
    return tuple(rows)


@dataclass(frozen=True)
class ReadBack:
    """A workbook's editable cells; a status that could not be read is "" (no edit),
    and so is a quality cell that could not be read where what was written is unknown."""

    cells: dict[str, tuple[str, str]]
    changed: tuple[ChangedCell, ...]
    problems: tuple[CellProblem, ...] = ()
    unread_status: frozenset[str] = frozenset()  # record ids whose status cell was bad


def _file_bytes(
    home: Home, workbook_id: str, path: Path, *, strict: bool, skip_damaged: bool
) -> bytes | None:
    """The workbook file's bytes; None when it is gone or too large to be one."""
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
            note_damaged(home, workbook_id)
        elif strict:
            raise HostileFile(_("{file} is too large to be a workbook").format(file=path.name))
        return None
    return data


def _unreadable(
    home: Home, workbook_id: str, error: SxError, *, strict: bool, skip_damaged: bool
) -> None:
    """A workbook that could not be read at all: recorded (``skip_damaged``), raised with a
    hint (``strict``), or passed over."""
    if skip_damaged and isinstance(error, HostileFile):
        note_damaged(home, workbook_id)
        return
    if skip_damaged and isinstance(error, InvalidWorkbook):
        note_damaged(home, workbook_id, f"{UNREADABLE_LINE}{error.message}")
        return
    if strict:
        if error.hint is None:
            error.hint = _(
                "correct that cell in Excel (choose from the list) and run the command again"
            )
        raise error


def _read_back(edits: WorkbookEdits, as_written: Mapping[str, tuple[str, str]]) -> ReadBack:
    cells = {
        r.record_id: (
            r.status if r.status is not None else as_written.get(r.record_id, ("", ""))[0],
            join_labels(r.reports),
        )
        for r in edits.records
    }
    unread = frozenset(r.record_id for r in edits.records if r.status is None)
    return ReadBack(cells, edits.changed_cells, edits.problems, unread)


def read_cells(
    home: Home,
    workbook_id: str,
    path: Path,
    *,
    expected: Mapping[str, tuple[str, str]] | None = None,
    identities: Mapping[str, age.SecretIdentity] | None = None,
    strict: bool = False,
    skip_damaged: bool = False,
) -> ReadBack | None:
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
    data = _file_bytes(home, workbook_id, path, strict=strict, skip_damaged=skip_damaged)
    if data is None:
        return None
    rows = None
    if expected is not None and identities is not None:
        try:
            rows = written_rows(home, package_id, expected, identities)
        except SxError:
            if strict:
                raise  # a damaged vault is not a cell staff can correct
    try:
        if rows is not None:
            edits = read_workbook(data, expected=ExpectedWorkbook(package_id, rows), name=path.name)
        else:
            written = (
                None if expected is None else {k: written_cells(*v) for k, v in expected.items()}
            )
            edits = read_workbook_cells(
                data,
                package_id=package_id,
                written=written,
                record_count=max(int(found[1]), len(expected or ())),
                name=path.name,
            )
    except SxError as error:
        _unreadable(home, workbook_id, error, strict=strict, skip_damaged=skip_damaged)
        return None
    if edits.problems and strict and not skip_damaged:
        from securexchange.sheets.workbook_read import refusal

        raise refusal(path.name, edits.problems)
    return _read_back(edits, expected or {})


def note_damaged(home: Home, workbook_id: str, problem: str | None = None) -> None:
    home.db.execute(
        "UPDATE vault_workbooks SET problem = ? WHERE workbook_id = ?",
        (_(DAMAGED_PROBLEM) if problem is None else problem, workbook_id),
    )
