"""Reading and removing files that shredding must get rid of, whatever was planted there.

A registered workbook's path and a subkey file's path are names anyone with access to
the folder can replace: with a symbolic link (a write would reach its target), a hard
link (overwriting would zero the other name's data too), a FIFO (opening it blocks
forever) or a device. So a file is opened only when ``lstat`` says it is a regular file
with one link, never through a link (``O_NOFOLLOW``) and never blocking
(``O_NONBLOCK``), and the opened file must still be the one ``lstat`` saw; anything else
is unlinked without being opened. Nothing here waits for anything: removal either
happens now or returns the reason it did not, and the caller retries at its next pass.

(Minimal on purpose: a general no-follow file layer for the whole home is separate work.)
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from securexchange.atomicio import fsync_dir

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_CHUNK = 1 << 20

NOT_REMOVABLE = "cannot be removed (in use, or no permission)"


def _same_regular(before: os.stat_result, after: os.stat_result) -> bool:
    return (
        stat.S_ISREG(after.st_mode)
        and after.st_nlink == 1
        and (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)
    )


def read_regular(path: Path, *, limit: int) -> bytes | None:
    """The bytes of the regular file at ``path``; None when it is absent, unreadable,
    not a regular file (a symlink, FIFO, device, directory) or larger than ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _BINARY)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, _CHUNK):
            total += len(chunk)
            if total > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _overwrite(path: Path, seen: os.stat_result) -> None:
    """Zero-fill the file ``lstat`` saw, if it can still be opened as that file.

    Best effort: it helps on plain disks only (docs/threat-model.md), and a file that
    cannot be opened for writing is still unlinked by the caller.
    """
    try:
        fd = os.open(path, os.O_WRONLY | _NOFOLLOW | _NONBLOCK | _BINARY)
    except OSError:
        return
    try:
        info = os.fstat(fd)
        if not _same_regular(seen, info):
            return
        remaining = info.st_size
        zeros = bytes(min(_CHUNK, remaining))
        while remaining > 0:
            remaining -= os.write(fd, zeros[: min(_CHUNK, remaining)])
        os.fsync(fd)
    except OSError:
        return
    finally:
        os.close(fd)


def remove(path: Path) -> str | None:
    """Overwrite (regular single-link files only) and unlink ``path``.

    Returns None once nothing is at ``path`` any more, else the problem to list and
    retry. ``unlink`` removes a symlink itself, never its target.
    """
    try:
        seen = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError:
        return "cannot be read"
    if stat.S_ISDIR(seen.st_mode):
        return "is a directory, not a workbook"
    if stat.S_ISREG(seen.st_mode) and seen.st_nlink == 1:
        _overwrite(path, seen)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return None
    except OSError:
        return NOT_REMOVABLE
    with contextlib.suppress(OSError):
        fsync_dir(path.parent)
    return None


def exists(path: Path) -> bool:
    """Whether anything (a dangling symlink too) is at ``path``."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return True
