"""Who is new in a package: the records the package before it did not hold.

Known only at import, while the package it supersedes is still in the vault (the import
shreds it in the same transaction). Kept as the new package's row tags
(``vault_arrivals``: keyed per package, so they say nothing without its data key), with
the package it was compared with (``vault_compared``); both go when the package goes
(``vault.shred_package``).
The app's people page marks these people "nieuw".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from securexchange import age
from securexchange.errors import NotRecipient
from securexchange.home.home import Home
from securexchange.municipality import vault
from securexchange.municipality.sealing import RowCipher
from securexchange.sheets.layout import WorkbookRow


def note(
    home: Home,
    package_id: str,
    data_key: bytes,
    rows: Sequence[WorkbookRow],
    *,
    older: Sequence[vault.PackageRow],
    identities: Mapping[str, age.SecretIdentity],
) -> None:
    """Inside the import's transaction, before ``older`` is shredded."""
    if not older:
        return
    previous = older[-1]
    try:
        previous_key = vault.data_key(home, previous.package_id, identities)
    except NotRecipient:
        return  # its key was destroyed: nothing to compare with
    before = RowCipher(previous_key, previous.package_id)
    held = {
        str(r[0])
        for r in home.db.execute(
            "SELECT tag FROM vault_records WHERE package_id = ?", (previous.package_id,)
        )
    }
    cipher = RowCipher(data_key, package_id)
    home.db.execute(
        "INSERT INTO vault_compared (package_id, previous) VALUES (?, ?)",
        (package_id, previous.package_id),
    )
    home.db.executemany(
        "INSERT INTO vault_arrivals (package_id, tag) VALUES (?, ?)",
        (
            (package_id, cipher.tag(row.record_id))
            for row in rows
            if before.tag(row.record_id) not in held
        ),
    )


def arrived(
    home: Home, package_id: str, data_key: bytes, rows: Sequence[WorkbookRow]
) -> tuple[frozenset[str], bool]:
    """The record ids of ``rows`` new in the package, and whether it was compared."""
    compared = home.db.execute(
        "SELECT 1 FROM vault_compared WHERE package_id = ?", (package_id,)
    ).fetchone()
    if compared is None:
        return frozenset(), False
    tags = {
        str(r[0])
        for r in home.db.execute(
            "SELECT tag FROM vault_arrivals WHERE package_id = ?", (package_id,)
        )
    }
    cipher = RowCipher(data_key, package_id)
    return frozenset(r.record_id for r in rows if cipher.tag(r.record_id) in tags), True
