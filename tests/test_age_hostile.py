"""Hostile age files are refused with typed errors within 5 s and 256 MiB.

Each case runs in a child process limited by ``hostile.run_limited``; the child builds
the hostile file, tries every entry point that reads it (all-or-nothing decrypt,
streaming decrypt, header parsing) and prints the error class and stable name it got.
"""

from __future__ import annotations

import time

import pytest

from hostile import run_limited

# Runs in the child: ``DATA`` is the hostile file, ``IDS`` the identities to try.
PROBE = """
import io
from securexchange import age
from securexchange.errors import SxError

def probe(fn):
    try:
        fn()
    except SxError as e:
        print(type(e).__name__, e.name)
    else:
        print("accepted")

probe(lambda: age.decrypt(DATA, IDS))
probe(lambda: age.decrypt_stream(io.BytesIO(DATA), io.BytesIO(), IDS))
probe(lambda: age.parse_header(DATA))
"""

IDENTITY = "IDS = [age.X25519Identity.generate()]\n"
CASES = {
    "truncated_header": (
        "DATA = b'age-encryption.org/v1\\n'"
        " b'-> X25519 TEiF0ypqr+bpvcqXNyCVJpL7OuwPdVwPL7KQEbFDOCc\\nhjab'",
        "AgeHeaderError SX-MALFORMED",
    ),
    "10_MB_header_line": (
        "DATA = b'age-encryption.org/v1\\n-> X25519 ' + b'A' * (10 << 20)",
        "AgeHeaderError SX-MALFORMED",
    ),
    "10_000_stanzas": (
        "DATA = b'age-encryption.org/v1\\n' + b'-> X25519 AAAA\\n\\n' * 10_000"
        " + b'--- ' + b'A' * 43 + b'\\n' + bytes(1000)",
        "AgeHeaderError SX-MALFORMED",
    ),
    "garbage_armor": (
        "import os\nDATA = b'-----BEGIN AGE ENCRYPTED FILE-----\\n' + os.urandom(10 << 20)",
        "AgeArmorError SX-MALFORMED",
    ),
    "10_MB_armor_line": (
        "DATA = b'-----BEGIN AGE ENCRYPTED FILE-----\\n' + b'QUFB' * (10 << 18)",
        "AgeArmorError SX-MALFORMED",
    ),
    "scrypt_work_factor_30": (
        # A well-formed scrypt stanza asking for 2**30 iterations (1 TiB of memory):
        # refused from the header alone, before any scrypt work.
        "from securexchange.age.format import Header, Stanza\n"
        "stanza = Stanza('scrypt', ('A' * 21 + 'Q', '30'), bytes(32))\n"
        "DATA = Header((stanza,), bytes(32)).encode() + bytes(16) + bytes(32)\n"
        "IDS = [age.ScryptIdentity(b'passphrase')]\n",
        "AgeHeaderError SX-MALFORMED",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_age_file_is_refused_fast_with_a_typed_error(case: str) -> None:
    setup, expected = CASES[case]
    if "IDS =" not in setup:
        setup += "\n" + IDENTITY
    start = time.monotonic()
    proc = run_limited("from securexchange import age\n" + setup + "\n" + PROBE)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # decrypt, decrypt_stream, parse_header; parse_header reads no keys, so a header
    # that is well formed (the scrypt case) is accepted there.
    assert lines[:2] == [expected, expected], proc.stdout
    if case == "scrypt_work_factor_30":
        assert lines[2] == "accepted"
    else:
        assert lines[2] == expected
    assert elapsed < 5


def test_run_limited_enforces_the_memory_limit() -> None:
    proc = run_limited("b = bytearray(512 << 20)\nprint('allocated')")
    assert proc.returncode != 0
    assert "MemoryError" in proc.stderr
