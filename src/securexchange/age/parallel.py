"""The STREAM payload sealed and opened on several cores, in order, in bounded memory.

STREAM chunks are independent by construction: chunk ``i`` is sealed with the nonce
``i`` and its final flag, nothing else. So the caller's thread reads the source block
by block, in order, and hands each block (16 chunks) with its first counter and final
flag to a queue; helper threads (and the caller's thread, while it waits) seal or open
queued blocks; the caller's thread writes the results in the order they were read.
``cryptography``'s ChaCha20-Poly1305 releases the GIL while it seals or opens a chunk, so
two cores work at once.

What this must not change, and why it cannot:

- The bytes. Every chunk goes through :func:`stream.seal_block` /
  :func:`stream.open_chunk`, the sequential implementation's own functions, with the
  counter it would have given it; the final flag of a block is set only once the next
  read came back empty, as there. tests/test_age_parallel.py proves the output (and,
  for decryption, the released plaintext and the error) equal to :mod:`.stream`.
- The order of release on decryption: a block's plaintext is written only after every
  block before it, and only up to its first chunk that fails, exceeds the size cap or
  is a final chunk followed by more data; then that error is raised, exactly where the
  sequential decryptor raises it. A helper may have opened later blocks: they are
  dropped unwritten.
- Memory: ``depth`` blocks of input and as many of output, whatever the payload size;
  by default 48 chunks (3 MiB) of each, about what the sequential path holds.
- Who touches what: only the caller's thread reads the source and writes the
  destination; helpers touch nothing but the buffers handed to them, so any source
  (pipes too) is safe, and a read or write error is raised in the caller's thread.
  Helpers are stopped and joined whenever the call returns or raises.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable
from queue import Empty, SimpleQueue

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from securexchange.age.errors import AgePayloadError
from securexchange.age.primitives import TAG_SIZE
from securexchange.age.readahead import Readable, aligned_buffer, read_full
from securexchange.age.stream import (
    BLOCK_CHUNKS,
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    Write,
    check_cap,
    open_chunk,
    seal_block,
)
from securexchange.i18n import _

MAX_HELPERS = 3
# Chunks in flight by default, input and output each: 3 MiB, whatever the helper count.
IN_FLIGHT_CHUNKS = 48


def helpers_available() -> int:
    """How many helper threads are worth starting: one per usable core beyond ours."""
    cores = os.cpu_count() or 1  # Windows and macOS: the machine's count
    if hasattr(os, "sched_getaffinity"):  # Linux: the cores this process may use
        with contextlib.suppress(OSError):
            cores = len(os.sched_getaffinity(0))
    return max(0, min(cores - 1, MAX_HELPERS))


def _shape(helpers: int, block_chunks: int, depth: int) -> tuple[int, int]:
    """The block size (in chunks) and the blocks in flight; 0 means the default.

    By default one block per thread and one more (the caller's thread holds a block
    while it reads the next), sharing ``IN_FLIGHT_CHUNKS``: 16-chunk (1 MiB) blocks
    with one helper, smaller ones with more.
    """
    depth = max(depth or helpers + 2, 2)
    block_chunks = block_chunks or min(BLOCK_CHUNKS, max(1, IN_FLIGHT_CHUNKS // depth))
    return block_chunks, depth


class _Slot:
    """One block in flight: its input, its output and what the job found."""

    __slots__ = (
        "buffer",
        "data",
        "done",
        "error",
        "final",
        "first",
        "last",
        "length",
        "offset",
        "opened",
        "sink",
    )

    def __init__(self, source_size: int, sink_size: int) -> None:
        self.buffer = aligned_buffer(source_size)
        self.data = self.buffer  # the part of ``buffer`` read for this job
        self.sink = aligned_buffer(sink_size)
        # Held while a job is queued or running, released by whoever ran it.
        self.done = threading.Lock()
        self.done.acquire()
        self.first = 0  # the counter of the block's first chunk
        self.last = False  # sealing: the block holds the final chunk
        self.length = 0  # sealing: bytes sealed into ``sink``
        self.offset = 0  # sealing a regular file by position: where ``data`` is read
        self.opened = 0  # opening: chunks that authenticated
        self.final = False  # opening: the last of them was the final chunk
        self.error: BaseException | None = None


Job = Callable[[ChaCha20Poly1305, _Slot], None]


class _Crew:
    """Helper threads running jobs from one queue, each with its own AEAD instance.

    The caller's thread runs queued jobs too while it waits for the oldest one
    (:meth:`wait`), so a busy machine that gives the helpers no core still makes
    progress. Helpers start with the second job (a one-block payload starts none).
    """

    def __init__(self, key: bytes, helpers: int, job: Job) -> None:
        self._key = key
        self._job = job
        self._aead = ChaCha20Poly1305(key)
        self._queue: SimpleQueue[_Slot | None] = SimpleQueue()
        self._helpers = helpers
        self._threads: list[threading.Thread] = []
        self._submitted = 0
        self._stopping = False

    def __enter__(self) -> _Crew:
        return self

    def __exit__(self, *exc: object) -> None:
        # Queued jobs are skipped, the running ones finish (a chunk takes microseconds);
        # when this returns no helper thread is left.
        self._stopping = True
        for _thread in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def submit(self, slot: _Slot) -> None:
        slot.error = None
        self._queue.put(slot)
        self._submitted += 1
        if self._submitted == 2:
            for _ in range(self._helpers):
                thread = threading.Thread(
                    target=self._serve,
                    args=(ChaCha20Poly1305(self._key),),
                    name="age-stream-helper",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

    def wait(self, slot: _Slot) -> None:
        """Return once ``slot``'s job has run, running queued jobs meanwhile."""
        while not slot.done.acquire(blocking=False):
            try:
                other = self._queue.get_nowait()
            except Empty:
                slot.done.acquire()
                return
            if other is not None:
                self._run(self._aead, other)

    def _serve(self, aead: ChaCha20Poly1305) -> None:
        while True:
            slot = self._queue.get()
            if slot is None:
                return
            self._run(aead, slot)

    def _run(self, aead: ChaCha20Poly1305, slot: _Slot) -> None:
        try:
            if not self._stopping:
                self._job(aead, slot)
        except BaseException as exc:  # raised in the caller's thread, in order
            slot.error = exc
        finally:
            slot.done.release()


