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
import stat
from pathlib import Path

from securexchange.errors import Malformed, NotFound, SxError, UsageError
from securexchange.home import safefs
from securexchange.home.homeguard import check_secret_file
from securexchange.home.safefs import NOFOLLOW
from securexchange.i18n import _

TEMP_PREFIX = ".sx-tmp-"


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (no-op where unsupported)."""
    if os.name == "nt":  # pragma: no cover - Windows opens no directory; NTFS journals it
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - a directory this user may not read
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
        if exclusive and os.name == "nt":  # pragma: no cover - Windows
            # Windows' rename (MoveFileEx without REPLACE_EXISTING) refuses any existing
            # target, a link too, in one step; hard links fail on FAT and many shares.
            os.rename(temp, path)
        elif exclusive:
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
    if not safefs.FD_RELATIVE:  # Windows (tests/test_windows_paths.py runs it here too)
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


def _remove_temp_leftovers_by_name(directory: Path) -> int:
    """The same without directory descriptors: each leftover overwritten and removed by
    :func:`safefs.shred`, which looks at it with ``lstat`` first (no link, reparse point
    or directory is opened)."""
    if not directory.is_dir():
        return 0
    removed = 0
    for name in os.listdir(directory):
        if name.startswith(TEMP_PREFIX):
            with contextlib.suppress(OSError):
                removed += safefs.shred(directory, (name,))
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

    At most ``limit + 1`` bytes are ever read, so a huge or endless file (/dev/zero)
    costs nothing. Only a regular file is read: the open does not wait for a FIFO's
    writer (O_NONBLOCK) and anything but a regular file (FIFO, socket, device,
    directory) is refused before a byte is read, so no input can make a command hang.
    ``what`` names the file in messages; its content never.

    A ``secret`` file (a passphrase file) that others may read is refused before a
    byte of it is read (SX-KEY-PERMISSIONS), as OpenSSH refuses such a key file. A
    secret may also come from a pipe or a terminal (``<(...)``, ``/dev/stdin``): the
    user named it on purpose, and a pipe without a writer reads as empty, not for ever.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    # O_BINARY: Windows reads in text mode otherwise (CR LF turned to LF, Ctrl-Z as end).
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        # TRANSLATORS: {what} is a bare noun without article ("file", "key card").
        raise NotFound(_("no {what} at {path}").format(what=what, path=path)) from None
    except IsADirectoryError:
        raise _not_a(path, what) from None
    except OSError as exc:
        raise _unreadable(path, what, exc) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _not_a(path, what)
        if secret:
            check_secret_file(fd, path, what)
        if secret and (stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)):
            if hasattr(os, "O_NONBLOCK"):  # opened without it on Windows: nothing to undo
                os.set_blocking(fd, True)
        elif not stat.S_ISREG(info.st_mode):
            raise UsageError(
                # TRANSLATORS: {what} is a bare noun without article ("file", "key card").
                _("{path} is not a regular file, so not a {what}").format(path=path, what=what)
            )
        if info.st_size > limit:
            raise _too_large(too_large, path, what)
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise _unreadable(path, what, exc) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise _too_large(too_large, path, what)
    return data


def _not_a(path: Path, what: str) -> UsageError:
    # TRANSLATORS: {what} is a bare noun without article ("file", "key card").
    return UsageError(_("{path} is a directory, not a {what}").format(path=path, what=what))


def _unreadable(path: Path, what: str, exc: OSError) -> UsageError:
    # TRANSLATORS: {what} is a bare noun without article ("file", "key card"); {reason}
    # is the system's reason ("Permission denied").
    message = _("the {what} {path} cannot be read ({reason})")
    return UsageError(message.format(what=what, path=path, reason=_reason(exc)))


def _too_large(error: type[SxError], path: Path, what: str) -> SxError:
    # TRANSLATORS: {what} is a bare noun without article ("file", "key card").
    return error(_("{name} is too large to be a {what}").format(name=path.name, what=what))


PRIVATE_DIR_MODE = 0o700  # an output directory that will hold personal data or secrets
PUBLIC_DIR_MODE = 0o755  # one for files meant to be published (keyrings, notices)


def refuse_non_directory(path: Path) -> None:
    """Refuse an output directory that exists as something else (before any work)."""
    if path.exists() and not path.is_dir():
        raise UsageError(_("{path} exists and is not a directory").format(path=path))


def output_dir(path: Path, *, private: bool) -> None:
    """The ``--out`` rule of every command: use ``path`` if it is a directory, else
    create it (with missing parents, as ``mkdir -p`` does).

    A directory this creates gets mode 0700 when ``private`` (it will hold personal
    data, encrypted or not, or secrets), else 0755, set explicitly so the umask cannot
    widen it. An existing directory keeps its mode: it is the user's choice. Commands
    call it as late as they can (just before the first write) and
    :func:`refuse_non_directory` early, so a refused command leaves no directory behind.
    """
    refuse_non_directory(path)
    if path.is_dir():
        return
    mode = PRIVATE_DIR_MODE if private else PUBLIC_DIR_MODE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=mode)
    except FileExistsError:
        # Created meanwhile, or a dangling symlink: use it only if it is a directory now.
        if not path.is_dir():
            raise UsageError(_("{path} exists and is not a directory").format(path=path)) from None
        return
    except NotADirectoryError:
        raise UsageError(_("a parent of {path} is not a directory").format(path=path)) from None
    except PermissionError:
        raise UsageError(
            _("{path} cannot be created: permission denied").format(path=path)
        ) from None
    except OSError as exc:
        raise UsageError(
            # TRANSLATORS: {reason} is the system's reason ("No space left on device").
            _("{path} cannot be created ({reason})").format(path=path, reason=exc.strerror)
        ) from None
    os.chmod(path, mode)
    fsync_dir(path.parent)


def _reason(exc: OSError) -> str:
    """The system's words for an OS error, without the path it may quote."""
    # TRANSLATORS: the reason a file cannot be read, when the system gives none.
    return os.strerror(exc.errno) if exc.errno is not None else _("input/output error")
