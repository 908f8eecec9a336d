"""Reading the next blocks of a source on a second thread while this one encrypts.

ChaCha20-Poly1305 in ``cryptography`` and file reads both release the GIL, so a reader
thread filling a small ring of buffers lets reading and sealing overlap on two cores. The
ring is fixed (``depth`` buffers), so memory stays independent of the payload size.
Whatever the reader raises is re-raised to the consumer, in order, after the blocks read
before it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Protocol


class Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


def read_full(src: Readable, view: memoryview) -> int:
    """Fill ``view`` unless the source ends first; return how many bytes were read."""
    total = 0
    size = len(view)
    while total < size:
        n = src.readinto(view[total:])
        if not n:
            break
        total += n
    return total


class _Stop:
    """Handed to the reader in place of a free buffer: the consumer has gone."""


class ReadAhead:
    """Blocks of ``block_size`` bytes from ``src``; the last one is short or empty.

    Use as a context manager and iterate. A yielded view is valid until the iteration
    after the next one (the consumer may hold the current block while it looks at the
    next, which is how an encryptor learns which chunk is final). Leaving the context
    stops the reader.
    """

    def __init__(self, src: Readable, block_size: int, depth: int = 4) -> None:
        if depth < 3:
            raise ValueError("the ring needs a block held, a block peeked and one filling")
        self._src = src
        self._free: queue.Queue[memoryview | _Stop] = queue.Queue()
        self._filled: queue.Queue[tuple[memoryview, int] | BaseException] = queue.Queue()
        for _ in range(depth):
            self._free.put(memoryview(bytearray(block_size)))
        self._depth = depth
        self._thread = threading.Thread(target=self._run, name="age-readahead", daemon=True)

    def __enter__(self) -> ReadAhead:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        for _ in range(self._depth):
            self._free.put(_Stop())
        if exc_type is None:
            self._thread.join()
        # After a failure the reader may be blocked in a read of a pipe that never ends;
        # it is a daemon and stops at its next free buffer, so it is not waited for.

    def _run(self) -> None:
        try:
            while True:
                buffer = self._free.get()
                if isinstance(buffer, _Stop):
                    return
                n = read_full(self._src, buffer)
                self._filled.put((buffer, n))
                if n < len(buffer):
                    return
        except BaseException as exc:  # handed over, raised in the consumer's thread
            self._filled.put(exc)

    def __iter__(self) -> Iterator[memoryview]:
        held: list[memoryview] = []
        while True:
            item = self._filled.get()
            if isinstance(item, BaseException):
                raise item
            buffer, n = item
            # The consumer is done with the block before the one it still holds.
            if len(held) == 2:
                self._free.put(held.pop(0))
            held.append(buffer)
            yield buffer[:n]
            if n < len(buffer):
                return
