"""A staff member who forgot their passphrase re-enrols (docs/guides, "Wachtwoordzin
vergeten"): a new home and identity, the agency's fingerprint check, the old identity
removed from the keyring (a root-signed version bump), and the next package sent to the
new key only. Real homes, real keys, every step through the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli_helpers import CliResult, assert_single_error, run_cli
from flows import write_master
from keys_helpers import EXPORT_PASS, ROOT_PASS, make_agency, register

NIS = "11002"
FAST = {"SECUREXCHANGE_SCRYPT_WORK_FACTOR": "18"}  # the lowest a real home takes


def _secret(directory: Path, name: str, value: bytes) -> Path:
    path = directory / name
    path.write_bytes(value + b"\n")
    os.chmod(path, 0o600)
    return path


def _ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.stderr
    return result


def _init(agency: Path, home: Path, passphrase: Path, agency_fp: str) -> str:
    card = agency / "keys" / "root.card.json"
    result = run_cli(
        [
            *("municipality", "init", "--nis", NIS, "--name", "An Peeters"),
            *("--role", "integratiebeambte", "--agency-key", str(card)),
            *("--agency-fingerprint", agency_fp, "--passphrase-file", str(passphrase)),
        ],
        home=home,
        env=FAST,
    )
    return _ok(result).stdout.strip()


def _export(agency: Path, master: Path, out: Path, passphrase: Path) -> Path:
    out.mkdir()
    _ok(
        run_cli(
            [
                "agency",
                "export",
                str(master),
                "--out",
                str(out),
                "--passphrase-file",
                str(passphrase),
            ],
            home=agency,
        )
    )
    (package,) = sorted(out.glob("*.sxpkg"))
    return package


def _recipients(package: Path) -> list[str]:
    from securexchange.artifacts import zipstrict
    from securexchange.artifacts.manifest import MANIFEST, MEMBER_ORDER

    members = {m.name: m.data for m in zipstrict.read(package.read_bytes(), MEMBER_ORDER)}
    manifest = json.loads(members[MANIFEST])
    return [r["fingerprint"] for r in manifest["body"]["recipients"]]


def test_a_forgotten_passphrase_is_recovered_by_re_enrolment_and_the_next_package_goes_to_the_new_key(  # noqa: E501
    tmp_path: Path,
) -> None:
    agency = tmp_path / "agency"
    make_agency(agency)
    agency_fp = json.loads(_ok(run_cli(["keys", "show", "--json"], home=agency)).stdout)[
        "fingerprint"
    ]
    register(agency, NIS)
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    root_pass = _secret(secrets, "root.pass", ROOT_PASS)
    export_pass = _secret(secrets, "export.pass", EXPORT_PASS)
    old_pass = _secret(secrets, "old.pass", b"tulpen in de regen, dinsdag")
    new_pass = _secret(secrets, "new.pass", b"fietsen langs de schelde bij nacht")
    guess = _secret(secrets, "guess.pass", b"was het niet iets met tulpen")
    master = write_master(tmp_path / "master.xlsx", 8, [NIS])

    old, new = tmp_path / "old-home", tmp_path / "new-home"
    old_fp = _init(agency, old, old_pass, agency_fp)
    add = ["agency", "recipient", "add", "--nis", NIS, "--passphrase-file", str(root_pass)]
    _ok(run_cli([*add, "--fingerprint", old_fp, str(old / "keys/identity.card.json")], home=agency))
    first = _export(agency, master, tmp_path / "out-1", export_pass)
    _ok(
        run_cli(
            ["municipality", "import", str(first), "--passphrase-file", str(old_pass)], home=old
        )
    )

    # The passphrase is forgotten: nothing opens the old home's key any more.
    opened = run_cli(["municipality", "open", "--passphrase-file", str(guess)], home=old)
    assert_single_error(opened, "SX-BAD-PASSPHRASE", 1)

    # Re-enrolment: a new home, a new identity, checked by fingerprint at the agency.
    new_fp = _init(agency, new, new_pass, agency_fp)
    assert new_fp != old_fp
    new_card = str(new / "keys/identity.card.json")
    misheard = run_cli([*add, "--fingerprint", old_fp, new_card], home=agency)
    assert_single_error(misheard, "SX-FINGERPRINT-MISMATCH", 1)
    _ok(run_cli([*add, "--fingerprint", new_fp, new_card], home=agency))
    removed = run_cli(
        [
            "agency",
            "recipient",
            "remove",
            "--nis",
            NIS,
            old_fp,
            "--passphrase-file",
            str(root_pass),
        ],
        home=agency,
    )
    assert "keyring version" in _ok(removed).stderr
    listed = json.loads(_ok(run_cli(["agency", "recipient", "list", "--json"], home=agency)).stdout)
    assert [r["fingerprint"] for r in listed] == [new_fp]

    # The next package goes to the new key only, and the new home reads it.
    second = _export(agency, master, tmp_path / "out-2", export_pass)
    assert _recipients(second) == [new_fp]
    imported = run_cli(
        ["municipality", "import", str(second), "--passphrase-file", str(new_pass)], home=new
    )
    _ok(imported)
    status = json.loads(_ok(run_cli(["municipality", "status", "--json"], home=new)).stdout)
    assert sum(p["records"] for p in status["packages"]) > 0
    # The old home cannot take it: it is not encrypted to the old key.
    refused = run_cli(
        ["municipality", "import", str(second), "--passphrase-file", str(old_pass)], home=old
    )
    assert refused.code == 1, refused.stderr
    # The old home still shreds on schedule without its passphrase.
    _ok(run_cli(["municipality", "shred"], home=old))
