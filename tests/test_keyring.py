"""The keyring model: root-signed, versioned, per-municipality views, allowed_signers."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from securexchange import sshsig, strictjson
from securexchange.artifacts import keyring as keyring_module
from securexchange.artifacts.agency_keys import AgencyKeys, certify_export_key
from securexchange.artifacts.allowed_signers import allowed_signers
from securexchange.artifacts.keyring import (
    SCOPE_FULL,
    Keyring,
    MunicipalityEntry,
    open_keyring,
    sign_keyring,
    verify_keyring,
)
from securexchange.errors import BadSignature, Malformed, Rollback
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.keys.identity import (
    ROLE_EXPORT,
    ROLE_ROOT,
    Identity,
    Owner,
    generate_identity,
)

NOW = datetime(2026, 2, 10, 9, 30, tzinfo=UTC)


def _agency() -> tuple[Identity, Identity, AgencyKeys]:
    root = generate_identity(Owner("AgII", ROLE_ROOT, "agency"), now=NOW, subkeys=False)
    export = generate_identity(Owner("AgII", ROLE_EXPORT, "agency"), now=NOW)
    keys = AgencyKeys(
        "AgII",
        root.signing_key,
        export.public,
        certify_export_key(root, export.signing_key, NOW),
        NOW,
    )
    return root, export, keys


def _entry(nis: str, party: str, *staff: Identity) -> MunicipalityEntry:
    return MunicipalityEntry(
        nis=nis,
        name=f"Gemeente {nis}",
        party_id=party,
        protocol_id="protocol-" + party.removeprefix("party-"),
        protocol_from=date(2026, 1, 1),
        protocol_until=date(2026, 12, 31),
        retention_months=6,
        profiles=("integratiebeambte",),
        recipients=tuple(sorted((s.public for s in staff), key=lambda p: p.fingerprint.digest)),
    )


PARTY_A = "party-" + "a" * 26
PARTY_B = "party-" + "b" * 26


World = tuple[Identity, Identity, Keyring]


@pytest.fixture
def world() -> World:
    root, export, keys = _agency()
    anna = generate_identity(Owner("Anna", "integratiebeambte", "11002"), now=NOW)
    bert = generate_identity(Owner("Bert", "integratiebeambte", "44021"), now=NOW)
    keyring = Keyring(
        id=new_artifact_id(ArtifactKind.KEYRING),
        version=5,
        issued_at=NOW,
        scope=SCOPE_FULL,
        demo=False,
        agency=keys,
        municipalities=(_entry("11002", PARTY_A, anna), _entry("44021", PARTY_B, bert)),
    )
    return root, export, keyring


def test_keyring_signed_by_the_root_verifies_and_parses(world: World) -> None:
    root, _, keyring = world
    data, signature = sign_keyring(keyring, root)
    assert open_keyring(data, signature, root.signing_key, min_version=5) == keyring
    verify_keyring(data, signature, root.signing_key, min_version=1)


def test_keyring_signed_by_the_export_key_instead_of_the_root_is_refused(world: World) -> None:
    root, export, keyring = world
    data = keyring.to_bytes()
    by_export = export.sign(data, sshsig.NAMESPACE_KEYRING)
    with pytest.raises(BadSignature):
        verify_keyring(data, by_export, root.signing_key, min_version=0)


def test_keyring_older_than_the_one_held_is_a_rollback(world: World) -> None:
    root, _, keyring = world
    data, signature = sign_keyring(keyring, root)
    with pytest.raises(Rollback):
        verify_keyring(data, signature, root.signing_key, min_version=6)


def test_one_changed_byte_breaks_the_signature(world: World) -> None:
    root, _, keyring = world
    data, signature = sign_keyring(keyring, root)
    tampered = data.replace(b'"retention_months": 6', b'"retention_months": 9')
    assert tampered != data
    with pytest.raises(BadSignature):
        verify_keyring(tampered, signature, root.signing_key, min_version=0)


def test_a_keyring_signed_in_another_namespace_is_refused(world: World) -> None:
    root, _, keyring = world
    data = keyring.to_bytes()
    with pytest.raises(BadSignature):
        verify_keyring(
            data, root.sign(data, sshsig.NAMESPACE_CARD), root.signing_key, min_version=0
        )


def test_a_keyring_naming_another_root_than_the_pinned_one_is_refused(world: World) -> None:
    root, _, keyring = world
    other_root, _, other_keys = _agency()
    forged = replace(keyring, agency=other_keys)
    data, signature = sign_keyring(forged, other_root)
    with pytest.raises(BadSignature):
        verify_keyring(data, signature, root.signing_key, min_version=0)


def test_an_export_key_the_root_did_not_certify_is_refused(world: World) -> None:
    root, _, keyring = world
    impostor = generate_identity(Owner("AgII", ROLE_EXPORT, "agency"), now=NOW)
    agency = replace(keyring.agency, export=impostor.public)
    data, signature = sign_keyring(replace(keyring, agency=agency), root)
    with pytest.raises(BadSignature):
        verify_keyring(data, signature, root.signing_key, min_version=0)


def test_a_view_holds_the_agency_keys_and_one_municipality_only(world: World) -> None:
    root, _, keyring = world
    view = keyring.view(PARTY_A, view_id=new_artifact_id(ArtifactKind.KEYRING))
    assert view.is_view and view.version == keyring.version
    assert [m.nis for m in view.municipalities] == ["11002"]
    data, signature = sign_keyring(view, root)
    assert b"Bert" not in data and b"44021" not in data
    assert open_keyring(data, signature, root.signing_key, min_version=0) == view


def test_unknown_fields_in_a_keyring_are_refused(world: World) -> None:
    root, _, keyring = world
    document = json.loads(keyring.to_bytes())
    document["municipalities"][0]["note"] = "x"
    data = strictjson.dumps(document)
    with pytest.raises(Malformed):
        verify_keyring(
            data, root.sign(data, sshsig.NAMESPACE_KEYRING), root.signing_key, min_version=0
        )


def test_a_recipient_of_another_municipality_cannot_be_listed(world: World) -> None:
    _, _, _keyring = world
    bert = generate_identity(Owner("Bert", "integratiebeambte", "44021"), now=NOW)
    with pytest.raises(ValueError):
        _entry("11002", PARTY_A, bert)


def test_protocol_activity_and_role_profiles() -> None:
    entry = _entry("11002", PARTY_A)
    assert entry.active_on(date(2026, 1, 1)) and entry.active_on(date(2026, 12, 31))
    assert not entry.active_on(date(2027, 1, 1)) and not entry.active_on(date(2025, 12, 31))
    assert not replace(entry, terminated_on=date(2026, 6, 1)).active_on(date(2026, 6, 1))
    assert entry.allows_role("integratiebeambte") and not entry.allows_role("burgemeester")
    assert replace(entry, profiles=()).allows_role("burgemeester")


def test_allowed_signers_let_ssh_keygen_verify_by_hand(
    world: World, tmp_path: Path, ssh_keygen_bin: str
) -> None:
    root, export, keyring = world
    data, signature = sign_keyring(keyring, root)
    signers = tmp_path / "allowed_signers"
    signers.write_text(allowed_signers(keyring))
    assert "Anna" not in signers.read_text() and "Bert" not in signers.read_text()
    (tmp_path / "keyring.json").write_bytes(data)
    (tmp_path / "keyring.sig").write_text(signature)

    def verify(principal: str, namespace: str, sig: Path) -> int:
        with open(tmp_path / "keyring.json", "rb") as message:
            return subprocess.run(
                [
                    *(ssh_keygen_bin, "-Y", "verify", "-f", str(signers), "-I", principal),
                    *("-n", namespace, "-s", str(sig)),
                ],
                stdin=message,
                capture_output=True,
                check=False,
            ).returncode

    root_fp = keyring.agency.root_fingerprint.display
    export_fp = keyring.agency.export.fingerprint.display
    assert verify(root_fp, sshsig.NAMESPACE_KEYRING, tmp_path / "keyring.sig") == 0
    # The export key is not trusted for keyrings, only for packages, notices and the
    # agency log's checkpoints.
    (tmp_path / "by-export.sig").write_text(export.sign(data, sshsig.NAMESPACE_KEYRING))
    assert verify(export_fp, sshsig.NAMESPACE_KEYRING, tmp_path / "by-export.sig") != 0
    (tmp_path / "checkpoint.sig").write_text(export.sign(data, sshsig.NAMESPACE_LOG))
    assert verify(export_fp, sshsig.NAMESPACE_LOG, tmp_path / "checkpoint.sig") == 0
    (tmp_path / "as-return.sig").write_text(export.sign(data, sshsig.NAMESPACE_RETURN))
    assert verify(export_fp, sshsig.NAMESPACE_RETURN, tmp_path / "as-return.sig") != 0


# --- kept per process ------------------------------------------------------------------


def _counted_verifications(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    seen: list[bytes] = []
    real = sshsig.verify

    def counting(signature: str | bytes, message: bytes, namespace: str, key: bytes) -> None:
        seen.append(message)
        real(signature, message, namespace, key)

    monkeypatch.setattr(sshsig, "verify", counting)
    keyring_module._verified.cache_clear()
    return seen


def test_a_keyring_verified_once_per_process_is_still_held_to_the_version_asked(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _, keyring = world
    data, signature = sign_keyring(keyring, root)
    seen = _counted_verifications(monkeypatch)
    first = open_keyring(data, signature, root.signing_key, min_version=5)
    assert open_keyring(bytearray(data), signature, root.signing_key, min_version=1) is first
    assert seen.count(data) == 1
    with pytest.raises(Rollback):
        open_keyring(data, signature, root.signing_key, min_version=6)


def test_a_refused_keyring_is_refused_again_and_other_bytes_are_verified_anew(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, export, keyring = world
    data, signature = sign_keyring(keyring, root)
    seen = _counted_verifications(monkeypatch)
    for _ in range(2):
        with pytest.raises(BadSignature):
            open_keyring(data, signature, export.signing_key, min_version=0)
    tampered = data.replace(b'"retention_months": 6', b'"retention_months": 9')
    for _ in range(2):
        with pytest.raises(BadSignature):
            open_keyring(tampered, signature, root.signing_key, min_version=0)
    assert seen.count(data) == 2 and seen.count(tampered) == 2
    open_keyring(data, signature, root.signing_key, min_version=0)
    assert seen.count(data) == 3
