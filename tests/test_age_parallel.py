"""The parallel STREAM payload is the sequential one: same bytes out, same plaintext
released and the same error raised on every damaged payload.

The sequential encryptor and decryptor (``age.stream``) are the reference; they are the
ones the official vectors and the interop tests were first proven with. Blocks of one to
three chunks make a few hundred KiB cross many block boundaries, so the pipeline (a
block queued only once the read after it returned, helpers finishing out of order, the
caller's thread running queued blocks) is exercised at every chunk boundary.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from securexchange import age
from securexchange.age import parallel, stream
from securexchange.age.stream import CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE

KEY = bytes(range(32))
BOUNDARIES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1]
# Sizes around every chunk boundary of the first few blocks, and many chunks.
SIZES = st.one_of(
    st.sampled_from(BOUNDARIES),
    st.builds(
        lambda chunks, delta: max(0, chunks * CHUNK_SIZE + delta),
        st.integers(1, 12),
        st.integers(-2, 2),
    ),
    st.integers(0, 12 * CHUNK_SIZE),
)
PIPELINES = st.fixed_dictionaries(
    {
        "helpers": st.integers(0, 3),
        "block_chunks": st.sampled_from([0, 1, 2, 3, 16]),
        "depth": st.sampled_from([0, 2, 3, 5]),
    }
)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _plaintext(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


class _Trickle(io.RawIOBase):
    """Hands out at most ``step`` bytes per read, like a pipe."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._step, len(self._data))
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


def _sequential_ciphertext(plaintext: bytes) -> bytes:
    out = io.BytesIO()
    stream.encrypt(KEY, io.BytesIO(plaintext), out.write)
    return out.getvalue()


@SETTINGS
@given(size=SIZES, seed=st.integers(0, 2**32), pipeline=PIPELINES, trickle=st.booleans())
@example(size=0, seed=0, pipeline={"helpers": 1, "block_chunks": 1, "depth": 0}, trickle=False)
@example(size=1, seed=0, pipeline={"helpers": 1, "block_chunks": 1, "depth": 2}, trickle=False)
def test_parallel_encryption_writes_the_sequential_bytes(
    size: int, seed: int, pipeline: dict[str, int], trickle: bool
) -> None:
    plaintext = _plaintext(size, seed)
    src = _Trickle(plaintext, 40_000) if trickle else io.BytesIO(plaintext)
    out = io.BytesIO()
    parallel.encrypt(KEY, src, out.write, **pipeline)
    assert out.getvalue() == _sequential_ciphertext(plaintext)


def test_parallel_encryption_of_many_full_blocks_writes_the_sequential_bytes() -> None:
    plaintext = _plaintext(9 * stream.BLOCK_SIZE, 7)  # default 1 MiB blocks, ring wraps
    for helpers in (1, 2):
        out = io.BytesIO()
        parallel.encrypt(KEY, io.BytesIO(plaintext), out.write, helpers=helpers)
        assert out.getvalue() == _sequential_ciphertext(plaintext)


# --- decryption: the same outcome on every payload, damaged or not -----------------------


def _chunks(payload: bytes) -> list[bytes]:
    return [
        payload[i : i + ENCRYPTED_CHUNK_SIZE] for i in range(0, len(payload), ENCRYPTED_CHUNK_SIZE)
    ]


def _damage(payload: bytes, kind: str, rng: random.Random) -> bytes:
    """``payload`` truncated, reordered, tampered with or extended."""
    chunks = _chunks(payload)
    pick = rng.randrange(len(chunks))
    if kind == "truncate":
        return payload[: rng.randrange(len(payload))]
    if kind == "truncate at a chunk boundary":
        return b"".join(chunks[:pick])
    if kind == "drop a chunk":
        return b"".join(chunks[:pick] + chunks[pick + 1 :])
    if kind == "swap two chunks":
        other = rng.randrange(len(chunks))
        chunks[pick], chunks[other] = chunks[other], chunks[pick]
        return b"".join(chunks)
    if kind == "repeat a chunk":
        return b"".join(chunks[: pick + 1] + chunks[pick:])
    if kind == "flip a bit":
        damaged = bytearray(payload)
        damaged[rng.randrange(len(payload))] ^= 1 << rng.randrange(8)
        return bytes(damaged)
    if kind == "append bytes":
        return payload + rng.randbytes(rng.randint(1, 2 * ENCRYPTED_CHUNK_SIZE))
    if kind == "append a stream":  # a valid final chunk followed by more chunks
        return payload + _sequential_ciphertext(rng.randbytes(rng.randint(0, 3 * CHUNK_SIZE)))
    raise AssertionError(kind)


