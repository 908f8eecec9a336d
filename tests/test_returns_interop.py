"""A return checked by hand with standard tools: age for the key holder, ssh-keygen for
anyone with the staff member's public key."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from return_flows import make_channel, seal_delta, staff_identity, status
from securexchange import sshsig
from securexchange.keys.keyfile import DEMO_PASSPHRASE, read_key_file
from test_age_pq_interop import node, run_node  # noqa: F401 - node is a fixture

R1 = "R-AAAAAAAAAAAAAAAAAAAA"


@pytest.mark.interop
def test_the_payload_decrypts_with_age_and_the_agency_identity(
    tmp_path: Path,
    node: str,  # noqa: F811 - the fixture imported from test_age_pq_interop
) -> None:
    channel = make_channel(tmp_path)
    delta, data = seal_delta(channel.staff, [status(R1)])
    members = zipfile.ZipFile(io.BytesIO(data))
    (tmp_path / "payload.age").write_bytes(members.read("payload.age"))
    export = read_key_file(channel.agency / "keys" / "export.key", DEMO_PASSPHRASE)
    identities = tmp_path / "agency.txt"
    identities.write_text("\n".join(s.identity for s in export.subkeys) + "\n")
    identities.chmod(0o600)
    # To the agency's hybrid post-quantum export subkey, which the reference age on Debian
    # (1.1.1) predates: typage, the age authors' other implementation, decrypts it.
    out = run_node(node, "decrypt", str(identities), stdin=(tmp_path / "payload.age").read_bytes())
    assert out.startswith(b"SXPAYLOAD1\n")
    length = int.from_bytes(out[11:15], "big")
    binding = json.loads(out[15 : 15 + length])
    document = json.loads(out[15 + length :])
    assert binding["id"] == document["delta"] == delta
    assert document["entries"][0]["record"] == R1


@pytest.mark.interop
def test_the_manifest_verifies_under_the_returns_namespace_only(
    tmp_path: Path, ssh_keygen_bin: str
) -> None:
    channel = make_channel(tmp_path)
    _, data = seal_delta(channel.staff, [status(R1)])
    members = zipfile.ZipFile(io.BytesIO(data))
    manifest = members.read("manifest.json")
    (tmp_path / "manifest.sig").write_bytes(members.read("manifest.sig"))
    key = sshsig.ssh_public_key_line(staff_identity(channel.staff).signing_key)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"staff@11002 {key}\n")

    def verify(namespace: str) -> int:
        return subprocess.run(
            [
                *(ssh_keygen_bin, "-Y", "verify", "-f", str(allowed), "-I", "staff@11002"),
                *("-n", namespace, "-s", str(tmp_path / "manifest.sig")),
            ],
            input=manifest,
            capture_output=True,
            check=False,
        ).returncode

    assert verify("securexchange-return-v1") == 0
    assert verify("securexchange-package-v1") != 0
