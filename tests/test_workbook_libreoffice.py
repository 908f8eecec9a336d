"""Interoperability with LibreOffice Calc: an independent OOXML implementation.

Excel cannot run in CI; LibreOffice can (headless). Workbooks we write open in Calc with
every cell as the text we wrote (its CSV export, with text cells quoted, so a cell it
took for a number, a date or a formula shows up); a workbook Calc saves back unedited
reads as unedited; edits made in Calc through its sheet API (``tests/lo_edit.py``, run
by the system python with python3-uno) read back as exactly those edits, and an edit
of a locked cell is reported.

Every soffice run has its own user profile under ``tmp_path`` and a timeout, and runs in
its own process group, which is killed if the timeout passes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from datetime import date
from pathlib import Path

import pytest

from conftest import require_binary
from securexchange import schema, vocabularies
from securexchange.schema import Record
from securexchange.sheets.layout import (
    DATA_SHEET,
    FIRST_DATA_ROW,
    HEADER_ROW,
    HEADERS,
    QUALITY_HEADERS,
    QUALITY_REPORTS,
    STAFF_LAYOUT,
    QualityReport,
    WorkbookRow,
    cells_in,
    quality_header,
)
from securexchange.sheets.workbook import write_workbook
from securexchange.sheets.workbook_edits import ChangedCell, ExpectedWorkbook
from securexchange.sheets.workbook_read import read_workbook
from securexchange.sheets.xlsxguard import column_letters
from test_workbook import PACKAGE_ID, make_meta, make_rows, record_id, unchecked_record

pytestmark = pytest.mark.interop

SYSTEM_PYTHON = "/usr/bin/python3"
LO_EDIT = Path(__file__).with_name("lo_edit.py")
TIMEOUT = 120
# Comma-separated, '"'-quoted, UTF-8 (76), from line 1; "quote all text cells" on, so a
# text cell is quoted and a number, date or formula result is not; every sheet (-1).
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,true,true,false,false,false,-1"
XLSX_FILTER = "xlsx:Calc MS Excel 2007 XML"
STATUS = HEADERS.index(schema.HEADER_ACTIVITY)
TELEFOON = HEADERS.index(quality_header("Telefoon"))
EMAIL = HEADERS.index(quality_header("E-mail"))


# --- rows -------------------------------------------------------------------------------


def person(
    naam: str,
    voornaam: str,
    adres: str,
    gemeente: str,
    telefoon: str = "",
    email: str = "",
    postcode: str = "9000",
) -> Record:
    return Record(
        naam=naam,
        voornaam=voornaam,
        adres=adres,
        postcode=postcode,
        gemeente=gemeente,
        telefoon=telefoon,
        email=email,
        contacttaal="Oekraïens",
        niveau_nederlands="A2",
        status_mo="lopend",
        interesses=("buddy", "Nederlands oefenen", "nood aan gratis activiteit"),
    )


def hostile_records() -> list[Record]:
    """Valid records whose texts look like formulas, numbers, dates, markup or errors.

    The schema refuses a leading "=", "+", "-", "@" and surrounding spaces in names,
    addresses and e-mail (``schema.text_problem``); a phone number starts with "+" by
    rule, the retention date is ISO text, and anything else may appear inside a value.
    """
    return [
        person(
            "Yılmaz & Zonen <BV>",
            "Kopiëren ]]> 🌷",
            "Kerkstraat 1 = 1+1 & A1+B1",
            "TRUE",
            telefoon="+32470123456",
            email="o'brien+x&y@example.be",
        ),
        # Repeated inner spaces; a typed text prefix, here part of the text.
        person("Van  den  Broeck", "'=1+1", "1/2", "12:30", telefoon="+3292345678"),
        person("0012", "1e5", "(123)", "#N/A", email="jean-luc@example.be", postcode="1000"),
        person("<script>alert(1)</script>", "Ali@Home", "50%", "SUM(A1:A3)", "+3225550000"),
        # A zero-width space first: not a formula start, for the schema or a spreadsheet.
        person(
            '\u200b=HYPERLINK("http://example.com")',
            "Ωmega 中文 👩\u200d👩\u200d👧",
            "2027-01-01",
            "1,5",
        ),
    ]


def _more(i: int) -> tuple[QualityReport, ...]:
    """A second open report on every fourth row (layout 3 shows one per field)."""
    if i % 4 != 3:
        return ()
    field = QUALITY_REPORTS[i * 7 % len(QUALITY_REPORTS)].field
    return (QualityReport("Naam" if field != "Naam" else "Adres", "overtollig"),)


def workbook_rows(records: list[Record], offset: int = 100) -> list[WorkbookRow]:
    statuses = vocabularies.ACTIVITY_STATUSES.values
    return [
        WorkbookRow(
            record_id=record_id(offset + i),
            record=record,
            retention=date(2027, 1 + i % 12, 1),
            status=statuses[i % len(statuses)],
            quality=QUALITY_REPORTS[i * 7 % len(QUALITY_REPORTS)] if i % 2 else None,
            outcome=vocabularies.QUALITY_OUTCOMES.values[i % 3] if i % 3 == 1 else None,
            more_quality=_more(i),
        )
        for i, record in enumerate(records)
    ]


# Hostile texts first, then ordinary rows: 17 records with every status and outcome.
ROWS = workbook_rows(hostile_records()) + make_rows(12)
EXPECTED = ExpectedWorkbook(package_id=PACKAGE_ID, rows=tuple(ROWS))


# --- running LibreOffice --------------------------------------------------------------------


@pytest.fixture
def soffice_bin() -> str:
    return require_binary("soffice")


@pytest.fixture
def uno_python(soffice_bin: str) -> str:
    """The system python with python3-uno; skipped locally when missing, failed in CI."""
    found = os.path.exists(SYSTEM_PYTHON) and (
        subprocess.run(
            [SYSTEM_PYTHON, "-c", "import uno"], check=False, capture_output=True, timeout=60
        ).returncode
        == 0
    )
    if not found:
        if os.environ.get("CI"):
            pytest.fail("python3-uno is required in CI (installed by .ci/run)")
        pytest.skip("python3-uno not installed for /usr/bin/python3")
    return SYSTEM_PYTHON


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a LibreOffice job in its own process group; kill the group on timeout."""
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # The group's leader is not reaped yet, so the group id is still ours.
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{argv[0]} timed out after {TIMEOUT} s")
    assert process.returncode == 0, (out, err)
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def convert(soffice: str, source: Path, target_filter: str, tmp_path: Path) -> Path:
    """``soffice --convert-to`` into a new directory, with a private profile."""
    out = tmp_path / f"out-{uuid.uuid4().hex[:8]}"
    profile = tmp_path / f"profile-{uuid.uuid4().hex[:8]}"
    run(
        [
            soffice,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            target_filter,
            "--outdir",
            str(out),
            str(source),
        ]
    )
    return out


