"""age v1 (https://age-encryption.org/v1), byte-compatible with the reference ``age``.

X25519, hybrid post-quantum mlkem768x25519 (age 1.3) and scrypt recipients, the
ChaCha20-Poly1305 STREAM payload and ASCII armor, on ``cryptography``'s primitives (its
HPKE for the hybrid type). The header format (:mod:`.format`) holds no crypto; each
recipient type is its own module; this module only wires them. Hybrid and classic
recipients are never written into one file; a file that mixes them is read.

Decryption reads armored or binary files alike (a file whose first visible byte is ``-``
is judged as armor). Failures raise the typed errors in :mod:`.errors`, whose messages
never contain key material, plaintext or header bytes.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from typing import BinaryIO

from securexchange.age import armor as _armor
from securexchange.age import format as _format
from securexchange.age import parallel as _parallel
from securexchange.age import positional as _positional
from securexchange.age import stream as _stream
from securexchange.age.errors import (
    AgeArmorError,
    AgeHeaderError,
    AgeHmacError,
    AgeKeyError,
    AgeMixedRecipientsError,
    AgeNoMatchError,
    AgePayloadError,
    AgeSizeError,
)
from securexchange.age.format import MAX_HEADER_SIZE, MAX_RECIPIENTS, MAX_STANZAS, Header, Stanza
from securexchange.age.mlkem768x25519 import MLKEM768X25519Identity, MLKEM768X25519Recipient
from securexchange.age.primitives import (
    FILE_KEY_SIZE,
    header_mac,
    macs_equal,
    payload_key,
)
from securexchange.age.readahead import Readable, never_blocks, read_full
from securexchange.age.recipients import (
    Identity,
    PublicRecipient,
    Recipient,
    SecretIdentity,
    has_recipient_shape,
    is_identity_string_prefix,
    is_post_quantum_recipient,
    is_post_quantum_stanza,
    is_recipient_string,
    parse_identity,
    parse_recipient,
    public_stanza_types,
    well_formed_stanza,
)
from securexchange.age.scrypt import ScryptIdentity, ScryptRecipient
from securexchange.age.x25519 import X25519Identity, X25519Recipient
from securexchange.i18n import _

__all__ = [
    "DEFAULT_MAX_SIZE",
    "MAX_HEADER_SIZE",
    "MAX_RECIPIENTS",
    "MAX_STANZAS",
    "AgeArmorError",
    "AgeHeaderError",
    "AgeHmacError",
    "AgeKeyError",
    "AgeMixedRecipientsError",
    "AgeNoMatchError",
    "AgePayloadError",
    "AgeSizeError",
    "Header",
    "Identity",
    "MLKEM768X25519Identity",
    "MLKEM768X25519Recipient",
    "PublicRecipient",
    "Recipient",
    "ScryptIdentity",
    "ScryptRecipient",
    "SecretIdentity",
    "Stanza",
    "X25519Identity",
    "X25519Recipient",
    "decrypt",
    "decrypt_stream",
    "encrypt",
    "encrypt_stream",
    "has_recipient_shape",
    "is_identity_string_prefix",
    "is_post_quantum_recipient",
    "is_post_quantum_stanza",
    "is_recipient_string",
    "parse_header",
    "parse_identity",
    "parse_recipient",
    "public_stanza_types",
    "well_formed_stanza",
]

DEFAULT_MAX_SIZE = 256 << 20
_PEEK = 2048  # enough to see past the whitespace armor may start with
_HEADER_BLOCK = 4096


# --- encryption -----------------------------------------------------------------------


def _header_for(recipients: Sequence[Recipient]) -> tuple[bytes, bytes]:
    """A fresh file key and the header wrapping it to every recipient."""
    if not recipients:
        raise ValueError("at least one recipient is required")
    if len(recipients) > MAX_RECIPIENTS:
        # The callers cap their lists (a municipality authorises at most this many).
        raise ValueError(f"at most {MAX_RECIPIENTS} recipients")
    if any(isinstance(r, ScryptRecipient) for r in recipients) and len(recipients) != 1:
        # A passphrase-encrypted file must be authenticated by the passphrase alone;
        # another recipient could otherwise forge a file that opens with it.
        raise ValueError("a passphrase recipient must be the only recipient")
    post_quantum = [getattr(r, "post_quantum", False) is True for r in recipients]
    if any(post_quantum) and not all(post_quantum):
        # As the reference age refuses it: a classic recipient would let a future
        # quantum computer open a file its post-quantum recipients were meant to protect.
        raise AgeMixedRecipientsError(
            _(
                "post-quantum (mlkem768x25519) and classic recipients cannot share a file: "
                "the classic ones would leave it open to a future quantum computer"
            )
        )
    file_key = os.urandom(FILE_KEY_SIZE)
    stanzas = [r.wrap(file_key) for r in recipients]
    without_mac = _format.encode_without_mac(stanzas)
    header = Header(tuple(stanzas), header_mac(file_key, without_mac))
    return file_key, header.encode()


def encrypt_stream(
    src: BinaryIO, dst: BinaryIO, recipients: Sequence[Recipient], *, armor: bool = False
) -> None:
    """Encrypt ``src`` to ``dst`` chunk by chunk, in memory independent of the size."""
    file_key, header = _header_for(recipients)
    nonce = os.urandom(_stream.NONCE_SIZE)
    writer: _armor.ArmorWriter | None = None
    write = _write_all(dst)
    if armor:
        writer = _armor.ArmorWriter(write)
        write = writer
    write(header + nonce)
    key, readable = payload_key(file_key, nonce), _as_readable(src)
    helpers = _parallel.helpers_available()
    file = _positional.regular_file(src) if helpers else None
    if file is not None:  # each helper reads its own blocks (age/positional.py)
        _positional.encrypt(key, file, write, helpers=helpers)
        src.seek(file.start + file.size)  # at the end, where reading in order leaves it
    elif helpers:
        _parallel.encrypt(key, readable, write, helpers=helpers)
    else:
        _stream.encrypt(key, readable, write, read_ahead=never_blocks(src))
    if writer is not None:
        writer.close()


def encrypt(plaintext: bytes, recipients: Sequence[Recipient], *, armor: bool = False) -> bytes:
    """Encrypt ``plaintext`` to the recipients; binary age, or armored when asked."""
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(plaintext), out, recipients, armor=armor)
    return out.getvalue()


# --- decryption -----------------------------------------------------------------------


class _Prefixed:
    """A byte source that first yields ``prefix`` (bytes already read), then ``src``."""

    def __init__(self, prefix: bytes, src: Readable) -> None:
        self._prefix = memoryview(prefix)
        self._src = src

    def readinto(self, buffer: memoryview, /) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        return self._src.readinto(buffer) or 0


class _ReadAdapter:
    """``readinto`` for a file object that only has ``read``."""

    def __init__(self, src: BinaryIO) -> None:
        self._src = src

    def readinto(self, buffer: memoryview, /) -> int:
        data = self._src.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _write_all(dst: BinaryIO) -> Callable[[bytes | memoryview], object]:
    """``dst.write`` that finishes short writes (an unbuffered file or a pipe may take
    fewer bytes than offered; a buffered file never does)."""

    def write(data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            n = dst.write(view)
            if n is None:
                raise BlockingIOError("the destination is non-blocking and not ready")
            view = view[n:]

    return write


def _as_readable(src: BinaryIO) -> Readable:
    if hasattr(src, "readinto"):
        return src
    return _ReadAdapter(src)


def _open_source(src: Readable) -> Readable:
    """Peek at the start and return a binary view of the file, dearmored if needed."""
    head = bytearray(_PEEK)
    n = read_full(src, memoryview(head))
    prefix = bytes(head[:n])
    if _armor.starts_armored(prefix):
        return _armor.ArmorReader(src, prefix)
    return _Prefixed(prefix, src)


def _read_header(src: Readable) -> tuple[Header, bytes]:
    """Read just enough for the header (capped); return it and the bytes after it."""
    buf = bytearray()
    block = memoryview(bytearray(_HEADER_BLOCK))
    while len(buf) < MAX_HEADER_SIZE:
        searched = len(buf)
        n = src.readinto(block)
        if not n:
            break
        buf += block[:n]
        if _format.find_end(buf, searched) is not None:
            break
    header = _format.parse(buf)
    return header, bytes(buf[header.length :])


def _file_key(header: Header, identities: Sequence[Identity]) -> bytes:
    """Unwrap the file key with the first identity that matches, then check the MAC."""
    if header.count("scrypt") and len(header.stanzas) != 1:
        raise AgeHeaderError(_("a passphrase (scrypt) stanza must be the only stanza"))
    for identity in identities:
        file_key = identity.unwrap(header.stanzas)
        if file_key is not None:
            break
    else:
        raise AgeNoMatchError(
            # TRANSLATORS: two counts: the keys tried and the recipient blocks in the file.
            _(
                "none of the {identities} identities matches any of the {stanzas} recipient stanzas"
            ).format(identities=len(identities), stanzas=len(header.stanzas))
        )
    expected = header_mac(file_key, _format.encode_without_mac(header.stanzas))
    if not macs_equal(expected, header.mac):
        raise AgeHmacError(_("the header MAC does not verify (the header was changed)"))
    return file_key


def _read_nonce(src: Readable) -> bytes:
    nonce = bytearray(_stream.NONCE_SIZE)
    if read_full(src, memoryview(nonce)) != _stream.NONCE_SIZE:
        raise AgeHeaderError(_("the file ends before the payload nonce"))
    return bytes(nonce)


def decrypt_stream(src: BinaryIO, dst: BinaryIO, identities: Sequence[Identity]) -> None:
    """Decrypt ``src`` to ``dst`` chunk by chunk, in memory independent of the size.

    Each 64 KiB chunk is written to ``dst`` as soon as it authenticated. A truncated or
    tampered file therefore raises only after the chunks before the damage were
    written: a caller that must not act on partial plaintext uses :func:`decrypt`, or
    discards ``dst`` on error. ``dst.write`` receives views of an internal buffer that
    are reused afterwards: it must copy what it keeps (files and BytesIO do).
    """
    source = _open_source(_as_readable(src))
    header, rest = _read_header(source)
    file_key = _file_key(header, identities)
    payload = _Prefixed(rest, source)
    nonce = _read_nonce(payload)
    key = payload_key(file_key, nonce)
    helpers = _parallel.helpers_available()
    if helpers:
        _parallel.decrypt(key, payload, _write_all(dst), helpers=helpers)
    else:
        # The wrappers only read ``src``; whether a reader thread is safe depends on it.
        _stream.decrypt(key, payload, _write_all(dst), read_ahead=never_blocks(src))


def decrypt(
    ciphertext: bytes, identities: Sequence[Identity], *, max_size: int = DEFAULT_MAX_SIZE
) -> bytes:
    """Decrypt a whole file in memory, all or nothing.

    The plaintext is returned only after the final chunk authenticated; a payload larger
    than ``max_size`` bytes is refused (AgeSizeError) before it is decrypted when the
    file is binary, and as soon as the limit is passed when it is armored.
    """
    data = memoryview(ciphertext)
    if not _armor.starts_armored(data[:_PEEK]):
        header = _format.parse(data)
        file_key = _file_key(header, identities)
        nonce = bytes(data[header.length : header.length + _stream.NONCE_SIZE])
        if len(nonce) != _stream.NONCE_SIZE:
            raise AgeHeaderError(_("the file ends before the payload nonce"))
        payload = data[header.length + _stream.NONCE_SIZE :]
        return _stream.decrypt_buffer(payload_key(file_key, nonce), payload, max_size)
    out = io.BytesIO()
    source = _armor.ArmorReader(io.BytesIO(ciphertext))
    header, rest = _read_header(source)
    file_key = _file_key(header, identities)
    reader = _Prefixed(rest, source)
    nonce = _read_nonce(reader)
    _stream.decrypt(payload_key(file_key, nonce), reader, out.write, max_size)
    return out.getvalue()


def parse_header(data: bytes) -> Header:
    """The header of an age file (binary or armored), without any key or crypto.

    ``Header.stanzas`` lists each recipient stanza (type, args, body) so an auditor can,
    for example, count the ``X25519`` recipients; ``Header.length`` is the header's size
    in the binary encoding. Only the header is read (at most ``MAX_HEADER_SIZE``, 128 KiB).
    """
    source = _open_source(io.BytesIO(data))
    header, _rest = _read_header(source)
    return header