DAMAGE = [
    "truncate",
    "truncate at a chunk boundary",
    "drop a chunk",
    "swap two chunks",
    "repeat a chunk",
    "flip a bit",
    "append bytes",
    "append a stream",
]

Outcome = tuple[bytes, object]


def _outcome(run: Callable[[io.BytesIO, Callable[[memoryview], object]], int]) -> Outcome:
    """What a decryptor released, and what it returned or raised (type and message)."""
    released = bytearray()
    try:
        result: object = run(io.BytesIO(), released.extend)
    except (age.AgePayloadError, age.AgeSizeError, OSError) as exc:
        result = (type(exc), str(exc))
    return bytes(released), result


def _both(
    payload: bytes, pipeline: dict[str, int], max_size: int | None
) -> tuple[Outcome, Outcome]:
    sequential = _outcome(lambda _, w: stream.decrypt(KEY, io.BytesIO(payload), w, max_size))
    threaded = _outcome(
        lambda _, w: parallel.decrypt(KEY, io.BytesIO(payload), w, max_size, **pipeline)
    )
    return sequential, threaded


@SETTINGS
@given(size=SIZES, seed=st.integers(0, 2**32), pipeline=PIPELINES)
def test_parallel_decryption_releases_the_plaintext_of_a_sound_payload(
    size: int, seed: int, pipeline: dict[str, int]
) -> None:
    plaintext = _plaintext(size, seed)
    sequential, threaded = _both(_sequential_ciphertext(plaintext), pipeline, None)
    assert threaded == sequential == (plaintext, size)


@SETTINGS
@given(
    size=SIZES,
    seed=st.integers(0, 2**32),
    pipeline=PIPELINES,
    kind=st.sampled_from(DAMAGE),
)
def test_truncation_reordering_and_tampering_are_detected_as_sequentially(
    size: int, seed: int, pipeline: dict[str, int], kind: str
) -> None:
    rng = random.Random(seed)
    plaintext = rng.randbytes(size)
    payload = _sequential_ciphertext(plaintext)
    damaged = _damage(payload, kind, rng)
    sequential, threaded = _both(damaged, pipeline, None)
    assert threaded == sequential
    released, result = threaded
    if damaged != payload:
        assert isinstance(result, tuple) and result[0] is age.AgePayloadError, kind
        assert plaintext.startswith(released)  # only authenticated plaintext, in order
        assert len(released) % CHUNK_SIZE == 0 or kind == "append a stream"


@SETTINGS
@given(
    size=SIZES, seed=st.integers(0, 2**32), pipeline=PIPELINES, cap=st.integers(0, 12 * CHUNK_SIZE)
)
def test_the_size_cap_stops_parallel_decryption_where_it_stops_the_sequential_one(
    size: int, seed: int, pipeline: dict[str, int], cap: int
) -> None:
    plaintext = _plaintext(size, seed)
    sequential, threaded = _both(_sequential_ciphertext(plaintext), pipeline, cap)
    assert threaded == sequential
    released, result = threaded
    assert len(released) <= cap
    if size > cap:
        assert isinstance(result, tuple) and result[0] is age.AgeSizeError


# --- failures of the source and the destination ------------------------------------------


class _Failing(io.RawIOBase):
    """Yields ``good`` bytes of ``data``, then fails the way a disk read error would."""

    def __init__(self, data: bytes, good: int) -> None:
        self._data = memoryview(data)[:good]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._data:
            raise OSError(5, "Input/output error")
        n = min(len(buffer), len(self._data))
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


def _helpers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "age-stream-helper"]


