"""Reading a municipal workbook back: edits found by record id, every refusal named.

Edits are made with openpyxl the way Excel saves a workbook (load, change cells, save):
shared strings instead of inline strings, styles and validations rewritten.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from securexchange.errors import ExitCode, HostileFile, InvalidWorkbook, SxError
from securexchange.sheets.layout import QualityReport, WorkbookRow
from securexchange.sheets.workbook import write_package_workbook, write_workbook
from securexchange.sheets.workbook_edits import (
    ChangedCell,
    ExpectedWorkbook,
    WorkbookEdits,
    WrittenCells,
)
from securexchange.sheets.workbook_read import _has_formula, read_workbook, read_workbook_cells
from securexchange.sheets.xlsxguard import XlsxLimits
from test_workbook import PACKAGE_ID, make_meta, make_rows, record_id

ROWS = make_rows(8)
EXPECTED = ExpectedWorkbook(package_id=PACKAGE_ID, rows=tuple(ROWS))
SECRET = "Geheimenaam"


@pytest.fixture(scope="module")
def written() -> bytes:
    # Layout 1 (record id in A, editable columns N and O): staff workbooks written before
    # layout 2 are still read; tests/test_workbook_layout.py covers layout 2.
    return write_package_workbook(ROWS, make_meta())


def edit(data: bytes, change: Callable[[Any], None]) -> bytes:
    """Open with openpyxl, change, save: what Excel does to a workbook."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data))
    change(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    """The archive with parts replaced or added."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename not in replace:
                target.writestr(info.filename, source.read(info.filename))
        for name, content in replace.items():
            target.writestr(name, content)
    return out.getvalue()


def refused(data: bytes, error: type[SxError], **kwargs: Any) -> SxError:
    with pytest.raises(error) as caught:
        read_workbook(data, expected=EXPECTED, **kwargs)
    assert caught.value.exit_code == ExitCode.USAGE
    assert SECRET not in str(caught.value) and SECRET not in (caught.value.hint or "")
    return caught.value


def unreadable(data: bytes, **kwargs: Any) -> str:
    """Every cell problem of a workbook that is still read, as one text."""
    edits = read_workbook(data, expected=EXPECTED, **kwargs)
    assert edits.problems, "no cell was reported"
    text = "; ".join(str(p) for p in edits.problems)
    assert SECRET not in text
    return text


def by_id(edits: WorkbookEdits) -> dict[str, Any]:
    return {r.record_id: r for r in edits.records}


# --- round trips -----------------------------------------------------------------------------


def test_untouched_workbook_reads_back_every_record_with_its_status(written: bytes) -> None:
    edits = read_workbook(written, expected=EXPECTED)
    assert edits.package_id == PACKAGE_ID
    assert [(r.record_id, r.status, r.quality) for r in edits.records] == [
        (row.record_id, row.status, row.quality) for row in ROWS
    ]
    assert edits.edits == () and edits.changed_cells == () and edits.missing == ()


def test_saved_by_openpyxl_unchanged_reads_back_the_same(written: bytes) -> None:
    edits = read_workbook(edit(written, lambda book: None), expected=EXPECTED)
    assert [(r.record_id, r.status, r.quality) for r in edits.records] == [
        (row.record_id, row.status, row.quality) for row in ROWS
    ]
    assert edits.edits == () and edits.changed_cells == ()


def test_status_and_quality_typed_by_staff_are_the_edits(written: bytes) -> None:
    def change(book: Any) -> None:
        sheet = book["Inburgeraars"]
        sheet["N4"] = "afgerond"
        sheet["O5"] = "E-mail: verouderd"
        sheet["N6"] = "  GEEN   interesse "  # case and spacing as people type
        sheet["O7"] = None  # an open report withdrawn

    edits = read_workbook(edit(written, change), expected=EXPECTED)
    records = by_id(edits)
    assert records[ROWS[0].record_id].status == "afgerond"
    assert records[ROWS[1].record_id].quality == QualityReport("E-mail", "verouderd")
    assert records[ROWS[2].record_id].status == "geen interesse"
    assert ROWS[3].quality is not None and records[ROWS[3].record_id].quality is None
    assert {r.record_id for r in edits.edits} == {row.record_id for row in ROWS[:4]}
    assert edits.changed_cells == ()


def test_sorted_rows_are_still_matched_by_record_id(written: bytes) -> None:
    def change(book: Any) -> None:
        sheet = book["Inburgeraars"]
        rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4, max_row=11)]
        rows.reverse()
        rows[0][13] = "toegeleid"  # the last record, now first
        for offset, values in enumerate(rows):
            for column, value in enumerate(values, 1):
                sheet.cell(row=4 + offset, column=column).value = value

    edits = read_workbook(edit(written, change), expected=EXPECTED)
    assert [r.record_id for r in edits.records] == [row.record_id for row in reversed(ROWS)]
    assert [r.record_id for r in edits.edits] == [ROWS[-1].record_id]
    assert edits.edits[0].status == "toegeleid" and edits.edits[0].row == 4
    assert edits.changed_cells == ()


def test_inserted_empty_rows_above_and_between_records_are_skipped(written: bytes) -> None:
    def change(book: Any) -> None:
        sheet = book["Inburgeraars"]
        sheet.insert_rows(6, 3)  # between records
        sheet.insert_rows(1, 2)  # above the banner: the header moves to row 5
        sheet["N6"] = "gestopt"  # first record

    edits = read_workbook(edit(written, change), expected=EXPECTED)
    assert [r.record_id for r in edits.records] == [row.record_id for row in ROWS]
    assert [(r.record_id, r.status, r.row) for r in edits.edits] == [
        (ROWS[0].record_id, "gestopt", 6)
    ]
    assert edits.changed_cells == ()


def test_a_deleted_row_is_missing_not_an_edit(written: bytes) -> None:
    edits = read_workbook(
        edit(written, lambda book: book["Inburgeraars"].delete_rows(5)), expected=EXPECTED
    )
    assert edits.missing == (ROWS[1].record_id,)
    assert len(edits.records) == len(ROWS) - 1


# --- other cells: reported by position, never by value ---------------------------------------


def test_a_changed_naam_is_reported_by_row_and_column_without_its_value(written: bytes) -> None:
    def change(book: Any) -> None:
        book["Inburgeraars"]["B5"] = SECRET

    edits = read_workbook(edit(written, change), expected=EXPECTED)
    assert edits.changed_cells == (ChangedCell(row=5, column="B", header="Naam"),)
    assert SECRET not in repr(edits)
    assert edits.edits == ()


def test_a_formula_outside_the_editable_columns_is_a_changed_cell(written: bytes) -> None:
    def change(book: Any) -> None:
        book["Inburgeraars"]["M6"] = "=TODAY()"

    edits = read_workbook(edit(written, change), expected=EXPECTED)
    assert edits.changed_cells == (ChangedCell(row=6, column="M", header="Bewaren tot"),)


def test_notes_beside_the_table_and_rows_without_a_record_id_are_reported(
    written: bytes,
) -> None:
    def change(book: Any) -> None:
        sheet = book["Inburgeraars"]
        sheet["Q4"] = SECRET
        sheet["B20"] = SECRET

    edits = read_workbook(edit(written, change), expected=EXPECTED)
    assert set(edits.changed_cells) == {
        ChangedCell(row=4, column="Q", header=None),
        ChangedCell(row=20, column="B", header="Naam"),
    }
    assert SECRET not in repr(edits)


# --- refusals: the values --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value", "where"),
    [
        ("N4", '=IF(1,"gestart","")', "row 4, column N"),
        ("N4", SECRET, "row 4, column N"),
        ("N4", None, "row 4, column N"),
        ("O5", SECRET, "row 5, column O"),
        ("O5", "Telefoon: prima", "row 5, column O"),
    ],
)
def test_editable_cells_hold_only_list_values_never_formulas(
    written: bytes, cell: str, value: str | None, where: str
) -> None:
    def change(book: Any) -> None:
        book["Inburgeraars"][cell] = value

    error = unreadable(edit(written, change))
    assert where in error and "Inburgeraars" in error
    assert "gestart" not in error and "prima" not in error


def test_a_formula_in_status_activiteit_is_refused_by_name(written: bytes) -> None:
    def change(book: Any) -> None:
        book["Inburgeraars"]["N7"] = '="afgerond"'

    error = unreadable(edit(written, change))
    assert "formula" in error and "row 7, column N" in error


def test_an_unknown_record_id_is_refused_without_echoing_it(written: bytes) -> None:
    stranger = record_id(999)

    def change(book: Any) -> None:
        book["Inburgeraars"]["A6"] = stranger

    error = unreadable(edit(written, change))
    assert "row 6" in error and stranger not in error


def test_a_copied_row_is_refused(written: bytes) -> None:
    def change(book: Any) -> None:
        sheet = book["Inburgeraars"]
        for column in range(1, 17):
            sheet.cell(row=30, column=column, value=sheet.cell(row=4, column=column).value)

    error = unreadable(edit(written, change))
    assert "row 30, column A" in error and "as row 4" in error


def test_moved_or_renamed_columns_are_refused(written: bytes) -> None:
    def change(book: Any) -> None:
        book["Inburgeraars"].insert_cols(3)

    refused(edit(written, change), InvalidWorkbook)


def test_a_workbook_of_another_package_is_refused() -> None:
    other = write_workbook(ROWS, make_meta(package_id="pkg-" + "b" * 26))
    error = refused(other, InvalidWorkbook)
    assert "another package" in str(error)


# --- refusals: the structure -----------------------------------------------------------------


def test_a_hidden_sheet_is_refused(written: bytes) -> None:
    def change(book: Any) -> None:
        book["Keuzelijsten"].sheet_state = "hidden"

    error = refused(edit(written, change), InvalidWorkbook)
    assert error.name == "SX-INVALID-WORKBOOK" and "hidden" in str(error)


def test_an_extra_sheet_is_refused(written: bytes) -> None:
    def change(book: Any) -> None:
        book.create_sheet("Notities")["A1"] = SECRET

    error = refused(edit(written, change), InvalidWorkbook)
    assert "exactly the sheets" in str(error)


def test_a_renamed_sheet_is_refused(written: bytes) -> None:
    def change(book: Any) -> None:
        book["Keuzelijsten"].title = "Lijsten"

    refused(edit(written, change), InvalidWorkbook)


def test_an_external_link_part_is_refused(written: bytes) -> None:
    linked = rezip(written, {"xl/externalLinks/externalLink1.xml": b"<externalLink/>"})
    assert refused(linked, HostileFile).name == "SX-HOSTILE-FILE"


def test_an_external_reference_in_the_workbook_is_refused(written: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        book = archive.read("xl/workbook.xml")
    book = book.replace(
        b"<definedNames>",
        b'<externalReferences><externalReference r:id="rId9" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/></externalReferences><definedNames>',
    )
    assert b"externalReferences" in book
    refused(rezip(written, {"xl/workbook.xml": book}), HostileFile)


def test_a_macro_project_is_refused(written: bytes) -> None:
    refused(rezip(written, {"xl/vbaProject.bin": b"\x00" * 64}), HostileFile)


def test_a_macro_enabled_content_type_is_refused(written: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        types = archive.read("[Content_Types].xml")
    types = types.replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    refused(rezip(written, {"[Content_Types].xml": types}), HostileFile)


def test_an_xlsm_name_is_refused(written: bytes) -> None:
    error = refused(written, HostileFile, name="Inburgeraars.xlsm")
    assert "macro" in str(error)
    refused(written, InvalidWorkbook, name="Inburgeraars.csv")
    assert read_workbook(written, expected=EXPECTED, name="C:\\Users\\x\\Inburgeraars.XLSX")


def test_an_oversized_file_is_refused(written: bytes) -> None:
    error = refused(written, HostileFile, limits=XlsxLimits(max_file_bytes=len(written) - 1))
    assert "larger than" in str(error)


def test_rows_far_beyond_the_records_are_refused(written: bytes) -> None:
    def change(book: Any) -> None:
        book["Inburgeraars"].cell(row=20_000, column=2, value=SECRET)

    refused(edit(written, change), HostileFile)


def test_a_document_type_declaration_is_refused(written: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        custom = archive.read("docProps/custom.xml")
    bomb = b'<!DOCTYPE p [<!ENTITY a "aaaaaaaa">]>' + custom
    refused(rezip(written, {"docProps/custom.xml": bomb}), HostileFile)


def test_something_that_is_not_a_workbook_is_refused() -> None:
    refused(b"Naam;Voornaam\n", HostileFile)


def test_expected_workbook_refuses_duplicate_rows() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        ExpectedWorkbook(package_id=PACKAGE_ID, rows=(ROWS[0], ROWS[0]))
    assert isinstance(ROWS[0], WorkbookRow)


def test_reading_back_does_not_import_openpyxl(written: bytes, tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    path.write_bytes(written)
    code = f"""
import sys
sys.path[:0] = {[str(Path(__file__).parent)]!r}
from test_workbook import PACKAGE_ID, make_rows
from securexchange.sheets.workbook_read import ExpectedWorkbook, read_workbook
edits = read_workbook(open({str(path)!r}, "rb").read(),
                      expected=ExpectedWorkbook(PACKAGE_ID, tuple(make_rows(8))))
assert len(edits.records) == 8
print("openpyxl" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_list_validations_in_an_excel_extension_are_not_cell_formulas(written: bytes) -> None:
    # Excel saves a drop-down that points at another sheet in an extension after
    # sheetData, as <xm:f>; that is not a formula in a cell.
    extension = (
        b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
        b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        b'<x14:dataValidations count="1" '
        b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
        b'<x14:dataValidation type="list"><x14:formula1><xm:f>Keuzelijsten!$A$3:$A$10'
        b"</xm:f></x14:formula1><xm:sqref>N4:N11</xm:sqref></x14:dataValidation>"
        b"</x14:dataValidations></ext></extLst></worksheet>"
    )
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    sheet = sheet.replace(b"</worksheet>", extension)
    edits = read_workbook(rezip(written, {"xl/worksheets/sheet1.xml": sheet}), expected=EXPECTED)
    assert len(edits.records) == len(ROWS) and edits.changed_cells == ()
    with zipfile.ZipFile(io.BytesIO(rezip(written, {"xl/worksheets/sheet1.xml": sheet}))) as z:
        assert not _has_formula(z, "xl/worksheets/sheet1.xml", "w")


# --- the entry point for callers that know only the editable cells as written ---------------

WRITTEN = {row.record_id: WrittenCells(row.status, row.quality) for row in ROWS}


def read_cells(data: bytes, written: Any = WRITTEN, **kwargs: Any) -> WorkbookEdits:
    return read_workbook_cells(data, package_id=PACKAGE_ID, written=written, **kwargs)


def test_cells_only_reads_the_same_edits_as_the_full_reader(written: bytes) -> None:
    def change(book: Any) -> None:
        sheet = book["Inburgeraars"]
        sheet["N4"] = "gestart"
        sheet["O5"] = "Telefoon: foutief"
        sheet.delete_rows(6)

    data = edit(written, change)
    full, cells = read_workbook(data, expected=EXPECTED), read_cells(data)
    assert cells.records == full.records and cells.missing == full.missing
    assert [r.record_id for r in cells.edits] == [ROWS[0].record_id, ROWS[1].record_id]
    assert cells.missing == (ROWS[2].record_id,)


def test_cells_only_keeps_every_refusal(written: bytes) -> None:
    def stranger(book: Any) -> None:
        book["Inburgeraars"]["A6"] = record_id(999)

    def formula(book: Any) -> None:
        book["Inburgeraars"]["N7"] = '="afgerond"'

    def off_list(book: Any) -> None:
        book["Inburgeraars"]["O5"] = SECRET

    for change, where in (
        (stranger, "row 6"),
        (formula, "row 7, column N"),
        (off_list, "row 5, column O"),
    ):
        problems = read_cells(edit(written, change), name="w.xlsx").problems
        assert where in "; ".join(map(str, problems)) and SECRET not in repr(problems)
    other = write_workbook(ROWS, make_meta(package_id="pkg-" + "b" * 26))
    with pytest.raises(InvalidWorkbook, match="another package"):
        read_cells(other)
    with pytest.raises(HostileFile):
        read_cells(written, name="w.xlsm")


def test_cells_only_reports_what_needs_no_comparison_by_position(written: bytes) -> None:
    def change(book: Any) -> None:
        sheet = book["Inburgeraars"]
        sheet["B5"] = SECRET  # not comparable without the cells as written
        sheet["M6"] = "=TODAY()"
        sheet["Q4"] = SECRET
        sheet["B20"] = SECRET

    edits = read_cells(edit(written, change))
    assert set(edits.changed_cells) == {
        ChangedCell(row=6, column="M", header="Bewaren tot"),
        ChangedCell(row=4, column="Q", header=None),
        ChangedCell(row=20, column="B", header="Naam"),
    }
    assert SECRET not in repr(edits)


def test_cells_only_without_record_ids_reads_any_well_formed_id_once(written: bytes) -> None:
    def change(book: Any) -> None:
        sheet = book["Inburgeraars"]
        sheet["A6"] = record_id(999)
        sheet["N6"] = "gestart"

    edits = read_cells(edit(written, change), written=None, record_count=len(ROWS))
    assert record_id(999) in by_id(edits) and by_id(edits)[record_id(999)].status == "gestart"
    assert edits.edits == () and edits.missing == ()

    def copied(book: Any) -> None:
        sheet = book["Inburgeraars"]
        sheet["A30"] = sheet["A4"].value
        sheet["N30"] = "gestart"

    problems = read_cells(edit(written, copied), written=None, record_count=len(ROWS)).problems
    assert "as row 4" in str(problems[0]) and problems[0].row == 30
    with pytest.raises(ValueError, match="record_count"):
        read_cells(written, written=None)
    with pytest.raises(ValueError, match="WrittenCells"):
        read_cells(written, written={ROWS[0].record_id: ("gestart", "")})
