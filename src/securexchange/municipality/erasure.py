"""Carrying out the agency's erasure instruction at import (GDPR art. 17, 19; issue 20).

A package may carry record ids the agency erased (``agency erase``,
:mod:`securexchange.artifacts.erasure_frame`). The package itself never holds such a
record (the importer refuses one that does). At import, inside the transaction that
stores the package, this home:

* deletes the record's rows from every package it still holds, explicitly, before the
  supersede shreds the rest (so the erasure does not depend on that rule);
* deletes every staff edit about the record, returned or not: a status typed for an
  erased person must not travel back;
* leaves the workbooks to the supersede: every workbook written from an older package is
  shredded by the same import's shredding pass (retention.shred), the new one never held
  the record;
* keeps, until the protocol's end, a digest of each erased id (``vault_erased``): a
  status typed later in an old workbook that could not be removed (Excel held it), or
  absorbed after a kill between the import's steps, is dropped when a return is
  collected (:func:`drop_pending`), never returned.

The log counts instructions, rows and edits; it never names a record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from securexchange.errors import NotRecipient
from securexchange.home.home import Home
from securexchange.municipality import vault
from securexchange.municipality.sealing import RowCipher

if TYPE_CHECKING:
    from securexchange import age

_TAG = b"securexchange/erased-record/v1\x00"


@dataclass(frozen=True)
class Erased:
    instructions: int
    records: int  # vault rows deleted (one per package that held the record)
    edits: int  # staff edits deleted


def _delete_rows(
    home: Home,
    package_ids: Sequence[str],
    erased: Collection[str],
    identities: Mapping[str, age.SecretIdentity],
) -> int:
    deleted = 0
    for package_id in package_ids:
        try:
            key = vault.data_key(home, package_id, identities)
        except NotRecipient:
            continue  # its key is gone: so are its rows, at the next shredding pass
        cipher = RowCipher(key, package_id)
        deleted += home.db.executemany(
            "DELETE FROM vault_records WHERE package_id = ? AND tag = ?",
            ((package_id, cipher.tag(record_id)) for record_id in erased),
        ).rowcount
    return deleted


def drop_edits(
    home: Home, erased: Collection[str], identities: Mapping[str, age.SecretIdentity]
) -> int:
    """Delete every staff edit about an erased record (inside the caller's transaction)."""
    if not erased:
        return 0
    from securexchange.municipality import staff_edits  # only when records are erased

    handles = [e.handle for e in staff_edits.edits(home, identities) if e.record in erased]
    home.db.executemany("DELETE FROM vault_edits WHERE id = ?", ((h,) for h in handles))
    return len(handles)


def _digest(record_id: str) -> str:
    # Record ids carry 100 bits: a plain hash cannot be reversed by trying candidates.
    return hashlib.sha256(_TAG + record_id.encode("ascii")).hexdigest()


def carry_out(
    home: Home,
    erased: Sequence[str],
    held: Sequence[str],
    identities: Mapping[str, age.SecretIdentity],
    *,
    until: date,
) -> Erased:
    """Erase ``erased`` from the packages ``held`` and from the edits, and remember them
    until ``until`` (inside the importer's transaction)."""
    if not erased:
        return Erased(0, 0, 0)
    gone = frozenset(erased)
    home.db.executemany(
        "INSERT OR REPLACE INTO vault_erased (digest, until) VALUES (?, ?)",
        ((_digest(r), until.isoformat()) for r in sorted(gone)),
    )
    records = _delete_rows(home, held, gone, identities)
    return Erased(len(gone), records, drop_edits(home, gone, identities))


def erased_among(home: Home, record_ids: Collection[str]) -> frozenset[str]:
    """Which of ``record_ids`` this home was told to erase."""
    kept = {str(d) for (d,) in home.db.execute("SELECT digest FROM vault_erased")}
    if not kept:
        return frozenset()
    return frozenset(r for r in record_ids if _digest(r) in kept)


def forget_past(home: Home, today: date) -> None:
    """Digests past their protocol's end go (nothing of it is held any more)."""
    home.db.execute("DELETE FROM vault_erased WHERE until < ?", (today.isoformat(),))
