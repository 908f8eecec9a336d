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
touches no file, lock or database connection it inherited. Whatever goes wrong in it
(an exception, a signal, a short write), the result is computed again in the caller,
which then raises what ``compute`` raises. Leaving the ``with`` block without asking
for the result (an exception) kills the child and reaps it.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
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
        try:
            data = _read_all(self._pipe)
        finally:
            self._reap(kill=False)
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
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, which coverage does not follow
        _run_child(compute, read_end, write_end)
    os.close(write_end)
    pending = Pending(compute, child, read_end)
    try:
        yield pending
    finally:
        pending._reap(kill=True)


def _run_child(compute: Callable[[], bytes], read_end: int, write_end: int) -> None:
    status = 1
    try:
        # The collector would walk the parent's objects: every page it touches is copied.
        gc.disable()
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
