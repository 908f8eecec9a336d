"""The few keyed functions age builds on: HKDF-SHA-256, the header MAC, one-shot AEAD."""

from __future__ import annotations

import hmac
from hashlib import sha256

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FILE_KEY_SIZE = 16
TAG_SIZE = 16
_ZERO_NONCE = bytes(12)


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA-256 (RFC 5869); an empty salt means HashLen zero bytes, as in the RFC."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def header_mac(file_key: bytes, header_without_mac: bytes) -> bytes:
    """HMAC-SHA-256 of the header up to and including ``---``, keyed from the file key."""
    return hmac.new(hkdf(file_key, b"", b"header"), header_without_mac, sha256).digest()


def macs_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    """The STREAM key: a fresh 16-byte nonce per file makes it unique even if a file key
    were ever reused."""
    return hkdf(file_key, nonce, b"payload")


def seal_file_key(key: bytes, file_key: bytes) -> bytes:
    # A fixed all-zero nonce is safe because every wrapping key is derived from fresh
    # randomness (an ephemeral X25519 share or a random scrypt salt) and used once.
    return ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, file_key, None)


class WrongBodySize(ValueError):
    """A stanza body is not exactly a sealed 16-byte file key."""


def open_file_key(key: bytes, body: bytes) -> bytes | None:
    """The file key in a stanza body, or None when the key does not authenticate it.

    The length is checked first, as the spec requires: with a fixed-size body an attacker
    cannot craft one ciphertext that opens under many keys (a partitioning oracle).
    """
    if len(body) != FILE_KEY_SIZE + TAG_SIZE:
        raise WrongBodySize("a stanza body must be a 16-byte file key and its tag")
    try:
        return ChaCha20Poly1305(key).decrypt(_ZERO_NONCE, body, None)
    except InvalidTag:
        return None
