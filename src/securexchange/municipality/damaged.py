"""Shredding in a home whose state database is damaged or missing.

A damaged ``state.sqlite3`` ("not a database", a malformed page) or a missing one
makes every command refuse, ``shred`` included: the deadlines, the vault and the subkey
table are all in it. Refusing alone would let a state anybody can create (bytes written
over one file, or the file deleted) keep every subkey file, and so every mailed copy of
its packages, readable indefinitely.

So the scheduled ``municipality shred`` destroys what it can find without the database:
every subkey file in ``keys/subkeys/`` and every workbook the program named in
``workbooks/``. Little is lost that was not lost already: the vault's rows are in the
damaged database, and a restore of the whole home from a backup brings the files back
together with a database that can say which of them are past their date (the next
command then shreds those again). What it costs is the chance to salvage unreturned
edits from the damaged file by hand.

Only definite damage destroys: the command that met the error has released the home by
then, so the home is locked again and its database looked at a second time, completely
(a fresh connection, SQLite's ``quick_check``). A database that reads back whole then (a
passing read error, a home restored in between) destroys nothing. A missing database
is looked for again under the lock in the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from securexchange.errors import UnsafeHome
from securexchange.home import homeguard, safefs, statedb
from securexchange.home.home import holding_lock
from securexchange.municipality.subkeys import SUBKEY_DIR

KEYS_DIR = "keys"
WORKBOOKS_DIR = "workbooks"
WORKBOOK_PREFIX = "inburgeraars-"


@dataclass(frozen=True)
class DamagedShred:
    """What was destroyed, and how many files are still there (retried next time)."""

    subkey_files: int
    workbooks: int
    remaining: int


def _names(root: Path, parts: tuple[str, ...]) -> list[str]:
    """The entries of ``root/parts`` (no link followed); none when it is missing."""
    if not safefs.FD_RELATIVE:  # Windows: no directory descriptors, each part by lstat
        try:
            return sorted(os.listdir(safefs.check_dirs(root, parts)))
        except (FileNotFoundError, NotADirectoryError, UnsafeHome):
            return []
    try:
        fd = safefs.open_dir(root, parts)
    except (FileNotFoundError, UnsafeHome):
        return []
    try:
        return sorted(os.listdir(fd))
    finally:
        os.close(fd)


def destroy_without_state(root: Path) -> DamagedShred:
    """Overwrite and remove every subkey file and program-named workbook of the home at
    ``root`` (never through a link: a link at a name is unlinked, its target kept)."""
    keys = (KEYS_DIR, SUBKEY_DIR)
    subkey_names = [n for n in _names(root, keys) if n.startswith("sk-") and n.endswith(".key")]
    book_names = [
        n
        for n in _names(root, (WORKBOOKS_DIR,))
        if n.startswith(WORKBOOK_PREFIX) and n.endswith(".xlsx")
    ]
    removed_keys = sum(safefs.remove(root, (*keys, n)) is None for n in subkey_names)
    removed_books = sum(safefs.remove(root, (WORKBOOKS_DIR, n)) is None for n in book_names)
    remaining = len(subkey_names) + len(book_names) - removed_keys - removed_books
    return DamagedShred(removed_keys, removed_books, remaining)


def shred_damaged_home(root: Path, *, env: Mapping[str, str]) -> DamagedShred | None:
    """:func:`destroy_without_state` under the home's lock, only when its state database
    is still missing or damaged at a second, complete look; None (nothing destroyed)
    when not."""
    with holding_lock(root, env=env) as paths:
        homeguard.check_home(root)
        gone = not os.path.lexists(paths.state_db)
        if not gone and not statedb.confirmed_damaged(paths.state_db):
            return None
        return destroy_without_state(root)
