"""The whole story through the CLI in demo homes (agency, three municipalities), then
the audit: every action is logged, no log holds personal data, every log verifies,
and ``audit verify`` passes everything that travelled."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli_helpers import CliResult, expect_ok, run_cli
from securexchange.intake.master import read_master

NIS_CODES = ("11002", "44021", "71016")
FAR_FUTURE = "2031-06-01"


@dataclass
class Story:
    agency: Path
    staff: dict[str, Path]
    exports: Path
    returns: Path
    published: Path
    master: Path
    refusal: CliResult


def _fingerprint(home: Path) -> str:
    shown = expect_ok(run_cli(["keys", "show", "--json"], home=home))
    return str(json.loads(shown.stdout)["fingerprint"])


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    tmp = tmp_path_factory.mktemp("story")
    agency = tmp / "agency"
    expect_ok(run_cli(["agency", "init", "--name", "Agentschap", "--demo"], home=agency))
    card = agency / "keys" / "root.card.json"
    staff: dict[str, Path] = {}
    for nis in NIS_CODES:
        expect_ok(
            run_cli(
                [
                    "agency",
                    "municipality",
                    "add",
                    "--nis",
                    nis,
                    "--name",
                    f"Gemeente {nis}",
                    "--protocol-until",
                    "2030-12-31",
                ],
                home=agency,
            )
        )
        home = tmp / f"staff-{nis}"
        expect_ok(
            run_cli(
                [
                    "municipality",
                    "init",
                    "--demo",
                    "--nis",
                    nis,
                    "--name",
                    "Medewerker",
                    "--role",
                    "integratiebeambte",
                    "--agency-key",
                    str(card),
                ],
                home=home,
            )
        )
        expect_ok(
            run_cli(
                [
                    "agency",
                    "recipient",
                    "add",
                    "--nis",
                    nis,
                    "--fingerprint",
                    _fingerprint(home),
                    str(home / "keys" / "identity.card.json"),
                ],
                home=agency,
            )
        )
        staff[nis] = home
    master = tmp / "master.xlsx"
    expect_ok(
        run_cli(["sample", "--records", "30", "--nis", ",".join(NIS_CODES), "--out", str(master)])
    )
    exports = tmp / "exports"
    expect_ok(run_cli(["agency", "export", str(master), "--out", str(exports)], home=agency))
    published = tmp / "published"
    expect_ok(run_cli(["agency", "keyring", "publish", "--out", str(published)], home=agency))
    returns = tmp / "returns"
    returns.mkdir()
    for nis, home in staff.items():
        (package,) = sorted(exports.glob(f"{nis}-*.sxpkg"))
        expect_ok(run_cli(["municipality", "import", str(package)], home=home))
        (tmp / f"open-{nis}").mkdir()
        expect_ok(run_cli(["municipality", "open", "--out", str(tmp / f"open-{nis}")], home=home))
        status = json.loads(
            expect_ok(run_cli(["municipality", "status", "--json"], home=home)).stdout
        )
        record = _first_record(status, tmp / f"open-{nis}")
        expect_ok(run_cli(["municipality", "set-status", record, "gecontacteerd"], home=home))
        expect_ok(run_cli(["municipality", "return", "--out", str(returns)], home=home))
    expect_ok(
        run_cli(["agency", "import-return", *map(str, sorted(returns.glob("*")))], home=agency)
    )
    # A tampered package is refused (and logged); then time passes and data is shredded.
    (package,) = sorted(exports.glob(f"{NIS_CODES[0]}-*.sxpkg"))
    data = bytearray(package.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp / "tampered.sxpkg"
    tampered.write_bytes(bytes(data))
    refusal = run_cli(["municipality", "import", str(tampered)], home=staff[NIS_CODES[0]])
    for home in staff.values():
        expect_ok(
            run_cli(["municipality", "shred"], home=home, env={"SECUREXCHANGE_NOW": FAR_FUTURE})
        )
    return Story(agency, staff, exports, returns, published, master, refusal)


def _first_record(status: object, opened: Path) -> str:
    """A record id from the workbook `open` wrote (record ids are in its first column)."""
    from openpyxl import load_workbook

    (path,) = sorted(opened.glob("*.xlsx"))
    sheet = load_workbook(path, read_only=True).worksheets[0]
    for row in sheet.iter_rows(values_only=True):
        for value in row:
            if isinstance(value, str) and re.fullmatch(r"R-[A-Z2-7]{20}", value):
                return value
    raise AssertionError("no record id in the opened workbook")


def _actions(home: Path) -> set[str]:
    return {json.loads(line)["action"] for line in (home / "log.jsonl").read_text().splitlines()}


def test_the_agency_log_holds_exports_keyring_changes_and_imported_returns(story: Story) -> None:
    assert {"init", "keyring-change", "keyring-publish", "export", "import-return"} <= _actions(
        story.agency
    )
    assert "checkpoint" in _actions(story.agency)


def test_municipal_logs_hold_imports_opens_returns_shreddings_subkeys_and_refusals(
    story: Story,
) -> None:
    for home in story.staff.values():
        assert {"init", "import", "open", "set-status", "return", "shred"} <= _actions(home)
    first = story.staff[NIS_CODES[0]]
    assert "refusal" in _actions(first)
    shreds = [
        json.loads(line)
        for line in (first / "log.jsonl").read_text().splitlines()
        if json.loads(line)["action"] == "shred"
    ]
    assert any(entry["counts"] for entry in shreds)  # shreddings carry counts


def test_subkey_destructions_are_logged_once_their_quarter_is_over(story: Story) -> None:
    assert any("subkey-destroy" in _actions(home) for home in story.staff.values())


def test_a_tampered_file_is_refused_with_a_hint_naming_the_48_hour_duty(story: Story) -> None:
    assert story.refusal.code == 1
    hints = [line for line in story.refusal.stderr.splitlines() if line.startswith("hint:")]
    assert len(hints) == 1 and "48 hours" in hints[0], story.refusal.stderr
    last = (story.staff[NIS_CODES[0]] / "log.jsonl").read_text().splitlines()
    refusals = [json.loads(x) for x in last if json.loads(x)["action"] == "refusal"]
    assert refusals and refusals[0]["outcome"] == "refused" and refusals[0]["error"]


def test_every_log_verifies(story: Story) -> None:
    for home in [story.agency, *story.staff.values()]:
        result = run_cli(["audit", "log", "--verify"], home=home)
        assert result.code == 0, result.stderr


def test_no_log_contains_a_name_contact_data_or_record_id(story: Story) -> None:
    master = read_master(story.master)
    values: set[str] = set()
    for row in master.rows:
        values.add(row.client_id)
        for name in ("naam", "voornaam", "email", "telefoon", "adres"):
            value = getattr(row.record, name)
            if isinstance(value, str) and len(value) >= 4:
                values.add(value)
    assert len(values) > 30
    for home in [story.agency, *story.staff.values()]:
        for log in home.rglob("log.jsonl"):
            text = log.read_text(encoding="utf-8")
            assert re.search(r"R-[A-Z2-7]{20}", text) is None
            leaked = [v for v in values if v in text]
            assert leaked == [], log


def test_audit_verify_passes_everything_that_travelled(story: Story) -> None:
    result = run_cli(
        [
            "audit",
            "verify",
            str(story.exports),
            str(story.returns),
            str(story.published),
            "--agency-key",
            str(story.published / "root.card.json"),
        ]
    )
    assert result.code == 0, result.stdout + result.stderr
    assert result.stdout.count(" ok") >= 3 + 3 + 4
