"""The state database of a home (SQLite, standard library): the one place it is opened.

Settings, and why: ``secure_delete`` overwrites deleted content; the rollback journal
(``journal_mode=DELETE``, never WAL) is removed at each commit so no journal outlives a
command; ``synchronous=FULL`` makes every commit durable before the command reports it.
The tables themselves are declared in :mod:`securexchange.home.tables`; transactions are explicit.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from securexchange.errors import StateMissing, UnsafeHome
from securexchange.i18n import _


def connect(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """Open the state database with the settings above; creating it only if ``create``
    (without, a missing file is refused by :func:`missing`, never made anew and empty)."""
    if not create and not os.path.lexists(path):
        raise missing(path)
    where = path if create else f"{path.absolute().as_uri()}?mode=rw"
    try:
        conn = sqlite3.connect(where, isolation_level=None, timeout=30.0, uri=not create)
    except sqlite3.OperationalError:
        if create or os.path.lexists(path):
            raise
        raise missing(path) from None  # removed after the check above
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One atomic unit of work: committed on success, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def get_setting(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_setting(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO settings(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def missing(path: Path) -> StateMissing:
    """The named error for a home whose state database is gone.

    Not made anew: an empty database would know no subkey, and the next ``shred`` would
    remove every subkey file as a leftover, silently. Every command refuses instead;
    the scheduled ``municipality shred`` then destroys the keys on purpose, and says so
    (``municipality/damaged.py``): a missing database must not keep them either.
    """
    return StateMissing(
        _("the home's state database ({name}) is missing").format(name=path.name),
        hint=_("restore the whole home from a backup (then shred runs again)"),
    )


def damaged(error: BaseException) -> UnsafeHome | None:
    """The named error for SQLite's "not a database" / "disk image is malformed".

    The state database is a file anyone with access to the home can overwrite: a damaged
    one is a hostile input, not a bug. Only the exact ``DatabaseError`` class SQLite
    raises for a damaged file qualifies; its subclasses (a locked database, a missing
    table: bugs or busy homes) do not.
    """
    if type(error) is not sqlite3.DatabaseError:
        return None
    return UnsafeHome(
        _(
            "the home's state database (state.sqlite3) is damaged: not a database, or a "
            "damaged page"
        ),
        hint=_("restore the home from a backup (then shred runs again); nothing was changed"),
    )


def confirmed_damaged(path: Path) -> bool:
    """Whether the database at ``path`` is damaged at a second, complete look.

    One ``DatabaseError`` on the way through a command is not proof enough to destroy
    keys on: a fresh connection must fail the same way, or SQLite's own
    ``quick_check`` (every page read) must report a problem. A missing file, a locked
    one or any other error is not damage (the file is never created here).
    """
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=rw", uri=True, timeout=0)
    except sqlite3.Error:
        return False
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return type(exc) is sqlite3.DatabaseError
    finally:
        conn.close()
    return rows != [("ok",)]
