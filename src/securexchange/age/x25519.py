"""The X25519 recipient type: ``-> X25519 <ephemeral share>`` and a wrapped file key."""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from securexchange.age import bech32
from securexchange.age.errors import AgeHeaderError, AgeKeyError
from securexchange.age.format import Stanza, decode_b64, encode_b64, first_file_key
from securexchange.age.primitives import WrongBodySize, hkdf, open_file_key, seal_file_key
from securexchange.i18n import _

STANZA_TYPE = "X25519"
LABEL = b"age-encryption.org/v1/X25519"
RECIPIENT_HRP = "age"
IDENTITY_HRP = "AGE-SECRET-KEY-"
KEY_SIZE = 32


def shared_secret(private: X25519PrivateKey, public: bytes) -> bytes | None:
    """The X25519 output, or None for a low-order point (an all-zero secret).

    An all-zero secret would make the wrapping key independent of our key, so the spec
    requires aborting. OpenSSL refuses such a point itself; the explicit check keeps the
    rule independent of the backend.
    """
    try:
        secret = private.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:
        return None
    return None if secret == bytes(KEY_SIZE) else secret


@dataclass(frozen=True)
class X25519Recipient:
    """An age public key, ``age1...``."""

    public: bytes

    def __post_init__(self) -> None:
        if len(self.public) != KEY_SIZE:
            raise AgeKeyError(_("an X25519 recipient is 32 bytes"))
        # Encrypting to a low-order point would produce a file that anyone can open.
        if shared_secret(X25519PrivateKey.generate(), self.public) is None:
            raise AgeKeyError(_("the X25519 recipient is a low-order point"))

    @classmethod
    def from_string(cls, s: str) -> X25519Recipient:
        try:
            hrp, raw = bech32.decode(s)
        except ValueError:
            raise AgeKeyError(_("malformed age recipient (not a valid age1... string)")) from None
        if hrp != RECIPIENT_HRP:
            raise AgeKeyError(_("not an age X25519 recipient (expected age1...)"))
        return cls.from_bytes(raw)

    def to_string(self) -> str:
        return bech32.encode(RECIPIENT_HRP, self.public)

    @classmethod
    def from_bytes(cls, raw: bytes) -> X25519Recipient:
        return cls(bytes(raw))

    def to_bytes(self) -> bytes:
        return self.public

    def wrap(self, file_key: bytes) -> Stanza:
        ephemeral = X25519PrivateKey.generate()
        share = ephemeral.public_key().public_bytes_raw()
        secret = shared_secret(ephemeral, self.public)
        if secret is None:  # unreachable: checked in __post_init__
            raise AgeKeyError(_("the X25519 recipient is a low-order point"))
        key = hkdf(secret, share + self.public, LABEL)
        return Stanza(STANZA_TYPE, (encode_b64(share),), seal_file_key(key, file_key))

    def __str__(self) -> str:
        return self.to_string()

    def __repr__(self) -> str:
        return f"X25519Recipient({self.to_string()!r})"


@dataclass(frozen=True, eq=False)
class X25519Identity:
    """An age secret key, ``AGE-SECRET-KEY-1...``. Its repr shows only the public key."""

    _scalar: bytes = field(repr=False)
    _private: X25519PrivateKey = field(init=False, repr=False)
    recipient: X25519Recipient = field(init=False)

    def __post_init__(self) -> None:
        if len(self._scalar) != KEY_SIZE:
            raise AgeKeyError(_("an X25519 identity is a 32-byte scalar"))
        private = X25519PrivateKey.from_private_bytes(self._scalar)
        public = private.public_key().public_bytes_raw()
        object.__setattr__(self, "_private", private)
        object.__setattr__(self, "recipient", X25519Recipient(public))

    @classmethod
    def generate(cls) -> X25519Identity:
        return cls(os.urandom(KEY_SIZE))

    @classmethod
    def from_string(cls, s: str) -> X25519Identity:
        try:
            hrp, raw = bech32.decode(s)
        except ValueError:
            raise AgeKeyError(
                _("malformed age identity (not a valid AGE-SECRET-KEY-1...)")
            ) from None
        if hrp != IDENTITY_HRP:
            raise AgeKeyError(_("not an age X25519 identity (expected AGE-SECRET-KEY-1...)"))
        return cls.from_bytes(raw)

    def to_string(self) -> str:
        return bech32.encode(IDENTITY_HRP, self._scalar)

    @classmethod
    def from_bytes(cls, raw: bytes) -> X25519Identity:
        return cls(bytes(raw))

    def to_bytes(self) -> bytes:
        return self._scalar

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, X25519Identity):
            return NotImplemented
        return hmac.compare_digest(self._scalar, other._scalar)

    def __hash__(self) -> int:
        return hash(self.recipient)

    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None:
        """The file key from the first X25519 stanza addressed to us, or None.

        Stanzas of other types are ignored; a malformed X25519 stanza is fatal
        (AgeHeaderError), not skipped, as the spec requires.
        """
        return first_file_key(stanzas, STANZA_TYPE, self._unwrap_one)

    def _unwrap_one(self, stanza: Stanza) -> bytes | None:
        if len(stanza.args) != 1:
            raise AgeHeaderError(_("an X25519 stanza must have exactly one argument"))
        try:
            share = decode_b64(stanza.args[0].encode("ascii"))
        except ValueError:
            raise AgeHeaderError(_("the X25519 share is not canonical base64")) from None
        if len(share) != KEY_SIZE:
            raise AgeHeaderError(_("the X25519 share is not 32 bytes"))
        secret = shared_secret(self._private, share)
        if secret is None:
            raise AgeHeaderError(_("the X25519 share is a low-order point"))
        key = hkdf(secret, share + self.recipient.public, LABEL)
        try:
            return open_file_key(key, stanza.body)
        except WrongBodySize:
            raise AgeHeaderError(_("an X25519 stanza body is not a wrapped 16-byte key")) from None
