"""Every age test vector in tests/vectors/age gives exactly the expected outcome.

The folder is walked, not listed: a vector added there is tested without touching this
file. Every vector runs: X25519, scrypt and hybrid post-quantum (mlkem768x25519, whose
identities are ``AGE-SECRET-KEY-PQ-1...``) alike, mixed headers included. Nothing is
skipped: a vector with a key this file does not know fails instead. The last test checks
that every vector ran, that there are more than 100, and that the hybrid ones are there.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import AGE_VECTORS
from securexchange import age
from securexchange.age import (
    AgeArmorError,
    AgeHeaderError,
    AgeHmacError,
    AgeNoMatchError,
    AgePayloadError,
    MLKEM768X25519Identity,
    ScryptIdentity,
    X25519Identity,
)

VECTOR_DIR = AGE_VECTORS
KNOWN_KEYS = {"expect", "payload", "file key", "identity", "passphrase", "armored",
              "compressed", "comment"}  # fmt: skip
OUTCOMES = {
    AgeHeaderError: "header failure",
    AgeArmorError: "armor failure",
    AgeHmacError: "HMAC failure",
    AgePayloadError: "payload failure",
    AgeNoMatchError: "no match",
}
PQ_PREFIX = "AGE-SECRET-KEY-PQ-1"


@dataclass(frozen=True)
class Vector:
    name: str
    fields: tuple[tuple[str, str], ...]
    body: bytes

    def values(self, key: str) -> list[str]:
        return [v for k, v in self.fields if k == key]

    @property
    def expect(self) -> str:
        return self.values("expect")[0]

    @property
    def post_quantum(self) -> bool:
        return any(v.startswith(PQ_PREFIX) for v in self.values("identity"))

    @property
    def unknown_keys(self) -> set[str]:
        return {k for k, _ in self.fields} - KNOWN_KEYS


def load(path: Path) -> Vector:
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n\n")
    fields = tuple(
        (k, v) for k, _, v in (line.decode().partition(": ") for line in head.split(b"\n"))
    )
    if ("compressed", "zlib") in fields:
        body = zlib.decompress(body)
    return Vector(path.name, fields, body)


def vector_names() -> list[str]:
    return sorted(p.name for p in VECTOR_DIR.iterdir() if p.is_file() and p.suffix != ".md")


def identities(v: Vector) -> list[age.Identity]:
    ids: list[age.Identity] = []
    for key, value in v.fields:
        if key == "identity" and value.startswith(PQ_PREFIX):
            ids.append(MLKEM768X25519Identity.from_string(value))
        elif key == "identity":
            ids.append(X25519Identity.from_string(value))
        elif key == "passphrase":
            ids.append(ScryptIdentity(value.encode()))
    return ids


class HashSink:
    """A write target that keeps only the SHA-256 of what was released to it."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        self.hash.update(data)
        self.size += len(data)
        return len(data)


def outcome_of(exc: BaseException | None) -> str:
    if exc is None:
        return "success"
    for cls, name in OUTCOMES.items():
        if isinstance(exc, cls):
            return name
    raise AssertionError(f"untyped failure {type(exc).__name__}: {exc}")


RAN: set[str] = set()


def check_vector(v: Vector) -> None:
    ids = identities(v)
    armored = ("armored", "yes") in v.fields
    assert age.armor.starts_armored(v.body[:2048]) == armored

    sink = HashSink()
    streamed: BaseException | None = None
    try:
        age.decrypt_stream(io.BytesIO(v.body), sink, ids)  # type: ignore[arg-type]
    except age.errors.Malformed as e:
        streamed = e
    except age.errors.Tampered as e:
        streamed = e
    except age.errors.NotRecipient as e:
        streamed = e
    assert outcome_of(streamed) == v.expect, f"{v.name}: streaming decrypt"
    payload = v.values("payload")
    if payload:
        # Also before a failure: what the streaming decryptor released must be exactly
        # the authenticated prefix the vector names.
        assert sink.hash.hexdigest() == payload[0], f"{v.name}: released plaintext"

    whole: BaseException | None = None
    plaintext = None
    try:
        plaintext = age.decrypt(v.body, ids)
    except (age.errors.Malformed, age.errors.Tampered, age.errors.NotRecipient) as e:
        whole = e
    assert outcome_of(whole) == v.expect, f"{v.name}: all-or-nothing decrypt"
    if v.expect == "success":
        assert plaintext is not None
        assert hashlib.sha256(plaintext).hexdigest() == payload[0]
    RAN.add(v.name)


@pytest.mark.parametrize("name", vector_names())
def test_vector_gives_expected_outcome_and_released_plaintext(name: str, age_vectors: Path) -> None:
    v = load(age_vectors / name)
    assert not v.unknown_keys, f"{name}: unknown vector key(s) {sorted(v.unknown_keys)}"
    check_vector(v)


def test_every_vector_ran_hybrid_included_and_there_are_over_100(age_vectors: Path) -> None:
    vectors = [load(age_vectors / name) for name in vector_names()]
    assert not [v.name for v in vectors if v.unknown_keys]
    for v in vectors:
        if v.name not in RAN:  # this test was run on its own
            check_vector(v)
    assert {v.name for v in vectors} <= RAN
    hybrid = [v for v in vectors if v.post_quantum]
    print(f"age vectors: {len(vectors)} checked, {len(hybrid)} of them hybrid post-quantum")
    assert len(vectors) > 100
    assert len(hybrid) >= 18
