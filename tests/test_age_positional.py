"""A regular file's payload sealed by position (age/positional.py) is the sequential one:
the same bytes out from any starting position and pipeline shape; a file that shrinks
or grows while it is read is refused, never sealed as something else; anything that is
not a regular file goes the ordered way."""

from __future__ import annotations

import gzip
import io
import os
import random
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from securexchange import age
from securexchange.age import positional, stream
from securexchange.age.errors import AgePayloadError
from securexchange.age.stream import CHUNK_SIZE

pytestmark = pytest.mark.skipif(not positional.POSITIONAL, reason="POSIX: os.preadv")

KEY = bytes(range(32))
SIZES = st.one_of(
    st.sampled_from([0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1]),
    st.builds(
        lambda chunks, delta: max(0, chunks * CHUNK_SIZE + delta),
        st.integers(1, 12),
        st.integers(-2, 2),
    ),
    st.integers(0, 12 * CHUNK_SIZE),
)


def _sequential(data: bytes) -> bytes:
    out = io.BytesIO()
    stream.encrypt(KEY, io.BytesIO(data), out.write)
    return out.getvalue()


def _file(tmp: Path, before: bytes, data: bytes) -> Iterator[BinaryIO]:
    path = tmp / "plain.bin"
    path.write_bytes(before + data)
    with path.open("rb") as handle:
        handle.read(len(before))  # a buffered reader past a prefix: the position counts
        yield handle


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    size=SIZES,
    skip=st.integers(0, 3 * CHUNK_SIZE),
    helpers=st.integers(1, 3),
    block_chunks=st.sampled_from([0, 1, 2, 3, 16]),
    depth=st.sampled_from([0, 2, 3, 5]),
)
def test_a_regular_file_sealed_by_position_is_the_sequential_payload(
    tmp_path: Path, size: int, skip: int, helpers: int, block_chunks: int, depth: int
) -> None:
    data = random.Random(size).randbytes(size)
    for handle in _file(tmp_path, b"\x00" * skip, data):
        file = positional.regular_file(handle)
        if skip + size == 0:  # no block on disk: encrypt_stream reads it in order
            assert file is None
            file = positional.RegularFile(handle.fileno(), 0, 0)
        assert file is not None and file.size == size
        out = io.BytesIO()
        positional.encrypt(
            KEY, file, out.write, helpers=helpers, block_chunks=block_chunks, depth=depth
        )
        assert out.getvalue() == _sequential(data)


def test_a_file_that_shrinks_while_it_is_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.bin"
    path.write_bytes(os.urandom(20 * CHUNK_SIZE))
    written: list[bytes] = []

    def write(block: memoryview | bytes) -> None:
        written.append(bytes(block))
        if len(written) == 1:
            os.truncate(path, 5 * CHUNK_SIZE)

    with path.open("rb") as handle, pytest.raises(AgePayloadError, match="changed"):
        file = positional.regular_file(handle)
        assert file is not None
        positional.encrypt(KEY, file, write, helpers=1, block_chunks=1, depth=2)


def test_only_a_regular_file_with_a_position_is_read_by_position(tmp_path: Path) -> None:
    read, write = os.pipe()
    with os.fdopen(read, "rb") as pipe, os.fdopen(write, "wb"):
        assert positional.regular_file(pipe) is None
    assert positional.regular_file(io.BytesIO(b"data")) is None
    assert positional.regular_file(object()) is None
    (tmp_path / "x").write_bytes(b"abc")
    with (tmp_path / "x").open("rb") as handle:
        handle.seek(5)  # past the end: nothing sane to read by position
        assert positional.regular_file(handle) is None


def test_encrypt_stream_of_a_file_decrypts_to_its_bytes(tmp_path: Path) -> None:
    identity = age.X25519Identity.generate()
    data = os.urandom(3 * (1 << 20) + 12345)
    path = tmp_path / "plain.bin"
    path.write_bytes(data)
    out = io.BytesIO()
    with path.open("rb") as handle:
        age.encrypt_stream(handle, out, [identity.recipient])
        assert handle.tell() == len(data) and handle.read() == b""  # as read in order
    assert age.decrypt(out.getvalue(), [identity]) == data


def _round_trip(src: BinaryIO) -> bytes:
    identity = age.X25519Identity.generate()
    out = io.BytesIO()
    age.encrypt_stream(src, out, [identity.recipient])
    return age.decrypt(out.getvalue(), [identity])


def test_a_compressed_file_is_encrypted_as_what_it_decompresses_to(tmp_path: Path) -> None:
    # gzip (bz2, lzma alike) forwards fileno() to the compressed file while tell()
    # counts decompressed bytes: read by position it would seal the compressed bytes.
    data = b"the plaintext a gzip reader yields " * 5000
    with gzip.open(tmp_path / "plain.gz", "wb") as packed:
        packed.write(data)
    with gzip.open(tmp_path / "plain.gz", "rb") as unpacking:
        assert positional.regular_file(unpacking) is None
        assert _round_trip(unpacking) == data


def test_a_tar_member_is_encrypted_as_its_own_bytes(tmp_path: Path) -> None:
    member, other = b"the member asked for", b"another member's secret" * 100
    with tarfile.open(tmp_path / "a.tar", "w") as archive:
        for name, content in (("member", member), ("other", other)):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    with tarfile.open(tmp_path / "a.tar") as archive:
        extracted = archive.extractfile("member")
        assert extracted is not None
        assert positional.regular_file(extracted) is None
        assert _round_trip(extracted) == member


@pytest.mark.parametrize("pseudo", ["/proc/self/cmdline", "/sys/devices/system/cpu/online"])
def test_a_pseudo_file_whose_size_says_nothing_is_read_in_order(pseudo: str) -> None:
    # procfs says 0 bytes and sysfs 4096 whatever they hold; neither allocates blocks.
    if not os.path.isfile(pseudo):
        pytest.skip(f"{pseudo}: not on this system")
    expected = Path(pseudo).read_bytes()
    with open(pseudo, "rb") as handle:
        assert positional.regular_file(handle) is None
        assert _round_trip(handle) == expected


def test_a_plain_file_in_any_readable_mode_is_read_by_position(tmp_path: Path) -> None:
    path = tmp_path / "plain.bin"
    path.write_bytes(b"x" * 1000)
    for mode, buffering in (("rb", -1), ("rb", 0), ("r+b", -1), ("a+b", -1)):
        with path.open(mode, buffering=buffering) as handle:
            handle.seek(10)
            file = positional.regular_file(handle)
            assert file is not None and (file.start, file.size) == (10, 990)


def test_a_file_that_grows_is_refused_before_its_final_chunk_is_written(tmp_path: Path) -> None:
    # The error alone is not enough: a complete payload already written would decrypt.
    path = tmp_path / "plain.bin"
    path.write_bytes(os.urandom(6 * CHUNK_SIZE))
    written: list[bytes] = []

    def write(block: memoryview | bytes) -> None:
        written.append(bytes(block))
        with path.open("ab") as more:
            more.write(b"appended")

    with path.open("rb") as handle, pytest.raises(AgePayloadError, match="changed"):
        file = positional.regular_file(handle)
        assert file is not None
        positional.encrypt(KEY, file, write, helpers=1, block_chunks=1, depth=2)
    with pytest.raises(AgePayloadError, match="no final chunk"):
        stream.decrypt(KEY, io.BytesIO(b"".join(written)), io.BytesIO().write)
