"""The municipal vault: records encrypted at rest in the state database.

Design (docs/formats.md, "The municipal vault"):

* Each imported package gets a fresh random 256-bit **data key**. Every record is one
  row, sealed with ChaCha20-Poly1305 under that key (random 96-bit nonce, stored in
  front of the ciphertext). The associated data is the package id and the record's
  *tag*, so a row moved to another package or record fails to open.
* The **tag** is HMAC-SHA256(data key, record id), truncated to 128 bits: rows are found
  by record without keeping pseudonymous record ids in clear (they are personal data).
  The record id itself is inside the sealed row and checked against the tag.
* The data key is **wrapped** with age to the staff member's current encryption subkey
  (:mod:`securexchange.municipality.subkeys`), so opening needs that subkey, i.e. the
  passphrase; destroying the subkey (or the wrapped key) makes the rows unreadable.
* Each row's **retention deadline** is in clear, so shredding needs no passphrase.
* Status edits and quality reports not yet returned are sealed with age to the current
  subkey's public key (writing needs no passphrase; reading does).
* Registered workbooks are listed with the tags of the records they show, and the
  editable cells as written (sealed like the edits), to find what staff changed.

The database's settings (``secure_delete``, rollback journal, no WAL) are statedb's.
Everything here runs inside the caller's transaction unless it says otherwise.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from securexchange.clock import format_instant, parse_instant
from securexchange.errors import NotRecipient, SxError, Tampered
from securexchange.home.home import Home
from securexchange.home.tables import VAULT_TABLES
from securexchange.i18n import _
from securexchange.municipality.sealing import (
    DATA_KEY_SIZE,
    RowCipher,
    decode_row,
    encode_row,
    unwrap,
    wrap,
)
from securexchange.municipality.subkeys import blob, number, when
from securexchange.sheets.layout import WorkbookRow

if TYPE_CHECKING:
    from securexchange import age

MAX_EXPECTED_BYTES = 64 << 20

LIVE = "live"
SUPERSEDED = "superseded"
TERMINATED = "terminated"
EXPIRED = "expired"
# A clear-text column disagreed with the agency-signed manifest kept in vault_signed,
# or a clear-text deadline with its sealed row: the database was edited.
TAMPERED = "tampered"
# Its data key was wrapped to a subkey destroyed at valid-until + grace before any
# command unlocking the key re-wrapped it (municipality/subkeys.py).
LOST = "lost"


# Signed copies shipped in December 2026: no package from before them can be valid past
# this, so no legacy row (which a staff member could write, or recreate by dropping
# vault_signed) keeps a package beyond it.
LEGACY_LAST = datetime(2027, 3, 1, tzinfo=UTC)


def legacy_bound(home: Home, package_id: str) -> datetime | None:
    """Until when a live package without a signed copy may be kept (None: not legacy)."""
    row = home.db.execute(
        "SELECT bound FROM vault_legacy WHERE package_id = ?", (package_id,)
    ).fetchone()
    if row is None:
        return None
    try:
        return min(parse_instant(str(row[0])), LEGACY_LAST)
    except SxError:
        return home.now  # an edited bound: at once


# --- packages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageRow:
    package_id: str
    sequence: int
    sha256: str
    protocol_id: str
    party_id: str
    municipality: str
    created_at: datetime
    imported_at: datetime
    import_deadline: datetime
    valid_until: datetime
    records: int
    demo: bool
    state: str
    shredded_at: datetime | None

    @property
    def live(self) -> bool:
        return self.state == LIVE


_PACKAGE_COLUMNS = (
    "package_id, sequence, sha256, protocol_id, party_id, municipality, created_at, "
    "imported_at, import_deadline, valid_until, records, demo, state, shredded_at"
)


def _package(row: Sequence[Any]) -> PackageRow:
    def t(v: Any) -> datetime:
        return when(str(v))

    return PackageRow(
        str(row[0]),
        number(row[1]),
        str(row[2]),
        str(row[3]),
        str(row[4]),
        str(row[5]),
        t(row[6]),
        t(row[7]),
        t(row[8]),
        t(row[9]),
        number(row[10]),
        bool(row[11]),
        str(row[12]),
        None if row[13] is None else t(row[13]),
    )


def packages(home: Home) -> list[PackageRow]:
    """Every package this home imported, by sequence."""
    rows = home.db.execute(
        f"SELECT {_PACKAGE_COLUMNS} FROM vault_packages ORDER BY sequence"  # noqa: S608
    ).fetchall()
    return [_package(r) for r in rows]


def latest_package(home: Home) -> PackageRow | None:
    found = packages(home)
    return found[-1] if found else None


def current_package(home: Home) -> PackageRow | None:
    """The newest live package (the one ``open`` shows)."""
    live = [p for p in packages(home) if p.live]
    return live[-1] if live else None


def insert_package(
    home: Home,
    *,
    package: PackageRow,
    data_key: bytes,
    recipient: str,
    rows: Sequence[WorkbookRow],
    container: bytes,
) -> None:
    """Store one package: its row, its wrapped data key, one sealed row per record, and
    the signed container itself (payload still encrypted), against which shredding
    checks every clear-text deadline without a passphrase."""
    db = home.db
    db.execute(
        f"INSERT INTO vault_packages ({_PACKAGE_COLUMNS}) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            package.package_id,
            package.sequence,
            package.sha256,
            package.protocol_id,
            package.party_id,
            package.municipality,
            format_instant(package.created_at),
            format_instant(package.imported_at),
            format_instant(package.import_deadline),
            format_instant(package.valid_until),
            package.records,
            int(package.demo),
            package.state,
            None,
        ),
    )
    db.execute(
        "INSERT INTO vault_signed (package_id, container) VALUES (?, ?)",
        (package.package_id, container),
    )
    db.execute(
        "INSERT INTO vault_data_keys (package_id, subkey, wrapped) VALUES (?, ?, ?)",
        (package.package_id, recipient, wrap(data_key, recipient)),
    )
    cipher = RowCipher(data_key, package.package_id)
    db.executemany(
        "INSERT INTO vault_records (package_id, tag, retention, sealed) VALUES (?, ?, ?, ?)",
        (
            (package.package_id, tag, row.retention.isoformat(), cipher.seal(tag, encode_row(row)))
            for row in rows
            for tag in (cipher.tag(row.record_id),)
        ),
    )


def shred_package(home: Home, package_id: str, state: str) -> int:
    """Destroy a package's data key and rows; returns the rows deleted."""
    db = home.db
    count = db.execute("DELETE FROM vault_records WHERE package_id = ?", (package_id,)).rowcount
    db.execute("DELETE FROM vault_data_keys WHERE package_id = ?", (package_id,))
    db.execute("DELETE FROM vault_signed WHERE package_id = ?", (package_id,))
    db.execute("DELETE FROM vault_arrivals WHERE package_id = ?", (package_id,))
    db.execute("DELETE FROM vault_compared WHERE package_id = ?", (package_id,))
    db.execute(
        "UPDATE vault_packages SET state = ?, shredded_at = ? WHERE package_id = ?",
        (state, format_instant(home.now), package_id),
    )
    return int(count)


