"""The municipal workbook writer: layout, text-only cells, protection, lists, banner,
properties, and no plaintext in $TMPDIR (not even when the writer is killed).

Assertions about what Excel will see are made on the archive's XML, not on openpyxl's
view of it: openpyxl would happily show a formula as the string it was written from.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from securexchange import schema, vocabularies
from securexchange.errors import InternalError
from securexchange.ids import record_id_from_digest
from securexchange.schema import Record
from securexchange.sheets.layout import (
    PACKAGE_HEADERS,
    PROP_PACKAGE,
    PROP_RECORD_COUNT,
    PROP_RECORDS_DIGEST,
    QUALITY_REPORTS,
    QualityReport,
    WorkbookMeta,
    WorkbookRow,
    records_digest,
)
from securexchange.sheets.workbook import write_package_workbook

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
PACKAGE_ID = "pkg-" + "a" * 26
DATA_PART = "xl/worksheets/sheet1.xml"
LISTS_PART = "xl/worksheets/sheet2.xml"
FIRST = 4  # first data row

_NAMES = ("Haddad", "Peeters", "Nowak", "Yılmaz", "Okafor", "Dubois", "Ahmadi")
_FIRST = ("Omar", "Anna", "Piotr", "Elif", "Chidi", "Marie", "Farid")


def record_id(i: int) -> str:
    return record_id_from_digest(hashlib.sha256(f"record {i}".encode()).digest())


def record(i: int) -> Record:
    return Record(
        naam=_NAMES[i % len(_NAMES)],
        voornaam=_FIRST[i % len(_FIRST)],
        adres=f"Kerkstraat {i + 1}" if i % 5 else "",
        postcode="9000",
        gemeente="Gent",
        telefoon=f"+3247{i % 10_000_000:07d}" if i % 3 else "",
        email=f"persoon{i}@example.be" if i % 4 else "",
        contacttaal=vocabularies.CONTACT_LANGUAGES.values[i % 25],
        niveau_nederlands=vocabularies.DUTCH_LEVELS.values[i % 7],
        status_mo=vocabularies.MO_STATUSES.values[i % 5],
        interesses=("buddy", "sport en beweging") if i % 2 else ("geen",),
    )


def make_rows(n: int) -> list[WorkbookRow]:
    statuses = vocabularies.ACTIVITY_STATUSES.values
    return [
        WorkbookRow(
            record_id=record_id(i),
            record=record(i),
            retention=date(2027, 1 + i % 12, 1),
            status=statuses[i % len(statuses)],
            quality=QualityReport("Telefoon", "foutief") if i % 7 == 3 else None,
            outcome="gecorrigeerd" if i % 11 == 5 else None,
        )
        for i in range(n)
    ]


def make_meta(*, demo: bool = False, package_id: str = PACKAGE_ID) -> WorkbookMeta:
    return WorkbookMeta(
        package_id=package_id,
        nis="44021",
        municipality="Gent",
        destroy_by=date(2027, 3, 1),
        demo=demo,
    )


def unchecked_record(**values: Any) -> Record:
    """A Record that skips validation, to prove the writer's own defence.

    Intake refuses formula-like and control-character values; the writer must still
    store whatever reaches it as text, so these tests bypass the field rules.
    """
    fields = {key: getattr(record(1), key) for key in schema.RECORD_KEYS}
    fields.update(values)
    return Record.trusted([fields[key] for key in schema.RECORD_KEYS])


def xml(data: bytes, part: str) -> ET.Element:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return ET.fromstring(archive.read(part))


def cells_by_ref(sheet: ET.Element) -> dict[str, ET.Element]:
    return {c.get("r", ""): c for c in sheet.iterfind(".//m:sheetData/m:row/m:c", NS)}


def inline_text(cell: ET.Element) -> str:
    return "".join(cell.itertext())


def unlocked_style_ids(data: bytes) -> set[str]:
    styles = xml(data, "xl/styles.xml")
    xfs = styles.find("m:cellXfs", NS)
    assert xfs is not None
    return {
        str(index)
        for index, xf in enumerate(xfs.findall("m:xf", NS))
        if (p := xf.find("m:protection", NS)) is not None and p.get("locked") in ("0", "false")
    }


# --- layout ----------------------------------------------------------------------------------


def test_headers_are_the_brief_s_sixteen_columns_in_order() -> None:
    assert PACKAGE_HEADERS == (
        "record-id",
        "Naam",
        "Voornaam",
        "Adres",
        "Postcode",
        "Gemeente",
        "Telefoon",
        "E-mail",
        "Contacttaal",
        "Niveau Nederlands",
        "Status MO",
        "Interesses en noden",
        "Bewaren tot",
        "Status activiteit",
        "Melding gegevenskwaliteit",
        "Afhandeling melding",
    )
    data = write_package_workbook(make_rows(2), make_meta())
    cells = cells_by_ref(xml(data, DATA_PART))
    letters = "ABCDEFGHIJKLMNOP"
    assert tuple(inline_text(cells[f"{c}3"]) for c in letters) == PACKAGE_HEADERS


def test_rows_hold_the_record_retention_status_quality_and_outcome_as_text() -> None:
    rows = make_rows(12)
    data = write_package_workbook(rows, make_meta())
    cells = cells_by_ref(xml(data, DATA_PART))
    for offset, row in enumerate(rows):
        number = FIRST + offset
        for column, expected in zip("ABCDEFGHIJKLMNOP", row.cells(), strict=True):
            cell = cells.get(f"{column}{number}")
            text = inline_text(cell) if cell is not None else ""
            assert text == expected, f"{column}{number}"
            if expected:
                assert cell is not None and cell.get("t") == "inlineStr"
    assert inline_text(cells["M4"]) == "2027-01-01"  # Bewaren tot, ISO date as text
    assert inline_text(cells[f"O{FIRST + 3}"]) == "Telefoon: foutief"
    assert inline_text(cells[f"P{FIRST + 5}"]) == "gecorrigeerd"


def test_sheets_are_inburgeraars_and_a_visible_keuzelijsten() -> None:
    data = write_package_workbook(make_rows(1), make_meta())
    workbook = xml(data, "xl/workbook.xml")
    sheets = workbook.findall("m:sheets/m:sheet", NS)
    assert [(s.get("name"), s.get("state", "visible")) for s in sheets] == [
        ("Inburgeraars", "visible"),
        ("Keuzelijsten", "visible"),
    ]
    protection = workbook.find("m:workbookProtection", NS)
    assert protection is not None and protection.get("lockStructure") == "1"


def test_header_row_is_frozen_filtered_and_columns_have_readable_widths() -> None:
    data = write_package_workbook(make_rows(5), make_meta())
    sheet = xml(data, DATA_PART)
    pane = sheet.find("m:sheetViews/m:sheetView/m:pane", NS)
    assert pane is not None
    assert pane.get("state") == "frozen" and pane.get("ySplit") == "3"
    assert pane.get("topLeftCell") == "B4"
    auto_filter = sheet.find("m:autoFilter", NS)
    assert auto_filter is not None and auto_filter.get("ref") == "A3:P8"
    widths = [float(c.get("width", "0")) for c in sheet.findall("m:cols/m:col", NS)]
    assert len(widths) == 16 and min(widths) >= 10


# --- text stays text -------------------------------------------------------------------------

FORMULA_LIKE = ['=HYPERLINK("http://x","y")', "=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("value", FORMULA_LIKE)
def test_formula_like_text_is_an_inline_string_never_a_formula(value: str) -> None:
    row = WorkbookRow(
        record_id=record_id(1),
        record=unchecked_record(naam=value, adres=value, gemeente=value),
        retention=date(2027, 1, 1),
        status="gestart",
    )
    data = write_package_workbook([row], make_meta())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        raw = archive.read(DATA_PART)
    sheet = ET.fromstring(raw)
    assert sheet.find(".//m:f", NS) is None
    assert b"<f>" not in raw and b"<f " not in raw
    cells = cells_by_ref(sheet)
    for ref in ("B4", "D4", "F4"):
        assert cells[ref].get("t") == "inlineStr"
        assert cells[ref].find("m:v", NS) is None
        assert inline_text(cells[ref]) == value


@pytest.mark.parametrize("bad", ["\x01", "\x1f", "\ufffe", "\ud800", "x" * 32_768])
def test_a_value_no_workbook_can_hold_is_refused_without_echoing_it(bad: str) -> None:
    row = WorkbookRow(
        record_id=record_id(1),
        record=unchecked_record(naam="Geheim" + bad),
        retention=date(2027, 1, 1),
        status="gestart",
    )
    with pytest.raises(InternalError) as caught:
        write_package_workbook([row], make_meta())
    assert "Geheim" not in str(caught.value)
    assert "row 4" in str(caught.value)


# --- protection and lists --------------------------------------------------------------------


def test_only_status_and_quality_cells_are_unlocked_and_both_sheets_are_protected() -> None:
    rows = make_rows(9)
    data = write_package_workbook(rows, make_meta())
    unlocked = unlocked_style_ids(data)
    assert unlocked, "no unlocked cell style"
    sheet = xml(data, DATA_PART)
    unlocked_cells = {ref for ref, c in cells_by_ref(sheet).items() if c.get("s") in unlocked}
    expected = {f"{col}{FIRST + i}" for col in "NO" for i in range(len(rows))}
    assert unlocked_cells == expected
    for part in (DATA_PART, LISTS_PART):
        protection = xml(data, part).find("m:sheetProtection", NS)
        assert protection is not None and protection.get("sheet") == "1"
        # No password: sheet protection is a UI guard, not a security boundary.
        assert protection.get("password") is None and protection.get("hashValue") is None
    lists = xml(data, LISTS_PART)
    assert not {c.get("s") for c in cells_by_ref(lists).values()} & unlocked


def test_drop_downs_reference_the_lists_on_keuzelijsten() -> None:
    rows = make_rows(6)
    data = write_package_workbook(rows, make_meta())
    validations = xml(data, DATA_PART).findall("m:dataValidations/m:dataValidation", NS)
    by_range = {v.get("sqref"): v for v in validations}
    assert set(by_range) == {"N4:N9", "O4:O9"}
    status, quality = by_range["N4:N9"], by_range["O4:O9"]
    assert status.get("type") == "list" and quality.get("type") == "list"
    assert status.findtext("m:formula1", namespaces=NS) == "Keuzelijsten!$A$3:$A$10"
    assert quality.findtext("m:formula1", namespaces=NS) == "Keuzelijsten!$B$3:$B$68"
    assert status.get("allowBlank") == "0" and quality.get("allowBlank") == "1"

    lists = cells_by_ref(xml(data, LISTS_PART))
    statuses = [inline_text(lists[f"A{r}"]) for r in range(3, 11)]
    assert statuses == list(vocabularies.ACTIVITY_STATUSES.values)
    reports = [inline_text(lists[f"B{r}"]) for r in range(3, 69)]
    assert reports == [report.label for report in QUALITY_REPORTS]


def test_quality_list_is_every_shared_field_times_every_art7_problem() -> None:
    labels = [report.label for report in QUALITY_REPORTS]
    assert len(labels) == len(schema.SHARED_HEADERS) * 6 == 66
    assert "Telefoon: foutief" in labels and "Interesses en noden: overtollig" in labels
    assert len(set(labels)) == len(labels)
    # Inline list formulas are capped at 255 characters: why the lists live on a sheet.
    assert len(",".join(labels)) > 255


def test_an_empty_package_still_gets_headers_banner_and_protection() -> None:
    data = write_package_workbook([], make_meta())
    sheet = xml(data, DATA_PART)
    assert sheet.find("m:dataValidations", NS) is None
    assert sheet.find("m:sheetProtection", NS) is not None
    assert inline_text(cells_by_ref(sheet)["A3"]) == "record-id"


# --- banner, demo, properties ----------------------------------------------------------------


def test_banner_says_personal_data_do_not_copy_and_the_destroy_date() -> None:
    data = write_package_workbook(make_rows(2), make_meta())
    sheet = xml(data, DATA_PART)
    cells = cells_by_ref(sheet)
    banner = inline_text(cells["A1"]) + " " + inline_text(cells["A2"])
    for phrase in ("persoonsgegevens", "Niet kopiëren", "doorsturen", "1 maart 2027"):
        assert phrase in banner
    merged = {m.get("ref") for m in sheet.findall("m:mergeCells/m:mergeCell", NS)}
    assert {"A1:P1", "A2:P2"} <= merged
    assert "DEMO" not in ET.tostring(sheet).decode()


def test_demo_package_says_demo_on_every_sheet() -> None:
    data = write_package_workbook(make_rows(2), make_meta(demo=True))
    for part in (DATA_PART, LISTS_PART):
        sheet = xml(data, part)
        assert inline_text(cells_by_ref(sheet)["A1"]).startswith("DEMO")
        header = sheet.findtext("m:headerFooter/m:oddHeader", namespaces=NS)
        assert header is not None and "DEMO" in header


def test_properties_carry_package_id_count_and_records_digest_not_the_ids() -> None:
    rows = make_rows(30)
    data = write_package_workbook(rows, make_meta())
    custom = xml(data, "docProps/custom.xml")
    props = {
        p.get("name"): "".join(p.itertext())
        for p in custom.findall(
            "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}property"
        )
    }
    assert props[PROP_PACKAGE] == PACKAGE_ID
    assert props[PROP_RECORD_COUNT] == "30"
    assert props[PROP_RECORDS_DIGEST] == records_digest([r.record_id for r in rows])
    assert all(len(value) <= 255 for value in props.values())  # Excel's cap
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        core = archive.read("docProps/core.xml") + archive.read("docProps/custom.xml")
    assert rows[0].record_id.encode() not in core


# --- refusals --------------------------------------------------------------------------------


def test_duplicate_record_ids_are_refused() -> None:
    rows = make_rows(2)
    with pytest.raises(ValueError, match="duplicate"):
        write_package_workbook([rows[0], rows[0]], make_meta())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"record_id": "K123"}, "record id"),
        ({"status": "bezig"}, "activity status"),
        ({"outcome": "opgelost"}, "outcome"),
    ],
)
def test_workbook_row_refuses_values_outside_its_rules(
    change: dict[str, str], message: str
) -> None:
    values: dict[str, Any] = {
        "record_id": record_id(1),
        "record": record(1),
        "retention": date(2027, 1, 1),
        "status": "gestart",
    }
    values.update(change)
    with pytest.raises(ValueError, match=message):
        WorkbookRow(**values)


def test_quality_report_refuses_fields_and_problems_outside_art7() -> None:
    with pytest.raises(ValueError):
        QualityReport("Klant-ID", "foutief")
    with pytest.raises(ValueError):
        QualityReport("Telefoon", "lelijk")


def test_meta_refuses_a_non_package_id() -> None:
    with pytest.raises(ValueError):
        make_meta(package_id="ret-" + "a" * 26)


# --- no plaintext in $TMPDIR -----------------------------------------------------------------

_CHILD = """
import sys, tempfile
sys.path[:0] = {paths!r}
from test_workbook import make_meta, make_rows
assert tempfile.gettempdir() == {tmpdir!r}, tempfile.gettempdir()
rows = make_rows({count})
{writer}
"""
_OURS = """
from securexchange.sheets.workbook import write_workbook
print("writing", flush=True)
data = write_workbook(rows, make_meta())
print(len(data), flush=True)
"""
# The control: what openpyxl's write-only mode does on its own.
_BARE = """
from openpyxl import Workbook
wb = Workbook(write_only=True)
ws = wb.create_sheet("x")
print("writing", flush=True)
for row in rows:
    ws.append(list(row.cells()))
