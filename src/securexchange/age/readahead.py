"""Reading the next blocks of a source, on a second thread when that is safe.

ChaCha20-Poly1305 in ``cryptography`` and file reads both release the GIL, so a reader
thread filling a small ring of buffers lets reading and sealing overlap on two cores. The
ring is fixed (``depth`` buffers), so memory stays independent of the payload size.
Whatever the reader raises is re-raised to the consumer, in order, after the blocks read
before it.

The thread is used only for sources whose reads always finish (:func:`never_blocks`: a
regular file or an in-memory buffer), and it is always joined when the context is left,
normally or by an error: once ``encrypt``/``decrypt`` return or raise, nothing reads the
caller's source any more (a retry after ``seek(0)`` must not share it with a leftover
reader), and no thread is left blocked inside a pipe's ``readinto`` holding its lock.
Other sources (pipes, sockets, terminals, unknown readables) are read inline, one block
ahead, exactly as before the thread existed.
"""

from __future__ import annotations

import io
import mmap
import os
import queue
import stat
import threading
from collections.abc import Iterator
from typing import Protocol


class Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


def aligned_buffer(size: int) -> memoryview:
    """A zeroed, writable buffer of ``size`` bytes that starts on a page boundary.

    Reading a file from the page cache into it, the kernel's copy runs at full speed. A
    large ``bytearray`` starts 16 bytes past a page boundary (malloc's header in front of
    it), and on some x86 CPUs (AMD Zen 3) the kernel's ``rep movsb`` copies a page about
    four times slower to 1 to 31 bytes past its own alignment: that alone was a quarter
    of the CPU time of encrypting a file. The buffer is an anonymous mapping: memory like
    any other, with no file behind it (nothing that could be truncated under us).
    """
    return memoryview(mmap.mmap(-1, max(size, 1)))[:size]


def read_full(src: Readable, view: memoryview, stop: threading.Event | None = None) -> int:
    """Fill ``view`` unless the source ends first (or ``stop`` is set); return how many
    bytes were read."""
    total = 0
    size = len(view)
    while total < size:
        if stop is not None and stop.is_set():
            break
        n = src.readinto(view[total:])
        if not n:
            break
        total += n
    return total


def never_blocks(src: object) -> bool:
    """Whether every read of ``src`` finishes by itself: an in-memory buffer or a
    regular file (not a pipe, socket or terminal, which may wait forever)."""
    if isinstance(src, io.BytesIO):
        return True
    fileno = getattr(src, "fileno", None)
    if fileno is None:
        return False
    try:
        return stat.S_ISREG(os.fstat(fileno()).st_mode)
    except (OSError, ValueError, TypeError, io.UnsupportedOperation):
        return False


class _Stop:
    """Handed to the reader in place of a free buffer: the consumer has gone."""


class ReadAhead:
    """Blocks of ``block_size`` bytes from ``src``; the last one is short or empty.

    Use as a context manager and iterate. A yielded view is valid until the iteration
    after the next one (the consumer may hold the current block while it looks at the
    next, which is how an encryptor learns which chunk is final). With ``threaded``
    the blocks are read on a second thread, which leaving the context stops and joins;
    without it they are read inline when asked for.
    """

    def __init__(self, src: Readable, block_size: int, *, threaded: bool, depth: int = 4) -> None:
        if depth < 3:
            raise ValueError("the ring needs a block held, a block peeked and one filling")
        self._src = src
        self._buffers = [aligned_buffer(block_size) for _ in range(depth)]
        self._free: queue.Queue[memoryview | _Stop] = queue.Queue()
        self._filled: queue.Queue[tuple[memoryview, int] | BaseException] = queue.Queue()
        for buffer in self._buffers:
            self._free.put(buffer)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._run, name="age-readahead", daemon=True)

    def __enter__(self) -> ReadAhead:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._free.put(_Stop())  # wakes a reader waiting for a free buffer
        # Joined on errors too: the source is a regular file or a buffer (never_blocks),
        # so the one read in flight, if any, finishes; nothing reads it after we return.
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                buffer = self._free.get()
                if isinstance(buffer, _Stop):
                    return
                n = read_full(self._src, buffer, self._stop)
                if self._stop.is_set():
                    return
                self._filled.put((buffer, n))
                if n < len(buffer):
                    return
        except BaseException as exc:  # handed over, raised in the consumer's thread
            self._filled.put(exc)

    def _next(self) -> tuple[memoryview, int]:
        if self._thread is None:
            buffer = self._free.get_nowait()
            assert not isinstance(buffer, _Stop)
            return buffer, read_full(self._src, buffer)
        item = self._filled.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def __iter__(self) -> Iterator[memoryview]:
        held: list[memoryview] = []
        while True:
            buffer, n = self._next()
            # The consumer is done with the block before the one it still holds.
            if len(held) == 2:
                self._free.put(held.pop(0))
            held.append(buffer)
            yield buffer[:n]
            if n < len(buffer):
                return