@settings(max_examples=40, deadline=None)
@given(
    good=st.integers(0, 3 * stream.BLOCK_SIZE + 2 * ENCRYPTED_CHUNK_SIZE),
    helpers=st.integers(0, 2),
    depth=st.sampled_from([0, 2, 3]),
)
def test_a_read_error_releases_what_the_sequential_path_releases_then_raises(
    good: int, helpers: int, depth: int
) -> None:
    # A read fills a whole block before anything of it is used, so what goes out before
    # the error depends on the block size: both paths use the sequential one's here.
    pipeline = {"helpers": helpers, "depth": depth, "block_chunks": stream.BLOCK_CHUNKS}
    plaintext = _plaintext(3 * stream.BLOCK_SIZE + 5, good)
    payload = _sequential_ciphertext(plaintext)

    def encrypt_with(encrypt: Callable[..., None]) -> Outcome:
        return _outcome(lambda _, w: encrypt(KEY, _Failing(plaintext, good), w) or 0)

    assert encrypt_with(lambda k, s, w: parallel.encrypt(k, s, w, **pipeline)) == encrypt_with(
        stream.encrypt
    )
    sequential = _outcome(lambda _, w: stream.decrypt(KEY, _Failing(payload, good), w))
    threaded = _outcome(lambda _, w: parallel.decrypt(KEY, _Failing(payload, good), w, **pipeline))
    assert threaded == sequential
    assert _helpers() == []


@pytest.mark.parametrize("mode", ["encrypt", "decrypt"])
def test_a_failing_destination_stops_every_helper(mode: str) -> None:
    plaintext = _plaintext(40 * CHUNK_SIZE, 3)
    source = plaintext if mode == "encrypt" else _sequential_ciphertext(plaintext)
    writes = 0

    def write(data: memoryview) -> None:
        nonlocal writes
        writes += 1
        if writes == 3:
            raise OSError(28, "No space left on device")

    run = parallel.encrypt if mode == "encrypt" else parallel.decrypt
    with pytest.raises(OSError, match="No space left"):
        run(KEY, io.BytesIO(source), write, helpers=2, block_chunks=1)
    assert _helpers() == []


def test_a_one_block_payload_starts_no_helper() -> None:
    started: list[threading.Thread] = []
    original = threading.Thread.start

    def spy(thread: threading.Thread) -> None:
        started.append(thread)
        original(thread)

    threading.Thread.start = spy  # type: ignore[method-assign]
    try:
        out = io.BytesIO()
        parallel.encrypt(KEY, io.BytesIO(bytes(CHUNK_SIZE)), out.write, helpers=2, block_chunks=1)
        parallel.decrypt(
            KEY, io.BytesIO(out.getvalue()), io.BytesIO().write, helpers=2, block_chunks=1
        )
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]
    assert started == []


def test_the_helper_count_leaves_one_core_to_the_caller() -> None:
    assert 0 <= parallel.helpers_available() <= parallel.MAX_HELPERS


def test_encrypt_stream_and_decrypt_stream_round_trip_across_blocks() -> None:
    identity = age.X25519Identity.generate()
    plaintext = _plaintext(3 * stream.BLOCK_SIZE + 17, 11)
    sealed = io.BytesIO()
    age.encrypt_stream(io.BytesIO(plaintext), sealed, [identity.recipient])
    opened = io.BytesIO()
    age.decrypt_stream(io.BytesIO(sealed.getvalue()), opened, [identity])
    assert opened.getvalue() == plaintext
    assert age.decrypt(sealed.getvalue(), [identity]) == plaintext


_PEAK_RSS = """
import os, sys
from securexchange import age

class Zeros:
    def __init__(self, size):
        self.left = size
    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n

class Null:
    def write(self, data):
        return len(data)

def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

identity = age.X25519Identity.generate()
path = sys.argv[1]
for size in (1 << 20, 96 << 20):  # the first run loads everything, the second is measured
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak to the current RSS
    before = peak_kib()
    with open(path, "wb") as fout:
        age.encrypt_stream(Zeros(size), fout, [identity.recipient])
    with open(path, "rb") as fin:
        age.decrypt_stream(fin, Null(), [identity])
print(before, peak_kib())
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="Linux only")
def test_streaming_peak_rss_stays_flat_and_within_64_mib(tmp_path: Path) -> None:
    # The buffers are anonymous mappings (``readahead.aligned_buffer``), which tracemalloc
    # does not see: the peak resident size of a process is what counts here.
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(tmp_path / "big.age")],
        capture_output=True,
        text=True,
        check=True,
    )
    before, peak = (int(kib) << 10 for kib in proc.stdout.split())
    assert peak - before < 12 << 20  # a few MiB of blocks, not the 96 MiB payload
    assert peak <= 64 << 20
