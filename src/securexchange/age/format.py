"""The age v1 header: bytes in, stanzas out, and back. No cryptography here.

The header is::

    age-encryption.org/v1
    -> TYPE ARG...
    BODY (canonical unpadded base64, 64 columns, ending with a line shorter than 64)
    --- MAC (canonical unpadded base64 of 32 bytes)

Parsing is strict because the MAC is computed over a re-encoding of the parsed header:
any byte that parsing tolerated but encoding would not reproduce is malleability an
attacker could use. Parsing is also capped (header size, stanza count) so that a hostile
file costs at most 128 KiB of reading and parsing before it is refused.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from securexchange.age.errors import AgeHeaderError
from securexchange.i18n import N_, _

VERSION_LINE = b"age-encryption.org/v1\n"
STANZA_PREFIX = b"->"
FOOTER_PREFIX = b"---"
COLUMNS_PER_LINE = 64
BYTES_PER_LINE = COLUMNS_PER_LINE // 4 * 3
MAC_SIZE = 32

# A header holding 64 X25519 stanzas is about 7 KiB. A hybrid post-quantum stanza
# (mlkem768x25519) is 1,557 bytes: a 1,513-byte line holding the 1,120-byte encapsulated
# key in base64, and a 44-byte body line. 64 of them make a 99,718-byte header (97.4
# KiB), more than the 64 KiB this cap was: 128 KiB holds them with room to spare (a
# grease stanza, a longer plugin stanza). We encrypt to at most MAX_RECIPIENTS; a reader
# takes up to twice as many stanzas, so a file of another implementation with 64
# recipients and its grease stanzas (rage adds some) still opens. Both caps bound the
# work a hostile header can cause: it is read and parsed once, linearly, before any
# cryptography, and the size cap leaves room for at most ~80 hybrid stanzas.
MAX_HEADER_SIZE = 128 * 1024
MAX_RECIPIENTS = 64
MAX_STANZAS = 2 * MAX_RECIPIENTS

_RAW_B64 = re.compile(rb"[A-Za-z0-9+/]*")
_ARG = re.compile(r"[\x21-\x7e]+")


def decode_b64(text: bytes) -> bytes:
    """Decode canonical unpadded base64; raise ValueError on anything else."""
    if _RAW_B64.fullmatch(text) is None or len(text) % 4 == 1:
        raise ValueError("not unpadded base64")
    raw = binascii.a2b_base64(text + b"=" * (-len(text) % 4), strict_mode=True)
    # Unused low bits in the last character must be zero, or two encodings would decode
    # to the same bytes.
    if encode_b64(raw).encode("ascii") != text:
        raise ValueError("not canonical base64")
    return raw


def encode_b64(raw: bytes) -> str:
    """Canonical unpadded base64."""
    return binascii.b2a_base64(raw, newline=False).rstrip(b"=").decode("ascii")


def is_valid_arg(text: str) -> bool:
    """A stanza argument: one or more visible ASCII characters (0x21-0x7E)."""
    return _ARG.fullmatch(text) is not None


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: its type (first argument), further arguments and body."""

    type: str
    args: tuple[str, ...] = ()
    body: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if not is_valid_arg(self.type) or not all(is_valid_arg(a) for a in self.args):
            raise ValueError("stanza arguments must be non-empty visible ASCII")

    def encode(self) -> bytes:
        line = " ".join(("->", self.type, *self.args)).encode("ascii") + b"\n"
        body = encode_b64(self.body).encode("ascii")
        # Full lines of 64 columns, then always a final line shorter than 64, possibly
        # empty: that short line is what tells a parser the stanza has ended.
        cut = len(body) - len(body) % COLUMNS_PER_LINE
        lines = [body[i : i + COLUMNS_PER_LINE] for i in range(0, cut, COLUMNS_PER_LINE)]
        lines.append(body[cut:])
        return line + b"\n".join(lines) + b"\n"


def first_file_key(
    stanzas: tuple[Stanza, ...], stanza_type: str, unwrap_one: Callable[[Stanza], bytes | None]
) -> bytes | None:
    """The file key from the first stanza of ``stanza_type`` that ``unwrap_one`` opens, or
    None. Stanzas of other types are skipped; ``unwrap_one`` raises AgeHeaderError on a
    malformed stanza of its own type, which is fatal, not skipped, as the spec requires."""
    for stanza in stanzas:
        if stanza.type == stanza_type:
            file_key = unwrap_one(stanza)
            if file_key is not None:
                return file_key
    return None


@dataclass(frozen=True)
class Header:
    """A parsed age header. ``length`` is its size in bytes, payload nonce excluded."""

    stanzas: tuple[Stanza, ...]
    mac: bytes = field(repr=False)
    length: int = field(init=False)

    def __post_init__(self) -> None:
        if len(self.mac) != MAC_SIZE:
            raise ValueError("the header MAC is 32 bytes")
        object.__setattr__(self, "length", len(self.encode()))

    def count(self, stanza_type: str) -> int:
        """How many stanzas have this type (for example ``"X25519"``)."""
        return sum(1 for s in self.stanzas if s.type == stanza_type)

    def encode(self) -> bytes:
        return encode_without_mac(self.stanzas) + b" " + encode_b64(self.mac).encode() + b"\n"


