"""Which sheet of a master is exported: only what the agency sees in Excel.

A hidden first sheet used to be the one read, silently: the agency checked the visible
sheet and exported another. Now a hidden sheet with data, or a second visible sheet
with data, refuses the master (SX-INVALID-MASTER); empty extra sheets are harmless.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from openpyxl import Workbook

from cli_helpers import assert_single_error, run_cli
from securexchange import schema
from securexchange.errors import ExitCode, InvalidMaster
from securexchange.intake.master import MasterProblems, read_master

H = schema.MASTER_HEADERS
ROW = {
    "Klant-ID": "K10000001",
    "Naam": "Haddad",
    "Voornaam": "Omar",
    "Adres": "Kerkstraat 1",
    "Postcode": "2000",
    "Gemeente": "Antwerpen",
    "NIS-code": "11002",
    "Telefoon": "0470 12 34 56",
    "E-mail": "omar.haddad@gmail.com",
    "Contacttaal": "arabisch",
    "Niveau Nederlands": "a2",
    "Status MO": "Lopend",
    "Interesses en noden": "buddy",
    "Datum inburgeringsattest": "14/03/2025",
}
State = Literal["visible", "hidden", "veryHidden"]


def _book(tmp_path: Path, sheets: list[tuple[str, State, list[str]]], active: int) -> Path:
    """A master with the given sheets (title, state, client ids: [] = an empty sheet)."""
    book = Workbook()
    default = book.active
    assert default is not None
    book.remove(default)
    for title, state, ids in sheets:
        sheet = book.create_sheet(title)
        sheet.sheet_state = state
        if ids:
            sheet.append(list(H))
            for client_id in ids:
                sheet.append([client_id if h == "Klant-ID" else ROW[h] for h in H])
        else:
            sheet["B2"].number_format = "0.00"  # formatted, but no value
    book.active = active
    path = tmp_path / "master.xlsx"
    book.save(path)
    return path


def _refused(path: Path) -> InvalidMaster:
    with pytest.raises(InvalidMaster) as caught:
        read_master(path)
    assert not isinstance(caught.value, MasterProblems)
    assert caught.value.name == "SX-INVALID-MASTER"
    assert caught.value.exit_code == ExitCode.USAGE
    return caught.value


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_first_sheet_is_not_what_gets_exported(tmp_path: Path, state: State) -> None:
    path = _book(
        tmp_path, [("Oud", state, ["K90000001"]), ("Master", "visible", ["K10000001"])], active=1
    )
    error = _refused(path)
    assert "hidden" in error.message
    assert "Oud" not in error.message and "K9" not in error.message  # place, not content


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_sheet_with_data_after_the_master_is_refused_too(
    tmp_path: Path, state: State
) -> None:
    path = _book(
        tmp_path, [("Master", "visible", ["K10000001"]), ("Oud", state, ["K90000001"])], active=0
    )
    assert "hidden" in _refused(path).message


def test_two_visible_sheets_with_data_are_refused_not_guessed(tmp_path: Path) -> None:
    path = _book(
        tmp_path, [("Januari", "visible", ["K1"]), ("Februari", "visible", ["K2"])], active=1
    )
    assert "2 visible sheets" in _refused(path).message


def test_empty_extra_sheets_hidden_or_not_leave_the_one_data_sheet_read(tmp_path: Path) -> None:
    path = _book(
        tmp_path,
        [
            ("Leeg", "hidden", []),
            ("Notities", "visible", []),
            ("Master", "visible", ["K10000001", "K10000002"]),
            ("Ook leeg", "veryHidden", []),
        ],
        active=2,
    )
    result = read_master(path)
    assert [row.client_id for row in result.rows] == ["K10000001", "K10000002"]
    assert result.sheet == "Master"


def test_a_master_with_only_hidden_sheets_is_refused(tmp_path: Path) -> None:
    book = Workbook()
    visible = book.active
    assert visible is not None
    hidden = book.create_sheet("Verborgen")
    hidden.append(list(H))
    hidden.append([ROW[h] for h in H])
    hidden.sheet_state = "hidden"
    path = tmp_path / "master.xlsx"
    book.save(path)
    assert "hidden" in _refused(path).message


def test_the_cli_refuses_a_master_whose_hidden_first_sheet_holds_the_data(tmp_path: Path) -> None:
    from cli_helpers import init_demo_agency

    agency = tmp_path / "agency"
    init_demo_agency(agency, "11002", "Antwerpen")
    path = _book(
        tmp_path, [("Oud", "hidden", ["K90000001"]), ("Master", "visible", ["K10000001"])], active=1
    )
    result = run_cli(["agency", "export", str(path), "--out", str(tmp_path / "out")], home=agency)
    assert_single_error(result, "SX-INVALID-MASTER", 2)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_control_character_in_a_sheet_name_is_escaped_in_problem_reports(
    tmp_path: Path,
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Master"
    sheet.append(list(H))
    sheet.append([ROW[h] if h != "NIS-code" else "99999" for h in H])
    path = tmp_path / "master.xlsx"
    book.save(path)
    # openpyxl refuses such a title; a hostile file carries it in workbook.xml.
    import zipfile

    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b'name="Master"', b'name="Master&#10;forged&#8238;"'
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(MasterProblems) as caught:
        read_master(path)
    text = caught.value.table() + "".join(str(p) for p in caught.value.problems)
    assert "\n" not in "".join(str(p) for p in caught.value.problems)
    assert "\u202e" not in text
    assert "Master\\nforged\\u202e" in text
