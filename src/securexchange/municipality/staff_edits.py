"""Staff's edits, sealed in the vault until a return carries them (status changes and
quality reports), and the records as they are now: a package's rows with its edits
applied."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from securexchange import strictjson
from securexchange.clock import format_instant
from securexchange.home.home import Home
from securexchange.municipality.sealing import (
    MAX_ROW_BYTES,
    unwrap,
    wrap,
)
from securexchange.municipality.subkeys import blob, when
from securexchange.scoped import scoped
from securexchange.sheets.layout import QualityReport, WorkbookRow, split_reports

if TYPE_CHECKING:
    from securexchange import age

EDIT_FORMAT = "securexchange-vault-edit/1"


@dataclass(frozen=True)
class Edit:
    """A status change or quality report staff made, not yet superseded by a package."""

    handle: int
    kind: str  # "status" | "quality"
    record: str
    status: str  # kind status: the new status
    base: str  # kind status: the status it replaced
    field: str  # kind quality
    problem: str  # kind quality
    at: datetime
    returned_in: str | None


def add_edit(
    home: Home,
    *,
    kind: str,
    record: str,
    recipient: str,
    status: str = "",
    base: str = "",
    field: str = "",
    problem: str = "",
) -> None:
    """Store one edit, sealed to ``recipient`` (no passphrase needed)."""
    body = strictjson.dumps(
        {
            "format": EDIT_FORMAT,
            "kind": kind,
            "record": record,
            "status": status,
            "base": base,
            "field": field,
            "problem": problem,
        }
    )
    home.db.execute(
        "INSERT INTO vault_edits (kind, subkey, sealed, made_at) VALUES (?, ?, ?, ?)",
        (kind, recipient, wrap(body, recipient), format_instant(home.now)),
    )


@dataclass(frozen=True)
class _Body:
    kind: str
    record: str
    status: str
    base: str
    field: str
    problem: str


class OpenedEdits:
    """Edits already decrypted in this unlocked session (the app), by the subkey their
    row names and their sealed bytes.

    Every request of the app reads every stored edit, each an age decryption (~0.2 ms):
    a staff member who set 500 statuses would wait 100 ms on each save for the same
    answers. A ciphertext opens to one plaintext only (age's header MAC commits to the
    file key), so its bytes are a sound key; with the subkey, a row moved to another
    subkey is decrypted anew (and refused) as it would be without memory. A changed or
    new row is decrypted anew; each read keeps only the rows it read, so an edit the
    vault no longer holds (erased, returned, shredded) or whose subkey is gone leaves
    memory with the next read. Held in memory only and forgotten with the key.
    """

    def __init__(self) -> None:
        self._bodies: dict[tuple[str, bytes], _Body] = {}

    def forget(self) -> None:
        self._bodies.clear()


_OPENED: ContextVar[OpenedEdits | None] = ContextVar("opened_edits", default=None)


def remembering(opened: OpenedEdits) -> AbstractContextManager[None]:
    """Within the block (this thread or task only), :func:`edits` uses and fills
    ``opened``."""
    return scoped(_OPENED, opened)


def _open_body(sealed: bytes, identity: age.SecretIdentity) -> _Body:
    value = strictjson.loads(unwrap(sealed, [identity], MAX_ROW_BYTES), what="a vault edit")
    with strictjson.Fields(value, "a vault edit") as f:
        f.text("format")
        return _Body(
            kind=f.text("kind"),
            record=f.text("record"),
            status=f.text("status"),
            base=f.text("base"),
            field=f.text("field"),
            problem=f.text("problem"),
        )


def edits(home: Home, identities: Mapping[str, age.SecretIdentity]) -> list[Edit]:
    """Every stored edit, oldest first (decrypted)."""
    opened = _OPENED.get()
    known = opened._bodies if opened is not None else {}
    read: dict[tuple[str, bytes], _Body] = {}
    result: list[Edit] = []
    for handle, subkey, sealed, made_at, returned_in in home.db.execute(
        "SELECT id, subkey, sealed, made_at, returned_in FROM vault_edits ORDER BY id"
    ).fetchall():
        identity = identities.get(str(subkey))
        if identity is None:
            continue
        mark = (str(subkey), blob(sealed))
        body = known.get(mark)
        if body is None:
            body = _open_body(mark[1], identity)
        read[mark] = body
        result.append(
            Edit(
                handle=int(handle),
                kind=body.kind,
                record=body.record,
                status=body.status,
                base=body.base,
                field=body.field,
                problem=body.problem,
                at=when(str(made_at)),
                returned_in=None if returned_in is None else str(returned_in),
            )
        )
    if opened is not None:
        opened._bodies = read  # what the vault holds now, nothing it dropped
    return result


def pending_count(home: Home) -> int:
    row = home.db.execute("SELECT COUNT(*) FROM vault_edits WHERE returned_in IS NULL").fetchone()
    return int(row[0])


def mark_returned(home: Home, handles: Iterable[Any], delta_id: str) -> None:
    """Mark edits as returned in ``delta_id``; status edits of the same record made
    before the returned one are covered by it too."""
    now = format_instant(home.now)
    home.db.executemany(
        "UPDATE vault_edits SET returned_in = ?, returned_at = ? WHERE id = ?",
        ((delta_id, now, int(h)) for h in handles),
    )
    home.db.execute(
        "UPDATE vault_edits SET returned_in = ?, returned_at = ? "
        "WHERE returned_in IS NULL AND kind = 'status' AND id < "
        "(SELECT COALESCE(MAX(id), 0) FROM vault_edits WHERE returned_in = ?)",
        (delta_id, now, delta_id),
    )


def drop_returned_before(home: Home, created_at: datetime) -> int:
    """Forget status edits the agency had received before it made a package (the package
    carries their result). Returned quality reports wait for the agency's answer
    (:mod:`securexchange.municipality.quality_answers` drops them)."""
    cursor = home.db.execute(
        "DELETE FROM vault_edits WHERE kind != 'quality' AND returned_at IS NOT NULL "
        "AND returned_at <= ?",
        (format_instant(created_at),),
    )
    return int(cursor.rowcount)


def with_edits(
    home: Home, rows: Sequence[WorkbookRow], identities: Mapping[str, age.SecretIdentity]
) -> list[WorkbookRow]:
    """A package's records (as :func:`vault.read_rows` gives them) with the staff's
    edits applied."""
    from dataclasses import replace

    status: dict[str, str] = {}
    # Per record, the newest open report on each field: staff may report several
    # fields of one record, and each keeps its own column in the next workbook.
    quality: dict[str, dict[str, QualityReport]] = {}
    for edit in edits(home, identities):
        if edit.kind == "status":
            status[edit.record] = edit.status
        elif edit.returned_in is None:
            quality.setdefault(edit.record, {})[edit.field] = QualityReport(
                edit.field, edit.problem
            )
    if not status and not quality:
        return list(rows)

    def rebuilt(row: WorkbookRow) -> WorkbookRow:
        reports = {report.field: report for report in row.reports}
        reports.update(quality.get(row.record_id, {}))
        first, more = split_reports(tuple(reports.values()))
        return replace(
            row,
            status=status.get(row.record_id, row.status),
            quality=first,
            more_quality=more,
        )

    # Only rows with an edit are rebuilt (dataclasses.replace re-runs the row checks).
    return [
        rebuilt(row) if row.record_id in status or row.record_id in quality else row for row in rows
    ]
