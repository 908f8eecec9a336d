"""The age header format, armor and Bech32 on their own: round trips and strictness."""

from __future__ import annotations

import ast
import io
import os
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securexchange.age import armor, bech32, format
from securexchange.age.errors import AgeArmorError, AgeHeaderError
from securexchange.age.format import MAX_HEADER_SIZE, MAX_STANZAS, Header, Stanza

VCHAR = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1)
stanzas = st.builds(
    Stanza,
    VCHAR,
    st.lists(VCHAR, max_size=4).map(tuple),
    st.binary(max_size=300),
)
headers = st.builds(
    Header, st.lists(stanzas, max_size=8).map(tuple), st.binary(min_size=32, max_size=32)
)

MAC_LINE = b"--- " + b"A" * 43 + b"\n"


@given(headers, st.binary(max_size=64))
def test_write_then_parse_gives_the_same_header_and_length(header: Header, payload: bytes) -> None:
    encoded = header.encode()
    parsed = format.parse(encoded + payload)
    assert parsed == header
    assert parsed.length == len(encoded)
    assert parsed.encode() == encoded  # parse-then-write is the identity


def test_parse_then_write_is_identity_on_every_valid_vector_header(age_vectors: Path) -> None:
    checked = 0
    for path in sorted(age_vectors.iterdir()):
        head, _, body = path.read_bytes().partition(b"\n\n")
        if b"compressed: zlib" in head:
            body = zlib.decompress(body)
        try:
            header = format.parse(body)
        except AgeHeaderError:
            continue
        assert header.encode() == body[: header.length], path.name
        checked += 1
    assert checked > 80


def test_body_of_exactly_48_bytes_ends_with_an_empty_line() -> None:
    encoded = Stanza("t", (), bytes(48)).encode()
    assert encoded == b"-> t\n" + b"A" * 64 + b"\n\n"


@pytest.mark.parametrize(
    "header",
    [
        b"age-encryption.org/v1\r\n-> t\n\n" + MAC_LINE,  # CRLF
        b"age-encryption.org/v2\n-> t\n\n" + MAC_LINE,  # unknown version
        b"age-encryption.org/v1\n-> t  x\n\n" + MAC_LINE,  # empty argument
        b"age-encryption.org/v1\n->\n\n" + MAC_LINE,  # no type
        b"age-encryption.org/v1\n-> t\nAB\n" + MAC_LINE,  # non-canonical body (AB -> AA)
        b"age-encryption.org/v1\n-> t\nAA==\n" + MAC_LINE,  # padded body
        b"age-encryption.org/v1\n-> t\n" + b"A" * 68 + b"\n" + MAC_LINE,  # body line too long
        b"age-encryption.org/v1\n-> t\n" + b"A" * 64 + b"\n" + MAC_LINE,  # no final short line
        b"age-encryption.org/v1\n-> t\nAA\r\n" + MAC_LINE,  # CR in body
        b"age-encryption.org/v1\n-> t\n\n--- " + b"A" * 42 + b"\n",  # MAC too short
        b"age-encryption.org/v1\n-> t\n\n---  " + b"A" * 43 + b"\n",  # two spaces
        b"age-encryption.org/v1\n-> t\n\n--- " + b"A" * 43,  # no newline after the MAC
        b"age-encryption.org/v1\n-> t\xff\n\n" + MAC_LINE,  # non-ASCII argument
        b"",
    ],
)
def test_malformed_header_is_refused(header: bytes) -> None:
    with pytest.raises(AgeHeaderError):
        format.parse(header)


def test_128_stanzas_are_read_and_129_refused() -> None:
    # Twice what we encrypt to: 64 recipients of another implementation and its grease.
    def header(n: int) -> bytes:
        return b"age-encryption.org/v1\n" + b"-> t\n\n" * n + MAC_LINE

    assert MAX_STANZAS == 2 * format.MAX_RECIPIENTS == 128
    assert len(format.parse(header(MAX_STANZAS)).stanzas) == MAX_STANZAS
    with pytest.raises(AgeHeaderError, match="more than 128"):
        format.parse(header(MAX_STANZAS + 1))


