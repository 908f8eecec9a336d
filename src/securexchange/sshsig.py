"""SSHSIG signatures with Ed25519 (OpenSSH ``PROTOCOL.sshsig``).

We sign with Ed25519 in OpenSSH's signature format so that ``ssh-keygen -Y verify``,
present wherever OpenSSH is, can check every artifact independently of this program.

Our profile is narrower than the format, on purpose:

- key and signature type ``ssh-ed25519`` only; hash algorithm ``sha512`` only. We never
  produce ``sha256`` and nobody we talk to does either, so accepting it would only widen
  what an attacker can feed the verifier (a ``sha256`` signature made by ``ssh-keygen -O
  hashalg=sha256`` is refused with :class:`BadSignature`);
- the armored text must be exactly what ``ssh-keygen`` writes (and what we write): the
  BEGIN line, base64 in lines of 70 characters, the END line, one final ``\\n``. We check
  this by re-armoring the decoded blob and comparing, so one signature has exactly one
  accepted encoding and nothing can hide around it;
- version 1, an empty ``reserved`` field, no trailing bytes, and a size cap before
  anything is decoded.

Errors: text that cannot be parsed as such a signature is :class:`Malformed`; a
well-formed signature that is outside the profile, made for another namespace, made by
another key, or that does not verify is :class:`BadSignature`. Messages never echo a key,
a namespace read from input, or signature bytes.

Keys are raw bytes: a 32-byte Ed25519 seed (private) and a 32-byte public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import nacl.exceptions
import nacl.signing
import nacl.utils

from securexchange.errors import BadSignature, Malformed
from securexchange.i18n import N_, _

NAMESPACE_PACKAGE = "securexchange-package-v1"
NAMESPACE_RETURN = "securexchange-return-v1"
NAMESPACE_KEYRING = "securexchange-keyring-v1"
NAMESPACE_NOTICE = "securexchange-notice-v1"
NAMESPACE_INCIDENT = "securexchange-incident-v1"
NAMESPACE_PROTOCOL_NOTICE = "securexchange-protocol-notice-v1"
NAMESPACE_EVIDENCE = "securexchange-evidence-v1"
NAMESPACE_LOG = "securexchange-log-v1"
NAMESPACE_CARD = "securexchange-card-v1"

KEY_TYPE = "ssh-ed25519"
HASH_ALGORITHM = "sha512"
SEED_SIZE = 32
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64

_MAGIC = b"SSHSIG"
_VERSION = 1
_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_END = "-----END SSH SIGNATURE-----"
_LINE = 70  # ssh-keygen wraps the base64 body at 70 characters
# An Ed25519/sha512 signature with a 64-character namespace armors to about 400 bytes;
# the cap keeps a hostile file from making us decode anything large.
MAX_ARMORED_SIZE = 2048
MAX_NAMESPACE_SIZE = 64
_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")
# allowed_signers principals: no whitespace, quotes, commas or pattern characters,
# which that file format would interpret.
_PRINCIPAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
_COMMENT_RE = re.compile(r"^[\x20-\x7e]{0,200}$")


# --- keys -------------------------------------------------------------------------------


def generate_signing_seed() -> bytes:
    """32 random bytes from the operating system: a new Ed25519 private key."""
    return nacl.utils.random(SEED_SIZE)


def _signing_key(seed: bytes) -> nacl.signing.SigningKey:
    if not isinstance(seed, bytes) or len(seed) != SEED_SIZE:
        raise ValueError("an Ed25519 seed is 32 bytes")
    return nacl.signing.SigningKey(seed)


def _check_public_key(public_key: bytes) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_SIZE:
        raise ValueError("an Ed25519 public key is 32 bytes")


def public_key_from_seed(seed: bytes) -> bytes:
    """The 32-byte public key of an Ed25519 seed."""
    return bytes(_signing_key(seed).verify_key)


# --- SSH wire encoding (RFC 4251 ``string``) -------------------------------------------


def _string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


class _Reader:
    """Reads RFC 4251 fields from a blob; every overrun is :class:`Malformed`.

    ``what`` names the blob in those errors: a text marked with ``N_``, translated here.
    """

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def fixed(self, size: int) -> bytes:
        if self._pos + size > len(self._data):
            # TRANSLATORS: {what} is "the signature", "the public key" or the like.
            raise Malformed(_("{what} is truncated").format(what=_(self._what)))
        value = self._data[self._pos : self._pos + size]
        self._pos += size
        return value

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.fixed(4))[0]
        return value

    def string(self) -> bytes:
        return self.fixed(self.uint32())

    def end(self) -> None:
        if self._pos != len(self._data):
            raise Malformed(_("{what} has trailing bytes").format(what=_(self._what)))


def _key_blob(public_key: bytes) -> bytes:
    return _string(KEY_TYPE.encode("ascii")) + _string(public_key)


def _parse_key_blob(blob: bytes, what: str) -> bytes:
    """The key of an ``ssh-ed25519`` key blob; ``what`` as for :class:`_Reader`."""
    reader = _Reader(blob, what)
    key_type = reader.string()
    if key_type != KEY_TYPE.encode("ascii"):
        raise BadSignature(_("{what} is not an ssh-ed25519 key").format(what=_(what)))
    key = reader.string()
    reader.end()
    if len(key) != PUBLIC_KEY_SIZE:
        raise Malformed(_("{what} does not hold a 32-byte key").format(what=_(what)))
    return key


# --- the signature ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Parsed:
    public_key: bytes
    namespace: bytes
    hash_algorithm: bytes
    signature: bytes


def _signed_data(namespace: bytes, message: bytes) -> bytes:
    # What Ed25519 actually signs (PROTOCOL.sshsig §3): the version and the key are not
    # in it, the namespace and the hash algorithm are, so neither can be swapped later.
    return (
        _MAGIC
        + _string(namespace)
        + _string(b"")
        + _string(HASH_ALGORITHM.encode("ascii"))
        + _string(hashlib.sha512(message).digest())
    )


def _blob(public_key: bytes, namespace: bytes, signature: bytes) -> bytes:
    return (
        _MAGIC
        + struct.pack(">I", _VERSION)
        + _string(_key_blob(public_key))
        + _string(namespace)
        + _string(b"")
        + _string(HASH_ALGORITHM.encode("ascii"))
        + _string(_string(KEY_TYPE.encode("ascii")) + _string(signature))
    )


def _armor(blob: bytes) -> str:
    body = base64.b64encode(blob).decode("ascii")
    lines = [body[i : i + _LINE] for i in range(0, len(body), _LINE)]
    return "\n".join([_BEGIN, *lines, _END]) + "\n"


def _check_namespace(namespace: str) -> bytes:
    if not isinstance(namespace, str) or not namespace:
        raise ValueError("a signature namespace is required")
    if len(namespace) > MAX_NAMESPACE_SIZE or not _NAMESPACE_RE.fullmatch(namespace):
        raise ValueError("a signature namespace is printable ASCII without spaces")
    return namespace.encode("ascii")


def _dearmor(armored: str | bytes) -> bytes:
    if isinstance(armored, bytes):
        if len(armored) > MAX_ARMORED_SIZE:
            raise Malformed(_("the signature is larger than any SSHSIG we accept"))
        try:
            text = armored.decode("ascii")
        except UnicodeDecodeError:
            raise Malformed(_("the signature is not ASCII armor")) from None
    elif isinstance(armored, str):
        text = armored
        if len(text) > MAX_ARMORED_SIZE:
            raise Malformed(_("the signature is larger than any SSHSIG we accept"))
    else:
        raise TypeError("a signature is str or bytes")
    lines = text.split("\n")
    if len(lines) < 4 or lines[0] != _BEGIN or lines[-2] != _END or lines[-1] != "":
        raise Malformed(_("the signature does not have SSH SIGNATURE armor"))
    try:
        blob = base64.b64decode("".join(lines[1:-2]).encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise Malformed(_("the signature armor does not hold base64")) from None
    # One signature, one encoding: anything else (other line width, padding tricks,
    # CRLF, blank lines) is refused rather than normalised.
    if _armor(blob) != text:
        raise Malformed(_("the signature armor is not in canonical form"))
    return blob


def _parse(armored: str | bytes) -> _Parsed:
    # TRANSLATORS: the subject of "... is truncated", "... has trailing bytes".
    reader = _Reader(_dearmor(armored), N_("the signature"))
    if reader.fixed(len(_MAGIC)) != _MAGIC:
        raise Malformed(_("the signature is not an SSHSIG"))
    if reader.uint32() != _VERSION:
        raise Malformed(_("the signature has an unsupported SSHSIG version"))
    key_blob = reader.string()
    namespace = reader.string()
    reserved = reader.string()
    hash_algorithm = reader.string()
    sig_blob = reader.string()
    reader.end()
    if reserved:
        raise Malformed(_("the signature's reserved field is not empty"))
    if not namespace:
        raise Malformed(_("the signature has an empty namespace"))
    # TRANSLATORS: the subject of "... is truncated", "... is not an ssh-ed25519 key" and the like.
    public_key = _parse_key_blob(key_blob, N_("the signature's key"))
    # TRANSLATORS: the subject of "... is truncated", "... has trailing bytes".
    sig_reader = _Reader(sig_blob, N_("the signature value"))
    if sig_reader.string() != KEY_TYPE.encode("ascii"):
        raise BadSignature(_("the signature is not an ssh-ed25519 signature"))
    signature = sig_reader.string()
    sig_reader.end()
    if len(signature) != SIGNATURE_SIZE:
        raise Malformed(_("the signature value is not 64 bytes"))
    return _Parsed(public_key, namespace, hash_algorithm, signature)


def sign(seed: bytes, message: bytes, namespace: str) -> str:
    """An armored SSHSIG (``-----BEGIN SSH SIGNATURE-----``) over ``message``.

    The hash algorithm is sha512; ``namespace`` is required (one per artifact type, so a
    signature for one type can never pass as another's). Ed25519 is deterministic: the
    same seed, message and namespace always give the same text (as ``ssh-keygen -Y sign``
    would).
    """
    ns = _check_namespace(namespace)
    key = _signing_key(seed)
    signature = key.sign(_signed_data(ns, message)).signature
    return _armor(_blob(bytes(key.verify_key), ns, signature))


def verify(armored: str | bytes, message: bytes, namespace: str, public_key: bytes) -> None:
    """Check that ``armored`` is ``public_key``'s signature over ``message`` in ``namespace``.

    Returns nothing; raises :class:`BadSignature` (or :class:`Malformed` for text that is
    not an SSHSIG at all). The key embedded in the signature must equal ``public_key``
    too, as ``ssh-keygen -Y verify`` requires of its allowed_signers entry.
    """
    ns = _check_namespace(namespace)
    _check_public_key(public_key)
    parsed = _parse(armored)
    if parsed.hash_algorithm != HASH_ALGORITHM.encode("ascii"):
        raise BadSignature(_("the signature uses a hash algorithm other than sha512"))
    if parsed.namespace != ns:
        raise BadSignature(_("the signature was made for another purpose (namespace)"))
    if not hmac.compare_digest(parsed.public_key, public_key):
        raise BadSignature(_("the signature was made by another key"))
    try:
        nacl.signing.VerifyKey(public_key).verify(_signed_data(ns, message), parsed.signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError):
        raise BadSignature(_("the signature does not verify")) from None


def signer_public_key(armored: str | bytes) -> bytes:
    """The public key embedded in a signature.

    For looking up which trusted key to verify with, never as trust in itself: anyone
    can put any key there.
    """
    return _parse(armored).public_key


# --- OpenSSH public key lines and allowed_signers ---------------------------------------


def ssh_public_key_line(public_key: bytes, comment: str = "") -> str:
    """``ssh-ed25519 AAAA... comment`` (OpenSSH ``authorized_keys`` form), no newline."""
    _check_public_key(public_key)
    if not _COMMENT_RE.fullmatch(comment):
        raise ValueError("a key comment is printable ASCII, at most 200 characters")
    line = f"{KEY_TYPE} {base64.b64encode(_key_blob(public_key)).decode('ascii')}"
    return f"{line} {comment}" if comment else line


def parse_ssh_public_key_line(line: str) -> bytes:
    """The 32-byte key of an ``ssh-ed25519 AAAA... [comment]`` line.

    Raises :class:`Malformed` for any other key type or a damaged key.
    """
    if not isinstance(line, str) or len(line) > 1024:
        raise Malformed(_("not an OpenSSH public key line"))
    parts = line.strip().split(None, 2)
    if len(parts) < 2 or parts[0] != KEY_TYPE:
        raise Malformed(_("not an ssh-ed25519 public key line"))
    try:
        blob = base64.b64decode(parts[1].encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise Malformed(_("the public key line does not hold base64")) from None
    try:
        # TRANSLATORS: the subject of "... is truncated", "... does not hold a 32-byte key".
        return _parse_key_blob(blob, N_("the public key"))
    except BadSignature:
        raise Malformed(_("the public key line holds another key type")) from None


def _ssh_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("validity times must be timezone-aware")
    # The trailing Z makes ssh-keygen read the time as UTC, not the local zone.
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def allowed_signers_line(
    principal: str,
    public_key: bytes,
    *,
    namespaces: Sequence[str],
    valid_after: datetime | None = None,
    valid_before: datetime | None = None,
) -> str:
    """One line of an OpenSSH ``allowed_signers`` file (no newline).

    ``principal namespaces="a,b"[,valid-after="…Z"][,valid-before="…Z"] ssh-ed25519
    AAAA...``: with it, ``ssh-keygen -Y verify -f FILE -I principal -n namespace`` checks
    our signatures by hand. ``namespaces`` must be non-empty: a key is never trusted for
    every purpose.
    """
    if not _PRINCIPAL_RE.fullmatch(principal):
        raise ValueError("a principal is letters, digits and . _ @ + - only")
    if isinstance(namespaces, str) or not namespaces:
        raise ValueError("allowed_signers needs at least one namespace")
    names = [_check_namespace(ns).decode("ascii") for ns in namespaces]
    options = [f'namespaces="{",".join(names)}"']
    if valid_after is not None:
        options.append(f'valid-after="{_ssh_time(valid_after)}"')
    if valid_before is not None:
        options.append(f'valid-before="{_ssh_time(valid_before)}"')
    if valid_after is not None and valid_before is not None and valid_after >= valid_before:
        raise ValueError("valid_after must be before valid_before")
    return f"{principal} {','.join(options)} {ssh_public_key_line(public_key)}"
