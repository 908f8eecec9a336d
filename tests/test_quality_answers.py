"""Quality answers within two weeks (protocol art. 7), end to end through the CLI.

A municipality reports a data-quality problem and returns it; the agency imports the
return, resolves the report and sends the answer out of cycle with ``agency quality
answer``: a normal package for that one municipality (the other gets none), counted as
the answer only once published. The municipality imports it and its status shows the
report answered by that package; both sides flag a report overdue once two weeks have
passed without an answer sent, a resolved but unsent one included. Demo homes, so
``SECUREXCHANGE_NOW`` moves the clock.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from cli_helpers import (
    assert_single_error,
    enrol_demo_staff,
    expect_ok,
    init_demo_agency,
    run_cli,
)
from securexchange.schema import HEADER_OUTCOME, HEADER_RECORD_ID
from securexchange.sheets.layout import DATA_SHEET, FIRST_DATA_ROW, HEADERS

NIS = "11002"  # Antwerpen: reports
OTHER_NIS = "44021"  # Gent: must get no out-of-cycle package


@dataclass(frozen=True)
class World:
    agency: Path
    an: Path  # staff of Antwerpen
    geert: Path  # staff of Gent
    master: Path
    tmp: Path
    record: str  # the record An reported on
    report: str  # its qr- id at the agency

    def agency_cli(self, *args: str, env: dict[str, str] | None = None) -> str:
        return expect_ok(run_cli(list(args), home=self.agency, env=env)).stdout

    def an_cli(self, *args: str, env: dict[str, str] | None = None) -> str:
        return expect_ok(run_cli(list(args), home=self.an, env=env)).stdout


def _at(days: int) -> dict[str, str]:
    moment = datetime.now(UTC) + timedelta(days=days)
    return {"SECUREXCHANGE_NOW": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _first_record(workbook: Path) -> str:
    sheet = openpyxl.load_workbook(workbook, read_only=True)[DATA_SHEET]
    column = HEADERS.index(HEADER_RECORD_ID)
    row = next(sheet.iter_rows(min_row=FIRST_DATA_ROW, max_row=FIRST_DATA_ROW, values_only=True))
    return str(row[column])


def _build(tmp: Path) -> World:
    agency = tmp / "agency"
    init_demo_agency(agency, NIS, "Antwerpen")
    add = ["agency", "municipality", "add", "--nis", OTHER_NIS, "--name", "Gent"]
    expect_ok(run_cli([*add, "--protocol-until", "2030-12-31"], home=agency))
    an, _ = enrol_demo_staff(tmp, agency, "An", nis=NIS)
    geert, _ = enrol_demo_staff(tmp, agency, "Geert", nis=OTHER_NIS)
    master = tmp / "master.xlsx"
    sample = ["sample", "--records", "12", "--nis", f"{NIS},{OTHER_NIS}", "--seed", "3"]
    expect_ok(run_cli([*sample, "--out", str(master)]))
    exports = tmp / "exports"
    expect_ok(run_cli(["agency", "export", str(master), "--out", str(exports)], home=agency))
    for home, nis in ((an, NIS), (geert, OTHER_NIS)):
        (package,) = sorted(exports.glob(f"*{nis}*.sxpkg"))
        expect_ok(run_cli(["municipality", "import", str(package)], home=home))
    workbook = Path(expect_ok(run_cli(["municipality", "open"], home=an)).stdout.strip())
    record = _first_record(workbook)
    expect_ok(run_cli(["municipality", "report-quality", record, "Telefoon", "verouderd"], home=an))
    returns = tmp / "returns"
    made = expect_ok(run_cli(["municipality", "return", "--out", str(returns)], home=an))
    expect_ok(run_cli(["agency", "import-return", made.stdout.strip()], home=agency))
    listed = json.loads(
        expect_ok(run_cli(["agency", "quality", "list", "--json"], home=agency)).stdout
    )
    (report,) = [str(r["report"]) for r in listed]
    return World(agency, an, geert, master, tmp, record, report)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    return _build(tmp_path_factory.mktemp("answers"))


@pytest.fixture
def world(template: World, tmp_path: Path) -> World:
    """A private copy of the homes (each test moves clocks and sends packages)."""
    for name in ("agency", "An", "Geert"):
        shutil.copytree(template.tmp / name, tmp_path / name, symlinks=True)
    shutil.copy2(template.master, tmp_path / "master.xlsx")
    return World(
        tmp_path / "agency",
        tmp_path / "An",
        tmp_path / "Geert",
        tmp_path / "master.xlsx",
        tmp_path,
        template.record,
        template.report,
    )


def _agency_reports(world: World, env: dict[str, str] | None = None) -> list[dict[str, object]]:
    out = world.agency_cli("agency", "quality", "list", "--all", "--json", env=env)
    listed: list[dict[str, object]] = json.loads(out)
    return listed


def _municipal_reports(world: World, env: dict[str, str] | None = None) -> list[dict[str, object]]:
    doc = json.loads(world.an_cli("municipality", "status", "--json", env=env))
    reports: list[dict[str, object]] = doc["quality_reports"]
    return reports


def _answer(world: World, env: dict[str, str] | None = None) -> dict[str, object]:
    out = world.tmp / "answers"
    args = ["agency", "quality", "answer", str(world.master), "--nis", NIS, "--out", str(out)]
    sent: dict[str, object] = json.loads(world.agency_cli(*args, "--json", env=env))
    return sent


def test_an_answer_sent_out_of_cycle_reaches_only_that_municipality_and_shows_answered(
    world: World,
) -> None:
    waiting = _municipal_reports(world)
    assert [(r["answered_in"], r["overdue"]) for r in waiting] == [(None, False)]
    due = (datetime.now(UTC) + timedelta(days=14)).date().isoformat()
    assert waiting[0]["due_on"] == due
    assert [r["due_on"] for r in _agency_reports(world)] == [due]  # one rule, both sides
    world.agency_cli("agency", "quality", "resolve", world.report, "gecorrigeerd")

    sent = _answer(world)
    packages = sent["packages"]
    assert isinstance(packages, list) and [p["nis"] for p in packages] == [NIS]
    package_id = str(packages[0]["id"])
    files = sorted((world.tmp / "answers").iterdir())
    assert [f.name for f in files] == [Path(str(packages[0]["file"])).name]
    assert sent["answered"] == [world.report]
    (row,) = _agency_reports(world)
    assert (row["sent"], row["answered_in"], row["overdue"]) == (True, package_id, False)
    assert json.loads(world.agency_cli("agency", "quality", "list", "--json")) == []

    world.an_cli("municipality", "import", str(files[0]))
    (answered,) = _municipal_reports(world)
    assert (answered["answered_in"], answered["overdue"]) == (package_id, False)
    text = expect_ok(run_cli(["--lang", "nl", "municipality", "status"], home=world.an)).stdout
    assert f"beantwoord in pakket {package_id}" in text
    workbook = Path(world.an_cli("municipality", "open").strip())
    book = openpyxl.load_workbook(workbook, read_only=True)[DATA_SHEET]
    rows = list(book.iter_rows(min_row=FIRST_DATA_ROW, values_only=True))
    outcome = {r[HEADERS.index(HEADER_RECORD_ID)]: r[HEADERS.index(HEADER_OUTCOME)] for r in rows}
    assert outcome[world.record] == "gecorrigeerd"


def test_a_report_unanswered_after_two_weeks_is_overdue_on_both_sides(world: World) -> None:
    later = _at(15)
    (agency_row,) = _agency_reports(world, later)
    assert (agency_row["overdue"], agency_row["sent"]) == (True, False)
    (municipal_row,) = _municipal_reports(world, later)
    assert municipal_row["overdue"] is True
    text = run_cli(["--lang", "nl", "municipality", "status"], home=world.an, env=later).stdout
    assert "Te laat" in text and "1 dag te laat" in text


def test_a_resolved_but_unsent_report_is_not_answered_and_still_overdue(world: World) -> None:
    later = _at(15)
    world.agency_cli("agency", "quality", "resolve", world.report, "correct-bevonden", env=later)
    (row,) = _agency_reports(world, later)
    assert (row["outcome"], row["sent"], row["overdue"]) == ("correct-bevonden", False, True)
    table = world.agency_cli("agency", "quality", "list", env=later)
    assert "resolved (correct-bevonden), not sent, OVERDUE" in table
    (municipal_row,) = _municipal_reports(world, later)
    assert (municipal_row["answered_in"], municipal_row["overdue"]) == (None, True)

    # Sent late: answered (and marked late) on the agency's side, answered at the
    # municipality once imported.
    sent = _answer(world, later)
    (row,) = _agency_reports(world, later)
    assert (row["sent"], row["late"], row["overdue"]) == (True, True, False)
    packages = sent["packages"]
    assert isinstance(packages, list)
    world.an_cli("municipality", "import", str(packages[0]["file"]), env=later)
    (municipal_row,) = _municipal_reports(world, later)
    assert (municipal_row["answered_in"], municipal_row["overdue"]) == (packages[0]["id"], False)


def test_the_scheduled_export_answers_too_and_an_unresolved_report_gets_no_outcome(
    world: World,
) -> None:
    exports = world.tmp / "exports-2"
    world.agency_cli("agency", "export", str(world.master), "--out", str(exports))
    (row,) = _agency_reports(world)
    assert row["sent"] is False  # still open: nothing to carry
    world.agency_cli("agency", "quality", "resolve", world.report, "ingetrokken")
    exports = world.tmp / "exports-3"
    world.agency_cli("agency", "export", str(world.master), "--out", str(exports))
    (row,) = _agency_reports(world)
    (package,) = sorted(exports.glob(f"*{NIS}*.sxpkg"))
    assert row["sent"] is True
    world.an_cli("municipality", "import", str(package))
    (municipal_row,) = _municipal_reports(world)
    assert municipal_row["answered_in"] == row["answered_in"]


def test_answering_with_nothing_resolved_is_refused_before_any_package(world: World) -> None:
    out = world.tmp / "answers"
    args = ["agency", "quality", "answer", str(world.master), "--nis", NIS, "--out", str(out)]
    assert_single_error(run_cli(args, home=world.agency), "SX-USAGE", 2)
    assert not out.exists() or not any(out.iterdir())


def test_a_home_from_before_gets_the_answer_columns_and_its_sent_answers_back(
    world: World,
) -> None:
    world.agency_cli("agency", "quality", "resolve", world.report, "gecorrigeerd")
    sent = _answer(world)
    packages = sent["packages"]
    assert isinstance(packages, list)
    for home, table in ((world.agency, "quality_reports"), (world.an, "vault_edits")):
        conn = sqlite3.connect(home / "state.sqlite3")
        try:
            for column in ("answered_in", "answered_at"):
                conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
            conn.commit()
        finally:
            conn.close()
    (row,) = _agency_reports(world)
    assert (row["sent"], row["answered_in"]) == (True, packages[0]["id"])
    (waiting,) = _municipal_reports(world)
    assert waiting["answered_in"] is None
    world.an_cli("municipality", "import", str(packages[0]["file"]))
    (answered,) = _municipal_reports(world)
    assert answered["answered_in"] == packages[0]["id"]