def encode_without_mac(stanzas: tuple[Stanza, ...] | list[Stanza]) -> bytes:
    """The bytes the header MAC covers: everything up to and including ``---``."""
    return VERSION_LINE + b"".join(s.encode() for s in stanzas) + FOOTER_PREFIX


def find_end(buf: bytes | bytearray, start: int = 0) -> int | None:
    """Index just past the header's closing ``---`` line, or None if not in ``buf`` yet.

    ``start`` lets a caller that reads in blocks resume the search. Only a line that
    begins with ``---`` can close a header: stanza lines begin with ``->`` and body
    lines are base64, which has no ``-``.
    """
    at = buf.find(b"\n" + FOOTER_PREFIX, max(start - 3, 0))
    if at < 0:
        return None
    nl = buf.find(b"\n", at + 1)
    return None if nl < 0 else nl + 1


def parse(data: bytes | bytearray | memoryview) -> Header:
    """Parse the header at the start of ``data`` (which may continue with the payload)."""
    buf = bytes(data[:MAX_HEADER_SIZE])
    if not buf:
        raise AgeHeaderError(_("the file is empty"))
    pos = _expect_line(buf, 0, N_("the header is truncated (no complete version line)"))
    if buf[:pos] != VERSION_LINE:
        raise AgeHeaderError(_("not an age v1 file (unknown or malformed version line)"))
    stanzas: list[Stanza] = []
    while True:
        if buf.startswith(FOOTER_PREFIX, pos):
            end = _expect_line(buf, pos, N_("the header is truncated (no complete MAC line)"))
            parts = buf[pos : end - 1].split(b" ")
            if parts[0] != FOOTER_PREFIX or len(parts) != 2:
                raise AgeHeaderError(_("malformed header MAC line"))
            try:
                mac = decode_b64(parts[1])
            except ValueError:
                raise AgeHeaderError(_("the header MAC is not canonical base64")) from None
            if len(mac) != MAC_SIZE:
                raise AgeHeaderError(_("the header MAC has the wrong length"))
            header = Header(tuple(stanzas), mac)
            # Cannot differ for a strictly parsed header; checked because the MAC is
            # computed over the re-encoding and the payload starts at ``length``.
            if header.length != end:
                raise AgeHeaderError(_("the header is not in canonical form"))
            return header
        if len(stanzas) == MAX_STANZAS:
            raise AgeHeaderError(
                _("the header has more than {limit} recipient stanzas").format(limit=MAX_STANZAS)
            )
        stanza, pos = _parse_stanza(buf, pos)
        stanzas.append(stanza)


def _expect_line(buf: bytes, pos: int, truncated: str) -> int:
    """Index just past the line at ``pos``; ``truncated`` (marked with ``N_``) is the
    refusal when the data ends inside it."""
    nl = buf.find(b"\n", pos)
    if nl < 0:
        if len(buf) == MAX_HEADER_SIZE:
            raise AgeHeaderError(
                _("the header is longer than {limit} bytes").format(limit=MAX_HEADER_SIZE)
            )
        raise AgeHeaderError(_(truncated))
    return nl + 1


def _parse_stanza(buf: bytes, pos: int) -> tuple[Stanza, int]:
    end = _expect_line(buf, pos, N_("the header is truncated (no complete stanza line)"))
    parts = buf[pos : end - 1].split(b" ")
    if parts[0] != STANZA_PREFIX or len(parts) < 2:
        raise AgeHeaderError(_("malformed recipient stanza line"))
    try:
        args = [p.decode("ascii") for p in parts[1:]]
    except UnicodeDecodeError:
        raise AgeHeaderError(_("a stanza argument is not ASCII")) from None
    if not all(is_valid_arg(a) for a in args):
        raise AgeHeaderError(_("a stanza argument is empty or has invalid characters"))
    body = bytearray()
    pos = end
    while True:
        end = _expect_line(buf, pos, N_("the header is truncated (no complete stanza body line)"))
        try:
            chunk = decode_b64(buf[pos : end - 1])
        except ValueError:
            raise AgeHeaderError(
                _(
                    "malformed stanza body line (not canonical base64, or a stanza without "
                    "its final short line)"
                )
            ) from None
        if len(chunk) > BYTES_PER_LINE:
            raise AgeHeaderError(
                _("a stanza body line is longer than {columns} columns").format(
                    columns=COLUMNS_PER_LINE
                )
            )
        body += chunk
        pos = end
        if len(chunk) < BYTES_PER_LINE:
            return Stanza(args[0], tuple(args[1:]), bytes(body)), pos
