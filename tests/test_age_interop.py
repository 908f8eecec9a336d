"""Interoperability with the reference ``age`` 1.1.1 binaries, both ways.

Files we encrypt open with ``age -d``; files ``age -e`` makes open with ours; keys cross
in both directions; passphrase files cross too, with ``age`` driven through a
pseudo-terminal because it reads passphrases from /dev/tty only.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from securexchange import age
from securexchange.age import ScryptIdentity, ScryptRecipient, X25519Identity

pytestmark = pytest.mark.interop

# Chunk boundaries, and the 1 MiB read-ahead block's: a payload of exactly one or two
# blocks ends on an empty read, one a byte over ends on a short block.
SIZES = [0, 1, 65535, 65536, 65537, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 5 << 20]


def plaintext(size: int) -> bytes:
    return os.urandom(size)


def write_identity(path: Path, identity: X25519Identity) -> Path:
    path.write_text(f"# created by securexchange\n{identity.to_string()}\n")
    path.chmod(0o600)
    return path


def run_in_pty(argv: list[str], answers: list[tuple[bytes, bytes]], timeout: float = 60) -> bytes:
    """Run ``argv`` on a new pseudo-terminal (its controlling tty), typing each answer
    once its prompt has appeared; return the terminal transcript. Fails on exit != 0."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the program, or report failure by exit status
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    transcript = b""
    seen = 0
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"{argv[0]} timed out on the terminal: {transcript!r}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            transcript += data
            if pending and pending[0][0] in transcript[seen:]:
                seen = transcript.index(pending[0][0], seen) + len(pending[0][0])
                os.write(fd, pending.pop(0)[1])
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, transcript
    assert not pending, f"prompts never appeared: {pending!r} in {transcript!r}"
    return transcript


# --- ours -> age ----------------------------------------------------------------------


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
@pytest.mark.parametrize("recipients", [1, 3])
@pytest.mark.parametrize("size", SIZES)
def test_file_we_encrypt_decrypts_with_age(
    size: int, recipients: int, armor: bool, age_bin: str, tmp_path: Path
) -> None:
    ids = [X25519Identity.generate() for _ in range(recipients)]
    data = plaintext(size)
    encrypted = tmp_path / "file.age"
    encrypted.write_bytes(age.encrypt(data, [i.recipient for i in ids], armor=armor))
    # The last recipient's key, so a stanza other than the first must be found.
    key = write_identity(tmp_path / "key.txt", ids[-1])
    out = subprocess.run(
        [age_bin, "-d", "-i", str(key), str(encrypted)], capture_output=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == data


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_file_we_stream_encrypt_decrypts_with_age(
    armor: bool, age_bin: str, tmp_path: Path
) -> None:
    identity = X25519Identity.generate()
    data = plaintext((3 << 20) + 12345)
    src = tmp_path / "plain"
    src.write_bytes(data)
    encrypted = tmp_path / "file.age"
    with src.open("rb") as fin, encrypted.open("wb") as fout:
        age.encrypt_stream(fin, fout, [identity.recipient], armor=armor)
    key = write_identity(tmp_path / "key.txt", identity)
    out = subprocess.run(
        [age_bin, "-d", "-i", str(key), str(encrypted)], capture_output=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == data


# --- age -> ours ----------------------------------------------------------------------


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
@pytest.mark.parametrize("recipients", [1, 3])
@pytest.mark.parametrize("size", SIZES)
def test_file_age_encrypts_decrypts_with_ours(
    size: int, recipients: int, armor: bool, age_bin: str, tmp_path: Path
) -> None:
    ids = [X25519Identity.generate() for _ in range(recipients)]
    data = plaintext(size)
    src = tmp_path / "plain"
    src.write_bytes(data)
    encrypted = tmp_path / "file.age"
    argv = [age_bin, "-e", "-o", str(encrypted)]
    for i in ids:
        argv += ["-r", i.recipient.to_string()]
    subprocess.run([*argv, *(["-a"] if armor else []), str(src)], check=True)
    blob = encrypted.read_bytes()
    assert blob.startswith(b"-----BEGIN") == armor
    assert age.parse_header(blob).count("X25519") == recipients
    assert age.decrypt(blob, [ids[-1]]) == data
    out = tmp_path / "out"
    with encrypted.open("rb") as fin, out.open("wb") as fout:
        age.decrypt_stream(fin, fout, [ids[0]])
    assert out.read_bytes() == data


def test_age_keygen_identity_is_accepted_by_us(
    age_bin: str, age_keygen_bin: str, tmp_path: Path
) -> None:
    keyfile = tmp_path / "key.txt"
    subprocess.run([age_keygen_bin, "-o", str(keyfile)], check=True, capture_output=True)
    lines = keyfile.read_text().splitlines()
    public = next(line.split(": ")[1] for line in lines if line.startswith("# public key: "))
    secret = next(line for line in lines if line.startswith("AGE-SECRET-KEY-1"))
    identity = X25519Identity.from_string(secret)
    assert identity.to_string() == secret
    assert identity.recipient.to_string() == public
    derived = subprocess.run(
        [age_keygen_bin, "-y", str(keyfile)], check=True, capture_output=True, text=True
    )
    assert derived.stdout.strip() == public
    data = plaintext(1000)
    encrypted = subprocess.run(
        [age_bin, "-e", "-r", public], input=data, check=True, capture_output=True
    ).stdout
    assert age.decrypt(encrypted, [identity]) == data


def test_our_identity_string_is_accepted_by_age_keygen(age_keygen_bin: str, tmp_path: Path) -> None:
    identity = X25519Identity.generate()
    key = write_identity(tmp_path / "key.txt", identity)
    derived = subprocess.run(
        [age_keygen_bin, "-y", str(key)], check=True, capture_output=True, text=True
    )
    assert derived.stdout.strip() == identity.recipient.to_string()


# --- passphrases, through a terminal --------------------------------------------------

PASSPHRASE = b"correct horse battery staple"


def test_passphrase_file_made_by_age_decrypts_with_ours(age_bin: str, tmp_path: Path) -> None:
    data = plaintext(70000)
    src = tmp_path / "plain"
    src.write_bytes(data)
    encrypted = tmp_path / "file.age"
    run_in_pty(
        [age_bin, "-p", "-o", str(encrypted), str(src)],
        [(b"Enter passphrase", PASSPHRASE + b"\n"), (b"Confirm passphrase", PASSPHRASE + b"\n")],
    )
    blob = encrypted.read_bytes()
    header = age.parse_header(blob)
    assert [s.type for s in header.stanzas] == ["scrypt"]
    assert age.decrypt(blob, [ScryptIdentity(PASSPHRASE)]) == data
    with pytest.raises(age.AgeNoMatchError):
        age.decrypt(blob, [ScryptIdentity(b"wrong")])


def test_passphrase_file_we_encrypt_decrypts_with_age(age_bin: str, tmp_path: Path) -> None:
    data = plaintext(70000)
    encrypted = tmp_path / "file.age"
    # A low work factor keeps the test fast; age accepts anything up to its own cap.
    encrypted.write_bytes(age.encrypt(data, [ScryptRecipient(PASSPHRASE, work_factor=12)]))
    out = tmp_path / "out"
    run_in_pty(
        [age_bin, "-d", "-o", str(out), str(encrypted)],
        [(b"Enter passphrase", PASSPHRASE + b"\n")],
    )
    assert out.read_bytes() == data
