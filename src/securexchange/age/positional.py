"""A regular file's payload sealed on several cores, each thread reading its own blocks.

:mod:`.parallel` reads the source on the caller's thread alone, because a source may be
a pipe that can only be read in order. That read is a copy from the page cache, and
with the writing it is the part that does not spread over the cores (1 GiB: 0.17 s of
one core, about as much as the sealing costs each of two). A regular file needs no
order: its size is known, and every block can be read at its offset (``os.preadv``) by
the thread that seals it. The caller's thread only queues blocks and writes them out in
order.

What this must not change, and why it cannot:

- The bytes. Block ``k`` holds the file's bytes ``[start + k * B, start + (k + 1) * B)``,
  the same bytes the sequential reader hands to the same block, sealed by
  :func:`stream.seal_block` with the same counter; the last block (by the size read at
  the start) holds the final chunk, as the sequential reader finds it when its next
  read comes back empty. An empty file is one empty final chunk, as there.
  tests/test_age_positional.py holds the output equal to :mod:`.stream`'s.
- A file that changes size while it is read: a block read short (it shrank) or any byte
  found past the size at the end (it grew) is an error (SX-TAMPERED: the payload would
  not be what was asked for), never a silently different payload, and raised before
  the final chunk is written, so no complete payload is left behind. The sequential path
  seals whatever the reads return; here the size is fixed at the start. A file
  overwritten in place (same size) is sealed as the reads find it, on either path.
- Which sources: only a file object of :func:`open` on a regular file that has blocks
  on disk. A wrapper's ``fileno()`` may be the file it decodes (gzip, a tar member),
  and a pseudo file's size (procfs, sysfs) says nothing of its content.
- Memory, helpers and errors: :mod:`.parallel`'s pipeline (:class:`.parallel._Crew`,
  ``depth`` blocks of input and output), so an error is raised in the caller's thread,
  in order, after the blocks before it were written.

POSIX only (``os.preadv``); elsewhere :func:`regular_file` says None and :mod:`.parallel`
reads in order.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from securexchange.age.errors import AgePayloadError
from securexchange.age.parallel import Job, _Crew, _Encryption, _seal, _shape, _Slot
from securexchange.age.stream import ENCRYPTED_CHUNK_SIZE, Write
from securexchange.i18n import _

POSITIONAL = hasattr(os, "preadv")


@dataclass(frozen=True)
class RegularFile:
    """The rest of a regular file from its current position: descriptor, start, size."""

    fd: int
    start: int
    size: int


def _own_file(src: object) -> bool:
    """Whether ``src`` reads its descriptor's bytes as they are, with its own position.

    A wrapper may forward ``fileno()`` to a file it decodes while ``tell()`` counts what
    it yields (gzip, bz2, lzma; a tar member's ``tell()`` is within the member): read by
    position, that file's raw bytes would be sealed. Only the ``open()`` types qualify,
    exactly (a subclass may change what ``readinto`` returns).
    """
    if type(src) in (io.BufferedReader, io.BufferedRandom):
        src = getattr(src, "raw", None)
    return type(src) is io.FileIO


def regular_file(src: object) -> RegularFile | None:
    """``src`` as a :class:`RegularFile` when its remaining bytes can be read by position
    (a file object of :func:`open` on a regular file); else None."""
    if not POSITIONAL or not isinstance(src, io.IOBase) or not _own_file(src):
        return None
    try:
        fd = src.fileno()
        status = os.fstat(fd)
        start = src.tell()
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(status.st_mode) or not 0 <= start <= status.st_size:
        return None
    if status.st_blocks == 0:
        # No block on disk: empty, all hole, or a pseudo file (procfs says 0 bytes,
        # sysfs 4096, whatever they hold) whose size is no promise; read in order.
        return None
    return RegularFile(fd, start, status.st_size - start)


def _changed() -> AgePayloadError:
    return AgePayloadError(_("the file changed while it was encrypted"))


def _read_at(fd: int, view: memoryview, offset: int) -> int:
    """Fill ``view`` from ``offset``; how many bytes the file had there."""
    if not POSITIONAL:  # pragma: no cover - regular_file() said None already
        return 0
    total = 0
    while total < len(view):
        n = os.preadv(fd, [view[total:]], offset + total)
        if not n:
            break
        total += n
    return total


def _read_and_seal(fd: int) -> Job:
    def job(aead: ChaCha20Poly1305, slot: _Slot) -> None:
        if _read_at(fd, slot.data, slot.offset) != len(slot.data):
            raise _changed()  # it shrank
        _seal(aead, slot)

    return job


class _PositionalEncryption(_Encryption):
    """The caller's side: queue every block by position, write them out in order."""

    def __init__(self, file: RegularFile, write: Write, crew: _Crew, block_chunks: int) -> None:
        super().__init__(io.BytesIO(), write, crew, block_chunks)
        self._file = file

    def run(self, depth: int) -> None:
        sealed = self._block_chunks * ENCRYPTED_CHUNK_SIZE
        self._free.extend(_Slot(self._block, sealed) for _ in range(depth))
        size = self._file.size
        blocks = max(1, -(-size // self._block))
        for index in range(blocks):
            if not self._free:
                self._retire()
            slot = self._free.popleft()
            start = index * self._block
            slot.offset = self._file.start + start
            self._queue(
                slot,
                min(self._block, size - start),
                index * self._block_chunks,
                last=index == blocks - 1,
            )
        self._retire_all()

    def _before_writing(self, slot: _Slot) -> None:
        # The final chunk authenticates the payload: it is written only once every block
        # was read and nothing was found past the size, or a refused file would still
        # leave a complete payload behind.
        start, size = self._file.start, self._file.size
        if slot.last and _read_at(self._file.fd, memoryview(bytearray(1)), start + size):
            raise _changed()  # it grew


def encrypt(
    key: bytes,
    file: RegularFile,
    write: Write,
    *,
    helpers: int,
    block_chunks: int = 0,
    depth: int = 0,
) -> None:
    """Encrypt the rest of ``file``; the same bytes as :func:`stream.encrypt` for a file
    that keeps its size meanwhile."""
    block_chunks, depth = _shape(helpers, block_chunks, depth)
    with _Crew(key, helpers, _read_and_seal(file.fd)) as crew:
        _PositionalEncryption(file, write, crew, block_chunks).run(depth)