def data_key(home: Home, package_id: str, identities: Mapping[str, age.SecretIdentity]) -> bytes:
    """The package's data key, unwrapped with the held subkeys. NotRecipient if none fits."""
    row = home.db.execute(
        "SELECT subkey, wrapped FROM vault_data_keys WHERE package_id = ?", (package_id,)
    ).fetchone()
    if row is None:
        raise NotRecipient(_("the package's data key was destroyed"))
    identity = identities.get(str(row[0]))
    if identity is None:
        raise NotRecipient(_("the subkey the package's data key is wrapped to is not held"))
    return unwrap(blob(row[1]), [identity], DATA_KEY_SIZE)


@dataclass(frozen=True)
class VaultRows:
    """Records read from the vault, and the rowids of rows whose clear-text retention
    deadline differs from the one sealed inside the row (the clear copy exists so
    shredding needs no key; the sealed one is authenticated under the data key, so it
    is the truth), or that do not authenticate under their clear tag (so their sealed
    deadline cannot be read, and may have passed)."""

    rows: tuple[WorkbookRow, ...]
    edited: tuple[int, ...]


def read_rows(
    home: Home, package_id: str, key: bytes, *, record_ids: Sequence[str] | None = None
) -> VaultRows:
    """A package's remaining records, decrypted, in a stable order; with ``record_ids``
    only those (found by their tags; an id the package does not hold is left out).

    One pass both reads the rows and compares each clear deadline with its sealed copy,
    so the check costs no second decryption."""
    cipher = RowCipher(key, package_id)
    columns = "SELECT rowid, tag, retention, sealed FROM vault_records WHERE package_id = ?"
    if record_ids is None:
        found = home.db.execute(columns + " ORDER BY rowid", (package_id,)).fetchall()
    else:
        found = [
            row
            for record_id in dict.fromkeys(record_ids)
            for row in home.db.execute(
                columns + " AND tag = ?", (package_id, cipher.tag(record_id))
            )
        ]
    rows: list[WorkbookRow] = []
    edited: list[int] = []
    for rowid, tag, retention, sealed in found:
        row = _opened_row(cipher, tag, sealed)
        if row is None:
            edited.append(int(rowid))
            continue
        if cipher.tag(row.record_id) != tag:
            raise Tampered(_("a vault row belongs to another record"))
        if row.retention.isoformat() != str(retention):
            edited.append(int(rowid))
        rows.append(row)
    return VaultRows(tuple(rows), tuple(edited))


def _opened_row(cipher: RowCipher, tag: object, sealed: object) -> WorkbookRow | None:
    """The row, or None when it does not authenticate under its clear tag (the tag or
    the row was edited: a tag of another type or with other characters, too)."""
    if not isinstance(tag, str) or not tag.isascii():
        return None
    try:
        return decode_row(cipher.open(tag, blob(sealed)))
    except Tampered:
        return None


def signed_container(home: Home, package_id: str) -> bytes | None:
    row = home.db.execute(
        "SELECT container FROM vault_signed WHERE package_id = ?", (package_id,)
    ).fetchone()
    return None if row is None else blob(row[0])


def record_count(home: Home, package_id: str) -> int:
    row = home.db.execute(
        "SELECT COUNT(*) FROM vault_records WHERE package_id = ?", (package_id,)
    ).fetchone()
    return int(row[0])


# --- edits ------------------------------------------------------------------------------


def terminated(home: Home) -> dict[str, str]:
    """protocol id -> effective day (ISO), for every termination notice held."""
    return {
        str(r[0]): str(r[1])
        for r in home.db.execute("SELECT protocol_id, effective FROM vault_protocols")
    }


def table_snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every vault table's rows (tests compare before and after a refusal)."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    for table in VAULT_TABLES:
        try:
            result[table] = sorted(
                tuple(r)
                for r in conn.execute(f"SELECT * FROM {table}")  # noqa: S608
            )
        except sqlite3.OperationalError:
            result[table] = []
    return result
