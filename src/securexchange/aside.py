"""Bytes computed in a forked child while the caller goes on (issue 22: both cores).

``municipality open`` renders the workbook (0.08 s for 5,000 rows) and registers it
(keyed digests, the database: about as long): the two need the same rows and nothing
of each other. :func:`aside` starts the rendering in a child made by ``fork`` and the
caller registers meanwhile; :meth:`Pending.result` then takes the child's bytes.

Only where that is safe: on Linux, in a process running no other thread (a fork copies
one thread, and a lock another thread held would stay held in the child forever).
Anywhere else ``compute`` runs in the caller when the result is asked for, so every
platform gets the same bytes.

The child does nothing but ``compute`` and writing its result into a pipe, and ends
with ``os._exit``: it never returns into the caller's code, runs no exit handler and
touches no file, lock or database connection it inherited. So no exception may reach
it before it is inside its ``try``: every signal is blocked across the fork, and the
child takes the default action for each (Ctrl-C ends it, raising nothing) before it
unblocks them; and its cyclic collector is off, so no finalizer of the caller's
garbage (a buffered file, a temporary file) runs in it. Whatever goes wrong in it (an
exception, a signal, a short write), or when no child can be made, the result is
computed in the caller, which then raises what ``compute`` raises. Leaving the
``with`` block, or the wait for the result, by an exception kills the child and reaps
it.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress

_LENGTH = 8  # the result's length, before it in the pipe
_CHUNK = 1 << 20
# A child exists only where fork does (Linux); Windows has no SIGKILL.
_KILL = getattr(signal, "SIGKILL", signal.SIGTERM)


class Pending:
    """The result of ``compute``: from the child, or computed here."""

    def __init__(self, compute: Callable[[], bytes], child: int | None, pipe: int | None) -> None:
        self._compute = compute
        self._child = child
        self._pipe = pipe

    def result(self) -> bytes:
        """The bytes ``compute`` returns (waits for the child)."""
        if self._child is None or self._pipe is None:
            return self._compute()
        data = b""
        try:
            data = _read_all(self._pipe)
        finally:
            # Interrupted (Ctrl-C): without waiting for the child to finish its work.
            self._reap(kill=not data)
        if len(data) >= _LENGTH and int.from_bytes(data[:_LENGTH], "big") == len(data) - _LENGTH:
            return data[_LENGTH:]
        return self._compute()  # the child failed: the caller computes (and raises)

    def _reap(self, *, kill: bool) -> None:
        child, pipe = self._child, self._pipe
        self._child = self._pipe = None
        if pipe is not None:
            os.close(pipe)
        if child is not None:
            if kill:
                with suppress(ProcessLookupError):  # an unreaped child is always there
                    os.kill(child, _KILL)
            os.waitpid(child, 0)


def can_fork() -> bool:
    """Whether :func:`aside` forks here (Linux, no other thread running)."""
    return sys.platform == "linux" and threading.active_count() == 1


@contextmanager
def aside(compute: Callable[[], bytes]) -> Iterator[Pending]:
    """``compute`` started in a forked child where that is safe (module docstring)."""
    if not can_fork():
        yield Pending(compute, None, None)
        return
    read_end, write_end = os.pipe()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        child = os.fork()
    except OSError:  # no process to be had (a limit, memory): computed here
        child = -1
    if child == 0:  # pragma: no cover - runs in the child, which coverage does not follow
        _run_child(compute, read_end, write_end, mask)
    os.close(write_end)
    if child < 0:
        os.close(read_end)
    pending = Pending(compute, child, read_end) if child > 0 else Pending(compute, None, None)
    try:
        # A signal that came meanwhile is handled now, inside the block that reaps.
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        yield pending
    finally:
        pending._reap(kill=True)


def _run_child(
    compute: Callable[[], bytes], read_end: int, write_end: int, mask: Iterable[int]
) -> None:
    status = 1
    try:
        # No finalizer of the parent's garbage runs here, and no page is copied for it.
        gc.disable()
        for number in signal.valid_signals():
            if callable(signal.getsignal(number)):
                signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(read_end)
        data = compute()
        _write_all(write_end, len(data).to_bytes(_LENGTH, "big") + data)
        status = 0
    finally:
        os._exit(status)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[:_CHUNK]) :]


def _read_all(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, _CHUNK):
        parts.append(chunk)
    return b"".join(parts)
