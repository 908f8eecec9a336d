"""The key commands end to end: `agency init/municipality/recipient/keyring`,
`municipality init`, `keys ...`; each refusal is one `error:` line with its exit code."""

from __future__ import annotations

import base64
import itertools
import json
import sqlite3
from pathlib import Path

import pytest

from cli_helpers import CliResult, assert_single_error, expect_ok, run_cli
from keys_helpers import (
    EXPORT_PASS,
    ROOT_PASS,
    STAFF_PASS,
    age_decrypt_with_passphrase,
    make_agency,
    make_staff,
    passphrase_file,
    register,
)
from securexchange import sshsig, strictjson
from securexchange.artifacts.keyring import open_keyring
from securexchange.home.home import HomeKind, open_home
from securexchange.keys.card import make_card, read_card
from securexchange.keys.keyfile import read_key_file
from securexchange.municipality import subkeys


@pytest.fixture
def agency(tmp_path: Path) -> Path:
    make_agency(tmp_path / "agency")
    return tmp_path / "agency"


@pytest.fixture
def root_pass(tmp_path: Path) -> Path:
    return passphrase_file(tmp_path, "root.pass", ROOT_PASS)


def _keyring_version(agency: Path) -> int:
    conn = sqlite3.connect(agency / "state.sqlite3")
    try:
        (version,) = conn.execute("SELECT MAX(version) FROM agency_keyrings").fetchone()
    finally:
        conn.close()
    return int(version)


def _log_lines(home: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (home / "log.jsonl").read_text().splitlines()]


def _recipient_add(agency: Path, card: Path, fingerprint: str, root_pass: Path) -> CliResult:
    return run_cli(
        [
            "agency",
            "recipient",
            "add",
            "--nis",
            "11002",
            "--fingerprint",
            fingerprint,
            str(card),
            "--passphrase-file",
            str(root_pass),
        ],
        home=agency,
    )


def _staff_card(staff: Path) -> Path:
    return staff / "keys" / "identity.card.json"


# --- init, show, export ---------------------------------------------------------------


def test_agency_init_in_a_real_home_makes_private_keys_that_age_opens(
    tmp_path: Path, age_bin: str
) -> None:
    home = tmp_path / "agency"
    root_pass = passphrase_file(tmp_path, "root.pass", ROOT_PASS)
    export_pass = passphrase_file(tmp_path, "export.pass", EXPORT_PASS)
    result = run_cli(
        [
            "agency",
            "init",
            "--name",
            "AgII",
            "--root-passphrase-file",
            str(root_pass),
            "--passphrase-file",
            str(export_pass),
        ],
        home=home,
    )
    assert result.code == 0, result.stderr
    fingerprint = result.stdout.strip()
    assert fingerprint in result.stderr  # also shown to people
    for name in ("root.key", "export.key"):
        assert ((home / "keys" / name).stat().st_mode & 0o777) == 0o600
    root = read_key_file(home / "keys" / "root.key", ROOT_PASS)
    assert root.fingerprint.display == fingerprint
    code, output = age_decrypt_with_passphrase(age_bin, home / "keys" / "root.key", ROOT_PASS)
    assert code == 0
    assert base64.b64encode(root.seed) in output
    shown = run_cli(["keys", "show", "--json"], home=home)
    assert json.loads(shown.stdout)["fingerprint"] == fingerprint
    assert [k["use"] for k in json.loads(shown.stdout)["keys"]] == ["root", "export"]


def test_a_second_init_is_refused(agency: Path, root_pass: Path) -> None:
    result = run_cli(
        ["agency", "init", "--name", "AgII", "--passphrase-file", str(root_pass)], home=agency
    )
    assert_single_error(result, "SX-EXISTS", 2)


def test_without_a_terminal_or_passphrase_file_the_command_says_how(
    agency: Path, tmp_path: Path
) -> None:
    result = run_cli(
        [
            "agency",
            "municipality",
            "add",
            "--nis",
            "11002",
            "--name",
            "Antwerpen",
            "--protocol-until",
            "2099-12-31",
        ],
        home=agency,
    )
    assert_single_error(result, "SX-USAGE", 2)
    assert "--passphrase-file" in result.stderr