def edit_in_calc(
    python: str, soffice: str, data: bytes, edits: list[dict[str, str]], tmp_path: Path
) -> bytes:
    """The workbook after LibreOffice loaded it, made ``edits`` and saved it as .xlsx."""
    source = tmp_path / "sent.xlsx"
    source.write_bytes(data)
    target = tmp_path / "returned.xlsx"
    job = {
        "soffice": soffice,
        "profile": str(tmp_path / "profile-uno"),
        "pipe": f"securexchange-test-{uuid.uuid4().hex}",
        "input": str(source),
        "output": str(target),
        "edits": edits,
    }
    run([python, str(LO_EDIT), json.dumps(job)])
    return target.read_bytes()


def write(rows: list[WorkbookRow], tmp_path: Path) -> Path:
    path = tmp_path / "wb.xlsx"
    path.write_bytes(write_workbook(rows, make_meta()))
    return path


# --- reading a CSV export with its quoting ---------------------------------------------------


def parse_csv(text: str) -> list[list[tuple[str, bool]]]:
    """Rows of (value, quoted): the csv module does not say which fields were quoted."""
    rows: list[list[tuple[str, bool]]] = []
    row: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            parts: list[str] = []
            i += 1
            while True:
                end = text.index('"', i)
                parts.append(text[i:end])
                i = end + 1
                if i < n and text[i] == '"':
                    parts.append('"')
                    i += 1
                    continue
                break
            row.append(("".join(parts), True))
        else:
            end = i
            while end < n and text[end] not in ",\r\n":
                end += 1
            row.append((text[i:end], False))
            i = end
        if i < n and text[i] == ",":
            i += 1
            if i == n or text[i] in "\r\n":
                row.append(("", False))
            if i < n and text[i] not in "\r\n":
                continue
        if i < n and text[i] == "\r":
            i += 1
        if i < n and text[i] == "\n":
            i += 1
        rows.append(row)
        row = []
    return rows


