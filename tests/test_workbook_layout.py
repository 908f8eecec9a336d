"""Issue 15 items 6 and 7: a staff workbook that keeps the row's person in view, explains
itself, and never loses a whole workbook to one bad cell."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter

from municipal_flows import Made, World, make_package, make_world, muni, person
from securexchange.schema import HEADER_ACTIVITY, HEADER_OUTCOME, HEADER_RECORD_ID, QUALITY_FIELDS
from securexchange.sheets.layout import (
    DATA_SHEET,
    FIRST_DATA_ROW,
    HEADERS,
    QUALITY_HEADERS,
    quality_header,
)
from securexchange.sheets.package_read import read_package_rows
from securexchange.sheets.workbook import write_package_workbook, write_workbook
from securexchange.sheets.workbook_edits import ExpectedWorkbook
from securexchange.sheets.workbook_read import read_workbook
from securexchange.vocabularies import ACTIVITY_STATUSES, QUALITY_PROBLEMS
from test_municipal_workbook import _open, _type_status
from test_workbook import PACKAGE_ID, make_meta, make_rows

LATER = date(2027, 2, 1)
SECRET = "Geheimenaam"
FIXTURE = Path(__file__).parent / "fixtures" / "old_layout_workbook.xlsx"
PLACEHOLDER_PACKAGE = "pkg-" + "a" * 26
TELEFOON = quality_header("Telefoon")
EMAIL = quality_header("E-mail")


def _letter(header: str) -> str:
    return get_column_letter(HEADERS.index(header) + 1)


def _load(data: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(data))


# --- item 6: the layout ----------------------------------------------------------------------


def test_while_picking_a_status_the_row_s_names_stay_frozen_right_beside_it() -> None:
    book = _load(write_workbook(make_rows(3), make_meta()))
    sheet = book[DATA_SHEET]
    header = [c.value for c in sheet[FIRST_DATA_ROW - 1]]
    assert header[:3] == ["Naam", "Voornaam", HEADER_ACTIVITY]
    assert header[3 : 3 + len(QUALITY_FIELDS)] == list(QUALITY_HEADERS)
    assert header[3 + len(QUALITY_FIELDS)] == HEADER_OUTCOME
    assert header[-1] == HEADER_RECORD_ID
    assert sheet.freeze_panes == f"C{FIRST_DATA_ROW}"  # the names never scroll away
    validated = {str(v.sqref) for v in sheet.data_validations.dataValidation}
    assert f"C{FIRST_DATA_ROW}:C{FIRST_DATA_ROW + 2}" in validated
    assert len(validated) == 1 + len(QUALITY_FIELDS)


def test_a_printed_workbook_keeps_the_edit_columns_on_the_names_page() -> None:
    sheet = _load(write_workbook(make_rows(3), make_meta()))[DATA_SHEET]
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_cols == "$A:$B"


def test_the_banner_says_the_tool_destroys_the_file_itself_not_the_reader() -> None:
    sheet = _load(write_workbook(make_rows(1), make_meta()))[DATA_SHEET]
    banner = f"{sheet['A1'].value} {sheet['A2'].value}"
    assert "securexchange vernietigt dit bestand zelf op 1 maart 2027" in banner
    assert "Vernietig dit bestand" not in banner


def test_the_toelichting_explains_every_status_and_quality_choice_in_dutch() -> None:
    book = _load(write_workbook(make_rows(1), make_meta()))
    assert book.sheetnames == [DATA_SHEET, "Keuzelijsten", "Toelichting"]
    sheet = book["Toelichting"]
    assert sheet.protection.sheet and sheet.sheet_state == "visible"
    explained = {
        str(row[0]): str(row[1])
        for row in sheet.iter_rows(min_row=2, values_only=True)
        if row[0] and row[1]
    }
    for value in (*ACTIVITY_STATUSES.values, *QUALITY_PROBLEMS.values):
        assert len(explained[value]) > 20  # a sentence, not a label
    assert "persoon" in explained["niet bereikbaar"]


def test_the_package_workbook_keeps_the_old_layout_for_older_clients() -> None:
    book = _load(write_package_workbook(make_rows(1), make_meta()))
    assert book.sheetnames == [DATA_SHEET, "Keuzelijsten"]
    assert book[DATA_SHEET]["A3"].value == HEADER_RECORD_ID


def test_a_package_workbook_is_read_by_header_name_in_either_layout() -> None:
    rows = make_rows(4)
    old = read_package_rows(write_package_workbook(rows, make_meta()), records=4)
    new = read_package_rows(write_workbook(rows, make_meta()), records=4)
    assert old == new == rows


def test_a_sheet_named_toelichting_added_to_an_old_layout_workbook_is_refused() -> None:
    rows = make_rows(2)
    book = _load(write_package_workbook(rows, make_meta()))
    book.create_sheet("Toelichting")["A1"] = SECRET  # staff smuggling text back
    out = io.BytesIO()
    book.save(out)
    try:
        read_workbook(out.getvalue(), expected=ExpectedWorkbook(PACKAGE_ID, tuple(rows)))
    except Exception as error:
        assert type(error).__name__ == "InvalidWorkbook" and SECRET not in str(error)
    else:
        raise AssertionError("an old-layout workbook with a Toelichting sheet was read")


def test_a_text_typed_into_the_toelichting_never_comes_back() -> None:
    rows = make_rows(2)
    book = _load(write_workbook(rows, make_meta()))
    book["Toelichting"]["C3"] = SECRET
    out = io.BytesIO()
    book.save(out)
    edits = read_workbook(out.getvalue(), expected=ExpectedWorkbook(PACKAGE_ID, tuple(rows)))
    assert SECRET not in repr(edits) and edits.edits == ()


# --- item 7: every bad cell at once, the good ones still read ---------------------------------


def test_every_bad_cell_is_reported_at_once_and_the_good_cells_are_still_read() -> None:
    rows = make_rows(5)
    book = _load(write_workbook(rows, make_meta()))
    sheet = book[DATA_SHEET]
    status, quality = _letter(HEADER_ACTIVITY), _letter(TELEFOON)
    sheet[f"{status}4"] = SECRET  # bad
    sheet[f"{quality}5"] = "prima"  # bad
    sheet[f"{status}6"] = '="gestart"'  # a formula: bad
    sheet[f"{status}7"] = "afgerond"  # good
    sheet[f"{_letter(EMAIL)}8"] = "verouderd"  # good
    out = io.BytesIO()
    book.save(out)
    edits = read_workbook(out.getvalue(), expected=ExpectedWorkbook(PACKAGE_ID, tuple(rows)))
    where = {(p.row, p.column) for p in edits.problems}
    assert where == {(4, status), (5, quality), (6, status)}
    assert all(p.sheet == DATA_SHEET and p.why for p in edits.problems)
    assert SECRET not in repr(edits)
    changed = {e.row: e for e in edits.edits}
    assert set(changed) == {7, 8}
    assert changed[7].status == "afgerond" and changed[8].quality is not None


def _bad_and_good(world: World) -> tuple[Path, Made]:
    """A workbook with one bad status, one bad quality cell and one good status."""
    a, b, c = person(1, LATER), person(2, LATER), person(3, LATER)
    made = make_package(world, [a, b, c])
    assert muni(world, "import", str(made.path)).code == 0
    workbook = _open(world)
    _type_status(workbook, a.record_id, "bijna klaar")
    _type_status(workbook, b.record_id, "toegeleid")
    book = openpyxl.load_workbook(workbook)
    sheet = book[DATA_SHEET]
    for row in range(FIRST_DATA_ROW, sheet.max_row + 1):
        if sheet[f"{_letter(HEADER_RECORD_ID)}{row}"].value == c.record_id:
            sheet[f"{_letter(TELEFOON)}{row}"] = "prima"
    book.save(workbook)
    return workbook, made


def test_a_workbook_with_bad_cells_never_blocks_opening(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    _bad_and_good(world)
    opened = muni(world, "open")
    assert opened.code == 0, opened.stderr
    warnings = [line for line in opened.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2 and all("row" in w and "column" in w for w in warnings)
    assert "bijna" not in opened.stderr and "prima" not in opened.stderr
    # The good cell was absorbed while the bad ones were dropped.
    assert json.loads(muni(world, "status", "--json").stdout)["pending_edits"] == 1


def test_a_workbook_with_bad_cells_never_blocks_importing(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    workbook, first = _bad_and_good(world)
    rows = [person(1, LATER), person(2, LATER), person(3, LATER)]
    second = make_package(world, rows, sequence=2, supersedes=first)
    imported = muni(world, "import", str(second.path))
    assert imported.code == 0, imported.stderr
    assert not workbook.exists()  # it showed the superseded package's rows
    assert json.loads(muni(world, "status", "--json").stdout)["pending_edits"] == 1


def test_return_refuses_listing_every_bad_cell_at_once(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    _bad_and_good(world)
    out = tmp_path / "terug"
    out.mkdir()
    result = muni(world, "return", "--out", str(out))
    assert result.code == 2 and "SX-INVALID-WORKBOOK" in result.stderr
    assert "2 cell(s) cannot be read" in result.stderr
    assert f"column {_letter(HEADER_ACTIVITY)}" in result.stderr
    assert f"column {_letter(TELEFOON)}" in result.stderr
    assert "bijna" not in result.stderr and list(out.iterdir()) == []


def test_a_bad_workbook_never_postpones_its_shredding(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    a, b = person(1, date(2026, 12, 15)), person(2, LATER)
    first = make_package(world, [a, b])
    assert muni(world, "import", str(first.path)).code == 0
    workbook = _open(world)
    _type_status(workbook, a.record_id, "bijna klaar")
    _type_status(workbook, b.record_id, "gestart")
    # Past A's deadline, without any key: the workbook goes despite its bad cell.
    assert muni(world, "shred", now="2026-12-16").code == 0
    assert not workbook.exists()
    # What could be read was harvested (b's status) and is absorbed at the next import.
    second = make_package(world, [b], sequence=2, supersedes=first)
    assert muni(world, "import", str(second.path), now="2026-12-16").code == 0
    assert json.loads(muni(world, "status", "--json").stdout)["pending_edits"] == 1


# --- a registered workbook in the old layout is still absorbed ---------------------------------


def _with_package(data: bytes, package_id: str) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/custom.xml":
                content = content.replace(PLACEHOLDER_PACKAGE.encode(), package_id.encode())
            target.writestr(info.filename, content)
    return out.getvalue()


def test_a_registered_workbook_in_the_old_layout_is_still_absorbed(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, LATER), person(2, LATER)])
    assert muni(world, "import", str(made.path)).code == 0
    workbook = _open(world)
    # The file a client before layout 2 wrote (and staff edited), at the registered name.
    workbook.write_bytes(_with_package(FIXTURE.read_bytes(), made.package_id))
    out = tmp_path / "terug"
    out.mkdir()
    result = muni(world, "return", "--out", str(out))
    assert result.code == 0, result.stderr
    assert "1 status change(s), 1 quality report(s)" in result.stderr


def test_every_explanation_has_dutch_for_staff_and_an_english_version() -> None:
    from securexchange.sheets.workbook_help import OUTCOME_HELP, PROBLEM_HELP, STATUS_HELP

    for texts in (STATUS_HELP, PROBLEM_HELP, OUTCOME_HELP):
        for text in texts.values():
            assert text.nl.endswith(".") and text.en.endswith(".")
            assert text.nl != text.en
