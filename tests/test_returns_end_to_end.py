"""The return channel end to end through the CLI: export, import, open, a status typed
in the workbook file, return, agency import, report; replay; a conflict."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import openpyxl
import pytest

from cli_helpers import enrol_demo_staff, expect_ok, init_demo_agency, run_cli
from securexchange.schema import HEADER_ACTIVITY, HEADER_RECORD_ID
from securexchange.sheets.layout import DATA_SHEET, FIRST_DATA_ROW, HEADERS, quality_header

NIS = "11002"


def _staff(tmp: Path, agency: Path, name: str) -> tuple[Path, str]:
    return enrol_demo_staff(tmp, agency, name, nis=NIS)


def _sheet_rows(path: Path, sheet: str) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(path, read_only=True)
    return [tuple(row) for row in book[sheet].iter_rows(min_row=2, values_only=True)]


def _ledger(agency: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(agency / "state.sqlite3")
    try:
        return conn.execute("SELECT * FROM ledger_history ORDER BY 1").fetchall()
    finally:
        conn.close()


@pytest.fixture
def world(tmp_path: Path) -> dict[str, object]:
    agency = tmp_path / "agency"
    init_demo_agency(agency, NIS, "Antwerpen")
    an, an_fp = _staff(tmp_path, agency, "An")
    bart, bart_fp = _staff(tmp_path, agency, "Bart")
    master = tmp_path / "master.xlsx"
    expect_ok(
        run_cli(["sample", "--records", "8", "--nis", NIS, "--seed", "4", "--out", str(master)])
    )
    exports = tmp_path / "exports"
    expect_ok(run_cli(["agency", "export", str(master), "--out", str(exports)], home=agency))
    (package,) = sorted(exports.glob("*.sxpkg"))
    for home in (an, bart):
        expect_ok(run_cli(["municipality", "import", str(package)], home=home))
    returns = tmp_path / "returns"
    returns.mkdir()
    return {
        "agency": agency,
        "an": an,
        "bart": bart,
        "an_fp": an_fp,
        "bart_fp": bart_fp,
        "returns": returns,
        "tmp": tmp_path,
    }


def _type_status_in_first_row(workbook: Path, status: str) -> str:
    """Type a status as Excel would save it; returns the row's record id."""
    book = openpyxl.load_workbook(workbook)
    sheet = book[DATA_SHEET]
    record = str(sheet.cell(FIRST_DATA_ROW, HEADERS.index(HEADER_RECORD_ID) + 1).value)
    sheet.cell(FIRST_DATA_ROW, HEADERS.index(HEADER_ACTIVITY) + 1).value = status
    book.save(workbook)
    return record


def test_a_status_typed_in_the_workbook_reaches_the_agency_report_with_who_and_when(
    world: dict[str, object],
) -> None:
    agency, an, returns, tmp = (Path(str(world[k])) for k in ("agency", "an", "returns", "tmp"))
    workbook = Path(expect_ok(run_cli(["municipality", "open"], home=an)).stdout.strip())
    _type_status_in_first_row(workbook, "gecontacteerd")
    delta = Path(
        expect_ok(
            run_cli(["municipality", "return", "--out", str(returns)], home=an)
        ).stdout.strip()
    )
    expect_ok(run_cli(["agency", "import-return", str(delta)], home=agency))

    report = tmp / "opvolging.xlsx"
    expect_ok(run_cli(["agency", "report", "--out", str(report)], home=agency))
    current = _sheet_rows(report, "Huidige status")
    assert [row[2] for row in current if row[2] == "gecontacteerd"] == ["gecontacteerd"]
    changed = next(row for row in current if row[2] == "gecontacteerd")
    assert str(changed[0]).strip()  # the client id, resolved by the agency
    assert str(world["an_fp"]) in str(changed[4]) and changed[3]  # who, when

    before = _ledger(agency)
    again = run_cli(["agency", "import-return", str(delta)], home=agency)
    assert again.code == 0, again.stderr
    assert _ledger(agency) == before


def test_two_fields_reported_on_one_row_both_reach_the_return(
    world: dict[str, object],
) -> None:
    agency, an, returns = (Path(str(world[k])) for k in ("agency", "an", "returns"))
    workbook = Path(expect_ok(run_cli(["municipality", "open"], home=an)).stdout.strip())
    book = openpyxl.load_workbook(workbook)
    sheet = book[DATA_SHEET]
    for field, problem in (("Telefoon", "verouderd"), ("E-mail", "foutief")):
        column = HEADERS.index(quality_header(field)) + 1
        sheet.cell(FIRST_DATA_ROW, column).value = problem
    book.save(workbook)
    returned = run_cli(["municipality", "return", "--out", str(returns)], home=an)
    assert returned.code == 0, returned.stderr
    assert "2 quality report(s)" in returned.stderr
    expect_ok(run_cli(["agency", "import-return", returned.stdout.strip()], home=agency))

    listed = json.loads(
        expect_ok(run_cli(["agency", "quality", "list", "--json"], home=agency)).stdout
    )
    assert sorted((r["field"], r["problem"]) for r in listed) == [
        ("E-mail", "foutief"),
        ("Telefoon", "verouderd"),
    ]


def test_two_staff_changing_one_record_from_the_same_base_give_one_conflict(
    world: dict[str, object],
) -> None:
    agency, an, bart, returns, tmp = (
        Path(str(world[k])) for k in ("agency", "an", "bart", "returns", "tmp")
    )
    workbook = Path(expect_ok(run_cli(["municipality", "open"], home=an)).stdout.strip())
    record = _type_status_in_first_row(workbook, "gecontacteerd")
    expect_ok(run_cli(["municipality", "set-status", record, "toegeleid"], home=bart))
    deltas = [
        expect_ok(
            run_cli(["municipality", "return", "--out", str(returns)], home=home)
        ).stdout.strip()
        for home in (an, bart)
    ]
    expect_ok(run_cli(["agency", "import-return", *deltas], home=agency))
    report = tmp / "opvolging.xlsx"
    summary = json.loads(
        expect_ok(run_cli(["agency", "report", "--out", str(report), "--json"], home=agency)).stdout
    )
    assert summary["conflicts"] == 1
    assert len(_sheet_rows(report, "Conflicten")) == 1
