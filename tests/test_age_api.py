"""The public age API: keys, recipients, all-or-nothing and streaming decryption, errors."""

from __future__ import annotations

import io
import os
import tracemalloc

import pytest

from securexchange import age
from securexchange.age import (
    AgeHeaderError,
    AgeHmacError,
    AgeKeyError,
    AgeNoMatchError,
    AgePayloadError,
    AgeSizeError,
    ScryptIdentity,
    ScryptRecipient,
    X25519Identity,
    X25519Recipient,
)
from securexchange.age.format import Header, Stanza, encode_without_mac
from securexchange.age.stream import CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE
from securexchange.errors import Malformed, NotRecipient, Tampered, all_error_classes

VECTOR_KEY = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"


def test_identity_round_trips_through_string_and_bytes() -> None:
    identity = X25519Identity.generate()
    assert X25519Identity.from_string(identity.to_string()) == identity
    assert X25519Identity.from_bytes(identity.to_bytes()) == identity
    recipient = identity.recipient
    assert X25519Recipient.from_string(recipient.to_string()) == recipient
    assert X25519Recipient.from_bytes(recipient.to_bytes()) == recipient
    assert recipient.to_string().startswith("age1")


def test_identity_repr_and_key_errors_never_show_the_secret() -> None:
    identity = X25519Identity.from_string(VECTOR_KEY)
    assert VECTOR_KEY not in repr(identity)
    assert VECTOR_KEY.lower()[15:] not in repr(identity).lower()
    broken = VECTOR_KEY[:-1] + ("Q" if VECTOR_KEY[-1] != "Q" else "P")
    with pytest.raises(AgeKeyError) as info:
        X25519Identity.from_string(broken)
    assert broken[15:] not in str(info.value)
    assert "passphrase" not in repr(ScryptIdentity(b"passphrase"))


@pytest.mark.parametrize(
    "text",
    [
        VECTOR_KEY.lower(),  # identities are uppercase only
        VECTOR_KEY[:20] + VECTOR_KEY[20:].lower(),  # mixed case
        X25519Identity.from_string(VECTOR_KEY).recipient.to_string(),  # a recipient
    ],
)
def test_malformed_identity_strings_are_refused(text: str) -> None:
    with pytest.raises(AgeKeyError):
        X25519Identity.from_string(text)


def test_malformed_recipient_strings_and_low_order_points_are_refused() -> None:
    good = X25519Identity.generate().recipient.to_string()
    for text in [good.upper(), good[:-1] + "q" if good[-1] != "q" else good[:-1] + "p", ""]:
        with pytest.raises(AgeKeyError):
            X25519Recipient.from_string(text)
    with pytest.raises(AgeKeyError):
        X25519Recipient.from_bytes(bytes(32))  # the identity point: anyone could decrypt
    with pytest.raises(AgeKeyError):
        X25519Identity.from_bytes(bytes(31))


def test_error_classes_keep_their_parent_error_names() -> None:
    pairs = {
        age.AgeHeaderError: Malformed,
        age.AgeArmorError: Malformed,
        age.AgeKeyError: Malformed,
        age.AgeSizeError: Malformed,
        age.AgeHmacError: Tampered,
        age.AgePayloadError: Tampered,
        age.AgeNoMatchError: NotRecipient,
    }
    for cls, parent in pairs.items():
        assert issubclass(cls, parent)
        assert "name" not in cls.__dict__
        assert cls.name == parent.name
        assert cls not in all_error_classes()


def test_passphrase_recipient_cannot_be_mixed_with_others() -> None:
    with pytest.raises(ValueError, match="only recipient"):
        age.encrypt(b"x", [ScryptRecipient(b"pw", 1), X25519Identity.generate().recipient])
    with pytest.raises(ValueError, match="at least one"):
        age.encrypt(b"x", [])


def test_scrypt_round_trip_and_wrong_passphrase_is_no_match() -> None:
    blob = age.encrypt(b"secret", [ScryptRecipient(b"pw", work_factor=10)])
    assert age.decrypt(blob, [ScryptIdentity(b"pw")]) == b"secret"
    with pytest.raises(AgeNoMatchError):
        age.decrypt(blob, [ScryptIdentity(b"other")])
    with pytest.raises(AgeHeaderError, match="exceeds"):
        age.decrypt(blob, [ScryptIdentity(b"pw", max_work_factor=9)])


def test_any_matching_identity_opens_and_others_are_no_match() -> None:
    a, b, c = (X25519Identity.generate() for _ in range(3))
    blob = age.encrypt(b"data", [a.recipient, b.recipient])
    assert age.decrypt(blob, [c, b]) == b"data"
    with pytest.raises(AgeNoMatchError) as info:
        age.decrypt(blob, [c])
    assert c.to_string() not in str(info.value)


def test_changed_header_fails_the_mac() -> None:
    identity = X25519Identity.generate()
    blob = age.encrypt(b"data", [identity.recipient])
    header = age.parse_header(blob)
    # Add a stanza but keep the old MAC: the file key still unwraps, the MAC must not.
    forged = Header((*header.stanzas, Stanza("grease", ("x",))), header.mac).encode()
    with pytest.raises(AgeHmacError):
        age.decrypt(forged + blob[header.length :], [identity])
    assert encode_without_mac(header.stanzas) in blob