def data_sheet_cells(out: Path) -> list[list[tuple[str, bool]]]:
    (csv_file,) = out.glob(f"*-{DATA_SHEET}.csv")
    return parse_csv(csv_file.read_text(encoding="utf-8"))


def as_written(rows: list[WorkbookRow]) -> list[list[tuple[str, bool]]]:
    """What the export shows for text cells: the text, quoted; an empty cell unquoted."""
    return [
        [(text, bool(text)) for text in cells_in(STAFF_LAYOUT, row.all_cells())] for row in rows
    ]


def padded(rows: list[list[tuple[str, bool]]]) -> list[list[tuple[str, bool]]]:
    width = len(HEADERS)
    return [row + [("", False)] * (width - len(row)) for row in rows]


# --- LibreOffice reads what we wrote ---------------------------------------------------------


def test_libreoffice_reads_every_data_cell_as_the_text_written(
    soffice_bin: str, tmp_path: Path
) -> None:
    out = convert(soffice_bin, write(ROWS, tmp_path), CSV_FILTER, tmp_path)
    sheet = data_sheet_cells(out)
    assert [value for value, _ in sheet[HEADER_ROW - 1]] == list(HEADERS)
    assert padded(sheet[FIRST_DATA_ROW - 1 :]) == as_written(ROWS)


def test_libreoffice_keeps_formula_starts_and_surrounding_spaces_as_text(
    soffice_bin: str, tmp_path: Path
) -> None:
    """The writer's second lock: texts intake refuses still reach Calc as text.

    These records skip validation (as in tests/test_workbook.py): a vault should never
    hold them, but the writer must store whatever reaches it as text, never a formula.
    """
    records = [
        unchecked_record(naam="=1+1", voornaam="+1", adres="-1-1", gemeente="@SUM(1,2)"),
        unchecked_record(
            naam=" Haddad ", voornaam="  Anna", adres="Kerkstraat 1  ", gemeente=" =2*3"
        ),
        unchecked_record(
            naam='=HYPERLINK("http://example.com","x")',
            voornaam="-2+3",
            adres="+5",
            gemeente="@A1",
        ),
    ]
    rows = workbook_rows(records)
    out = convert(soffice_bin, write(rows, tmp_path), CSV_FILTER, tmp_path)
    assert padded(data_sheet_cells(out)[FIRST_DATA_ROW - 1 :]) == as_written(rows)


# --- LibreOffice saves, we read ----------------------------------------------------------------


def test_workbook_resaved_by_libreoffice_reads_back_unchanged(
    soffice_bin: str, tmp_path: Path
) -> None:
    out = convert(soffice_bin, write(ROWS, tmp_path), XLSX_FILTER, tmp_path)
    data = (out / "wb.xlsx").read_bytes()
    result = read_workbook(data, expected=EXPECTED, name="wb.xlsx")
    assert result.changed_cells == ()
    assert result.missing == ()
    assert result.edits == ()
    assert [(r.record_id, r.status, r.reports) for r in result.records] == [
        (row.record_id, row.status, row.reports) for row in ROWS
    ]
    assert any(len(row.reports) == 2 for row in ROWS)


