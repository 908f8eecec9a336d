"""Data keys moved to the current subkey at each unlock, so destroying an old subkey
never loses live data; and which subkeys the vault still needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.municipality import subkeys
from securexchange.municipality.sealing import (
    DATA_KEY_SIZE,
    unwrap,
    wrap,
)
from securexchange.municipality.subkeys import blob

if TYPE_CHECKING:
    from securexchange import age
from securexchange.municipality.vault import MAX_EXPECTED_BYTES


def rewrap(home: Home, identities: Mapping[str, age.SecretIdentity], recipient: str) -> int:
    """Wrap every data key, edit and workbook expectation held for an older subkey to
    ``recipient`` (so the older subkey stops being needed). Returns how many moved."""
    moved = 0
    db = home.db
    for package_id, subkey, wrapped in db.execute(
        "SELECT package_id, subkey, wrapped FROM vault_data_keys WHERE subkey != ?", (recipient,)
    ).fetchall():
        identity = identities.get(str(subkey))
        if identity is None:
            continue
        secret = unwrap(blob(wrapped), [identity], DATA_KEY_SIZE)
        db.execute(
            "UPDATE vault_data_keys SET subkey = ?, wrapped = ? WHERE package_id = ?",
            (recipient, wrap(secret, recipient), package_id),
        )
        moved += 1
    for ident, subkey, sealed_blob in db.execute(
        "SELECT id, subkey, sealed FROM vault_edits WHERE subkey != ?", (recipient,)
    ).fetchall():
        identity = identities.get(str(subkey))
        if identity is None:
            continue
        plain = unwrap(blob(sealed_blob), [identity], MAX_EXPECTED_BYTES)
        db.execute(
            "UPDATE vault_edits SET subkey = ?, sealed = ? WHERE id = ?",
            (recipient, wrap(plain, recipient), ident),
        )
        moved += 1
    # A workbook's expected cells and its harvest are sealed to the same subkey.
    for ident, subkey, expected, harvest in db.execute(
        "SELECT workbook_id, subkey, expected, harvest FROM vault_workbooks WHERE subkey != ?",
        (recipient,),
    ).fetchall():
        identity = identities.get(str(subkey))
        if identity is None:
            continue
        moved_harvest = None
        if harvest is not None:
            moved_harvest = wrap(unwrap(bytes(harvest), [identity], MAX_EXPECTED_BYTES), recipient)
        plain = unwrap(bytes(expected), [identity], MAX_EXPECTED_BYTES)
        db.execute(
            "UPDATE vault_workbooks SET subkey = ?, expected = ?, harvest = ? "
            "WHERE workbook_id = ?",
            (recipient, wrap(plain, recipient), moved_harvest, ident),
        )
        moved += 1
    return moved


def rewrap_to_current(home: Home, identities: Mapping[str, age.SecretIdentity]) -> int:
    """Every command that unlocks the subkeys calls this: whatever is wrapped to an
    older subkey moves to the current one, in its own transaction, so that no subkey
    has to outlive its validity for the data it protects (a subkey file is destroyed
    at its valid-until plus :data:`subkeys.DESTROY_GRACE` whatever is still wrapped to
    it). Returns how many items moved."""
    recipient = subkeys.current_recipient(home)
    if recipient is None or recipient not in identities:
        return 0
    with statedb.transaction(home.db):
        return rewrap(home, identities, recipient)


def needed_subkeys(home: Home) -> set[str]:
    """Subkeys something in the vault is still wrapped to."""
    found: set[str] = set()
    for table in ("vault_data_keys", "vault_edits", "vault_workbooks"):
        found.update(
            str(r[0])
            for r in home.db.execute(f"SELECT DISTINCT subkey FROM {table}")  # noqa: S608
        )
    return found
