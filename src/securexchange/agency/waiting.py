"""Returns that wait for their predecessor, and sequence numbers released as lost.

A municipality's signer numbers its returns 1, 2, 3, ... and the agency applies them in
that order whatever the order of arrival (a later return would otherwise be overtaken
by an earlier one and its newer statuses lost). A return whose predecessor has not
arrived is verified completely, then kept here until the predecessor comes, or until
``agency import-return --skip-gap SENDER:SEQ`` declares the missing number lost.

Tables (the agency's state database)::

    returns_waiting  (signer, sequence) -> delta id, party id, NIS code, SHA-256 of the
                     canonical document, creation and receipt time, and the container
                     bytes exactly as received (their payload stays encrypted to the
                     agency's export key; they are opened and verified again when applied)
    returns_skipped  (signer, sequence) -> when it was released as lost

Everything here runs inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from securexchange.clock import format_instant
from securexchange.home.home import Home


@dataclass(frozen=True)
class Waiting:
    """One stored return that waits for a lower sequence number of its signer."""

    signer: str
    sequence: int
    delta_id: str
    party_id: str
    nis: str
    content_sha256: str
    created_at: str
    received_at: str


_COLUMNS = "signer, sequence, delta_id, party_id, nis, content_sha256, created_at, received_at"


def _row(row: tuple[object, ...]) -> Waiting:
    return Waiting(
        signer=str(row[0]),
        sequence=int(str(row[1])),
        delta_id=str(row[2]),
        party_id=str(row[3]),
        nis=str(row[4]),
        content_sha256=str(row[5]),
        created_at=str(row[6]),
        received_at=str(row[7]),
    )


def waiting(home: Home, signer: str | None = None) -> list[Waiting]:
    """Every waiting return (of one signer), by signer and sequence."""
    rows = home.db.execute(
        f"SELECT {_COLUMNS} FROM returns_waiting "  # noqa: S608 - constant column list
        "WHERE ? IS NULL OR signer = ? ORDER BY signer, sequence",
        (signer, signer),
    ).fetchall()
    return [_row(r) for r in rows]


def by_sequence(home: Home, signer: str, sequence: int) -> Waiting | None:
    row = home.db.execute(
        f"SELECT {_COLUMNS} FROM returns_waiting "  # noqa: S608 - constant column list
        "WHERE signer = ? AND sequence = ?",
        (signer, sequence),
    ).fetchone()
    return None if row is None else _row(row)


def by_delta(home: Home, delta_id: str) -> Waiting | None:
    row = home.db.execute(
        f"SELECT {_COLUMNS} FROM returns_waiting WHERE delta_id = ?",  # noqa: S608
        (delta_id,),
    ).fetchone()
    return None if row is None else _row(row)


def container(home: Home, signer: str, sequence: int) -> bytes:
    row = home.db.execute(
        "SELECT container FROM returns_waiting WHERE signer = ? AND sequence = ?",
        (signer, sequence),
    ).fetchone()
    return b"" if row is None else bytes(row[0])


def store(home: Home, item: Waiting, data: bytes) -> None:
    home.db.execute(
        f"INSERT INTO returns_waiting ({_COLUMNS}, container) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            item.signer,
            item.sequence,
            item.delta_id,
            item.party_id,
            item.nis,
            item.content_sha256,
            item.created_at,
            item.received_at,
            data,
        ),
    )


def remove(home: Home, signer: str, sequence: int) -> None:
    # secure_delete (statedb) overwrites the removed container's pages.
    home.db.execute(
        "DELETE FROM returns_waiting WHERE signer = ? AND sequence = ?", (signer, sequence)
    )


def skipped(home: Home, signer: str) -> frozenset[int]:
    rows = home.db.execute(
        "SELECT sequence FROM returns_skipped WHERE signer = ?", (signer,)
    ).fetchall()
    return frozenset(int(r[0]) for r in rows)


def skip(home: Home, signer: str, sequence: int, now: datetime) -> None:
    home.db.execute(
        "INSERT INTO returns_skipped (signer, sequence, skipped_at) VALUES (?, ?, ?)",
        (signer, sequence, format_instant(now)),
    )


def next_needed(done: frozenset[int]) -> int:
    """The lowest sequence number neither applied nor skipped: the next one to apply."""
    n = 1
    while n in done:
        n += 1
    return n


def missing_count(done: frozenset[int], held: frozenset[int], sequence: int) -> int:
    """How many numbers below ``sequence`` are neither done nor held (counted, not
    listed: a signed return may carry any number up to 2**53)."""
    start = next_needed(done)
    present = sum(1 for n in done | held if start <= n < sequence)
    return max(0, sequence - start - present)
