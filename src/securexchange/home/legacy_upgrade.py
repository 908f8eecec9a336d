"""The one upgrade a home has needed: a municipal home from before signed copies of
packages were kept (``tables.apply`` notes it pending when it creates ``vault_signed``
where ``vault_packages`` existed)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from securexchange.clock import format_instant
from securexchange.home import statedb

# A package's validity (package.DEFAULT_VALID_DAYS): no package made before signed
# copies were kept lives longer than this after the upgrade.
LEGACY_DAYS = 60


# Set in the transaction that creates ``vault_signed`` in a home that held packages
# before, cleared in the transaction that lists them as legacy and logs it: a command
# that fails between the two leaves the upgrade pending, never lost.
LEGACY_PENDING = "upgrade.legacy-pending"


def upgrade_pending(conn: sqlite3.Connection) -> bool:
    """Whether an upgrade decided by :func:`apply` has not run yet."""
    return statedb.get_setting(conn, LEGACY_PENDING) is not None


def upgrade(conn: sqlite3.Connection, now: datetime) -> list[str]:
    """Run a pending upgrade (inside the caller's transaction); the package ids it touched.

    A municipal home from before signed copies were kept (``apply`` created
    ``vault_signed`` where ``vault_packages`` existed) lists its live packages in
    ``vault_legacy``, bounded at ``now`` + :data:`LEGACY_DAYS`, instead of shredding them
    all as tampered. Dropping ``vault_signed`` to pass packages off as legacy therefore
    shows in the log, and the vault caps every legacy bound at its last legacy day
    whatever is stored.
    """
    if not upgrade_pending(conn):
        return []
    bound = format_instant(now + timedelta(days=LEGACY_DAYS))
    live = [
        str(row[0])
        for row in conn.execute(
            "SELECT package_id FROM vault_packages WHERE state = 'live' ORDER BY package_id"
        )
    ]
    conn.executemany(
        "INSERT OR IGNORE INTO vault_legacy (package_id, bound) VALUES (?, ?)",
        [(package_id, bound) for package_id in live],
    )
    conn.execute("DELETE FROM settings WHERE key = ?", (LEGACY_PENDING,))
    return live
