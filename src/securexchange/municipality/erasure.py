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
  the record.

The log counts instructions, rows and edits; it never names a record.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from securexchange.errors import NotRecipient
from securexchange.home.home import Home
from securexchange.municipality import staff_edits, vault
from securexchange.municipality.sealing import RowCipher

if TYPE_CHECKING:
    from securexchange import age


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
    handles = [e.handle for e in staff_edits.edits(home, identities) if e.record in erased]
    home.db.executemany("DELETE FROM vault_edits WHERE id = ?", ((h,) for h in handles))
    return len(handles)


def carry_out(
    home: Home,
    erased: Sequence[str],
    held: Sequence[str],
    identities: Mapping[str, age.SecretIdentity],
) -> Erased:
    """Erase ``erased`` from the packages ``held`` and from the edits (inside the
    importer's transaction)."""
    if not erased:
        return Erased(0, 0, 0)
    gone = frozenset(erased)
    records = _delete_rows(home, held, gone, identities)
    return Erased(len(gone), records, drop_edits(home, gone, identities))
