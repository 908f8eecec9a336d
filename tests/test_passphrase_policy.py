"""New key passphrases follow NIST SP 800-63B (15 characters, not easy to guess); an
existing key with a weak passphrase still opens, with a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import assert_single_error, run_cli
from keys_helpers import FAST, STAFF_PASS, make_agency, make_staff, passphrase_file
from securexchange.errors import WeakPassphrase
from securexchange.home.home import HomeKind, open_home
from securexchange.keys.keyfile import read_key_file, write_key_file
from securexchange.keys.keystore import KeySource
from securexchange.keys.passphrase_policy import MIN_LENGTH, check_new_passphrase, weakness
from securexchange.municipality import subkeys


@pytest.mark.parametrize(
    "weak",
    [
        b"kort",
        b"fourteen chars",  # one short of the minimum
        b"password1234567",  # a common password padded to 15
        b"123456789012345",
        b"qwertyuiopasdfgh",  # a keyboard walk
        b"aaaaaaaaaaaaaaaaaaaa",
        b"iloveyouiloveyou",
        b"securexchange2026",  # the tool's own name
    ],
)
def test_a_short_or_guessable_passphrase_is_weak(weak: bytes) -> None:
    assert weakness(weak) is not None


@pytest.mark.parametrize(
    "strong",
    [b"mijn fiets is blauw", b"correct horse staff", b"kameel regenjas tulp oktober"],
)
def test_unrelated_words_of_at_least_15_characters_pass(strong: bytes) -> None:
    assert len(strong) >= MIN_LENGTH
    assert weakness(strong) is None


def test_words_of_the_home_itself_count_against_a_passphrase() -> None:
    assert weakness(b"Antwerpen-Antwerpen") is None
    assert weakness(b"Antwerpen-Antwerpen", ("Antwerpen",)) is not None


def test_the_refusal_never_quotes_the_passphrase() -> None:
    with pytest.raises(WeakPassphrase) as raised:
        check_new_passphrase(b"letmein123456789")
    assert "letmein" not in raised.value.message
    assert raised.value.hint is not None and "15" in raised.value.hint


def test_kort_is_refused_for_a_new_municipal_key_and_no_home_is_made(tmp_path: Path) -> None:
    agency = tmp_path / "agency"
    make_agency(agency)
    weak = passphrase_file(tmp_path, "weak.pass", b"kort")
    staff = tmp_path / "staff"
    result = run_cli(
        [
            "municipality",
            "init",
            "--nis",
            "11002",
            "--name",
            "An Peeters",
            "--role",
            "integratiebeambte",
            "--agency-key",
            str(agency / "keys" / "root.card.json"),
            "--passphrase-file",
            str(weak),
        ],
        home=staff,
    )
    assert_single_error(result, "SX-WEAK-PASSPHRASE", 2)
    assert "kort" not in result.stderr
    assert "15" in result.stderr  # the hint says what to do
    assert not (staff / "home.json").exists()


def test_a_weak_root_passphrase_is_refused_before_the_agency_home_exists(tmp_path: Path) -> None:
    home = tmp_path / "agency"
    weak = passphrase_file(tmp_path, "root.pass", b"wachtwoord")
    strong = passphrase_file(tmp_path, "export.pass", b"correct horse export")
    result = run_cli(
        [
            "agency",
            "init",
            "--name",
            "AgII",
            "--root-passphrase-file",
            str(weak),
            "--passphrase-file",
            str(strong),
        ],
        home=home,
    )
    assert_single_error(result, "SX-WEAK-PASSPHRASE", 2)
    assert not (home / "home.json").exists()


def test_keys_passwd_refuses_a_weak_new_passphrase_and_keeps_the_old_one(tmp_path: Path) -> None:
    agency = tmp_path / "agency"
    make_agency(agency)
    staff = tmp_path / "staff"
    make_staff(staff, agency)
    old = passphrase_file(tmp_path, "old.pass", STAFF_PASS)
    new = passphrase_file(tmp_path, "new.pass", b"kort")
    result = run_cli(
        ["keys", "passwd", "--passphrase-file", str(old), "--new-passphrase-file", str(new)],
        home=staff,
    )
    assert_single_error(result, "SX-WEAK-PASSPHRASE", 2)
    read_key_file(staff / "keys" / "identity.key", STAFF_PASS)  # still opens


def test_an_existing_key_with_a_weak_passphrase_still_opens_and_warns(tmp_path: Path) -> None:
    agency = tmp_path / "agency"
    make_agency(agency)
    staff = tmp_path / "staff"
    make_staff(staff, agency)
    key = staff / "keys" / "identity.key"
    # A key sealed before the policy existed: written directly, as an older release did.
    write_key_file(key, read_key_file(key, STAFF_PASS), b"kort", work_factor=FAST)
    with open_home(staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        subkeys.reseal(home, STAFF_PASS, b"kort", work_factor=FAST)
    weak = passphrase_file(tmp_path, "weak.pass", b"kort")
    result = run_cli(["keys", "export", "--age", "--passphrase-file", str(weak)], home=staff)
    assert result.code == 0, result.stderr
    assert "warning: the passphrase of" in result.stderr
    assert "keys passwd" in result.stderr
    assert "kort" not in result.stderr
    # The library changes it to a strong one; a weak one stays refused.
    with open_home(staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        source = KeySource(key, lambda: b"kort", work_factor=FAST)
        with pytest.raises(WeakPassphrase):
            subkeys.change_passphrase(home, source, lambda: b"kort")
        subkeys.change_passphrase(home, source, lambda: b"kameel regenjas tulp oktober")
    read_key_file(key, b"kameel regenjas tulp oktober")
    strong = passphrase_file(tmp_path, "strong.pass", b"kameel regenjas tulp oktober")
    result = run_cli(["keys", "export", "--age", "--passphrase-file", str(strong)], home=staff)
    assert result.code == 0, result.stderr


def test_a_changed_passphrase_opens_the_subkey_files_too(tmp_path: Path) -> None:
    agency = tmp_path / "agency"
    make_agency(agency)
    staff = tmp_path / "staff"
    make_staff(staff, agency)
    assert list((staff / "keys" / "subkeys").glob("sk-*.key")), "init splits subkeys"
    old = passphrase_file(tmp_path, "old.pass", STAFF_PASS)
    new_pass = b"kameel regenjas tulp oktober"
    new = passphrase_file(tmp_path, "new.pass", new_pass)
    result = run_cli(
        ["keys", "passwd", "--passphrase-file", str(old), "--new-passphrase-file", str(new)],
        home=staff,
    )
    assert result.code == 0, result.stderr
    result = run_cli(["keys", "export", "--age", "--passphrase-file", str(new)], home=staff)
    assert result.code == 0, result.stderr
    result = run_cli(["keys", "export", "--age", "--passphrase-file", str(old)], home=staff)
    assert "SX-BAD-PASSPHRASE" in result.stderr
