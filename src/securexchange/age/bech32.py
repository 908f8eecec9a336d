"""Bech32 (BIP 173) as age uses it, without BIP 173's 90-character limit.

age recipients are lowercase ``age1...``; identities are uppercase
``AGE-SECRET-KEY-1...``. Mixed case is refused, as BIP 173 requires, so a string has
exactly one accepted spelling in each case.
"""

from __future__ import annotations

import base64
import binascii

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_VALUES = {c: i for i, c in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
CHECKSUM_LENGTH = 6
# Well above a post-quantum recipient (~1,950 characters), far below anything that could
# make decoding slow.
MAX_LENGTH = 4096


def _table_entry(top: int) -> int:
    entry = 0
    for i, g in enumerate(_GENERATOR):
        if (top >> i) & 1:
            entry ^= g
    return entry


# The generator terms for each value of the five top bits, XORed together once: a
# post-quantum recipient has ~1,950 characters, and the per-bit loop dominated parsing.
_TABLE = tuple(_table_entry(top) for top in range(32))


def _polymod(values: list[int]) -> int:
    chk = 1
    table = _TABLE
    for v in values:
        chk = ((chk & 0x1FFFFFF) << 5) ^ v ^ table[chk >> 25]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    codes = [ord(c) for c in hrp.lower()]
    return [c >> 5 for c in codes] + [0] + [c & 31 for c in codes]


# Bech32's 5-bit groups of bytes are base32's (RFC 4648) in another alphabet: the C codec
# does the bit work (a post-quantum recipient has ~1,950 groups; a Python loop over bits
# made parsing one cost milliseconds).
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_FROM_B32 = str.maketrans(_B32, CHARSET)
_TO_B32 = str.maketrans(CHARSET, _B32)


def _groups(data: bytes) -> str:
    """``data`` as 5-bit groups (the last one zero-padded), in bech32 characters."""
    return base64.b32encode(data).decode("ascii").rstrip("=").translate(_FROM_B32)


def _bytes(groups: str) -> bytes:
    """The bytes of 5-bit groups; the padding must be under 5 bits and zero."""
    if len(groups) % 8 in (1, 3, 6):
        raise ValueError("bech32: too much padding")
    text = groups.translate(_TO_B32)
    try:
        data = base64.b32decode(text + "=" * (-len(text) % 8))
    except binascii.Error:  # pragma: no cover - the characters and length were checked
        raise ValueError("bech32: invalid data part") from None
    if _groups(data) != groups:
        raise ValueError("bech32: non-zero padding")
    return data


def encode(hrp: str, data: bytes) -> str:
    """Encode; the output is uppercase when ``hrp`` is uppercase."""
    if not hrp or any(not 33 <= ord(c) <= 126 for c in hrp):
        raise ValueError("bech32: invalid human-readable part")
    if hrp.lower() != hrp and hrp.upper() != hrp:
        raise ValueError("bech32: mixed-case human-readable part")
    groups = _groups(data)
    values = [_VALUES[c] for c in groups]
    lower = hrp.lower()
    mod = _polymod([*_hrp_expand(lower), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(mod >> (5 * (5 - i))) & 31 for i in range(CHECKSUM_LENGTH)]
    text = lower + "1" + groups + "".join(CHARSET[v] for v in checksum)
    if len(text) > MAX_LENGTH:
        raise ValueError("bech32: too long")
    return text.upper() if hrp.upper() == hrp and hrp.lower() != hrp else text


def decode(text: str) -> tuple[str, bytes]:
    """Decode to (human-readable part, data); the part keeps the string's case."""
    if len(text) > MAX_LENGTH:
        raise ValueError("bech32: too long")
    if not text.isascii():
        # Before any case folding: str.lower() maps some non-ASCII letters to ASCII
        # (KELVIN SIGN to "k"), which would give one key a second accepted spelling.
        raise ValueError("bech32: non-ASCII character")
    if text.lower() != text and text.upper() != text:
        raise ValueError("bech32: mixed case")
    pos = text.rfind("1")
    if pos < 1 or pos + 1 + CHECKSUM_LENGTH > len(text):
        raise ValueError("bech32: separator missing or misplaced")
    hrp = text[:pos]
    if any(not 33 <= ord(c) <= 126 for c in hrp):
        raise ValueError("bech32: invalid character in the human-readable part")
    part = text[pos + 1 :].lower()
    try:
        values = [_VALUES[c] for c in part]
    except KeyError:
        raise ValueError("bech32: invalid character in the data part") from None
    if _polymod(_hrp_expand(hrp) + values) != 1:
        raise ValueError("bech32: bad checksum")
    return hrp, _bytes(part[:-CHECKSUM_LENGTH])
