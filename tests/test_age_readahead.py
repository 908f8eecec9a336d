"""The read-ahead behind streaming encryption: order, boundaries, failures and stopping."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from securexchange import age
from securexchange.age.primitives import TAG_SIZE
from securexchange.age.readahead import ReadAhead, never_blocks
from securexchange.age.stream import BLOCK_SIZE, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE


class _Trickle(io.RawIOBase):
    """A source that hands out at most ``step`` bytes per read, like a pipe."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._step, len(self._data))
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


class _Failing(io.RawIOBase):
    """Yields ``good`` bytes, then fails the way a disk read error would."""

    def __init__(self, good: int) -> None:
        self._left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._left == 0:
            raise OSError(5, "Input/output error")
        n = min(len(buffer), self._left)
        buffer[:n] = b"\x00" * n
        self._left -= n
        return n


@pytest.mark.parametrize("threaded", [True, False], ids=["thread", "inline"])
@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 2000, 4321])
def test_blocks_come_in_order_and_end_short_or_empty(size: int, threaded: bool) -> None:
    data = bytes(i % 251 for i in range(size))
    with ReadAhead(_Trickle(data, 7), 1000, threaded=threaded) as blocks:
        seen = [bytes(b) for b in blocks]
    assert b"".join(seen) == data
    assert all(len(b) == 1000 for b in seen[:-1])
    assert len(seen[-1]) < 1000  # the consumer learns the end from a short or empty block


@pytest.mark.parametrize("threaded", [True, False], ids=["thread", "inline"])
def test_a_held_block_stays_intact_while_the_next_is_read(threaded: bool) -> None:
    data = bytes(range(256)) * 40
    with ReadAhead(io.BytesIO(data), 256, threaded=threaded) as blocks:
        previous: memoryview | None = None
        copies: list[bytes] = []
        for block in blocks:
            if previous is not None:
                assert bytes(previous) == copies[-1]  # still the bytes it was when yielded
            copies.append(bytes(block))
            previous = block
    assert b"".join(copies) == data


@pytest.mark.parametrize("threaded", [True, False], ids=["thread", "inline"])
def test_a_read_error_reaches_the_consumer_after_the_blocks_before_it(threaded: bool) -> None:
    got = 0
    with (
        pytest.raises(OSError, match="Input/output error"),
        ReadAhead(_Failing(2500), 1000, threaded=threaded) as blocks,
    ):
        for block in blocks:
            got += len(block)
    assert got == 2000


def test_leaving_early_stops_the_reader_thread() -> None:
    before = {t.ident for t in threading.enumerate()}
    with ReadAhead(io.BytesIO(bytes(100_000)), 1000, threaded=True) as blocks:
        next(iter(blocks))
    alive = [t for t in threading.enumerate() if t.ident not in before]
    assert alive == []


def test_a_short_depth_is_refused() -> None:
    with pytest.raises(ValueError):
        ReadAhead(io.BytesIO(b""), 1000, threaded=True, depth=2)


@pytest.mark.parametrize(
    "size",
    [BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 2 * BLOCK_SIZE, 2 * BLOCK_SIZE + CHUNK_SIZE],
)
def test_encryption_across_block_boundaries_round_trips_from_a_trickling_source(
    size: int,
) -> None:
    plaintext = bytes(i % 253 for i in range(size))
    identity = age.X25519Identity.generate()
    out = io.BytesIO()
    age.encrypt_stream(_Trickle(plaintext, 50_000), out, [identity.recipient])  # type: ignore[arg-type]
    ciphertext = out.getvalue()
    chunks = max(1, -(-size // CHUNK_SIZE))
    payload = size + chunks * (ENCRYPTED_CHUNK_SIZE - CHUNK_SIZE)
    header_and_nonce = len(age.encrypt(b"", [identity.recipient])) - TAG_SIZE
    assert len(ciphertext) == header_and_nonce + payload  # every chunk sealed exactly once
    assert age.decrypt(ciphertext, [identity]) == plaintext


def test_a_failing_source_fails_encryption_without_a_final_chunk() -> None:
    identity = age.X25519Identity.generate()
    out = io.BytesIO()
    with pytest.raises(OSError):
        age.encrypt_stream(_Failing(3 * BLOCK_SIZE + 5), out, [identity.recipient])  # type: ignore[arg-type]
    with pytest.raises(age.AgePayloadError):
        age.decrypt(out.getvalue(), [identity])


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "age-readahead"]


class _SlowFile(io.FileIO):
    """A regular file whose reads take a moment, so a leftover reader would be caught
    still reading."""

    def readinto(self, buffer: Any) -> int | None:  # type: ignore[override]
        time.sleep(0.002)
        return super().readinto(buffer)


def test_a_failed_encryption_leaves_no_reader_behind_and_a_retry_gets_every_byte(
    tmp_path: Path,
) -> None:
    plaintext = os.urandom(12 * BLOCK_SIZE)
    path = tmp_path / "plain"
    path.write_bytes(plaintext)
    identity = age.X25519Identity.generate()

    class FailingSink(io.BytesIO):
        calls = 0

        def write(self, data: Any) -> int:
            self.calls += 1
            if self.calls == 4:
                raise OSError(28, "No space left on device")
            return super().write(data)

    with _SlowFile(path, "r") as src:
        with pytest.raises(OSError, match="No space left"):
            age.encrypt_stream(src, FailingSink(), [identity.recipient])  # type: ignore[arg-type]
        assert _readers() == []  # joined before the error reached us
        position = src.tell()
        time.sleep(0.05)
        assert src.tell() == position  # nothing reads the caller's file any more
        src.seek(0)
        out = io.BytesIO()
        age.encrypt_stream(src, out, [identity.recipient])  # type: ignore[arg-type]
    assert age.decrypt(out.getvalue(), [identity]) == plaintext


def test_only_sources_that_cannot_block_get_a_reader_thread(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    read_end, write_end = os.pipe()
    try:
        with open(path, "rb") as regular, open(read_end, "rb", closefd=False) as pipe:
            assert never_blocks(io.BytesIO(b"x")) and never_blocks(regular)
            assert not never_blocks(pipe)
            assert not never_blocks(_Trickle(b"x", 1))  # no fileno: unknown, inline
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_tampered_stream_from_a_pipe_fails_without_a_thread_left_in_the_pipe() -> None:
    identity = age.X25519Identity.generate()
    ciphertext = bytearray(age.encrypt(os.urandom(3 * BLOCK_SIZE), [identity.recipient]))
    ciphertext[-(2 * BLOCK_SIZE)] ^= 1
    read_end, write_end = os.pipe()
    writer = threading.Thread(target=_feed_then_stall, args=(write_end, bytes(ciphertext)))
    writer.start()
    try:
        with open(read_end, "rb") as src, pytest.raises(age.AgePayloadError):
            age.decrypt_stream(src, io.BytesIO(), [identity])  # type: ignore[arg-type]
        assert _readers() == []
    finally:
        writer.join()


def _feed_then_stall(fd: int, data: bytes) -> None:
    """Write ``data`` into a pipe, then keep it open a moment without writing more (a
    stalled producer): a reader thread would sit in readinto holding the file's lock."""
    with open(fd, "wb") as pipe:
        try:
            pipe.write(data)
            pipe.flush()
            time.sleep(0.5)
        except BrokenPipeError:
            pass