wb.save(__import__("io").BytesIO())
print("done", flush=True)
"""


def _spawn(tmpdir: Path, count: int, writer: str) -> subprocess.Popen[str]:
    paths = [str(Path(__file__).parent), str(Path(__file__).parents[1] / "src")]
    code = _CHILD.format(paths=paths, tmpdir=str(tmpdir), count=count, writer=writer)
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _kill_while_writing(tmpdir: Path, count: int, writer: str) -> list[str]:
    child = _spawn(tmpdir, count, writer)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "writing"
    time.sleep(0.5)
    assert child.poll() is None, "the writer finished before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    child.stdout.close()
    assert child.stderr is not None
    child.stderr.close()
    return sorted(os.listdir(tmpdir))


def test_a_normal_write_leaves_nothing_in_tmpdir(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    child = _spawn(tmpdir, 500, _OURS)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert int(out.split()[-1]) > 0
    assert os.listdir(tmpdir) == []


def test_killing_the_writer_mid_write_leaves_nothing_in_tmpdir(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    # Enough rows that the writer (about 40,000 rows a second) is mid-write when killed.
    assert _kill_while_writing(tmpdir, 100_000, _OURS) == []


def test_control_bare_openpyxl_write_only_leaks_a_temp_file_when_killed(tmp_path: Path) -> None:
    """Proves the test above can see a leak: openpyxl on its own leaves one behind."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    leftovers = _kill_while_writing(tmpdir, 20_000, _BARE)
    assert any(name.startswith("openpyxl.") for name in leftovers)