def test_decrypt_refuses_a_payload_over_max_size_but_accepts_exactly_max_size() -> None:
    identity = X25519Identity.generate()
    for armor in (False, True):
        blob = age.encrypt(bytes(100_000), [identity.recipient], armor=armor)
        assert len(age.decrypt(blob, [identity], max_size=100_000)) == 100_000
        with pytest.raises(AgeSizeError):
            age.decrypt(blob, [identity], max_size=99_999)


def tampered_three_chunk_file(identity: X25519Identity) -> tuple[bytes, bytes]:
    data = os.urandom(3 * CHUNK_SIZE - 10)
    blob = bytearray(age.encrypt(data, [identity.recipient]))
    header = age.parse_header(bytes(blob))
    third = header.length + 16 + 2 * ENCRYPTED_CHUNK_SIZE
    blob[third + 5] ^= 1
    return data, bytes(blob)


def test_decrypt_stream_releases_authenticated_chunks_before_raising() -> None:
    identity = X25519Identity.generate()
    data, blob = tampered_three_chunk_file(identity)
    out = io.BytesIO()
    with pytest.raises(AgePayloadError):
        age.decrypt_stream(io.BytesIO(blob), out, [identity])
    assert out.getvalue() == data[: 2 * CHUNK_SIZE]


def test_decrypt_is_all_or_nothing_on_a_tampered_last_chunk() -> None:
    identity = X25519Identity.generate()
    _, blob = tampered_three_chunk_file(identity)
    with pytest.raises(AgePayloadError):
        age.decrypt(blob, [identity])


def test_truncation_at_a_chunk_boundary_is_detected() -> None:
    identity = X25519Identity.generate()
    blob = age.encrypt(os.urandom(2 * CHUNK_SIZE + 1), [identity.recipient])
    cut = age.parse_header(blob).length + 16 + ENCRYPTED_CHUNK_SIZE
    for truncated in (blob[:cut], blob[: cut + ENCRYPTED_CHUNK_SIZE]):
        with pytest.raises(AgePayloadError):
            age.decrypt(truncated, [identity])
        with pytest.raises(AgePayloadError):
            age.decrypt_stream(io.BytesIO(truncated), io.BytesIO(), [identity])


def test_missing_nonce_is_a_header_failure() -> None:
    identity = X25519Identity.generate()
    blob = age.encrypt(b"", [identity.recipient])
    short = blob[: age.parse_header(blob).length + 8]
    with pytest.raises(AgeHeaderError):
        age.decrypt(short, [identity])
    with pytest.raises(AgeHeaderError):
        age.decrypt_stream(io.BytesIO(short), io.BytesIO(), [identity])


class NullSink:
    def write(self, data: bytes | memoryview) -> int:
        return len(data)


class ZeroSource:
    """``size`` zero bytes, produced without holding them in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readinto(self, buffer: memoryview) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def test_streaming_memory_does_not_grow_with_the_payload(tmp_path: object) -> None:
    identity = X25519Identity.generate()
    path = os.path.join(str(tmp_path), "big.age")
    size = 48 << 20
    with open(path, "wb") as fout:
        tracemalloc.start()
        age.encrypt_stream(ZeroSource(size), fout, [identity.recipient])  # type: ignore[arg-type]
        _, encrypt_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    with open(path, "rb") as fin:
        tracemalloc.start()
        age.decrypt_stream(fin, NullSink(), [identity])  # type: ignore[arg-type]
        _, decrypt_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    # A few 1 MiB blocks, whatever the payload size.
    assert encrypt_peak < 8 << 20
    assert decrypt_peak < 8 << 20


def test_armored_stream_round_trip() -> None:
    identity = X25519Identity.generate()
    data = os.urandom(200_000)
    out = io.BytesIO()
    age.encrypt_stream(io.BytesIO(data), out, [identity.recipient], armor=True)
    assert out.getvalue().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----\n")
    plain = io.BytesIO()
    age.decrypt_stream(io.BytesIO(out.getvalue()), plain, [identity])
    assert plain.getvalue() == data
    assert age.parse_header(out.getvalue()).count("X25519") == 1


class ShortWriter:
    """A destination that accepts at most 1000 bytes per call, like a pipe may."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes | memoryview) -> int:
        taken = bytes(data[:1000])
        self.data += taken
        return len(taken)


def test_short_writes_to_the_destination_are_completed() -> None:
    identity = X25519Identity.generate()
    data = os.urandom(150_000)
    encrypted = ShortWriter()
    age.encrypt_stream(io.BytesIO(data), encrypted, [identity.recipient], armor=True)  # type: ignore[arg-type]
    plain = ShortWriter()
    age.decrypt_stream(io.BytesIO(bytes(encrypted.data)), plain, [identity])  # type: ignore[arg-type]
    assert plain.data == data
