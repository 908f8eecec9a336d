"""The hybrid post-quantum recipient type (age 1.3): ``-> mlkem768x25519 <enc>``.

The file key is sealed with HPKE (RFC 9180) in base mode: KEM MLKEM768-X25519 (X-Wing,
draft-ietf-hpke-pq), KDF HKDF-SHA256, AEAD ChaCha20-Poly1305, info
``age-encryption.org/mlkem768x25519``, empty aad. The stanza's one argument is the
encapsulated key ``enc`` (1,120 bytes: the ML-KEM-768 ciphertext, then an ephemeral
X25519 share) in canonical unpadded base64; its body is the sealed file key (32 bytes).

An identity is a 32-byte seed, expanded as the KEM defines it: SHAKE256(seed, 96 bytes)
gives the ML-KEM-768 key-generation seed (d || z, 64 bytes) and the X25519 scalar (the
last 32 bytes). A recipient is the ML-KEM-768 encapsulation key (1,184 bytes) followed
by the X25519 public key (32 bytes). Keys are Bech32: ``age1pq1...`` (lower case) and
``AGE-SECRET-KEY-PQ-1...`` (upper case), longer than BIP 173's 90 characters.

``cryptography``'s HPKE does the KEM, the key schedule and the AEAD; it reports every
failure to open as ``InvalidTag``. The checks the spec adds around it are here: the
argument count, canonical base64 and length of ``enc``, the body length (before any
decryption, against partitioning oracles), and a low-order X25519 share in ``enc``,
which is a malformed header rather than a key that does not match.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from typing import ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from securexchange.age import bech32
from securexchange.age.errors import AgeHeaderError, AgeKeyError
from securexchange.age.format import Stanza, decode_b64, encode_b64, first_file_key
from securexchange.age.primitives import FILE_KEY_SIZE, TAG_SIZE
from securexchange.age.x25519 import shared_secret
from securexchange.i18n import _

STANZA_TYPE = "mlkem768x25519"
LABEL = b"age-encryption.org/mlkem768x25519"
RECIPIENT_HRP = "age1pq"
IDENTITY_HRP = "AGE-SECRET-KEY-PQ-"
SEED_SIZE = 32
MLKEM_PUBLIC_SIZE = 1184
MLKEM_CIPHERTEXT_SIZE = 1088
X25519_SIZE = 32
PUBLIC_SIZE = MLKEM_PUBLIC_SIZE + X25519_SIZE  # 1,216
ENC_SIZE = MLKEM_CIPHERTEXT_SIZE + X25519_SIZE  # 1,120
BODY_SIZE = FILE_KEY_SIZE + TAG_SIZE  # 32

_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


def _expand(seed: bytes) -> tuple[MLKEM768PrivateKey, X25519PrivateKey]:
    """The two component keys of a 32-byte seed (the KEM's own expansion)."""
    expanded = hashlib.shake_256(seed).digest(96)
    mlkem = MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    return mlkem, X25519PrivateKey.from_private_bytes(expanded[64:])


@dataclass(frozen=True)
class MLKEM768X25519Recipient:
    """A hybrid post-quantum age public key, ``age1pq1...``.

    It may share a file only with other post-quantum recipients (``post_quantum``):
    a classic recipient next to it would leave the file open to a quantum computer.
    """

    post_quantum: ClassVar[bool] = True

    public: bytes = field(repr=False)
    _key: hpke.MLKEM768X25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.public) != PUBLIC_SIZE:
            raise AgeKeyError(_("an mlkem768x25519 recipient is 1216 bytes"))
        try:
            mlkem = MLKEM768PublicKey.from_public_bytes(self.public[:MLKEM_PUBLIC_SIZE])
        except ValueError:
            raise AgeKeyError(
                _("the ML-KEM-768 part of the mlkem768x25519 recipient is not a valid key")
            ) from None
        x25519 = self.public[MLKEM_PUBLIC_SIZE:]
        # Encrypting to a low-order point would leave only ML-KEM protecting the file.
        if shared_secret(X25519PrivateKey.generate(), x25519) is None:
            raise AgeKeyError(
                _("the X25519 part of the mlkem768x25519 recipient is a low-order point")
            )
        key = hpke.MLKEM768X25519PublicKey(mlkem, X25519PublicKey.from_public_bytes(x25519))
        object.__setattr__(self, "_key", key)

    @classmethod
    def from_string(cls, s: str) -> MLKEM768X25519Recipient:
        try:
            hrp, raw = bech32.decode(s)
        except ValueError:
            raise AgeKeyError(
                _("malformed age recipient (not a valid age1pq1... string)")
            ) from None
        if hrp != RECIPIENT_HRP:
            raise AgeKeyError(_("not an age mlkem768x25519 recipient (expected age1pq1...)"))
        return cls.from_bytes(raw)

    def to_string(self) -> str:
        return bech32.encode(RECIPIENT_HRP, self.public)

    @classmethod
    def from_bytes(cls, raw: bytes) -> MLKEM768X25519Recipient:
        return cls(bytes(raw))

    def to_bytes(self) -> bytes:
        return self.public

    def wrap(self, file_key: bytes) -> Stanza:
        # Suite.encrypt returns enc || ciphertext (RFC 9180 SealBase, single shot).
        sealed = _SUITE.encrypt(file_key, self._key, info=LABEL)
        enc, body = sealed[:ENC_SIZE], sealed[ENC_SIZE:]
        return Stanza(STANZA_TYPE, (encode_b64(enc),), body)

    def __str__(self) -> str:
        return self.to_string()

    def __repr__(self) -> str:
        # The string is about 1,960 characters: the repr shows its two ends.
        text = self.to_string()
        return f"MLKEM768X25519Recipient('{text[:16]}...{text[-8:]}')"


