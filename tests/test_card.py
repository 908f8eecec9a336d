"""Public key cards: self-signed, subkeys certified, checked against a typed fingerprint."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from securexchange import sshsig, strictjson
from securexchange.errors import BadSignature, FingerprintMismatch, Malformed, UsageError
from securexchange.keys.card import MAX_CARD_BYTES, make_card, read_card, verify_card_fingerprint
from securexchange.keys.identity import Identity, Owner, generate_identity

NOW = datetime(2026, 2, 10, 9, 30, tzinfo=UTC)


@pytest.fixture
def identity() -> Identity:
    rotated, _ = generate_identity(
        Owner("An Peeters", "integratiebeambte", "11002"), now=NOW
    ).rotated(NOW)
    return rotated


def _edit_body(card: bytes, edit: dict[str, object]) -> bytes:
    envelope = json.loads(card)
    body = json.loads(envelope["card"])
    body.update(edit)
    envelope["card"] = strictjson.dumps(body).decode("utf-8")
    return strictjson.dumps(envelope)


def test_card_round_trips_with_current_and_next_subkeys(identity: Identity) -> None:
    card = read_card(make_card(identity, now=NOW))
    assert card.fingerprint == identity.fingerprint
    assert card.owner == identity.owner
    assert card.identity == identity.public
    # Two periods, each a hybrid post-quantum subkey and its classic companion.
    assert len(card.identity.subkeys) == 4
    assert sorted(s.post_quantum for s in card.identity.subkeys) == [False, False, True, True]
    assert len(make_card(identity, now=NOW)) < MAX_CARD_BYTES // 4
    assert card.created_at == NOW and card.demo is False


def test_card_holds_no_secret(identity: Identity) -> None:
    data = make_card(identity, now=NOW)
    assert b"AGE-SECRET-KEY" not in data
    for secret in (identity.seed.hex(), identity.subkeys[0].identity):
        assert secret.encode() not in data


def test_card_lists_only_subkeys_that_have_not_expired(identity: Identity) -> None:
    later = datetime(2026, 5, 1, tzinfo=UTC)
    card = read_card(make_card(identity, now=later))
    assert [s.valid_from for s in card.identity.subkeys] == [datetime(2026, 4, 1, tzinfo=UTC)] * 2


def test_card_with_a_bad_self_signature_is_refused(identity: Identity) -> None:
    forged = _edit_body(make_card(identity, now=NOW), {"role": "burgemeester"})
    with pytest.raises(BadSignature):
        read_card(forged)


def test_card_signed_by_another_key_is_refused(identity: Identity) -> None:
    other = generate_identity(identity.owner, now=NOW)
    envelope = json.loads(make_card(identity, now=NOW))
    envelope["signature"] = other.sign(envelope["card"].encode(), sshsig.NAMESPACE_CARD)
    with pytest.raises(BadSignature):
        read_card(strictjson.dumps(envelope))


def test_card_signature_from_another_namespace_is_refused(identity: Identity) -> None:
    envelope = json.loads(make_card(identity, now=NOW))
    envelope["signature"] = identity.sign(envelope["card"].encode(), sshsig.NAMESPACE_RETURN)
    with pytest.raises(BadSignature):
        read_card(strictjson.dumps(envelope))


def test_card_whose_subkey_certification_does_not_verify_is_refused(identity: Identity) -> None:
    other = generate_identity(identity.owner, now=NOW)
    stolen = other.subkeys[0].public.certification
    bad = replace(
        identity.subkeys[1], public=replace(identity.subkeys[1].public, certification=stolen)
    )
    tampered = replace(identity, subkeys=(identity.subkeys[0], bad))
    # The card itself is correctly self-signed; only the subkey's certification is wrong.
    with pytest.raises(BadSignature):
        read_card(make_card(tampered, now=NOW))


def test_card_with_an_unknown_field_is_refused(identity: Identity) -> None:
    envelope = json.loads(make_card(identity, now=NOW))
    envelope["note"] = "hello"
    with pytest.raises(Malformed):
        read_card(strictjson.dumps(envelope))


def test_card_stating_a_wrong_fingerprint_is_malformed(identity: Identity) -> None:
    other = generate_identity(identity.owner, now=NOW)
    forged = _edit_body(make_card(identity, now=NOW), {"fingerprint": other.fingerprint.display})
    with pytest.raises(Malformed):
        read_card(forged)


def test_garbage_is_malformed() -> None:
    for data in (b"", b"\xff\xfe", b"[]", b'{"card": 1, "signature": ""}'):
        with pytest.raises(Malformed):
            read_card(data)


def test_typed_fingerprint_must_match_the_card(identity: Identity) -> None:
    card = read_card(make_card(identity, now=NOW))
    verify_card_fingerprint(card, card.fingerprint.display.lower().replace("-", " "))
    other = generate_identity(identity.owner, now=NOW)
    with pytest.raises(FingerprintMismatch):
        verify_card_fingerprint(card, other.fingerprint.display)
    with pytest.raises(UsageError):
        verify_card_fingerprint(card, "not a fingerprint")


def test_card_signature_verifies_with_ssh_keygen(
    tmp_path: Path, identity: Identity, ssh_keygen_bin: str
) -> None:
    envelope = json.loads(make_card(identity, now=NOW))
    (tmp_path / "card.json").write_bytes(envelope["card"].encode())
    (tmp_path / "card.sig").write_text(envelope["signature"])
    signers = tmp_path / "allowed_signers"
    signers.write_text(
        sshsig.allowed_signers_line("me", identity.signing_key, namespaces=[sshsig.NAMESPACE_CARD])
        + "\n"
    )
    with open(tmp_path / "card.json", "rb") as message:
        proc = subprocess.run(
            [
                *(ssh_keygen_bin, "-Y", "verify", "-f", str(signers), "-I", "me"),
                *("-n", sshsig.NAMESPACE_CARD, "-s", str(tmp_path / "card.sig")),
            ],
            stdin=message,
            capture_output=True,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
