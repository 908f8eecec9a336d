"""The home's own files and directories checked before use, as OpenSSH checks ``~/.ssh``.

Refused with SX-UNSAFE-HOME, before the lock is taken and before anything is written:

- the home directory owned by another user, or writable by group or others;
- ``keys/``, ``keys/subkeys/``, ``workbooks/``, ``outbox/`` likewise, or a symbolic link
  or anything but a directory;
- ``home.json``, ``state.sqlite3`` (and its journal, WAL and shared-memory files),
  ``log.jsonl``, ``.lock``: a
  symbolic link or anything but a regular file, a second hard link of a file written
  in place, another owner, or writable by group or others.

The home itself is taken as named (``~/.local/share`` may be a link); what is below it
never is. Key files are checked where they are read (``keystore.check_permissions``),
passphrase files where they are read (:func:`check_secret_file`). On Windows POSIX
modes and owners mean nothing: only the link and file-kind checks run there.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from securexchange.errors import KeyPermissions, UnsafeHome
from securexchange.home.safefs import reparse_point
from securexchange.i18n import _

HOME_DIRS: tuple[tuple[str, ...], ...] = (
    ("keys",),
    ("keys", "subkeys"),
    ("workbooks",),
    ("outbox",),
    ("app",),  # the gemeente-app's launch files (securexchange.app.launch)
)
HOME_FILES: tuple[str, ...] = (
    "home.json",
    "state.sqlite3",
    "state.sqlite3-journal",
    # Never written (the journal mode is DELETE), but SQLite opens them when they exist:
    # a link or directory planted there made every command fail with exit 3.
    "state.sqlite3-wal",
    "state.sqlite3-shm",
    "log.jsonl",
    ".lock",
)
# Files written in place (SQLite pages, appended log lines, the lock): a second hard
# link would let its other name see or steer those writes. home.json is only ever
# replaced by rename, and an exclusive create links it twice for an instant.
WRITTEN_IN_PLACE = frozenset(HOME_FILES) - {"home.json"}

POSIX = os.name != "nt"


def _check_owner(path: Path, st: os.stat_result) -> None:
    if POSIX and st.st_uid != os.geteuid():
        raise UnsafeHome(
            _("{path} belongs to another user").format(path=path),
            hint=_(
                "use a home of your own, or have its owner run: chown -R $(id -un) {path}"
            ).format(path=path),
        )


def check_owner(path: Path) -> None:
    """Refuse an existing directory another user owns (before it is made private)."""
    _check_owner(path, os.stat(path))


def _owner_and_mode(path: Path, st: os.stat_result, *, private: int) -> None:
    if not POSIX:  # pragma: no cover - Windows: ACLs, not modes
        return
    _check_owner(path, st)
    if st.st_mode & 0o022:
        raise UnsafeHome(
            _("{path} may be changed by other users").format(path=path),
            hint=_("make it private with: chmod {mode:o} {path}").format(mode=private, path=path),
        )


def check_home(root: Path) -> None:
    """Refuse a home whose directories or files others could change or redirect."""
    st = os.stat(root)  # the home as named: a link to it is the user's choice
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeHome(_("{path} is not a directory").format(path=root))
    _owner_and_mode(root, st, private=0o700)
    for parts in HOME_DIRS:
        path = root.joinpath(*parts)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(st.st_mode) or reparse_point(st):
            raise UnsafeHome(
                _(
                    "{path} is a symbolic link or not a directory; the home's directories "
                    "must be real directories inside it"
                ).format(path=path),
                hint=_("move it aside and replace it with a real directory: {path}").format(
                    path=path
                ),
            )
        _owner_and_mode(path, st, private=0o700)
    for name in HOME_FILES:
        path = root / name
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        linked = st.st_nlink != 1 and name in WRITTEN_IN_PLACE
        if not stat.S_ISREG(st.st_mode) or linked or reparse_point(st):
            raise UnsafeHome(
                _(
                    "{path} is a symbolic link, a hard link or not a regular file; "
                    "securexchange never writes through one"
                ).format(path=path),
                hint=_("move it aside (it is not the home's own file): {path}").format(path=path),
            )
        _owner_and_mode(path, st, private=0o600)


def check_secret_file(fd: int, path: Path, what: str) -> None:
    """Refuse a regular secret file (a passphrase file) that others may read.

    Pipes and terminals (``<(...)``, ``/dev/stdin``) are not files others can open
    later, and are accepted.
    """
    if not POSIX:  # pragma: no cover - Windows: ACLs, not modes
        return
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
        raise KeyPermissions(
            # TRANSLATORS: {what} is a bare noun without article ("passphrase file").
            _("the {what} {path} may be read by other users").format(what=what, path=path),
            hint=_("make it private with: chmod 600 {path}").format(path=path),
        )
