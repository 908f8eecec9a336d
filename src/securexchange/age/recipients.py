"""The recipient types an age file can be encrypted to, behind one interface.

A public-key recipient type is one module (today :mod:`securexchange.age.x25519` and the
hybrid post-quantum :mod:`securexchange.age.mlkem768x25519`) and one :class:`KeyType`
entry in :data:`KEY_TYPES`: its stanza type, the prefixes of its recipient and identity
strings, their parsers, and the keyless check of a stanza's shape. Everything outside
``age/`` and ``keys/`` parses keys and judges stanzas through :func:`parse_recipient`,
:func:`parse_identity` and :func:`well_formed_stanza`, so it never names a type. The
passphrase (scrypt) recipient is not a public-key type: it is never in an artifact and
stays apart (:mod:`securexchange.age.scrypt`).

A hybrid post-quantum recipient may share a file only with other post-quantum ones
(:func:`securexchange.age.encrypt` refuses a mix); a reader accepts any mix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from securexchange.age import bech32, mlkem768x25519, x25519
from securexchange.age.errors import AgeKeyError
from securexchange.age.format import Stanza, decode_b64
from securexchange.i18n import N_, _


class Recipient(Protocol):
    """Wraps a file key into one header stanza."""

    def wrap(self, file_key: bytes) -> Stanza: ...


class Identity(Protocol):
    """Unwraps the file key from the one stanza that is its own, if any."""

    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None: ...


class PublicRecipient(Recipient, Protocol):
    """A public-key recipient, written ``age1...`` (or its type's own prefix)."""

    def to_string(self) -> str: ...


class SecretIdentity(Identity, Protocol):
    """A public-key identity, written ``AGE-SECRET-KEY-...`` (or its type's own prefix)."""

    @property
    def recipient(self) -> PublicRecipient: ...

    def to_string(self) -> str: ...


@dataclass(frozen=True)
class KeyType:
    stanza_type: str  # the first argument of its stanzas, e.g. "X25519"
    recipient_prefix: str  # "age1" (bech32 HRP "age" and separator)
    identity_prefix: str  # "AGE-SECRET-KEY-1"
    parse_recipient: Callable[[str], PublicRecipient]
    parse_identity: Callable[[str], SecretIdentity]
    well_formed: Callable[[Stanza], bool]  # the stanza's shape, judged without a key
    # Hybrid post-quantum: may share a file only with other post-quantum recipients.
    post_quantum: bool = False
    public_size: int = 32  # the bytes a recipient string encodes

    @property
    def recipient_length(self) -> int:
        """The length of a recipient string: prefix, 5-bit groups, 6-character checksum."""
        return len(self.recipient_prefix) + -(-self.public_size * 8 // 5) + 6


def _x25519_well_formed(stanza: Stanza) -> bool:
    """One argument, a 32-byte share in canonical base64, a wrapped 16-byte key."""
    if len(stanza.args) != 1 or len(stanza.body) != 32:
        return False
    try:
        return len(decode_b64(stanza.args[0].encode("ascii"))) == x25519.KEY_SIZE
    except ValueError:
        return False


def _mlkem768x25519_well_formed(stanza: Stanza) -> bool:
    """One argument, a 1,120-byte encapsulated key in canonical base64, a sealed 16-byte key."""
    if len(stanza.args) != 1 or len(stanza.body) != mlkem768x25519.BODY_SIZE:
        return False
    try:
        enc = decode_b64(stanza.args[0].encode("ascii"))
    except ValueError:
        return False
    return len(enc) == mlkem768x25519.ENC_SIZE


KEY_TYPES: tuple[KeyType, ...] = (
    KeyType(
        stanza_type=x25519.STANZA_TYPE,
        recipient_prefix=x25519.RECIPIENT_HRP + "1",
        identity_prefix=x25519.IDENTITY_HRP + "1",
        parse_recipient=x25519.X25519Recipient.from_string,
        parse_identity=x25519.X25519Identity.from_string,
        well_formed=_x25519_well_formed,
        public_size=x25519.KEY_SIZE,
    ),
    KeyType(
        stanza_type=mlkem768x25519.STANZA_TYPE,
        recipient_prefix=mlkem768x25519.RECIPIENT_HRP + "1",
        identity_prefix=mlkem768x25519.IDENTITY_HRP + "1",
        parse_recipient=mlkem768x25519.MLKEM768X25519Recipient.from_string,
        parse_identity=mlkem768x25519.MLKEM768X25519Identity.from_string,
        well_formed=_mlkem768x25519_well_formed,
        post_quantum=True,
        public_size=mlkem768x25519.PUBLIC_SIZE,
    ),
)
_BY_STANZA = {t.stanza_type: t for t in KEY_TYPES}


def _type_of(text: str, prefix: Callable[[KeyType], str], unknown: str) -> KeyType:
    """The key type whose prefix ``text`` starts with; ``unknown`` (marked with ``N_``)
    is the refusal when none does."""
    # Longest prefix first: a hybrid type's "age1pq1" must not be read as "age1".
    for key_type in sorted(KEY_TYPES, key=lambda t: -len(prefix(t))):
        if text.upper().startswith(prefix(key_type).upper()):
            return key_type
    raise AgeKeyError(_(unknown))


def parse_recipient(text: str) -> PublicRecipient:
    """A public-key recipient string as its type's recipient; AgeKeyError otherwise."""
    unknown = N_("not an age recipient of a type this version knows")
    return _type_of(text, lambda t: t.recipient_prefix, unknown).parse_recipient(text)


def parse_identity(text: str) -> SecretIdentity:
    """A public-key identity string as its type's identity; AgeKeyError otherwise."""
    unknown = N_("not an age identity of a type this version knows")
    return _type_of(text, lambda t: t.identity_prefix, unknown).parse_identity(text)


def is_post_quantum_recipient(text: str) -> bool:
    """Whether a public-key recipient string is of a post-quantum type (by its prefix
    alone, so callers outside ``age/`` tell hybrid from classic without naming a type);
    AgeKeyError for a prefix no type has."""
    unknown = N_("not an age recipient of a type this version knows")
    return _type_of(text, lambda t: t.recipient_prefix, unknown).post_quantum


def is_post_quantum_stanza(stanza_type: str) -> bool:
    """Whether a stanza type is of a post-quantum public-key type (False for any other,
    known or not): what an auditor asks of a header without a key."""
    key_type = _BY_STANZA.get(stanza_type)
    return key_type is not None and key_type.post_quantum


def has_recipient_shape(text: str) -> bool:
    """``text`` looks like a canonical public-key recipient of a known type: its prefix,
    lower-case Bech32 characters and that type's length. A cheap check, without the
    checksum or the key (a keyring lists thousands of subkeys; parsing a post-quantum
    recipient costs milliseconds); :func:`is_recipient_string` is the full one."""
    if text != text.lower():
        return False
    for key_type in sorted(KEY_TYPES, key=lambda t: -len(t.recipient_prefix)):
        if text.startswith(key_type.recipient_prefix):
            body = text[len(key_type.recipient_prefix) :]
            return len(text) == key_type.recipient_length and not body.strip(bech32.CHARSET)
    return False


def is_identity_string_prefix(text: str) -> bool:
    """``text`` starts like a public-key identity of a type this version knows."""
    return any(text.upper().startswith(t.identity_prefix.upper()) for t in KEY_TYPES)


def public_stanza_types() -> tuple[str, ...]:
    """The stanza types of the public-key recipient types, in registration order."""
    return tuple(t.stanza_type for t in KEY_TYPES)


def well_formed_stanza(stanza: Stanza) -> bool:
    """A stanza of a public-key type, well formed as far as it can be told without a key."""
    key_type = _BY_STANZA.get(stanza.type)
    return key_type is not None and key_type.well_formed(stanza)


def is_recipient_string(text: str) -> bool:
    """``text`` is a public-key recipient in its canonical form (as ``to_string`` writes
    it: what manifests, cards and keyrings must hold)."""
    try:
        return parse_recipient(text).to_string() == text
    except AgeKeyError:
        return False
