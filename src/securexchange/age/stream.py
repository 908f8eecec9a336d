"""The age payload: STREAM over ChaCha20-Poly1305 in 64 KiB chunks.

Chunk ``i`` is sealed with the nonce ``i`` (11 bytes, big-endian) followed by one byte,
1 for the final chunk and 0 otherwise, so chunks can be neither reordered, dropped nor
the stream truncated or extended without a tag failing. The final chunk may be short or
full, but empty only when the whole payload is empty.

The decryptor follows the reference implementation's order exactly, because the test
vectors pin down how much plaintext is released before a failure: a full chunk is first
tried as a middle chunk and only then as the final one, and trailing bytes after a final
chunk are an error raised after that chunk was released.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from securexchange.age.errors import AgePayloadError, AgeSizeError
from securexchange.age.primitives import TAG_SIZE
from securexchange.age.readahead import Readable, ReadAhead, aligned_buffer, read_full
from securexchange.i18n import _

CHUNK_SIZE = 64 * 1024
ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
NONCE_SIZE = 16  # the per-file nonce that salts the payload key
# Chunks are read and written 16 at a time (1 MiB): fewer system calls, same semantics.
BLOCK_CHUNKS = 16
BLOCK_SIZE = BLOCK_CHUNKS * CHUNK_SIZE
_COUNTER_LIMIT = 1 << 88
_NOTHING = memoryview(b"")


Write = Callable[[memoryview], object]


def _nonce(counter: int, last: bool) -> bytes:
    if counter >= _COUNTER_LIMIT:  # 2**88 chunks: unreachable in practice
        raise AgePayloadError(_("the payload has too many chunks"))
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def seal_block(
    aead: ChaCha20Poly1305, block: memoryview, counter: int, last: bool, out: memoryview
) -> int:
    """Seal ``block`` chunk by chunk into ``out``; return the sealed length.

    An empty block is sealed as one empty chunk: it only occurs as the whole payload.
    """
    n = len(block)
    pos = 0
    filled = 0
    while True:
        size = min(CHUNK_SIZE, n - pos)
        final = last and pos + size == n
        sealed = out[filled : filled + size + TAG_SIZE]
        aead.encrypt_into(_nonce(counter, final), block[pos : pos + size], None, sealed)
        counter += 1
        pos += size
        filled += size + TAG_SIZE
        if pos >= n:
            return filled


def encrypt(key: bytes, src: Readable, write: Write, *, read_ahead: bool = False) -> None:
    """Encrypt everything ``src`` yields.

    A payload longer than one block is read one block ahead: the block after the
    current one tells whether the current one holds the final chunk. With
    ``read_ahead`` (only for a source that cannot block: ``readahead.never_blocks``) it
    is read on a second thread, so reading overlaps sealing.
    """
    aead = ChaCha20Poly1305(key)
    out = aligned_buffer(BLOCK_CHUNKS * ENCRYPTED_CHUNK_SIZE)
    current = aligned_buffer(BLOCK_SIZE)
    n = read_full(src, current)
    if n < BLOCK_SIZE:  # all of it is in hand: no thread for a small payload
        write(out[: seal_block(aead, current[:n], 0, True, out)])
        return
    counter = 0
    with ReadAhead(src, BLOCK_SIZE, threaded=read_ahead) as blocks:
        for ahead in blocks:
            last = len(ahead) == 0
            write(out[: seal_block(aead, current, counter, last, out)])
            if last:
                return
            counter += BLOCK_CHUNKS
            current = ahead
        # The reader ended on a short, non-empty block: it holds the final chunk.
        write(out[: seal_block(aead, current, counter, True, out)])


def open_chunk(
    aead: ChaCha20Poly1305, counter: int, chunk: memoryview, out: memoryview, short: bool
) -> bool:
    """Decrypt chunk number ``counter`` into ``out[:len(chunk) - 16]``; return whether it
    was final.

    ``short`` says the source ended inside this chunk, so it must be the final one.
    """
    n = len(chunk)
    if n < TAG_SIZE:
        raise AgePayloadError(_("the payload is truncated (a chunk is shorter than its tag)"))
    if short and counter and n == TAG_SIZE:
        raise AgePayloadError(_("the final payload chunk is empty"))
    target = out[: n - TAG_SIZE]
    last = short
    try:
        aead.decrypt_into(_nonce(counter, last), chunk, None, target)
    except InvalidTag:
        if last:
            raise AgePayloadError(
                _("a payload chunk does not authenticate (corrupted or tampered)")
            ) from None
        # A full chunk may still be the final one.
        last = True
        try:
            aead.decrypt_into(_nonce(counter, last), chunk, None, target)
        except InvalidTag:
            raise AgePayloadError(
                _("a payload chunk does not authenticate (corrupted, truncated or tampered)")
            ) from None
    return last


class _ChunkOpener:
    """Opens chunks in order; shared by the streaming and the in-memory decryptor."""

    def __init__(self, key: bytes) -> None:
        self._aead = ChaCha20Poly1305(key)
        self._counter = 0

    def open(self, chunk: memoryview, out: memoryview, short: bool) -> bool:
        """Decrypt the next chunk (see :func:`open_chunk`); return whether it was final."""
        last = open_chunk(self._aead, self._counter, chunk, out, short)
        self._counter += 1
        return last


def check_cap(total: int, max_size: int | None) -> None:
    if max_size is not None and total > max_size:
        raise AgeSizeError(
            _("the payload is larger than the {limit}-byte limit").format(limit=max_size)
        )


def decrypt(
    key: bytes,
    src: Readable,
    write: Write,
    max_size: int | None = None,
    *,
    read_ahead: bool = False,
) -> int:
    """Decrypt a payload from ``src``, passing authenticated plaintext to ``write``.

    Memory is a few 1 MiB blocks whatever the payload size; with ``read_ahead`` they
    are read on a second thread, as for encryption. On a failure, the plaintext of every chunk that
    authenticated before it is written first and then the error is raised: callers
    needing all-or-nothing must buffer (or use ``decrypt_buffer``).
    """
    opener = _ChunkOpener(key)
    out = aligned_buffer(BLOCK_CHUNKS * CHUNK_SIZE)
    total = 0
    with ReadAhead(src, BLOCK_CHUNKS * ENCRYPTED_CHUNK_SIZE, threaded=read_ahead) as reader:
        blocks = iter(reader)
        for data in blocks:
            n = len(data)
            if n == 0:
                break
            pos = 0
            filled = 0
            try:
                while pos < n:
                    chunk = data[pos : pos + ENCRYPTED_CHUNK_SIZE]
                    pos += len(chunk)
                    short = len(chunk) < ENCRYPTED_CHUNK_SIZE
                    last = opener.open(chunk, out[filled:], short=short)
                    total += len(chunk) - TAG_SIZE
                    check_cap(total, max_size)
                    filled += len(chunk) - TAG_SIZE
                    if last:
                        if pos < n or len(next(blocks, _NOTHING)):
                            raise AgePayloadError(_("data follows the final payload chunk"))
                        return total
            finally:
                # Released chunk by chunk in effect: what authenticated goes out even
                # when a later chunk fails, as a chunk-at-a-time reader would release it.
                write(out[:filled])
    raise AgePayloadError(_("the payload is truncated (no final chunk)"))


def decrypt_buffer(key: bytes, payload: memoryview, max_size: int | None = None) -> bytes:
    """Decrypt a whole payload held in memory; return the plaintext only if all of it
    authenticated."""
    size = len(payload)
    if 0 < size % ENCRYPTED_CHUNK_SIZE < TAG_SIZE:
        # Whichever chunk is damaged, a stream that ends inside a tag cannot be valid;
        # refusing it here also keeps the plaintext buffer below exactly sized.
        raise AgePayloadError(_("the payload is truncated (a chunk is shorter than its tag)"))
    chunks = max(1, -(-size // ENCRYPTED_CHUNK_SIZE))
    # The cap is checked on the ciphertext size first so a huge file is refused at once.
    check_cap(size - chunks * TAG_SIZE, max_size)
    opener = _ChunkOpener(key)
    plaintext = bytearray(max(0, size - chunks * TAG_SIZE))
    out = memoryview(plaintext)
    pos = 0
    written = 0
    while True:
        chunk = payload[pos : pos + ENCRYPTED_CHUNK_SIZE]
        if not chunk:
            raise AgePayloadError(_("the payload is truncated (no final chunk)"))
        n = len(chunk)
        pos += n
        last = opener.open(chunk, out[written:], short=n < ENCRYPTED_CHUNK_SIZE)
        written += n - TAG_SIZE
        if last:
            if pos != size:
                raise AgePayloadError(_("data follows the final payload chunk"))
            return bytes(plaintext)
