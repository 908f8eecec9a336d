"""Atomic file writes, and capped reads of files named on the command line.

A write goes to a temporary file in the target's directory, is flushed and fsynced,
renamed over the target, and the directory is fsynced, so a crash leaves either the old
file or the new one, never a torn one. Temporary names start with ``.sx-tmp-`` so a
later run can recognise and remove leftovers of a killed process.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from securexchange import safefs
from securexchange.errors import Malformed, NotFound, SxError, UsageError
from securexchange.homeguard import check_secret_file
from securexchange.safefs import NOFOLLOW

TEMP_PREFIX = ".sx-tmp-"


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` atomically with permissions ``mode``.

    With ``exclusive`` the write fails (FileExistsError) when ``path`` exists already,
    so two writers can never replace each other's file silently. No step follows a
    symbolic link at the final name: the temporary file is created with ``O_EXCL |
    O_NOFOLLOW`` and its mode set through its descriptor, and rename and link replace
    or refuse a link at ``path``, never write through it. (Links in the directories
    above are the home's concern: ``homeguard`` refuses them before a command runs.)
    """
    directory = path.parent
    temp = directory / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)  # the umask narrowed it; never by name
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not hasattr(os, "fchmod"):  # pragma: no cover - Windows
            os.chmod(temp, mode)
        if exclusive:
            # link() fails if the target exists, unlike rename(); it must not follow
            # a link swapped in at the temporary name either.
            os.link(temp, path, follow_symlinks=os.link not in os.supports_follow_symlinks)
            os.unlink(temp)
        else:
            os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_dir(directory)


def remove_temp_leftovers(directory: Path) -> int:
    """Shred temporary files a killed writer left in ``directory``; returns the count.

    A leftover may be a half-written workbook (personal data in clear) or a sealed
    subkey that was since destroyed, so it is overwritten before it is unlinked, and,
    like every removal, never followed or opened when it is a link or special file.
    """
    if not safefs.FD_RELATIVE:  # pragma: no cover - Windows
        return _remove_temp_leftovers_by_name(directory)
    try:
        fd = safefs.open_dir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    removed = 0
    try:
        for name in os.listdir(fd):
            if not name.startswith(TEMP_PREFIX):
                continue
            # One leftover that cannot go (immutable, in use) must not stop the command
            # that would shred everything else; the next command tries again.
            with contextlib.suppress(OSError):
                removed += safefs.shred_at(fd, name)
    finally:
        os.close(fd)
    return removed


def _remove_temp_leftovers_by_name(directory: Path) -> int:  # pragma: no cover - Windows
    removed = 0
    if not directory.is_dir():
        return 0
    for entry in directory.iterdir():
        if entry.name.startswith(TEMP_PREFIX) and not entry.is_dir():
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed += 1
    if removed:
        fsync_dir(directory)
    return removed


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) readable by the owner only."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def read_capped(
    path: Path,
    *,
    limit: int,
    what: str,
    too_large: type[SxError] = Malformed,
    secret: bool = False,
) -> bytes:
    """The bytes of a file named on the command line, refusing more than ``limit``.

    At most ``limit + 1`` bytes are ever read, so a huge or endless file (a FIFO,
    /dev/zero) costs nothing. ``what`` names the file in messages; its content never.
    A ``secret`` file (a passphrase file) that others may read is refused before a
    byte of it is read (SX-KEY-PERMISSIONS), as OpenSSH refuses such a key file.
    """
    try:
        with open(path, "rb") as handle:
            if secret:
                check_secret_file(handle.fileno(), path, what)
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise NotFound(f"no {what} at {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a {what}") from None
    if len(data) > limit:
        raise too_large(f"{path.name} is too large to be a {what}")
    return data
