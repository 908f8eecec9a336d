"""File-system primitives that never follow a link below a trusted directory.

A *trusted directory* is the home, or the folder a registered workbook was written to:
it is opened as named (the user chose it; ``~`` may well be a link), and every path
component below it is opened relative to its descriptor with ``O_NOFOLLOW``, so a
symbolic link planted inside can never redirect a write, an overwrite or a removal.

Overwriting is the dangerous operation: it destroys whatever the name points at. So a
file is overwritten only when it is a regular file with a single link, opened with
``O_NOFOLLOW | O_NONBLOCK`` (a FIFO swapped in after the check never blocks us) and
checked again by ``fstat`` to be the very file that was inspected. Anything else — a
symbolic link, a hard link (its other names keep the content; overwriting would change
a file we do not own the meaning of), a FIFO, a socket, a device — is unlinked without
ever being opened. A directory standing where a file was registered is left alone: the
file it replaced is gone already.

Where the platform lacks ``O_NOFOLLOW`` or ``dir_fd`` (Windows), the same decisions are
taken on ``lstat`` of the full path; Windows needs administrator rights or developer
mode to create symbolic links, and its reparse points are refused the same way.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from securexchange.errors import UnsafeHome
from securexchange.i18n import N_, _

NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY: int = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC: int = getattr(os, "O_CLOEXEC", 0)
_NOCTTY: int = getattr(os, "O_NOCTTY", 0)
_BINARY: int = getattr(os, "O_BINARY", 0)

# Relative, no-follow operations need all of these; Windows has none of them.
FD_RELATIVE: bool = (
    os.name != "nt"
    and NOFOLLOW != 0
    and os.open in os.supports_dir_fd
    and os.unlink in os.supports_dir_fd
    and os.stat in os.supports_dir_fd
)

_CHUNK = 1 << 20
Fill = Callable[[int], bytes]


def zeros(size: int) -> bytes:
    return bytes(size)


def random_bytes(size: int) -> bytes:
    return os.urandom(size)


def _refuse(path: Path) -> UnsafeHome:
    return UnsafeHome(
        _(
            "{path} is a symbolic link or not a directory; securexchange never follows a link "
            "inside its home or a workbook folder"
        ).format(path=path),
        hint=_("replace the link with a real directory (nothing was changed): {path}").format(
            path=path
        ),
    )


def open_dir(base: Path, parts: Sequence[str] = ()) -> int:
    """A descriptor for ``base/parts...``: ``base`` as named, each part without following.

    Raises UnsafeHome when a part is a symbolic link or not a directory, and
    FileNotFoundError when one is missing. The caller closes the descriptor.
    """
    fd = os.open(base, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    walked = base
    try:
        for part in parts:
            walked = walked / part
            if part in ("", ".", "..") or "/" in part or os.sep in part:
                raise _refuse(walked)
            try:
                child = os.open(part, os.O_RDONLY | _DIRECTORY | NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise _refuse(walked) from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_dirs(base: Path, parts: Sequence[str]) -> Path:
    """What :func:`open_dir` refuses, checked with ``lstat`` where there are no
    directory descriptors (Windows): ``base/parts...``, each part a real directory, not
    a symbolic link or another reparse point (a junction). Returns the path; raises
    UnsafeHome, or FileNotFoundError when a part is missing."""
    walked = base
    for part in parts:
        walked = walked / part
        if part in ("", ".", "..") or "/" in part or os.sep in part:
            raise _refuse(walked)
        st = os.lstat(walked)
        if not stat.S_ISDIR(st.st_mode) or reparse_point(st):
            raise _refuse(walked)
    return walked


def reparse_point(st: os.stat_result) -> bool:
    """Whether an ``lstat`` result is a Windows reparse point (always False on POSIX)."""
    flag = getattr(stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0)
    return bool(getattr(st, "st_file_attributes", 0) & flag)


def entry(dir_fd: int, name: str) -> os.stat_result | None:
    """The ``lstat`` of ``name`` in the directory ``dir_fd`` (None when it is missing)."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def overwritable(st: os.stat_result) -> bool:
    """Whether a file with this ``lstat`` may be opened for overwriting."""
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _open_checked(dir_fd: int, name: str, seen: os.stat_result, flags: int) -> int | None:
    """``name`` opened without following, if it is still the single-link file ``seen``."""
    try:
        fd = os.open(name, flags | NOFOLLOW | _NONBLOCK | _NOCTTY | _CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    now = os.fstat(fd)
    if overwritable(now) and _same(now, seen):
        return fd
    os.close(fd)
    return None


def _open_for_overwrite(dir_fd: int, name: str, seen: os.stat_result) -> int | None:
    fd = _open_checked(dir_fd, name, seen, os.O_RDWR)
    if fd is not None:
        return fd
    # A read-only file must not shield its content: make it writable through a
    # descriptor of the very same file (never by name), then open it again.
    probe = _open_checked(dir_fd, name, seen, os.O_RDONLY)
    if probe is None:
        return None
    try:
        os.fchmod(probe, 0o600)
    except OSError:
        return None
    finally:
        os.close(probe)
    return _open_checked(dir_fd, name, seen, os.O_RDWR)


def _overwrite(fd: int, size: int, fill: Fill) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    left = size
    while left > 0:
        chunk = fill(min(left, _CHUNK))
        written = os.write(fd, chunk)
        left -= written
    os.fsync(fd)


def shred_at(dir_fd: int, name: str, *, fill: Fill = zeros) -> bool:
    """Overwrite (when safe) and unlink ``name`` in ``dir_fd``; True when something went.

    Never follows a link and never opens anything but a single-link regular file. A
    directory standing at ``name`` is left alone (returns False). The unlink is made
    durable with an fsync of the directory.
    """
    seen = entry(dir_fd, name)
    if seen is None or stat.S_ISDIR(seen.st_mode):
        return False
    if overwritable(seen):
        fd = _open_for_overwrite(dir_fd, name, seen)
        if fd is not None:
            try:
                _overwrite(fd, seen.st_size, fill)
            finally:
                os.close(fd)
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return False
    with contextlib.suppress(OSError):
        os.fsync(dir_fd)
    return True


def _shred_path(path: Path, fill: Fill) -> bool:
    """:func:`shred_at` by path, for Windows: the same decisions on ``lstat``."""
    try:
        seen = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(seen.st_mode):
        return False
    if overwritable(seen) and not reparse_point(seen):
        with contextlib.suppress(OSError):
            os.chmod(path, stat.S_IREAD | stat.S_IWRITE)
        try:
            fd = os.open(path, os.O_RDWR | _BINARY)
        except OSError:
            fd = -1
        if fd >= 0:
            try:
                if _same(os.fstat(fd), seen):
                    _overwrite(fd, seen.st_size, fill)
            finally:
                os.close(fd)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def shred(base: Path, relative: Sequence[str], *, fill: Fill = zeros) -> bool:
    """Overwrite and remove ``base/relative...``, following no link below ``base``.

    ``relative`` names the directories below ``base`` and then the file. Returns True
    when an entry was removed, False when there was nothing to remove. Raises
    UnsafeHome when a directory below ``base`` is a link, FileNotFoundError never.
    """
    *dirs, name = relative
    if not FD_RELATIVE:  # Windows: each directory checked by lstat, then the file
        try:
            check_dirs(base, dirs)
        except FileNotFoundError:
            return False
        return _shred_path(base.joinpath(*relative), fill)
    try:
        fd = open_dir(base, dirs)
    except FileNotFoundError:
        return False
    try:
        return shred_at(fd, name, fill=fill)
    finally:
        os.close(fd)


def read_regular(path: Path, *, limit: int) -> bytes | None:
    """At most ``limit + 1`` bytes of ``path`` if it is a regular file, else None.

    The folder is taken as named, the name is not followed: a link, a FIFO (which
    would block the reader), a device (``/dev/zero`` would never end) or a directory
    reads as None, like a missing file.
    """
    if FD_RELATIVE:
        try:
            dir_fd = open_dir(path.parent)
        except (OSError, UnsafeHome):
            return None
        try:
            fd = os.open(path.name, os.O_RDONLY | NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=dir_fd)
        except OSError:
            return None
        finally:
            os.close(dir_fd)
    else:  # Windows: the name looked at first, then opened
        if is_link_or_special(path):
            return None
        try:
            fd = os.open(path, os.O_RDONLY | _BINARY)
        except OSError:
            return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return handle.read(limit + 1)


def is_link_or_special(path: Path) -> bool:
    """Whether ``path`` exists and is anything but a regular file or a real directory."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if reparse_point(st):
        return True  # pragma: no cover - Windows
    return not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode))


# Problems are stored in English (the state database is read in any language) and
# marked so that whoever shows one translates it (workbook_cells.shown_problem).
NOT_REMOVABLE = N_("cannot be removed (in use, or no permission)")


def remove(base: Path, relative: Sequence[str], *, fill: Fill = zeros) -> str | None:
    """:func:`shred` that never raises: None once nothing is at the name any more, else
    the problem to show and retry at the next pass (nothing here waits)."""
    try:
        shred(base, relative, fill=fill)
    except UnsafeHome:
        return N_("its folder is a symbolic link or not a directory")
    except FileNotFoundError:
        return None
    except OSError:
        return NOT_REMOVABLE
    if exists(base.joinpath(*relative)):
        return N_("a directory stands at its name")  # shred leaves a directory alone
    return None


def exists(path: Path) -> bool:
    """Whether anything (a dangling symbolic link too) is at ``path``."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return True