def test_municipality_init_pins_the_agency_key_and_prints_the_fingerprint(
    tmp_path: Path,
) -> None:
    agency = tmp_path / "agency"
    make_agency(agency, demo=True)
    exported = tmp_path / "agency-root.card.json"
    assert run_cli(["keys", "export", "--card", "--out", str(exported)], home=agency).code == 0
    agency_fp = read_card(exported.read_bytes()).fingerprint.display
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
            str(exported),
            "--demo",
        ],
        home=staff,
    )
    assert result.code == 0, result.stderr
    assert agency_fp in result.stderr and agency_fp not in result.stdout
    card = read_card(_staff_card(staff).read_bytes())
    assert result.stdout.strip() == card.fingerprint.display
    assert str(_staff_card(staff)) in result.stderr
    assert "DEMO" in result.stderr
    shown = json.loads(run_cli(["keys", "show", "--json"], home=staff).stdout)
    assert shown["fingerprint"] == card.fingerprint.display
    assert shown["agency_root_fingerprint"] == agency_fp


def test_a_real_municipality_refuses_a_wrong_agency_fingerprint(
    agency: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-agency"
    make_agency(other)
    wrong = read_card((other / "keys" / "root.card.json").read_bytes()).fingerprint.display
    result = run_cli(
        [
            "municipality",
            "init",
            "--nis",
            "11002",
            "--name",
            "An",
            "--role",
            "x",
            "--agency-key",
            str(agency / "keys" / "root.card.json"),
            "--agency-fingerprint",
            wrong,
            "--passphrase-file",
            str(tmp_path / "none"),
        ],
        home=tmp_path / "staff",
    )
    assert_single_error(result, "SX-FINGERPRINT-MISMATCH", 1)
    assert not (tmp_path / "staff").exists()


def test_keys_export_card_in_an_agency_home_is_the_root_card(agency: Path, tmp_path: Path) -> None:
    out = tmp_path / "card.json"
    assert run_cli(["keys", "export", "--card", "--out", str(out)], home=agency).code == 0
    assert out.read_bytes() == (agency / "keys" / "root.card.json").read_bytes()
    assert read_card(out.read_bytes()).owner.role == "agency-root"


def test_keys_export_public_ssh_prints_the_signing_key_line(agency: Path) -> None:
    result = run_cli(["keys", "export", "--public", "--ssh"], home=agency)
    assert result.code == 0
    (line,) = result.stdout.splitlines()
    card = read_card((agency / "keys" / "root.card.json").read_bytes())
    assert sshsig.parse_ssh_public_key_line(line) == card.identity.signing_key


def test_keys_export_age_prints_the_current_subkey_and_warns(agency: Path, tmp_path: Path) -> None:
    make_staff(tmp_path / "staff", agency)
    staff_pass = passphrase_file(tmp_path, "staff.pass", STAFF_PASS)
    result = run_cli(
        ["keys", "export", "--age", "--passphrase-file", str(staff_pass)], home=tmp_path / "staff"
    )
    assert result.code == 0, result.stderr
    # Split out of identity.key at init: each subkey lives in its own file. Each of the
    # three periods (the current one and two pre-issued) has a hybrid post-quantum subkey
    # and its classic companion: the current hybrid one is exported (other age
    # implementations read hybrid packages with it).
    with open_home(tmp_path / "staff", env={}, expect=HomeKind.MUNICIPALITY) as home:
        held = subkeys.unlock(home, lambda: STAFF_PASS)
        current_recipient = subkeys.current_recipient(home)
    assert len(held) == 6
    current = held[str(current_recipient)]
    assert current.to_string().startswith("AGE-SECRET-KEY-PQ-1")
    assert result.stdout.strip() == current.to_string()
    assert "escapes shredding" in result.stderr
    for key in held.values():
        assert key.to_string() not in result.stderr


def test_keys_export_age_never_writes_over_a_file_a_link_or_a_device(
    agency: Path, tmp_path: Path
) -> None:
    """Found by the adversarial review: --out replaced a link, a pipe or an existing
    file with the secret (and, run as root, /dev/stdout itself)."""
    import os

    make_staff(tmp_path / "staff", agency)
    staff_pass = passphrase_file(tmp_path, "staff.pass", STAFF_PASS)
    export = ["keys", "export", "--age", "--passphrase-file", str(staff_pass), "--out"]
    target = tmp_path / "vault-volume" / "key.txt"
    link = tmp_path / "key-link"
    link.symlink_to(target)
    existing = tmp_path / "existing.txt"
    existing.write_bytes(b"keep me")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    for out in (link, existing, fifo, dangling):
        result = run_cli([*export, str(out)], home=tmp_path / "staff")
        assert_single_error(result, "SX-EXISTS", 2)
    assert link.is_symlink() and not target.exists() and dangling.is_symlink()
    assert existing.read_bytes() == b"keep me" and fifo.is_fifo()

    fresh = tmp_path / "fresh.key"
    expect_ok(run_cli([*export, str(fresh)], home=tmp_path / "staff"))
    assert (
        fresh.read_text().startswith("AGE-SECRET-KEY-PQ-1")
        and fresh.stat().st_mode & 0o777 == 0o600
    )
    # Public material may replace a regular file, never a link.
    card = ["keys", "export", "--card", "--out"]
    expect_ok(run_cli([*card, str(existing)], home=tmp_path / "staff"))
    assert read_card(existing.read_bytes())
    assert_single_error(run_cli([*card, str(link)], home=tmp_path / "staff"), "SX-USAGE", 2)
    assert link.is_symlink() and not target.exists()


def test_keys_show_lists_both_subkeys_of_a_period(agency: Path, tmp_path: Path) -> None:
    make_staff(tmp_path / "staff", agency)
    result = run_cli(["keys", "show", "--json"], home=tmp_path / "staff")
    assert result.code == 0, result.stderr
    (key,) = json.loads(result.stdout)["keys"]
    shown = [(s["status"], s["post_quantum"]) for s in key["subkeys"]]
    # The current period and two pre-issued ones, each a hybrid subkey and its companion.
    assert sorted(shown) == sorted(
        [("current", False), ("current", True), *[("next", False), ("next", True)] * 2]
    )
    text = run_cli(["keys", "show"], home=tmp_path / "staff")
    lines = [line for line in text.stdout.splitlines() if "subkey" in line]
    assert len(lines) == 6
    assert lines[0].endswith("post-quantum") and lines[1].endswith("classic")


# --- refusals, one per error ----------------------------------------------------------


def test_wrong_passphrase_is_one_error_line_and_changes_nothing(
    agency: Path, tmp_path: Path
) -> None:
    wrong = passphrase_file(tmp_path, "wrong.pass", b"not the root passphrase")
    before = _keyring_version(agency)
    result = run_cli(
        [
            "agency",
            "municipality",
            "add",
            "--nis",
            "11002",
            "--name",
            "Antwerpen",
            "--protocol-until",
            "2099-12-31",
            "--passphrase-file",
            str(wrong),
        ],
        home=agency,
    )
    assert_single_error(result, "SX-BAD-PASSPHRASE", 1)
    assert "not the root passphrase" not in result.stderr
    assert _keyring_version(agency) == before
    last = _log_lines(agency)[-1]
    assert (last["action"], last["error"]) == ("refusal", "SX-BAD-PASSPHRASE")


def test_key_file_readable_by_others_is_refused(agency: Path, root_pass: Path) -> None:
    (agency / "keys" / "root.key").chmod(0o644)
    result = run_cli(
        [
            "agency",
            "municipality",
            "add",
            "--nis",
            "11002",
            "--name",
            "Antwerpen",
            "--protocol-until",
            "2099-12-31",
            "--passphrase-file",
            str(root_pass),
        ],
        home=agency,
    )
    assert_single_error(result, "SX-KEY-PERMISSIONS", 1)
    assert "chmod 600" in result.stderr


def test_card_with_a_bad_self_signature_is_refused(
    agency: Path, tmp_path: Path, root_pass: Path
) -> None:
    register(agency)
    staff = make_staff(tmp_path / "staff", agency)
    envelope = json.loads(_staff_card(tmp_path / "staff").read_bytes())
    body = json.loads(envelope["card"])
    body["role"] = "burgemeester"
    envelope["card"] = strictjson.dumps(body).decode()
    forged = tmp_path / "forged.card.json"
    forged.write_bytes(strictjson.dumps(envelope))
    result = _recipient_add(agency, forged, staff.fingerprint.display, root_pass)
    assert_single_error(result, "SX-BAD-SIGNATURE", 1)


def test_card_with_a_fingerprint_other_than_the_one_read_out_is_refused(
    agency: Path, tmp_path: Path, root_pass: Path
) -> None:
    register(agency)
    make_staff(tmp_path / "staff", agency)
    impostor = make_staff(tmp_path / "impostor", agency, name="Mallory")
    result = _recipient_add(
        agency, _staff_card(tmp_path / "staff"), impostor.fingerprint.display, root_pass
    )
    assert_single_error(result, "SX-FINGERPRINT-MISMATCH", 1)


def test_role_outside_the_municipalitys_profiles_is_refused(
    agency: Path, tmp_path: Path, root_pass: Path
) -> None:
    register(agency, profiles=["integratiebeambte"])
    staff = make_staff(tmp_path / "staff", agency, role="schepen")
    result = _recipient_add(
        agency, _staff_card(tmp_path / "staff"), staff.fingerprint.display, root_pass
    )
    assert_single_error(result, "SX-NOT-AUTHORISED", 1)


def test_recipient_for_a_municipality_without_an_active_protocol_is_refused(
    agency: Path, tmp_path: Path, root_pass: Path
) -> None:
    from datetime import date

    register(agency, protocol_from=date(2099, 1, 1), protocol_until=date(2099, 12, 31))
    staff = make_staff(tmp_path / "staff", agency)
    result = _recipient_add(
        agency, _staff_card(tmp_path / "staff"), staff.fingerprint.display, root_pass
    )
    assert_single_error(result, "SX-PROTOCOL-INACTIVE", 1)


def test_recipient_of_another_municipality_is_refused(
    agency: Path, tmp_path: Path, root_pass: Path
) -> None:
    register(agency)
    staff = make_staff(tmp_path / "staff", agency, nis="44021")
    result = _recipient_add(
        agency, _staff_card(tmp_path / "staff"), staff.fingerprint.display, root_pass
    )
    assert_single_error(result, "SX-WRONG-MUNICIPALITY", 1)


def test_an_older_card_of_a_known_person_is_refused_as_rollback(tmp_path: Path) -> None:
    agency = tmp_path / "agency"
    make_agency(agency, demo=True)
    run_cli(
        [
            "agency",
            "municipality",
            "add",
            "--nis",
            "11002",
            "--name",
            "Antwerpen",
            "--protocol-until",
            "2099-12-31",
        ],
        home=agency,
    )
    staff = make_staff(tmp_path / "staff", agency, demo=True)
    old = tmp_path / "old.card.json"
    old.write_bytes(_staff_card(tmp_path / "staff").read_bytes())
    later = {"SECUREXCHANGE_NOW": "2098-01-15"}
    assert run_cli(["keys", "rotate"], home=tmp_path / "staff", env=later).code == 0
    fp = staff.fingerprint.display
    args = ["agency", "recipient", "add", "--nis", "11002", "--fingerprint", fp]
    assert run_cli([*args, str(_staff_card(tmp_path / "staff"))], home=agency, env=later).code == 0
    assert_single_error(run_cli([*args, str(old)], home=agency, env=later), "SX-ROLLBACK", 1)


def test_init_over_an_existing_home_is_refused(agency: Path) -> None:
    result = run_cli(
        [
            "municipality",
            "init",
            "--nis",
            "11002",
            "--name",
            "An",
            "--role",
            "x",
            "--agency-key",
            str(agency / "keys" / "root.card.json"),
            "--demo",
        ],
        home=agency,
    )
    assert_single_error(result, "SX-EXISTS", 2)


def test_an_agency_command_in_a_municipal_home_is_refused(agency: Path, tmp_path: Path) -> None:
    make_staff(tmp_path / "staff", agency)
    result = run_cli(["agency", "municipality", "list"], home=tmp_path / "staff")
    assert_single_error(result, "SX-WRONG-HOME", 2)


# --- rotation and the keyring ---------------------------------------------------------


def test_the_enrolment_card_carries_pre_issued_periods_and_a_bad_subkey_is_refused(
    agency: Path, tmp_path: Path, root_pass: Path
) -> None:
    register(agency)
    staff_home = tmp_path / "staff"
    staff = make_staff(staff_home, agency)
    fp = staff.fingerprint.display
    assert _recipient_add(agency, _staff_card(staff_home), fp, root_pass).code == 0
    staff_pass = passphrase_file(tmp_path, "staff.pass", STAFF_PASS)
    # Enrolled with the default horizon: nothing left to rotate.
    rotated = run_cli(["keys", "rotate", "--passphrase-file", str(staff_pass)], home=staff_home)
    assert rotated.code == 0 and "nothing to rotate" in rotated.stderr
    exported = tmp_path / "new.card.json"
    assert run_cli(["keys", "export", "--card", "--out", str(exported)], home=staff_home).code == 0
    card = read_card(exported.read_bytes())
    # Three consecutive periods, each a hybrid post-quantum subkey and its classic
    # companion, all certified by the one signing key.
    pairs = [card.identity.subkeys[i : i + 2] for i in range(0, 6, 2)]
    assert len(card.identity.subkeys) == 6
    for earlier, later in itertools.pairwise(pairs):
        for a, b in zip(earlier, later, strict=True):
            assert b.valid_from == a.valid_until
            b.verify(card.identity.signing_key)
    assert card.fingerprint == staff.fingerprint  # the same signing key

    same = _recipient_add(agency, exported, fp, root_pass)
    assert same.code == 0 and "updated" not in same.stderr
    listed = json.loads(run_cli(["agency", "recipient", "list", "--json"], home=agency).stdout)
    assert [len(r["subkeys"]) for r in listed] == [6]

    # A card whose subkey certification does not verify (self-signature fine) is refused.
    # (The key file holds the subkeys' public records only: init split them out.)
    identity = read_key_file(staff_home / "keys" / "identity.key", STAFF_PASS)
    assert identity.subkeys == () and len(identity.split_subkeys) == 6
    from dataclasses import replace

    from securexchange.keys.identity import generate_identity

    stranger = generate_identity(identity.owner, now=identity.created_at)
    bad = replace(identity.split_subkeys[1], certification=stranger.subkeys[0].public.certification)
    forged = tmp_path / "forged.card.json"
    forged.write_bytes(
        make_card(
            replace(identity, split_subkeys=(identity.split_subkeys[0], bad)),
            now=card.created_at,
        )
    )
    assert_single_error(_recipient_add(agency, forged, fp, root_pass), "SX-BAD-SIGNATURE", 1)


def test_keyring_publish_writes_signed_views_and_allowed_signers(
    agency: Path, tmp_path: Path, root_pass: Path
) -> None:
    register(agency)
    staff = make_staff(tmp_path / "staff", agency)
    assert (
        _recipient_add(
            agency, _staff_card(tmp_path / "staff"), staff.fingerprint.display, root_pass
        ).code
        == 0
    )
    out = tmp_path / "published"
    result = run_cli(["agency", "keyring", "publish", "--out", str(out)], home=agency)
    assert result.code == 0, result.stderr
    root_key = read_card((out / "root.card.json").read_bytes()).identity.signing_key
    view = open_keyring(
        (out / "keyring-11002.json").read_bytes(),
        (out / "keyring-11002.sig").read_text(),
        root_key,
        min_version=3,
    )
    assert [r.fingerprint for r in view.municipalities[0].recipients] == [staff.fingerprint]
    signers = (out / "allowed_signers").read_text()
    assert staff.fingerprint.display in signers and "An Peeters" not in signers
    listed = json.loads(run_cli(["agency", "municipality", "list", "--json"], home=agency).stdout)
    assert [(m["nis"], m["recipients"], m["active"]) for m in listed] == [("11002", 1, True)]


def test_keys_passwd_changes_the_passphrase_and_keeps_the_keys(
    agency: Path, tmp_path: Path
) -> None:
    staff_home = tmp_path / "staff"
    make_staff(staff_home, agency)
    old = passphrase_file(tmp_path, "old.pass", STAFF_PASS)
    new = passphrase_file(tmp_path, "new.pass", b"a brand new passphrase")
    before = read_key_file(staff_home / "keys" / "identity.key", STAFF_PASS)
    result = run_cli(
        ["keys", "passwd", "--passphrase-file", str(old), "--new-passphrase-file", str(new)],
        home=staff_home,
    )
    assert result.code == 0, result.stderr
    assert read_key_file(staff_home / "keys" / "identity.key", b"a brand new passphrase") == before
    again = run_cli(["keys", "export", "--age", "--passphrase-file", str(old)], home=staff_home)
    assert_single_error(again, "SX-BAD-PASSPHRASE", 1)


# --- secrets stay secret --------------------------------------------------------------


def test_no_private_key_material_reaches_logs_outputs_or_argv(
    agency: Path, tmp_path: Path, root_pass: Path
) -> None:
    register(agency)
    staff_home = tmp_path / "staff"
    staff = make_staff(staff_home, agency)
    staff_pass = passphrase_file(tmp_path, "staff.pass", STAFF_PASS)
    wrong = passphrase_file(tmp_path, "wrong.pass", b"guess-the-passphrase")
    export_pass = passphrase_file(tmp_path, "export.pass", EXPORT_PASS)
    fp = staff.fingerprint.display
    runs: list[tuple[list[str], Path]] = [
        (
            [
                "agency",
                "recipient",
                "add",
                "--nis",
                "11002",
                "--fingerprint",
                fp,
                str(_staff_card(staff_home)),
                "--passphrase-file",
                str(root_pass),
            ],
            agency,
        ),
        (["keys", "rotate", "--passphrase-file", str(staff_pass)], staff_home),
        (["keys", "rotate", "--passphrase-file", str(wrong)], staff_home),
        (
            # A root-key command that gets as far as the passphrase (the same card
            # again would change nothing and ask for none).
            [
                "agency",
                "recipient",
                "remove",
                "--nis",
                "11002",
                fp,
                "--passphrase-file",
                str(wrong),
            ],
            agency,
        ),
        (["keys", "show"], staff_home),
        (["keys", "show", "--json"], agency),
        (["keys", "export", "--card"], staff_home),
        (["agency", "recipient", "list", "--json"], agency),
        (["agency", "keyring", "publish", "--out", str(tmp_path / "pub")], agency),
        (
            [
                "keys",
                "rotate",
                "--passphrase-file",
                str(export_pass),
                "--root-passphrase-file",
                str(root_pass),
            ],
            agency,
        ),
    ]
    outputs = []
    for args, home in runs:
        result = run_cli(args, home=home)
        assert result.code in (0, 1), result.stderr
        outputs += [result.stdout, result.stderr]
    age_export = run_cli(
        ["keys", "export", "--age", "--passphrase-file", str(staff_pass)], home=staff_home
    )
    outputs.append(age_export.stderr)  # its stdout is the one deliberate export

    identities = [
        read_key_file(staff_home / "keys" / "identity.key", STAFF_PASS),
        read_key_file(agency / "keys" / "root.key", ROOT_PASS),
        read_key_file(agency / "keys" / "export.key", EXPORT_PASS),
    ]
    secrets = [STAFF_PASS, ROOT_PASS, EXPORT_PASS, b"guess-the-passphrase", b"AGE-SECRET-KEY"]
    for identity in identities:
        secrets += [identity.seed.hex().encode(), base64.b64encode(identity.seed)]
        secrets += [s.identity.encode() for s in identity.subkeys]
    # The staff member's subkeys live in their own files: rotation split them out.
    with open_home(staff_home, env={}, expect=HomeKind.MUNICIPALITY) as home:
        staff_subkeys = subkeys.unlock(home, lambda: STAFF_PASS)
    assert len(staff_subkeys) == 6  # three periods, hybrid and classic
    secrets += [key.to_string().encode() for key in staff_subkeys.values()]

    haystacks = [out.encode() for out in outputs]
    for home in (agency, staff_home):
        haystacks.append((home / "log.jsonl").read_bytes())
        haystacks.append((home / "state.sqlite3").read_bytes())
    haystacks += [p.read_bytes() for p in (tmp_path / "pub").iterdir()]
    haystacks += [" ".join(args).encode() for args, _ in runs]
    for secret in secrets:
        for haystack in haystacks:
            assert secret not in haystack
    errors = [line for out in outputs for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and all("SX-BAD-PASSPHRASE" in e for e in errors)
