"""Private key files: age scrypt at rest, 0600, wrong passphrase and loose modes refused."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from keys_helpers import FAST, age_decrypt_with_passphrase
from securexchange import age, strictjson
from securexchange.errors import BadPassphrase, KeyPermissions, Malformed, UsageError
from securexchange.keys.identity import Identity, Owner, generate_identity
from securexchange.keys.keyfile import (
    DEMO_WORK_FACTOR,
    WORK_FACTOR,
    WORK_FACTOR_ENV,
    decode_identity,
    encode_identity,
    read_key_file,
    seal,
    unseal,
    work_factor_for,
    write_key_file,
)

NOW = datetime(2026, 2, 10, 9, 30, tzinfo=UTC)
PASS = b"a long and secret passphrase"


@pytest.fixture
def identity() -> Identity:
    rotated, _ = generate_identity(
        Owner("An Peeters", "integratiebeambte", "11002"), now=NOW
    ).rotated(NOW)
    return rotated


def test_key_file_round_trips_and_is_private(tmp_path: Path, identity: Identity) -> None:
    path = tmp_path / "identity.key"
    write_key_file(path, identity, PASS, work_factor=FAST)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    assert read_key_file(path, PASS) == identity


def test_wrong_passphrase_is_refused_as_bad_passphrase(tmp_path: Path, identity: Identity) -> None:
    path = tmp_path / "identity.key"
    write_key_file(path, identity, PASS, work_factor=FAST)
    with pytest.raises(BadPassphrase) as caught:
        read_key_file(path, b"not the passphrase")
    assert "not the passphrase" not in str(caught.value)


def test_key_file_readable_by_others_is_refused_before_reading(
    tmp_path: Path, identity: Identity
) -> None:
    path = tmp_path / "identity.key"
    write_key_file(path, identity, PASS, work_factor=FAST)
    path.chmod(0o644)
    with pytest.raises(KeyPermissions):
        read_key_file(path, PASS)
    # Refused on the mode alone: even a file that is not a key file at all.
    junk = tmp_path / "junk.key"
    junk.write_bytes(b"not an age file")
    junk.chmod(0o640)
    with pytest.raises(KeyPermissions):
        read_key_file(junk, PASS)


def test_the_real_age_opens_a_key_file_with_the_passphrase(
    tmp_path: Path, identity: Identity, age_bin: str
) -> None:
    path = tmp_path / "identity.key"
    write_key_file(path, identity, PASS, work_factor=FAST)
    code, output = age_decrypt_with_passphrase(age_bin, path, PASS)
    assert code == 0, output
    text = output.replace(b"\r\n", b"\n")
    plaintext = text[text.index(b"{") : text.rindex(b"}") + 1] + b"\n"
    assert decode_identity(plaintext) == identity
    document = json.loads(plaintext)
    assert document["format"] == "securexchange-private-key/1"
    assert document["subkeys"][0]["identity"] == identity.subkeys[0].identity


def test_the_real_age_refuses_a_wrong_passphrase(
    tmp_path: Path, identity: Identity, age_bin: str
) -> None:
    path = tmp_path / "identity.key"
    write_key_file(path, identity, PASS, work_factor=FAST)
    code, output = age_decrypt_with_passphrase(age_bin, path, b"wrong")
    assert code != 0
    assert identity.subkeys[0].identity.encode() not in output


def test_key_files_use_scrypt_with_the_requested_work_factor(identity: Identity) -> None:
    sealed = seal(identity, PASS, work_factor=FAST)
    (stanza,) = age.parse_header(sealed).stanzas
    assert stanza.type == "scrypt" and stanza.args[1] == str(FAST)
    plaintext = age.decrypt(sealed, [age.ScryptIdentity(PASS)])
    assert decode_identity(plaintext) == identity


def test_plaintext_with_an_unknown_field_is_refused(identity: Identity) -> None:
    document = json.loads(encode_identity(identity))
    document["comment"] = "x"
    with pytest.raises(Malformed):
        decode_identity(strictjson.dumps(document))


def test_plaintext_with_a_subkey_not_matching_its_recipient_is_refused(identity: Identity) -> None:
    document = json.loads(encode_identity(identity))
    document["subkeys"][0]["identity"] = age.X25519Identity.generate().to_string()
    with pytest.raises(Malformed):
        decode_identity(strictjson.dumps(document))


def test_a_non_age_file_is_malformed_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(Malformed):
        unseal(b"hello", PASS)


def test_work_factor_defaults_and_the_env_var_lowers_it_only_in_demo_homes() -> None:
    assert work_factor_for(demo=False, env={}) == WORK_FACTOR == 18
    assert work_factor_for(demo=True, env={}) == DEMO_WORK_FACTOR
    assert work_factor_for(demo=True, env={WORK_FACTOR_ENV: "4"}) == 4
    assert work_factor_for(demo=False, env={WORK_FACTOR_ENV: "20"}) == 20
    with pytest.raises(UsageError):
        work_factor_for(demo=False, env={WORK_FACTOR_ENV: "10"})
    with pytest.raises(UsageError):
        work_factor_for(demo=True, env={WORK_FACTOR_ENV: "lots"})


def test_empty_passphrase_is_refused(identity: Identity) -> None:
    with pytest.raises(UsageError):
        seal(identity, b"", work_factor=FAST)


def test_no_temporary_file_is_left_next_to_a_key_file(tmp_path: Path, identity: Identity) -> None:
    write_key_file(tmp_path / "identity.key", identity, PASS, work_factor=FAST)
    write_key_file(tmp_path / "identity.key", identity, b"another", work_factor=FAST)
    assert sorted(os.listdir(tmp_path)) == ["identity.key"]
    assert read_key_file(tmp_path / "identity.key", b"another") == identity