@dataclass(frozen=True, eq=False)
class MLKEM768X25519Identity:
    """A hybrid post-quantum age secret key, ``AGE-SECRET-KEY-PQ-1...``.

    Its repr shows only the public key.
    """

    _seed: bytes = field(repr=False)
    _private: hpke.MLKEM768X25519PrivateKey = field(init=False, repr=False)
    _x25519: X25519PrivateKey = field(init=False, repr=False)
    recipient: MLKEM768X25519Recipient = field(init=False)

    def __post_init__(self) -> None:
        if len(self._seed) != SEED_SIZE:
            raise AgeKeyError(_("an mlkem768x25519 identity is a 32-byte seed"))
        mlkem, x25519 = _expand(self._seed)
        public = mlkem.public_key().public_bytes_raw() + x25519.public_key().public_bytes_raw()
        object.__setattr__(self, "_private", hpke.MLKEM768X25519PrivateKey(mlkem, x25519))
        object.__setattr__(self, "_x25519", x25519)
        object.__setattr__(self, "recipient", MLKEM768X25519Recipient(public))

    @classmethod
    def generate(cls) -> MLKEM768X25519Identity:
        return cls(os.urandom(SEED_SIZE))

    @classmethod
    def from_string(cls, s: str) -> MLKEM768X25519Identity:
        try:
            hrp, raw = bech32.decode(s)
        except ValueError:
            raise AgeKeyError(
                _("malformed age identity (not a valid AGE-SECRET-KEY-PQ-1...)")
            ) from None
        if hrp != IDENTITY_HRP:
            raise AgeKeyError(
                _("not an age mlkem768x25519 identity (expected AGE-SECRET-KEY-PQ-1...)")
            )
        return cls.from_bytes(raw)

    def to_string(self) -> str:
        return bech32.encode(IDENTITY_HRP, self._seed)

    @classmethod
    def from_bytes(cls, raw: bytes) -> MLKEM768X25519Identity:
        return cls(bytes(raw))

    def to_bytes(self) -> bytes:
        return self._seed

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MLKEM768X25519Identity):
            return NotImplemented
        return hmac.compare_digest(self._seed, other._seed)

    def __hash__(self) -> int:
        return hash(self.recipient)

    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None:
        """The file key from the first mlkem768x25519 stanza addressed to us, or None.

        Stanzas of other types are ignored; a malformed mlkem768x25519 stanza is fatal
        (AgeHeaderError), not skipped, as the spec requires.
        """
        return first_file_key(stanzas, STANZA_TYPE, self._unwrap_one)

    def _unwrap_one(self, stanza: Stanza) -> bytes | None:
        if len(stanza.args) != 1:
            raise AgeHeaderError(_("an mlkem768x25519 stanza must have exactly one argument"))
        try:
            enc = decode_b64(stanza.args[0].encode("ascii"))
        except ValueError:
            raise AgeHeaderError(
                _("the mlkem768x25519 encapsulated key is not canonical base64")
            ) from None
        if len(enc) != ENC_SIZE:
            raise AgeHeaderError(_("the mlkem768x25519 encapsulated key is not 1120 bytes"))
        # Checked before decrypting: with a fixed-size body an attacker cannot craft one
        # ciphertext that opens under many keys (a partitioning oracle).
        if len(stanza.body) != BODY_SIZE:
            raise AgeHeaderError(_("an mlkem768x25519 stanza body is not a wrapped 16-byte key"))
        # HPKE reports a low-order share as a failed tag (not ours); the spec makes it
        # a malformed stanza, whoever it is addressed to.
        if shared_secret(self._x25519, enc[MLKEM_CIPHERTEXT_SIZE:]) is None:
            raise AgeHeaderError(
                _("the X25519 part of the mlkem768x25519 encapsulated key is a low-order point")
            )
        try:
            return _SUITE.decrypt(enc + stanza.body, self._private, info=LABEL)
        except InvalidTag:
            return None