_REPORT = """
from openpyxl import Workbook
from securexchange.sheets.memory import attach_memory_writer, save_in_memory
wb = Workbook(write_only=True)
for title in ("Status", "Historiek"):
    ws = wb.create_sheet(title)
    ws.column_dimensions["A"].width = 30
    attach_memory_writer(ws)
    for row in rows:
        ws.append(list(row.cells()))
print("writing", flush=True)
print(len(save_in_memory(wb)), flush=True)
"""


def test_other_write_only_workbooks_can_stream_into_memory_too(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    child = _spawn(tmpdir, 300, _REPORT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert int(out.split()[-1]) > 0
    assert os.listdir(tmpdir) == []


def _core_times(data: bytes) -> tuple[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        core = ET.fromstring(archive.read("docProps/core.xml"))
    terms = "{http://purl.org/dc/terms/}"
    return core.findtext(f"{terms}created") or "", core.findtext(f"{terms}modified") or ""


def test_the_workbook_carries_the_callers_time_and_reads_no_clock() -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    when = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    stamped = write_package_workbook(make_rows(1), replace(make_meta(), written_at=when))
    assert _core_times(stamped) == ("2027-03-01T09:30:00Z", "2027-03-01T09:30:00Z")
    undated = write_package_workbook(make_rows(1), make_meta())
    assert _core_times(undated) == ("1980-01-01T00:00:00Z", "1980-01-01T00:00:00Z")


def test_workbook_metadata_refuses_a_naive_time() -> None:
    from dataclasses import replace
    from datetime import datetime

    with pytest.raises(ValueError):
        replace(make_meta(), written_at=datetime(2027, 3, 1))
