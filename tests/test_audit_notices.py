"""Termination notices under ``audit verify``: a genuine one passes, a changed one fails."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import TERMINATION_GROUND, CliResult, expect_ok, init_demo_agency, run_cli

NIS = "11002"


def _agency_with_notice(tmp: Path) -> tuple[Path, Path]:
    agency = tmp / "agency"
    init_demo_agency(agency, NIS, "Antwerpen")
    out = tmp / "artifacts"
    expect_ok(run_cli(["agency", "keyring", "publish", "--out", str(out)], home=agency))
    expect_ok(
        run_cli(
            [
                "agency",
                "terminate",
                *TERMINATION_GROUND,
                "--nis",
                NIS,
                "--effective",
                "2027-01-01",
                "--out",
                str(out),
            ],
            home=agency,
        )
    )
    return agency, out


def _verify(agency: Path, out: Path) -> CliResult:
    card = agency / "keys" / "root.card.json"
    return run_cli(["audit", "verify", str(out), "--agency-key", str(card), "--json"])


def test_a_genuine_termination_notice_passes_the_audit(tmp_path: Path) -> None:
    agency, out = _agency_with_notice(tmp_path)
    result = expect_ok(_verify(agency, out))
    report = json.loads(result.stdout)
    assert "notice" in json.dumps(report)


def test_a_termination_notice_with_a_changed_byte_fails_the_audit(tmp_path: Path) -> None:
    agency, out = _agency_with_notice(tmp_path)
    (notice,) = sorted(out.glob("*.sxn"))
    data = bytearray(notice.read_bytes())
    data[len(data) // 3] ^= 0x01
    notice.write_bytes(bytes(data))
    result = _verify(agency, out)
    assert result.code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert errors[0].split(":")[1].strip() in {"SX-MALFORMED", "SX-TAMPERED", "SX-BAD-SIGNATURE"}


def test_audit_verify_names_the_root_key_it_trusts(tmp_path: Path) -> None:
    agency, out = _agency_with_notice(tmp_path)
    shown = json.loads(expect_ok(run_cli(["keys", "show", "--json"], home=agency)).stdout)
    report = expect_ok(_verify(agency, out))
    assert json.loads(report.stdout)["trusted_root"] == shown["fingerprint"]
    assert shown["fingerprint"] in report.stderr


def test_a_notice_lost_between_its_commit_and_its_file_is_written_again_not_signed_anew(
    tmp_path: Path,
) -> None:
    agency, out = _agency_with_notice(tmp_path)
    (written,) = out.glob("*.sxn")
    original = written.read_bytes()
    written.unlink()  # as a kill after the commit, before the file, leaves it
    again = run_cli(
        [
            "agency",
            "terminate",
            *TERMINATION_GROUND,
            "--nis",
            "11002",
            "--effective",
            "2027-01-01",
            "--out",
            str(out),
        ],
        home=agency,
    )
    expect_ok(again)
    assert "written again" in again.stderr
    (rewritten,) = out.glob("*.sxn")
    assert rewritten.name == written.name and rewritten.read_bytes() == original
    log = (agency / "log.jsonl").read_text()
    assert log.count('"terminate"') == 1
    assert _verify(agency, out).code == 0
