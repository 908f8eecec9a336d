"""Post-quantum hybrid recipients (mlkem768x25519) against typage, both ways.

The reference ``age`` binary on Debian (1.1.1) predates ``age1pq1`` recipients, so the
independent implementation here is typage, the age authors' TypeScript one (npm
``age-encryption``, pinned in package-lock.json and installed by the README's test
command with ``npm ci``), driven by tests/node/age_interop.mjs on the real Node.js.

Files we encrypt open with typage, files typage encrypts open with ours, binary and
armored, empty and across several 64 KiB STREAM chunks; identity and recipient strings
cross both ways. Secret keys reach node through 0600 identity files, never argv.
As with ``age``: locally, a missing node or ``npm ci`` skips these tests; in CI it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

from conftest import REPO
from securexchange import age
from securexchange.age import MLKEM768X25519Identity, MLKEM768X25519Recipient

pytestmark = pytest.mark.interop

SCRIPT = REPO / "tests" / "node" / "age_interop.mjs"
PACKAGE = REPO / "node_modules" / "age-encryption" / "package.json"
MIN_NODE = (20, 19)  # typage's noble dependencies need it

CHUNK = 64 * 1024
# Empty, one byte, exactly one and two full chunks, and several chunks with a short last.
SIZES = [0, 1, CHUNK, 2 * CHUNK, 3 * CHUNK + 4321]


def plaintext(size: int) -> bytes:
    return os.urandom(size)


def _missing(what: str) -> NoReturn:
    """Skipped locally, a failure in CI (the policy of conftest.require_binary)."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI (installed by .ci/run)")
    pytest.skip(f"{what} not installed")


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        _missing("node (Debian: nodejs)")
    version = subprocess.run(
        [path, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    major, minor = (int(part) for part in version.lstrip("v").split(".")[:2])
    if (major, minor) < MIN_NODE:
        _missing(f"Node.js >= {MIN_NODE[0]}.{MIN_NODE[1]} (found {version})")
    if not PACKAGE.is_file():
        _missing(f"the npm package age-encryption (`npm ci` at {REPO})")
    pinned = json.loads((REPO / "package.json").read_text(encoding="utf-8"))["dependencies"]
    installed = json.loads(PACKAGE.read_text(encoding="utf-8"))["version"]
    assert installed == pinned["age-encryption"], "node_modules is stale: run `npm ci`"
    return path


def run_node(node: str, *args: str, stdin: bytes = b"") -> bytes:
    """The script's stdout; fails the test with its stderr on a non-zero exit."""
    out = subprocess.run(
        [node, str(SCRIPT), *args], input=stdin, capture_output=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    return out.stdout


def write_identity(path: Path, secret: str) -> Path:
    """An identity file readable by its owner only, created so from the start."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(f"# created by securexchange tests\n{secret}\n")
    return path


def node_keygen(node: str, tmp_path: Path) -> tuple[Path, str, str]:
    """A hybrid identity typage made: its 0600 file, its secret string, its recipient."""
    lines = run_node(node, "keygen").decode("ascii").splitlines()
    public = next(line.split(": ")[1] for line in lines if line.startswith("# public key: "))
    secret = next(line for line in lines if line.startswith("AGE-SECRET-KEY-PQ-1"))
    return write_identity(tmp_path / "node-key.txt", secret), secret, public


# --- ours -> typage -------------------------------------------------------------------


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
@pytest.mark.parametrize("size", SIZES)
def test_file_we_encrypt_to_our_identity_decrypts_with_typage(
    size: int, armor: bool, node: str, tmp_path: Path
) -> None:
    """Our identity, exported as a string, opens in typage a file we encrypted to it."""
    identity = MLKEM768X25519Identity.generate()
    data = plaintext(size)
    blob = age.encrypt(data, [identity.recipient], armor=armor)
    assert blob.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----") == armor
    assert [s.type for s in age.parse_header(blob).stanzas] == ["mlkem768x25519"]
    key = write_identity(tmp_path / "key.txt", identity.to_string())
    assert run_node(node, "decrypt", str(key), stdin=blob) == data


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_file_we_encrypt_to_typage_recipient_decrypts_with_typage(
    armor: bool, node: str, tmp_path: Path
) -> None:
    """A recipient string typage made, parsed by us; its stanza is the second of two."""
    key, _secret, public = node_keygen(node, tmp_path)
    other = MLKEM768X25519Identity.generate()
    data = plaintext(3 * CHUNK + 1)
    recipients = [other.recipient, MLKEM768X25519Recipient.from_string(public)]
    blob = age.encrypt(data, recipients, armor=armor)
    assert age.parse_header(blob).count("mlkem768x25519") == 2
    assert run_node(node, "decrypt", str(key), stdin=blob) == data


def test_file_we_stream_encrypt_decrypts_with_typage(node: str, tmp_path: Path) -> None:
    identity = MLKEM768X25519Identity.generate()
    data = plaintext(5 * CHUNK + 99)
    src = tmp_path / "plain"
    src.write_bytes(data)
    encrypted = tmp_path / "file.age"
    with src.open("rb") as fin, encrypted.open("wb") as fout:
        age.encrypt_stream(fin, fout, [identity.recipient])
    key = write_identity(tmp_path / "key.txt", identity.to_string())
    assert run_node(node, "decrypt", str(key), stdin=encrypted.read_bytes()) == data


# --- typage -> ours -------------------------------------------------------------------


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
@pytest.mark.parametrize("size", SIZES)
def test_file_typage_encrypts_decrypts_with_ours(
    size: int, armor: bool, node: str, tmp_path: Path
) -> None:
    """typage's identity string, parsed by us, opens what typage encrypted to it."""
    _key, secret, public = node_keygen(node, tmp_path)
    identity = MLKEM768X25519Identity.from_string(secret)
    data = plaintext(size)
    blob = run_node(node, "encrypt", *(["--armor"] if armor else []), public, stdin=data)
    assert blob.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----") == armor
    assert [s.type for s in age.parse_header(blob).stanzas] == ["mlkem768x25519"]
    assert age.decrypt(blob, [identity]) == data
    out = tmp_path / "out"
    src = tmp_path / "file.age"
    src.write_bytes(blob)
    with src.open("rb") as fin, out.open("wb") as fout:
        age.decrypt_stream(fin, fout, [identity])
    assert out.read_bytes() == data


def test_file_typage_encrypts_to_our_recipient_decrypts_with_ours(node: str) -> None:
    identity = MLKEM768X25519Identity.generate()
    data = plaintext(2 * CHUNK + 7)
    blob = run_node(node, "encrypt", identity.recipient.to_string(), stdin=data)
    assert age.decrypt(blob, [identity]) == data
    with pytest.raises(age.AgeNoMatchError):
        age.decrypt(blob, [MLKEM768X25519Identity.generate()])


# --- key strings ----------------------------------------------------------------------


def test_typage_identity_and_recipient_strings_parse_with_ours(node: str, tmp_path: Path) -> None:
    key, secret, public = node_keygen(node, tmp_path)
    assert public.startswith("age1pq1")
    recipient = MLKEM768X25519Recipient.from_string(public)
    assert recipient.to_string() == public
    identity = MLKEM768X25519Identity.from_string(secret)
    assert identity.to_string() == secret
    assert identity.recipient.to_string() == public
    assert run_node(node, "to-recipient", str(key)).decode("ascii").strip() == public


def test_our_identity_string_derives_our_recipient_in_typage(node: str, tmp_path: Path) -> None:
    identity = MLKEM768X25519Identity.generate()
    secret = identity.to_string()
    assert secret.startswith("AGE-SECRET-KEY-PQ-1")
    key = write_identity(tmp_path / "key.txt", secret)
    derived = run_node(node, "to-recipient", str(key)).decode("ascii").strip()
    assert derived == identity.recipient.to_string()
    assert MLKEM768X25519Recipient.from_string(derived).to_string() == derived


# --- a package payload, with the identity `keys export --age` gives -------------------


def test_typage_decrypts_a_package_payload_with_the_identity_keys_export_age_gives(
    node: str, tmp_path: Path
) -> None:
    """Another age implementation opens a hybrid package's payload with the exported key."""
    import io
    import zipfile

    from cli_helpers import enrol_demo_staff, expect_ok, init_demo_agency, run_cli

    agency = tmp_path / "agency"
    init_demo_agency(agency, "11002", "Antwerpen")
    staff, _ = enrol_demo_staff(tmp_path, agency, "An", nis="11002")
    master = tmp_path / "master.xlsx"
    expect_ok(run_cli(["sample", "--records", "3", "--nis", "11002", "--out", str(master)]))
    out = tmp_path / "exports"
    expect_ok(run_cli(["agency", "export", str(master), "--out", str(out)], home=agency))
    (package,) = sorted(out.glob("*.sxpkg"))
    payload = zipfile.ZipFile(io.BytesIO(package.read_bytes())).read("payload.age")
    assert [s.type for s in age.parse_header(payload).stanzas] == ["mlkem768x25519"]

    exported = expect_ok(run_cli(["keys", "export", "--age"], home=staff)).stdout.strip()
    assert exported.startswith("AGE-SECRET-KEY-PQ-1")
    key = write_identity(tmp_path / "exported.txt", exported)
    plain = run_node(node, "decrypt", str(key), stdin=payload)
    assert plain == age.decrypt(payload, [age.parse_identity(exported)])
    assert plain  # the binding fields and the workbook
