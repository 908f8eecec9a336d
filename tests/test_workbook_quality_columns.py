"""Issue 15 item 6: one quality drop-down per reportable field (staff layout 3).

Real workbooks throughout: written by ``write_workbook`` or ``municipality open``, typed
in with openpyxl as Excel would save them, read back by the reader and the CLI.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from municipal_flows import World, make_package, make_world, muni, person
from securexchange.schema import HEADER_ACTIVITY, HEADER_QUALITY, HEADER_RECORD_ID, QUALITY_FIELDS
from securexchange.sheets.layout import (
    DATA_SHEET,
    FIRST_DATA_ROW,
    HEADERS,
    LAYOUT_2_HEADERS,
    LISTS_SHEET,
    STAFF_LAYOUT_2,
    QualityReport,
    quality_header,
)
from securexchange.sheets.workbook import write_workbook
from securexchange.sheets.workbook_edits import ExpectedWorkbook
from securexchange.sheets.workbook_read import read_workbook
from securexchange.vocabularies import QUALITY_PROBLEMS
from test_workbook import PACKAGE_ID, make_meta, make_rows

LATER = date(2027, 2, 1)
TELEFOON = quality_header("Telefoon")
EMAIL = quality_header("E-mail")
SECRET = "Geheimenaam"


def _letter(header: str, headers: tuple[str, ...] = HEADERS) -> str:
    return get_column_letter(headers.index(header) + 1)


def _load(data: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(data))


def _saved(book: Any) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _type(path: Path, record_id: str, values: dict[str, str]) -> None:
    """Type in a row's editable cells (by header) as Excel would save them."""
    book = openpyxl.load_workbook(path)
    sheet = book[DATA_SHEET]
    id_col = HEADERS.index(HEADER_RECORD_ID) + 1
    for row in range(FIRST_DATA_ROW, sheet.max_row + 1):
        if sheet.cell(row, id_col).value == record_id:
            for header, value in values.items():
                sheet.cell(row, HEADERS.index(header) + 1).value = value
            break
    else:
        raise AssertionError("record not in the workbook")
    book.save(path)


def _shown(path: Path, record_id: str) -> dict[str, Any]:
    sheet = openpyxl.load_workbook(path, read_only=True)[DATA_SHEET]
    for row in sheet.iter_rows(min_row=FIRST_DATA_ROW, values_only=True):
        if row[HEADERS.index(HEADER_RECORD_ID)] == record_id:
            return dict(zip(HEADERS, row, strict=False))
    raise AssertionError("record not in the workbook")


def _open(world: World) -> Path:
    result = muni(world, "open")
    assert result.code == 0, result.stderr
    return Path(result.stdout.strip())


def _imported(tmp_path: Path, n: int = 2) -> tuple[World, list[str]]:
    world = make_world(tmp_path)
    people = [person(i + 1, LATER) for i in range(n)]
    made = make_package(world, people)
    assert muni(world, "import", str(made.path)).code == 0
    return world, [p.record_id for p in people]


# --- the layout ------------------------------------------------------------------------------


def test_each_reportable_field_has_its_own_quality_drop_down_of_the_six_problems() -> None:
    rows = make_rows(3)
    book = _load(write_workbook(rows, make_meta()))
    sheet = book[DATA_SHEET]
    header = [c.value for c in sheet[FIRST_DATA_ROW - 1]]
    assert HEADER_QUALITY not in header
    last = FIRST_DATA_ROW + len(rows) - 1
    by_range = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    for field in QUALITY_FIELDS:
        letter = _letter(quality_header(field))
        validation = by_range[f"{letter}{FIRST_DATA_ROW}:{letter}{last}"]
        assert validation.type == "list" and validation.allow_blank  # blank: no report
        assert validation.formula1 == f"{LISTS_SHEET}!$B$3:$B$8"
        assert validation.showErrorMessage and validation.errorStyle == "stop"
        assert field in (validation.prompt or "")
        cell = sheet[f"{letter}{FIRST_DATA_ROW}"]
        assert cell.protection.locked is False  # staff may type here, and only here
    lists = book[LISTS_SHEET]
    assert [lists[f"B{r}"].value for r in range(3, 9)] == list(QUALITY_PROBLEMS.values)
    assert lists["B9"].value is None  # six problems, no "field: problem" pairs
    # Every other data cell stays locked.
    assert sheet[f"{_letter('Telefoon')}{FIRST_DATA_ROW}"].protection.locked is not False