# --- encryption -----------------------------------------------------------------------


def _seal(aead: ChaCha20Poly1305, slot: _Slot) -> None:
    slot.length = seal_block(aead, slot.data, slot.first, slot.last, slot.sink)


class _Encryption:
    """The caller's side of a parallel encryption: reads, queues, and writes in order."""

    def __init__(self, src: Readable, write: Write, crew: _Crew, block_chunks: int) -> None:
        self._src = src
        self._write = write
        self._crew = crew
        self._block = block_chunks * CHUNK_SIZE
        self._block_chunks = block_chunks
        self._free: deque[_Slot] = deque()
        self._pending: deque[_Slot] = deque()

    def run(self, depth: int) -> None:
        sealed = self._block_chunks * ENCRYPTED_CHUNK_SIZE
        self._free.extend(_Slot(self._block, sealed) for _ in range(depth))
        held = self._free.popleft()
        n = read_full(self._src, held.buffer)
        first = 0
        while n == self._block:
            if not self._free:
                self._retire()
            ahead = self._free.popleft()
            try:
                n = read_full(self._src, ahead.buffer)
            except Exception:
                # The held block is never sealed (nobody knows whether it is final);
                # the blocks before it go out, as the sequential encryptor wrote them.
                self._retire_all()
                raise
            self._queue(held, self._block, first, last=n == 0)
            if n == 0:
                break
            first += self._block_chunks
            held = ahead
        else:  # a short (or, for an empty payload, empty) block holds the final chunk
            self._queue(held, n, first, last=True)
        self._retire_all()

    def _queue(self, slot: _Slot, n: int, first: int, *, last: bool) -> None:
        slot.data = slot.buffer[:n]
        slot.first = first
        slot.last = last
        self._pending.append(slot)
        self._crew.submit(slot)

    def _retire(self) -> None:
        slot = self._pending.popleft()
        self._crew.wait(slot)
        self._free.append(slot)
        if slot.error is not None:
            raise slot.error
        self._before_writing(slot)
        self._write(slot.sink[: slot.length])

    def _before_writing(self, slot: _Slot) -> None:
        """A last check of a sealed block before it goes out (none here)."""

    def _retire_all(self) -> None:
        while self._pending:
            self._retire()


def encrypt(
    key: bytes,
    src: Readable,
    write: Write,
    *,
    helpers: int,
    block_chunks: int = 0,
    depth: int = 0,
) -> None:
    """Encrypt everything ``src`` yields; the same bytes as :func:`stream.encrypt`.

    A block is queued once the read after it returned: only then is it known whether
    it holds the final chunk (the next read came back empty, or it is itself short).
    ``block_chunks`` and ``depth`` shape the pipeline (0: the default, see
    :func:`_shape`); they change neither the bytes nor where an error is raised.
    """
    block_chunks, depth = _shape(helpers, block_chunks, depth)
    with _Crew(key, helpers, _seal) as crew:
        _Encryption(src, write, crew, block_chunks).run(depth)


