"""SSHSIG: our signatures and ssh-keygen's are interchangeable, and every tamper fails.

The interop tests run the real ``ssh-keygen`` both ways: it verifies what we sign with
the allowed_signers line we export, and we verify what it signs; every failure case is
checked with both verifiers.
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from securexchange import sshsig
from securexchange.errors import BadSignature, Malformed

NS = sshsig.NAMESPACE_PACKAGE
MESSAGE = b'{"format": "securexchange/1"}\n'
SEED = bytes(range(32))


def _blob(armored: str) -> bytes:
    return base64.b64decode("".join(armored.splitlines()[1:-1]))


def _armor(blob: bytes) -> str:
    body = base64.b64encode(blob).decode("ascii")
    lines = [body[i : i + 70] for i in range(0, len(body), 70)]
    return (
        "\n".join(["-----BEGIN SSH SIGNATURE-----", *lines, "-----END SSH SIGNATURE-----"]) + "\n"
    )


def _flip_signature_value(armored: str) -> str:
    """The same signature with one bit of the Ed25519 value flipped, armored correctly."""
    blob = bytearray(_blob(armored))
    blob[-10] ^= 0x01
    return _armor(bytes(blob))


# --- our own verifier ---------------------------------------------------------------------


def test_a_signature_verifies_for_its_message_namespace_and_key() -> None:
    armored = sshsig.sign(SEED, MESSAGE, NS)
    assert armored.startswith("-----BEGIN SSH SIGNATURE-----\n")
    assert armored.endswith("-----END SSH SIGNATURE-----\n")
    sshsig.verify(armored, MESSAGE, NS, sshsig.public_key_from_seed(SEED))
    sshsig.verify(armored.encode(), MESSAGE, NS, sshsig.public_key_from_seed(SEED))


def test_signing_is_deterministic() -> None:
    assert sshsig.sign(SEED, MESSAGE, NS) == sshsig.sign(SEED, MESSAGE, NS)


def test_generated_seeds_are_32_random_bytes() -> None:
    a, b = sshsig.generate_signing_seed(), sshsig.generate_signing_seed()
    assert len(a) == 32 and len(b) == 32 and a != b


def test_a_package_signature_does_not_pass_as_a_return() -> None:
    armored = sshsig.sign(SEED, MESSAGE, sshsig.NAMESPACE_PACKAGE)
    with pytest.raises(BadSignature):
        sshsig.verify(armored, MESSAGE, sshsig.NAMESPACE_RETURN, sshsig.public_key_from_seed(SEED))


def test_a_flipped_message_byte_fails() -> None:
    armored = sshsig.sign(SEED, MESSAGE, NS)
    for i in range(len(MESSAGE)):
        changed = bytearray(MESSAGE)
        changed[i] ^= 0x20
        with pytest.raises(BadSignature):
            sshsig.verify(armored, bytes(changed), NS, sshsig.public_key_from_seed(SEED))


def test_another_key_fails_even_when_it_is_the_one_embedded() -> None:
    other = sshsig.generate_signing_seed()
    armored = sshsig.sign(other, MESSAGE, NS)
    with pytest.raises(BadSignature, match="another key"):
        sshsig.verify(armored, MESSAGE, NS, sshsig.public_key_from_seed(SEED))


def test_every_single_byte_change_of_the_decoded_signature_is_refused() -> None:
    armored = sshsig.sign(SEED, MESSAGE, NS)
    blob = _blob(armored)
    public = sshsig.public_key_from_seed(SEED)
    for i in range(len(blob)):
        changed = bytearray(blob)
        changed[i] ^= 0x01
        with pytest.raises((BadSignature, Malformed)):
            sshsig.verify(_armor(bytes(changed)), MESSAGE, NS, public)


def test_every_single_byte_change_of_the_armored_text_is_refused() -> None:
    armored = sshsig.sign(SEED, MESSAGE, NS).encode()
    public = sshsig.public_key_from_seed(SEED)
    for i in range(len(armored)):
        changed = bytearray(armored)
        changed[i] ^= 0x01
        with pytest.raises((BadSignature, Malformed)):
            sshsig.verify(bytes(changed), MESSAGE, NS, public)


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.replace("\n", "\r\n"),
        lambda s: s.rstrip("\n"),
        lambda s: s + "\n",
        lambda s: " " + s,
        lambda s: s.replace("\n", "\n\n", 2),
        lambda s: (
            "-----BEGIN SSH SIGNATURE-----\n" + "".join(s.splitlines()[1:-1]) + "\n"
            "-----END SSH SIGNATURE-----\n"
        ),
        lambda s: s.replace("SSH SIGNATURE", "PGP SIGNATURE"),
        lambda s: "",
    ],
    ids=[
        "crlf",
        "no-final-newline",
        "extra-newline",
        "leading-space",
        "blank-line",
        "one-long-line",
        "other-label",
        "empty",
    ],
)
def test_armor_other_than_the_canonical_form_is_malformed(change: object) -> None:
    armored = sshsig.sign(SEED, MESSAGE, NS)
    with pytest.raises(Malformed) as caught:
        sshsig.verify(change(armored), MESSAGE, NS, sshsig.public_key_from_seed(SEED))  # type: ignore[operator]
    assert caught.value.name == "SX-MALFORMED"


def test_oversized_and_non_ascii_signatures_are_malformed_before_decoding() -> None:
    public = sshsig.public_key_from_seed(SEED)
    with pytest.raises(Malformed):
        sshsig.verify(b"A" * (10 << 20), MESSAGE, NS, public)
    with pytest.raises(Malformed):
        sshsig.verify("é" * 10, MESSAGE, NS, public)
    with pytest.raises(Malformed):
        sshsig.verify("é".encode() * 10, MESSAGE, NS, public)


def test_trailing_bytes_and_a_nonempty_reserved_field_are_malformed() -> None:
    blob = _blob(sshsig.sign(SEED, MESSAGE, NS))
    public = sshsig.public_key_from_seed(SEED)
    with pytest.raises(Malformed, match="trailing"):
        sshsig.verify(_armor(blob + b"\x00"), MESSAGE, NS, public)
    # reserved sits after the namespace: magic, version, key blob (4+51), namespace.
    at = 6 + 4 + 4 + 51 + 4 + len(NS)
    assert blob[at : at + 4] == b"\x00\x00\x00\x00"
    forged = blob[:at] + b"\x00\x00\x00\x01X" + blob[at + 4 :]
    with pytest.raises(Malformed, match="reserved"):
        sshsig.verify(_armor(forged), MESSAGE, NS, public)


def test_an_unsupported_version_is_malformed() -> None:
    blob = bytearray(_blob(sshsig.sign(SEED, MESSAGE, NS)))
    blob[9] = 2
    with pytest.raises(Malformed, match="version"):
        sshsig.verify(_armor(bytes(blob)), MESSAGE, NS, sshsig.public_key_from_seed(SEED))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_splice_into_a_signature_is_refused_with_an_error_of_the_tree(
    data: st.DataObject,
) -> None:
    armored = sshsig.sign(SEED, MESSAGE, NS).encode()
    start = data.draw(st.integers(0, len(armored)))
    end = data.draw(st.integers(start, len(armored)))
    mutated = armored[:start] + data.draw(st.binary(max_size=80)) + armored[end:]
    if mutated == armored:
        return
    with pytest.raises((BadSignature, Malformed)):
        sshsig.verify(mutated, MESSAGE, NS, sshsig.public_key_from_seed(SEED))
    try:
        key = sshsig.signer_public_key(mutated)
    except (BadSignature, Malformed):
        return
    assert len(key) == 32  # only a changed signature value still parses


def test_a_namespace_is_required_to_sign_and_verify() -> None:
    with pytest.raises(ValueError):
        sshsig.sign(SEED, MESSAGE, "")
    with pytest.raises(ValueError):
        sshsig.sign(SEED, MESSAGE, "two words")
    armored = sshsig.sign(SEED, MESSAGE, NS)
    with pytest.raises(ValueError):
        sshsig.verify(armored, MESSAGE, "", sshsig.public_key_from_seed(SEED))


def test_wrong_key_sizes_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        sshsig.sign(b"short", MESSAGE, NS)
    with pytest.raises(ValueError):
        sshsig.verify(sshsig.sign(SEED, MESSAGE, NS), MESSAGE, NS, b"short")


def test_the_embedded_signer_key_can_be_read_for_lookup() -> None:
    armored = sshsig.sign(SEED, MESSAGE, NS)
    assert sshsig.signer_public_key(armored) == sshsig.public_key_from_seed(SEED)
    with pytest.raises(Malformed):
        sshsig.signer_public_key("not a signature")


def test_error_messages_do_not_echo_the_namespace_or_keys() -> None:
    armored = sshsig.sign(SEED, MESSAGE, "secret-namespace-value")
    public = sshsig.public_key_from_seed(SEED)
    with pytest.raises(BadSignature) as caught:
        sshsig.verify(armored, MESSAGE, NS, public)
    text = str(caught.value)
    assert "secret" not in text and base64.b64encode(public).decode() not in text


def test_public_key_lines_round_trip_and_refuse_other_types() -> None:
    public = sshsig.public_key_from_seed(SEED)
    line = sshsig.ssh_public_key_line(public, "alice")
    assert line.startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI") and line.endswith(" alice")
    assert sshsig.parse_ssh_public_key_line(line) == public
    assert sshsig.parse_ssh_public_key_line(sshsig.ssh_public_key_line(public)) == public
    with pytest.raises(Malformed):
        sshsig.parse_ssh_public_key_line("ssh-rsa " + line.split()[1])
    with pytest.raises(Malformed):
        sshsig.parse_ssh_public_key_line("ssh-ed25519 !!!!")
    with pytest.raises(Malformed):
        sshsig.parse_ssh_public_key_line("ssh-ed25519 " + base64.b64encode(b"\x00" * 51).decode())
    with pytest.raises(ValueError):
        sshsig.ssh_public_key_line(public, "new\nline")


def test_allowed_signers_lines_have_namespaces_and_utc_validity() -> None:
    public = sshsig.public_key_from_seed(SEED)
    line = sshsig.allowed_signers_line(
        "agency@example",
        public,
        namespaces=[sshsig.NAMESPACE_PACKAGE, sshsig.NAMESPACE_NOTICE],
        valid_after=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        valid_before=datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert line == (
        'agency@example namespaces="securexchange-package-v1,securexchange-notice-v1",'
        'valid-after="20260102030405Z",valid-before="20270101000000Z" '
        + sshsig.ssh_public_key_line(public)
    )


@pytest.mark.parametrize("principal", ["", "two words", "a,b", "*", 'q"uote', "#x"])
def test_allowed_signers_refuses_principals_the_file_would_misread(principal: str) -> None:
    with pytest.raises(ValueError):
        sshsig.allowed_signers_line(principal, sshsig.public_key_from_seed(SEED), namespaces=[NS])


def test_allowed_signers_refuses_no_namespace_and_naive_times() -> None:
    public = sshsig.public_key_from_seed(SEED)
    with pytest.raises(ValueError):
        sshsig.allowed_signers_line("p", public, namespaces=[])
    with pytest.raises(ValueError):
        sshsig.allowed_signers_line("p", public, namespaces=[NS], valid_after=datetime(2026, 1, 1))


# --- interop with ssh-keygen --------------------------------------------------------------


@dataclass(frozen=True)
class SshKey:
    path: Path
    seed: bytes
    public: bytes


def _keygen(ssh_keygen_bin: str, path: Path) -> SshKey:
    subprocess.run(
        [ssh_keygen_bin, "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(path)],
        check=True,
    )
    key = serialization.load_ssh_private_key(path.read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    seed = key.private_bytes_raw()
    return SshKey(path, seed, sshsig.public_key_from_seed(seed))


@pytest.fixture
def ssh_key(ssh_keygen_bin: str, tmp_path: Path) -> SshKey:
    return _keygen(ssh_keygen_bin, tmp_path / "id_ed25519")


def _ssh_sign(ssh_keygen_bin: str, key: SshKey, message: bytes, namespace: str, *extra: str) -> str:
    result = subprocess.run(
        [ssh_keygen_bin, "-Y", "sign", "-f", str(key.path), "-n", namespace, *extra],
        input=message,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode("ascii")


def _ssh_verify(
    ssh_keygen_bin: str,
    tmp_path: Path,
    allowed: str,
    armored: str,
    message: bytes,
    namespace: str,
    principal: str = "agency@example",
) -> bool:
    (tmp_path / "allowed_signers").write_text(allowed + "\n", encoding="ascii")
    (tmp_path / "msg.sig").write_text(armored, encoding="ascii")
    result = subprocess.run(
        [
            ssh_keygen_bin,
            "-Y",
            "verify",
            "-f",
            str(tmp_path / "allowed_signers"),
            "-I",
            principal,
            "-n",
            namespace,
            "-s",
            str(tmp_path / "msg.sig"),
        ],
        input=message,
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


@pytest.mark.interop
def test_ssh_keygen_verifies_our_signature_with_our_allowed_signers(
    ssh_keygen_bin: str, tmp_path: Path
) -> None:
    armored = sshsig.sign(SEED, MESSAGE, NS)
    public = sshsig.public_key_from_seed(SEED)
    allowed = sshsig.allowed_signers_line("agency@example", public, namespaces=[NS])
    assert _ssh_verify(ssh_keygen_bin, tmp_path, allowed, armored, MESSAGE, NS)


@pytest.mark.interop
def test_ssh_keygen_honours_our_validity_window(ssh_keygen_bin: str, tmp_path: Path) -> None:
    armored = sshsig.sign(SEED, MESSAGE, NS)
    public = sshsig.public_key_from_seed(SEED)
    now = datetime.now(UTC)
    current = sshsig.allowed_signers_line(
        "agency@example",
        public,
        namespaces=[sshsig.NAMESPACE_KEYRING, NS],
        valid_after=now - timedelta(days=30),
        valid_before=now + timedelta(days=30),
    )
    assert _ssh_verify(ssh_keygen_bin, tmp_path, current, armored, MESSAGE, NS)
    expired = sshsig.allowed_signers_line(
        "agency@example",
        public,
        namespaces=[NS],
        valid_after=now - timedelta(days=60),
        valid_before=now - timedelta(days=30),
    )
    assert not _ssh_verify(ssh_keygen_bin, tmp_path, expired, armored, MESSAGE, NS)
    not_yet = sshsig.allowed_signers_line(
        "agency@example", public, namespaces=[NS], valid_after=now + timedelta(days=1)
    )
    assert not _ssh_verify(ssh_keygen_bin, tmp_path, not_yet, armored, MESSAGE, NS)


@pytest.mark.interop
def test_ssh_keygen_signature_verifies_with_ours_and_is_byte_identical(
    ssh_keygen_bin: str, ssh_key: SshKey
) -> None:
    theirs = _ssh_sign(ssh_keygen_bin, ssh_key, MESSAGE, NS)
    sshsig.verify(theirs, MESSAGE, NS, ssh_key.public)
    assert sshsig.sign(ssh_key.seed, MESSAGE, NS) == theirs


@pytest.mark.interop
def test_our_public_key_line_matches_ssh_keygen(ssh_key: SshKey) -> None:
    pub_line = ssh_key.path.with_suffix(".pub").read_text(encoding="ascii").strip()
    assert sshsig.ssh_public_key_line(ssh_key.public, "test") == pub_line
    assert sshsig.parse_ssh_public_key_line(pub_line) == ssh_key.public


@pytest.mark.interop
def test_a_sha256_signature_from_ssh_keygen_is_refused(
    ssh_keygen_bin: str, ssh_key: SshKey
) -> None:
    theirs = _ssh_sign(ssh_keygen_bin, ssh_key, MESSAGE, NS, "-O", "hashalg=sha256")
    with pytest.raises(BadSignature, match="sha512"):
        sshsig.verify(theirs, MESSAGE, NS, ssh_key.public)


@pytest.mark.interop
def test_wrong_namespace_fails_in_both_verifiers(
    ssh_keygen_bin: str, ssh_key: SshKey, tmp_path: Path
) -> None:
    allowed = sshsig.allowed_signers_line(
        "agency@example",
        ssh_key.public,
        namespaces=[sshsig.NAMESPACE_PACKAGE, sshsig.NAMESPACE_RETURN],
    )
    for armored in (
        sshsig.sign(ssh_key.seed, MESSAGE, sshsig.NAMESPACE_PACKAGE),
        _ssh_sign(ssh_keygen_bin, ssh_key, MESSAGE, sshsig.NAMESPACE_PACKAGE),
    ):
        with pytest.raises(BadSignature):
            sshsig.verify(armored, MESSAGE, sshsig.NAMESPACE_RETURN, ssh_key.public)
        assert not _ssh_verify(
            ssh_keygen_bin, tmp_path, allowed, armored, MESSAGE, sshsig.NAMESPACE_RETURN
        )


@pytest.mark.interop
def test_a_flipped_message_byte_fails_in_both_verifiers(
    ssh_keygen_bin: str, ssh_key: SshKey, tmp_path: Path
) -> None:
    allowed = sshsig.allowed_signers_line("agency@example", ssh_key.public, namespaces=[NS])
    changed = bytearray(MESSAGE)
    changed[3] ^= 0x01
    for armored in (
        sshsig.sign(ssh_key.seed, MESSAGE, NS),
        _ssh_sign(ssh_keygen_bin, ssh_key, MESSAGE, NS),
    ):
        assert _ssh_verify(ssh_keygen_bin, tmp_path, allowed, armored, MESSAGE, NS)
        with pytest.raises(BadSignature):
            sshsig.verify(armored, bytes(changed), NS, ssh_key.public)
        assert not _ssh_verify(ssh_keygen_bin, tmp_path, allowed, armored, bytes(changed), NS)


@pytest.mark.interop
def test_a_flipped_signature_byte_fails_in_both_verifiers(
    ssh_keygen_bin: str, ssh_key: SshKey, tmp_path: Path
) -> None:
    allowed = sshsig.allowed_signers_line("agency@example", ssh_key.public, namespaces=[NS])
    for armored in (
        sshsig.sign(ssh_key.seed, MESSAGE, NS),
        _ssh_sign(ssh_keygen_bin, ssh_key, MESSAGE, NS),
    ):
        forged = _flip_signature_value(armored)
        with pytest.raises(BadSignature, match="does not verify"):
            sshsig.verify(forged, MESSAGE, NS, ssh_key.public)
        assert not _ssh_verify(ssh_keygen_bin, tmp_path, allowed, forged, MESSAGE, NS)


@pytest.mark.interop
def test_a_different_key_fails_in_both_verifiers(
    ssh_keygen_bin: str, ssh_key: SshKey, tmp_path: Path
) -> None:
    other = _keygen(ssh_keygen_bin, tmp_path / "other")
    allowed = sshsig.allowed_signers_line("agency@example", ssh_key.public, namespaces=[NS])
    for armored in (
        sshsig.sign(other.seed, MESSAGE, NS),
        _ssh_sign(ssh_keygen_bin, other, MESSAGE, NS),
    ):
        with pytest.raises(BadSignature):
            sshsig.verify(armored, MESSAGE, NS, ssh_key.public)
        assert not _ssh_verify(ssh_keygen_bin, tmp_path, allowed, armored, MESSAGE, NS)