def test_header_longer_than_the_cap_is_refused() -> None:
    arg = "x" * (MAX_HEADER_SIZE // MAX_STANZAS)  # each stanza's line is longer than that
    big = Header(tuple(Stanza("t", (arg,)) for _ in range(MAX_STANZAS)), bytes(32)).encode()
    assert len(big) > MAX_HEADER_SIZE
    with pytest.raises(AgeHeaderError, match="longer than"):
        format.parse(big)


@pytest.mark.parametrize("text", [b"AB", b"AAB", b"AA=", b"A", b"A A", b"-_"])
def test_base64_must_be_canonical_and_unpadded(text: bytes) -> None:
    with pytest.raises(ValueError):
        format.decode_b64(text)


def test_the_header_format_module_imports_no_cryptography() -> None:
    tree = ast.parse(Path(format.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert not imported & {"cryptography", "hashlib", "hmac", "nacl", "secrets"}


# --- armor ----------------------------------------------------------------------------


def dearmor(text: bytes) -> bytes:
    reader = armor.ArmorReader(io.BytesIO(text))
    out = bytearray()
    buf = memoryview(bytearray(1000))
    while n := reader.readinto(buf):
        out += buf[:n]
    return bytes(out)


@settings(max_examples=50)
@given(st.binary(max_size=5000))
def test_armor_round_trips_with_64_column_lines(data: bytes) -> None:
    text = armor.armor(data)
    lines = text.split(b"\n")
    assert lines[0] == armor.BEGIN and lines[-2] == armor.END and lines[-1] == b""
    assert all(len(line) == 64 for line in lines[1:-3])
    assert 0 < len(lines[-3]) <= 64 or lines[-3] == armor.BEGIN
    assert dearmor(text) == data
    assert dearmor(text.replace(b"\n", b"\r\n")) == data


def test_armor_of_a_large_payload_round_trips_through_the_fast_path() -> None:
    data = os.urandom(300_001)
    assert dearmor(armor.armor(data)) == data


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: b"x" + t,  # garbage before
        lambda t: t + b"x",  # garbage after
        lambda t: t.replace(b"\n", b" \n", 2),  # trailing space on a line
        lambda t: t.replace(armor.BEGIN + b"\n", armor.BEGIN + b"\n\n"),  # empty line
        lambda t: t.replace(b"ENCRYPTED FILE-----\n", b"ENCRYPTED FILE-----\nVersion: 1\n", 1),
        lambda t: t.replace(b"=\n", b"\n"),  # padding dropped
        lambda t: t[: t.index(armor.END)],  # END line missing
        lambda t: b" " * 2000 + t,  # too much leading whitespace
    ],
)
def test_non_strict_armor_is_refused(mutate: object) -> None:
    text = armor.armor(b"some bytes that need padding!")  # 29 bytes: padded last line
    assert text.count(b"=") == 1
    with pytest.raises(AgeArmorError):
        dearmor(mutate(text))  # type: ignore[operator]


def test_whitespace_around_armor_is_allowed() -> None:
    text = armor.armor(b"payload")
    assert dearmor(b"\n \t\r\n" + text + b"\n\n  \n") == b"payload"


# --- bech32 ---------------------------------------------------------------------------


@given(st.binary(max_size=64))
def test_bech32_round_trips_in_both_cases(data: bytes) -> None:
    assert bech32.decode(bech32.encode("age", data)) == ("age", data)
    upper = bech32.encode("AGE-SECRET-KEY-", data)
    assert upper == upper.upper()
    assert bech32.decode(upper) == ("AGE-SECRET-KEY-", data)


@pytest.mark.parametrize(
    "text", ["A12UEL5L", "a12uel5l", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"]
)
def test_bech32_accepts_bip173_valid_strings(text: str) -> None:
    bech32.decode(text)


@pytest.mark.parametrize(
    "text",
    [
        "A12uEL5L",  # mixed case
        "a12uel5m",  # bad checksum
        "12uel5l",  # empty HRP
        "a1uel5l",  # too short for a checksum
        "a12uelbl",  # 'b' is not in the alphabet
        "a" + "1" + "q" * 5000,  # longer than any age key
    ],
)
def test_bech32_refuses_invalid_strings(text: str) -> None:
    with pytest.raises(ValueError):
        bech32.decode(text)


def test_bech32_refuses_a_non_ascii_letter_that_folds_to_ascii() -> None:
    # KELVIN SIGN lower-cases to "k": without the ASCII check an upper-case identity
    # would have a second accepted spelling.
    identity = bech32.encode("AGE-SECRET-KEY-", bytes(32))
    assert "K" in identity
    assert bech32.decode(identity)[1] == bytes(32)
    with pytest.raises(ValueError, match="non-ASCII"):
        bech32.decode(identity.replace("K", "\u212a", 1))