def test_libreoffice_keeps_the_staff_layout_s_drop_downs_frozen_names_and_toelichting(
    soffice_bin: str, tmp_path: Path
) -> None:
    import openpyxl

    out = convert(soffice_bin, write(ROWS, tmp_path), XLSX_FILTER, tmp_path)
    book = openpyxl.load_workbook(out / "wb.xlsx")
    assert book.sheetnames == [DATA_SHEET, "Keuzelijsten", "Toelichting"]
    sheet = book[DATA_SHEET]
    # (Frozen panes are view state, which a headless conversion does not keep.)
    assert sheet.page_setup.orientation == "landscape"
    last = FIRST_DATA_ROW + len(ROWS) - 1
    lists = {str(v.sqref): str(v.formula1) for v in sheet.data_validations.dataValidation}
    status = column_letters(STATUS + 1)
    assert "Keuzelijsten" in lists[f"{status}{FIRST_DATA_ROW}:{status}{last}"]
    # Every reportable field keeps its own drop-down of the six problems.
    for header in QUALITY_HEADERS:
        quality = column_letters(HEADERS.index(header) + 1)
        assert "$B$3:$B$8" in lists[f"{quality}{FIRST_DATA_ROW}:{quality}{last}"]
    problems = [book["Keuzelijsten"][f"B{r}"].value for r in range(3, 9)]
    assert problems == list(vocabularies.QUALITY_PROBLEMS.values)
    assert book["Toelichting"]["A4"].value == vocabularies.ACTIVITY_STATUSES.values[0]


def cell(column: int, index: int) -> str:
    """The address of column ``column`` (0-based) in the row of ``ROWS[index]``."""
    return f"{column_letters(column + 1)}{FIRST_DATA_ROW + index}"


def test_edits_made_in_libreoffice_are_read_as_exactly_those_edits(
    uno_python: str, soffice_bin: str, tmp_path: Path
) -> None:
    status_row, quality_row = 1, 4  # one hostile record, one ordinary; neither reported
    assert ROWS[quality_row].quality is None
    new_status = next(
        s for s in vocabularies.ACTIVITY_STATUSES.values if s != ROWS[status_row].status
    )
    # Two fields of one row, each in its own column.
    reports = (QualityReport("Telefoon", "verouderd"), QualityReport("E-mail", "overtollig"))
    data = edit_in_calc(
        uno_python,
        soffice_bin,
        write_workbook(ROWS, make_meta()),
        [
            {"sheet": DATA_SHEET, "cell": cell(STATUS, status_row), "text": new_status},
            {"sheet": DATA_SHEET, "cell": cell(TELEFOON, quality_row), "text": "verouderd"},
            {"sheet": DATA_SHEET, "cell": cell(EMAIL, quality_row), "text": "overtollig"},
        ],
        tmp_path,
    )
    result = read_workbook(data, expected=EXPECTED, name="returned.xlsx")
    assert result.changed_cells == ()
    assert result.missing == ()
    edits = [
        (e.record_id, e.status, e.reports, e.status_changed, e.quality_changed)
        for e in result.edits
    ]
    assert edits == [
        (ROWS[status_row].record_id, new_status, ROWS[status_row].reports, True, False),
        (ROWS[quality_row].record_id, ROWS[quality_row].status, reports, False, True),
    ]
    unchanged = [r for r in result.records if not r.changed]
    assert len(unchanged) == len(ROWS) - 2


def test_edit_of_a_locked_cell_in_libreoffice_is_reported_by_position(
    uno_python: str, soffice_bin: str, tmp_path: Path
) -> None:
    data = edit_in_calc(
        uno_python,
        soffice_bin,
        write_workbook(ROWS, make_meta()),
        [{"sheet": DATA_SHEET, "cell": cell(HEADERS.index("Naam"), 2), "text": "Anders"}],
        tmp_path,
    )
    result = read_workbook(data, expected=EXPECTED, name="returned.xlsx")
    naam = column_letters(HEADERS.index("Naam") + 1)
    assert result.changed_cells == (
        ChangedCell(row=FIRST_DATA_ROW + 2, column=naam, header="Naam"),
    )
    assert result.edits == ()
    assert result.missing == ()


def test_formula_typed_into_an_editable_cell_in_libreoffice_is_refused(
    uno_python: str, soffice_bin: str, tmp_path: Path
) -> None:
    formula = f'="{vocabularies.ACTIVITY_STATUSES.values[3]}"'
    data = edit_in_calc(
        uno_python,
        soffice_bin,
        write_workbook(ROWS, make_meta()),
        [{"sheet": DATA_SHEET, "cell": cell(STATUS, 0), "formula": formula}],
        tmp_path,
    )
    result = read_workbook(data, expected=EXPECTED, name="returned.xlsx")
    (problem,) = result.problems
    assert problem.header == "Status activiteit" and "formula" in problem.why
    assert problem.row == FIRST_DATA_ROW and result.edits == ()
