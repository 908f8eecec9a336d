"""``securexchange demo``: the whole story runs, says what it did, and leaks nothing."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from cli_helpers import CliResult, assert_single_error, run_cli
from securexchange.demo.cast import STEP_NAMES, TOTAL_STEPS
from securexchange.intake.master import read_master


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CliResult]:
    directory = tmp_path_factory.mktemp("demo") / "run"
    return directory, run_cli(["demo", "--dir", str(directory)], timeout=300)


def test_the_demo_exits_0_with_one_line_per_step_and_a_summary(
    demo: tuple[Path, CliResult],
) -> None:
    _directory, result = demo
    assert result.code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    steps = [line for line in lines if re.match(r"\[\s*\d+/\d+\] ", line)]
    assert len(steps) == TOTAL_STEPS
    for number, (line, name) in enumerate(zip(steps, STEP_NAMES, strict=True), 1):
        assert line.startswith(f"[{number:>2}/{TOTAL_STEPS}] {name}: "), line
    table = lines.index(next(line for line in lines if line.startswith("STEP")))
    rows = [line.split() for line in lines[table + 1 : table + 1 + TOTAL_STEPS]]
    assert [row[0] for row in rows] == [str(n) for n in range(1, TOTAL_STEPS + 1)]
    assert all("ok" in row for row in rows)
    assert lines[-1].startswith(f"all {TOTAL_STEPS} steps ok")


def test_the_demo_creates_homes_packages_returns_report_notice_and_tampered_copy(
    demo: tuple[Path, CliResult],
) -> None:
    directory, _result = demo
    for home in ["agency", *[p.name for p in directory.glob("staff-*")]]:
        info = json.loads((directory / home / "home.json").read_text())
        assert info["demo"] is True, home
    assert len(list(directory.glob("staff-*"))) == 4
    assert len(list(directory.glob("staff-11002-*"))) == 2  # two staff in one municipality
    assert len(list((directory / "exports").glob("*.sxpkg"))) == 3
    assert len(list((directory / "exports-2").glob("*.sxpkg"))) == 3
    assert len(list((directory / "returns").iterdir())) == 4
    assert len(list((directory / "notices").iterdir())) == 1
    assert (directory / "keyring" / "allowed_signers").is_file()
    assert (directory / "agency-report.xlsx").is_file()
    assert (directory / "demo-master.xlsx").is_file()


def test_no_workbook_with_personal_data_is_left_after_time_passes(
    demo: tuple[Path, CliResult],
) -> None:
    directory, _result = demo
    assert list(directory.glob("staff-*/workbooks/*.xlsx")) == []


def test_no_log_under_the_demo_directory_holds_personal_data(
    demo: tuple[Path, CliResult],
) -> None:
    directory, _result = demo
    master = read_master(directory / "demo-master.xlsx")
    values = {row.client_id for row in master.rows}
    for row in master.rows:
        for name in ("naam", "voornaam", "email", "telefoon", "adres"):
            value = getattr(row.record, name)
            if isinstance(value, str) and len(value) >= 4:
                values.add(value)
    logs = list(directory.rglob("log.jsonl"))
    assert len(logs) == 6  # the agency, four staff homes and the DPO of Antwerpen
    for log in logs:
        text = log.read_text(encoding="utf-8")
        assert re.search(r"R-[A-Z2-7]{20}", text) is None, log
        assert [v for v in values if v in text] == [], log


def test_every_demo_log_verifies_and_records_the_story(demo: tuple[Path, CliResult]) -> None:
    directory, _result = demo
    for home in [directory / "agency", *directory.glob("staff-*")]:
        assert run_cli(["audit", "log", "--verify"], home=home).code == 0, home
    actions = {
        json.loads(line)["action"]
        for home in directory.glob("staff-*")
        for line in (home / "log.jsonl").read_text().splitlines()
    }
    assert {"import", "open", "return", "shred", "subkey-destroy", "terminate"} <= actions


def test_the_tampered_copy_in_the_demo_directory_is_refused_by_audit_verify(
    demo: tuple[Path, CliResult],
) -> None:
    directory, _result = demo
    card = directory / "keyring" / "root.card.json"
    clean = run_cli(["audit", "verify", str(directory / "exports"), "--agency-key", str(card)])
    assert clean.code == 0, clean.stdout + clean.stderr
    tampered = run_cli(
        ["audit", "verify", str(directory / "audit-tampered"), "--agency-key", str(card)]
    )
    assert tampered.code == 1
    assert "FAILED" in tampered.stdout


def test_the_demo_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    assert_single_error(run_cli(["demo", "--dir", str(tmp_path)]), "SX-USAGE", 2)


def test_the_demo_travels_in_time_without_touching_the_callers_environment(
    tmp_path: Path,
) -> None:
    from securexchange.demo.run import run_demo

    before = dict(os.environ)
    done = [step.name for step in run_demo(tmp_path / "in-process")]
    assert done == list(STEP_NAMES)
    assert dict(os.environ) == before
    assert "SECUREXCHANGE_NOW" not in os.environ