def test_the_banner_and_the_toelichting_explain_the_per_field_columns() -> None:
    book = _load(write_workbook(make_rows(1), make_meta()))
    banner = str(book[DATA_SHEET]["A2"].value)
    assert "'Melding ...' (één per gegeven)" in banner and HEADER_QUALITY not in banner
    texts = " ".join(
        str(value) for row in book["Toelichting"].iter_rows(values_only=True) for value in row
    )
    assert "Melding Telefoon" in texts and "meerdere gegevens" in texts


def test_a_row_s_open_reports_are_shown_each_in_its_field_s_column() -> None:
    rows = make_rows(2)
    first = replace(
        rows[0],
        quality=QualityReport("Telefoon", "verouderd"),
        more_quality=(QualityReport("E-mail", "foutief"),),
    )
    sheet = _load(write_workbook([first, rows[1]], make_meta()))[DATA_SHEET]
    assert sheet[f"{_letter(TELEFOON)}{FIRST_DATA_ROW}"].value == "verouderd"
    assert sheet[f"{_letter(EMAIL)}{FIRST_DATA_ROW}"].value == "foutief"
    assert sheet[f"{_letter(TELEFOON)}{FIRST_DATA_ROW + 1}"].value is None


# --- reading ---------------------------------------------------------------------------------


def test_two_fields_reported_on_one_row_are_read_as_two_reports() -> None:
    rows = make_rows(3)
    book = _load(write_workbook(rows, make_meta()))
    sheet = book[DATA_SHEET]
    sheet[f"{_letter(TELEFOON)}{FIRST_DATA_ROW}"] = "Verouderd"  # case as typed
    sheet[f"{_letter(EMAIL)}{FIRST_DATA_ROW}"] = "foutief"
    edits = read_workbook(_saved(book), expected=ExpectedWorkbook(PACKAGE_ID, tuple(rows)))
    assert edits.layout == 3 and edits.problems == ()
    (edit,) = edits.edits
    assert edit.record_id == rows[0].record_id and edit.quality_changed
    assert edit.reports == (
        QualityReport("Telefoon", "verouderd"),
        QualityReport("E-mail", "foutief"),
    )


def test_a_bad_value_in_one_field_column_is_listed_and_the_other_field_s_report_is_read() -> None:
    rows = make_rows(3)
    book = _load(write_workbook(rows, make_meta()))
    sheet = book[DATA_SHEET]
    sheet[f"{_letter(TELEFOON)}{FIRST_DATA_ROW}"] = SECRET  # bad
    sheet[f"{_letter(EMAIL)}{FIRST_DATA_ROW}"] = "onvolledig"  # good, same row
    sheet[f"{_letter(quality_header('Adres'))}{FIRST_DATA_ROW + 1}"] = '="foutief"'  # formula
    edits = read_workbook(_saved(book), expected=ExpectedWorkbook(PACKAGE_ID, tuple(rows)))
    where = {(p.row, p.column, p.header) for p in edits.problems}
    assert where == {
        (FIRST_DATA_ROW, _letter(TELEFOON), TELEFOON),
        (FIRST_DATA_ROW + 1, _letter(quality_header("Adres")), quality_header("Adres")),
    }
    assert all(p.sheet == DATA_SHEET and p.why for p in edits.problems)
    assert SECRET not in repr(edits)
    (edit,) = edits.edits
    assert edit.reports == (QualityReport("E-mail", "onvolledig"),)
    assert not edit.quality_read  # one of its quality cells was dropped


def test_a_dropped_field_cell_keeps_the_report_as_written() -> None:
    rows = make_rows(2)
    written = replace(rows[0], quality=QualityReport("Telefoon", "verouderd"))
    rows = [written, rows[1]]
    book = _load(write_workbook(rows, make_meta()))
    book[DATA_SHEET][f"{_letter(TELEFOON)}{FIRST_DATA_ROW}"] = "prima"
    edits = read_workbook(_saved(book), expected=ExpectedWorkbook(PACKAGE_ID, tuple(rows)))
    assert len(edits.problems) == 1 and edits.edits == ()
    assert edits.records[0].reports == (QualityReport("Telefoon", "verouderd"),)


def test_a_layout_2_workbook_is_still_read_by_its_one_quality_column() -> None:
    rows = make_rows(2)
    book = _load(write_workbook(rows, make_meta(), layout=STAFF_LAYOUT_2))
    sheet = book[DATA_SHEET]
    assert [c.value for c in sheet[FIRST_DATA_ROW - 1]] == list(LAYOUT_2_HEADERS)
    letter = _letter(HEADER_QUALITY, LAYOUT_2_HEADERS)
    sheet[f"{letter}{FIRST_DATA_ROW}"] = "Telefoon: verouderd"
    edits = read_workbook(_saved(book), expected=ExpectedWorkbook(PACKAGE_ID, tuple(rows)))
    assert edits.layout == 2 and edits.problems == ()
    (edit,) = edits.edits
    assert edit.reports == (QualityReport("Telefoon", "verouderd"),)


