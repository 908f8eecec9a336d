"""Bech32 (BIP 173) as age uses it, without BIP 173's 90-character limit.

age recipients are lowercase ``age1...``; identities are uppercase
``AGE-SECRET-KEY-1...``. Mixed case is refused, as BIP 173 requires, so a string has
exactly one accepted spelling in each case.
"""

from __future__ import annotations

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_VALUES = {c: i for i, c in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
CHECKSUM_LENGTH = 6
# Well above a post-quantum recipient (~1,950 characters), far below anything that could
# make decoding slow.
MAX_LENGTH = 4096


def _polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ v
        for i, g in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= g
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    codes = [ord(c) for c in hrp.lower()]
    return [c >> 5 for c in codes] + [0] + [c & 31 for c in codes]


def _convert_bits(data: list[int] | bytes, from_bits: int, to_bits: int, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & maxv)
    elif bits >= from_bits:
        raise ValueError("bech32: too much padding")
    elif (acc << (to_bits - bits)) & maxv:
        raise ValueError("bech32: non-zero padding")
    return out


def encode(hrp: str, data: bytes) -> str:
    """Encode; the output is uppercase when ``hrp`` is uppercase."""
    if not hrp or any(not 33 <= ord(c) <= 126 for c in hrp):
        raise ValueError("bech32: invalid human-readable part")
    if hrp.lower() != hrp and hrp.upper() != hrp:
        raise ValueError("bech32: mixed-case human-readable part")
    values = _convert_bits(data, 8, 5, pad=True)
    lower = hrp.lower()
    mod = _polymod([*_hrp_expand(lower), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(mod >> (5 * (5 - i))) & 31 for i in range(CHECKSUM_LENGTH)]
    text = lower + "1" + "".join(CHARSET[v] for v in values + checksum)
    if len(text) > MAX_LENGTH:
        raise ValueError("bech32: too long")
    return text.upper() if hrp.upper() == hrp and hrp.lower() != hrp else text


def decode(text: str) -> tuple[str, bytes]:
    """Decode to (human-readable part, data); the part keeps the string's case."""
    if len(text) > MAX_LENGTH:
        raise ValueError("bech32: too long")
    if text.lower() != text and text.upper() != text:
        raise ValueError("bech32: mixed case")
    pos = text.rfind("1")
    if pos < 1 or pos + 1 + CHECKSUM_LENGTH > len(text):
        raise ValueError("bech32: separator missing or misplaced")
    hrp = text[:pos]
    if any(not 33 <= ord(c) <= 126 for c in hrp):
        raise ValueError("bech32: invalid character in the human-readable part")
    try:
        values = [_VALUES[c] for c in text[pos + 1 :].lower()]
    except KeyError:
        raise ValueError("bech32: invalid character in the data part") from None
    if _polymod(_hrp_expand(hrp) + values) != 1:
        raise ValueError("bech32: bad checksum")
    return hrp, bytes(_convert_bits(values[:-CHECKSUM_LENGTH], 5, 8, pad=False))
