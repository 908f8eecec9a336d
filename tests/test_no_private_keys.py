"""No private key is ever committed: every git-tracked file is checked."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# What a private key looks like in any of the forms we or our tools write.
MARKERS = (
    b"AGE-SECRET-KEY-1",
    b"AGE-SECRET-KEY-PQ-1",
    b"-----BEGIN OPENSSH PRIVATE KEY-----",
    b"PRIVATE KEY-----",
)
# Files that must name the markers to look for them (this test, and code that parses
# age identities) hold the marker text only, never a key. Test fixtures with generated
# keys would go under tests/fixtures/; we generate keys at test time instead.
ALLOWED_PREFIXES = ("tests/fixtures/",)
# Published test-vector keys (the age project's testkit identities, committed in
# tests/vectors/age/): public by design, never used for real data. Post-quantum ones
# first, since the classic marker is a prefix of theirs.
PUBLIC_TEST_VECTOR_KEYS = (
    b"AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG",
    b"AGE-SECRET-KEY-PQ-143WN7DCXU4G8R5AXQSSYD9AEPYDNT3HXSLWSPK36CDU6E8M59SSS8XZSCQ",
    b"AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0",
    b"AGE-SECRET-KEY-143WN7DCXU4G8R5AXQSSYD9AEPYDNT3HXSLWSPK36CDU6E8M59SSSAGZ3KG",
)


def _marker_is_only_named(path: str, data: bytes, marker: bytes) -> bool:
    """True when every occurrence of ``marker`` is a bare mention (a string literal or
    prose), not the start of key material: a real key has base32/base64 after it."""
    start = 0
    while (index := data.find(marker, start)) != -1:
        following = data[index + len(marker) : index + len(marker) + 20]
        if marker.startswith(b"AGE-SECRET-KEY-"):
            body = following.rstrip(b"\"'`)], .\n")
            if len(body) >= 10 and body.isalnum():
                return False
        elif following.strip().startswith((b"b3Blbn", b"MI", b"MC")) or (
            b"\n" in following and following.split(b"\n", 1)[1][:4].isalnum()
        ):
            return False
        start = index + 1
    return True


def _tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout
    return [name for name in out.decode("utf-8").split("\0") if name]


def test_no_tracked_file_holds_a_private_key() -> None:
    offenders = []
    for name in _tracked_files():
        if name.startswith(ALLOWED_PREFIXES):
            continue
        path = REPO / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        for public in PUBLIC_TEST_VECTOR_KEYS:
            data = data.replace(public, b"(public test vector)")
        for marker in MARKERS:
            if marker in data and not _marker_is_only_named(name, data, marker):
                offenders.append(f"{name}: {marker.decode()}")
    assert offenders == []


def test_the_check_recognises_real_keys() -> None:
    from securexchange import age

    secret = age.X25519Identity.generate().to_string().encode()
    assert not _marker_is_only_named("x", b"key = " + secret + b"\n", MARKERS[0])
    hybrid = age.MLKEM768X25519Identity.generate().to_string().encode()
    assert not _marker_is_only_named("x", b"key = " + hybrid + b"\n", MARKERS[1])
    openssh = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
    assert not _marker_is_only_named("x", openssh, MARKERS[2])
    pem = b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n"
    assert not _marker_is_only_named("x", pem, MARKERS[3])
    assert _marker_is_only_named("x", b'startswith("AGE-SECRET-KEY-1")', MARKERS[0])


def test_keys_directory_holds_public_material_only() -> None:
    readme = (REPO / "keys" / "README.md").read_text(encoding="utf-8")
    assert "root-key card" in readme and "never" in readme.lower()
    tracked = [n for n in _tracked_files() if n.startswith("keys/")]
    assert all(not n.endswith((".key", ".pem")) for n in tracked), tracked