# --- through the municipal client ----------------------------------------------------------


def test_two_reports_on_one_row_are_absorbed_as_two_and_shown_again_in_the_next_workbook(
    tmp_path: Path,
) -> None:
    world, (a, _) = _imported(tmp_path)
    workbook = _open(world)
    _type(workbook, a, {TELEFOON: "verouderd", EMAIL: "foutief"})
    assert muni(world, "open").code == 0  # absorbs what was typed
    doc = json.loads(muni(world, "status", "--json").stdout)
    assert (doc["pending_edits"], doc["pending_edits_stored"]) == (2, 2)
    newest = max(doc["workbooks"], key=lambda w: w["written_at"] + w["id"])
    shown = _shown(Path(newest["path"]), a)
    assert (shown[TELEFOON], shown[EMAIL]) == ("verouderd", "foutief")


def test_status_counts_two_reports_typed_on_one_row_as_two_changes(tmp_path: Path) -> None:
    world, (a, b) = _imported(tmp_path)
    workbook = _open(world)
    _type(workbook, a, {TELEFOON: "verouderd", EMAIL: "foutief"})
    _type(workbook, b, {HEADER_ACTIVITY: "gecontacteerd"})
    doc = json.loads(muni(world, "status", "--json").stdout)
    assert doc["pending_edits_in_workbooks"] == 3 and doc["pending_edits_complete"] is True
    # Once absorbed, the same cells count nothing; changing one field's problem counts one.
    assert muni(world, "open").code == 0
    _type(workbook, a, {EMAIL: "onvolledig"})
    doc = json.loads(muni(world, "status", "--json").stdout)
    assert [w["typed_changes"] for w in doc["workbooks"]] == [1, 0]
    assert doc["pending_edits_stored"] == 3


def test_a_bad_field_cell_is_warned_about_and_the_other_field_s_report_is_absorbed(
    tmp_path: Path,
) -> None:
    world, (a, _) = _imported(tmp_path)
    workbook = _open(world)
    _type(workbook, a, {TELEFOON: SECRET, EMAIL: "verouderd"})
    opened = muni(world, "open")
    assert opened.code == 0, opened.stderr
    warnings = [line for line in opened.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and f"column {_letter(TELEFOON)}" in warnings[0]
    assert SECRET not in opened.stderr
    assert json.loads(muni(world, "status", "--json").stdout)["pending_edits"] == 1


def test_return_lists_a_bad_field_cell_by_sheet_row_and_column(tmp_path: Path) -> None:
    world, (a, _) = _imported(tmp_path)
    workbook = _open(world)
    _type(workbook, a, {TELEFOON: SECRET, EMAIL: "verouderd"})
    out = tmp_path / "terug"
    out.mkdir()
    result = muni(world, "return", "--out", str(out))
    assert result.code == 2 and "SX-INVALID-WORKBOOK" in result.stderr
    assert f"column {_letter(TELEFOON)} ({TELEFOON})" in result.stderr
    assert SECRET not in result.stderr and list(out.iterdir()) == []


def test_the_reader_s_cell_cap_fits_the_widest_layout_at_full_size() -> None:
    from securexchange.sheets.workbook_limits import workbook_limits

    # The guard checks the sheet's dimension, a rectangle of rows x 26 columns.
    limits = workbook_limits(100_000)
    assert limits.max_cells >= limits.max_rows * len(HEADERS)
    assert len(HEADERS) <= limits.max_columns


def test_a_package_workbook_in_layout_3_is_read_by_header_with_its_one_report() -> None:
    from securexchange.errors import Malformed
    from securexchange.sheets.package_read import read_package_rows

    rows = make_rows(2)
    reported = [replace(rows[0], quality=QualityReport("Telefoon", "verouderd")), rows[1]]
    assert read_package_rows(write_workbook(reported, make_meta()), records=2) == reported
    # A vault row holds one open report: a package row with two is not a valid record.
    two = [replace(reported[0], more_quality=(QualityReport("E-mail", "foutief"),)), rows[1]]
    with pytest.raises(Malformed, match=f"row {FIRST_DATA_ROW}"):
        read_package_rows(write_workbook(two, make_meta()), records=2)