# --- decryption -----------------------------------------------------------------------


def _open(aead: ChaCha20Poly1305, slot: _Slot) -> None:
    """Open the block's chunks up to the first that fails or is final."""
    data = slot.data
    slot.opened = 0
    slot.final = False
    pos = 0
    filled = 0
    counter = slot.first
    while pos < len(data):
        chunk = data[pos : pos + ENCRYPTED_CHUNK_SIZE]
        pos += len(chunk)
        last = open_chunk(
            aead, counter, chunk, slot.sink[filled:], len(chunk) < ENCRYPTED_CHUNK_SIZE
        )
        slot.opened += 1
        filled += len(chunk) - TAG_SIZE
        counter += 1
        if last:
            slot.final = True
            return


class _Decryption:
    """The caller's side of a parallel decryption: reads, queues, and releases in order."""

    def __init__(
        self, src: Readable, write: Write, max_size: int | None, crew: _Crew, block_chunks: int
    ) -> None:
        self._src = src
        self._write = write
        self._max_size = max_size
        self._crew = crew
        self._block = block_chunks * ENCRYPTED_CHUNK_SIZE
        self._block_chunks = block_chunks
        self._free: deque[_Slot] = deque()
        self._pending: deque[_Slot] = deque()
        self._first = 0
        self._total = 0
        self._ended = False  # a read came back short: the source is done
        self._failure: Exception | None = None  # a read failed: raised in its turn

    def run(self, depth: int) -> int:
        sink = self._block_chunks * CHUNK_SIZE
        self._free.extend(_Slot(self._block, sink) for _ in range(depth))
        while True:
            self._fill()
            if not self._pending:
                if self._failure is not None:
                    raise self._failure
                raise AgePayloadError(_("the payload is truncated (no final chunk)"))
            slot = self._pending.popleft()
            self._crew.wait(slot)
            try:
                if self._release(slot):
                    return self._total
            finally:
                self._free.append(slot)

    def _fill(self) -> None:
        """Read and queue blocks while a buffer is free and the source goes on.

        A read error is kept and raised once every block read before it was released,
        where a sequential reader would have met it.
        """
        while self._free and not self._ended and self._failure is None:
            slot = self._free[0]
            try:
                n = read_full(self._src, slot.buffer)
            except Exception as exc:
                self._failure = exc
                return
            self._ended = n < self._block
            if n == 0:
                return
            self._free.popleft()
            slot.data = slot.buffer[:n]
            slot.first = self._first
            self._first += self._block_chunks
            self._pending.append(slot)
            self._crew.submit(slot)

    def _release(self, slot: _Slot) -> bool:
        """Write what the block may release, in the sequential order of checks; return
        whether the payload ended with it; raise where the sequential decryptor would."""
        size = len(slot.data)
        filled = 0
        try:
            for index in range(slot.opened):
                plain = min(ENCRYPTED_CHUNK_SIZE, size - index * ENCRYPTED_CHUNK_SIZE) - TAG_SIZE
                self._total += plain
                check_cap(self._total, self._max_size)
                filled += plain
            if slot.error is not None:
                raise slot.error
            if not slot.final:
                return False
            if slot.opened * ENCRYPTED_CHUNK_SIZE < size or self._more_follows():
                raise AgePayloadError(_("data follows the final payload chunk"))
            return True
        finally:
            # What authenticated before the failure goes out, as the sequential
            # decryptor releases it.
            self._write(slot.sink[:filled])

    def _more_follows(self) -> bool:
        """Whether the source holds anything after the block just released."""
        if self._pending:  # a block read after it (never an empty one)
            return True
        if self._failure is not None:
            raise self._failure
        if self._ended:
            return False
        return read_full(self._src, self._free[0].buffer) > 0


def decrypt(
    key: bytes,
    src: Readable,
    write: Write,
    max_size: int | None = None,
    *,
    helpers: int,
    block_chunks: int = 0,
    depth: int = 0,
) -> int:
    """Decrypt a payload from ``src``; the same plaintext released and the same error
    raised, at the same point, as :func:`stream.decrypt`."""
    block_chunks, depth = _shape(helpers, block_chunks, depth)
    with _Crew(key, helpers, _open) as crew:
        return _Decryption(src, write, max_size, crew, block_chunks).run(depth)
