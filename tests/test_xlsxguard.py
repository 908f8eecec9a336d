"""The .xlsx guard, and hostile masters refused within 5 s and 256 MiB.

Hostile workbooks are written here as raw XML parts zipped with zipfile (openpyxl is
too slow for a million rows and would refuse to write most of them anyway).
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securexchange import schema
from securexchange.errors import HostileFile
from securexchange.sheets import tagcount, xlsxguard
from securexchange.sheets.xlsxguard import XlsxLimits, check_xlsx, column_index, column_letters

try:  # another engineer's shared helper; the same thing locally until it lands
    from hostile import run_limited  # type: ignore[import-not-found]
except ImportError:

    def run_limited(
        code: str, timeout: float = 5, mem: int = 256 << 20
    ) -> subprocess.CompletedProcess[str]:
        """Run Python ``code`` in a child limited to ``mem`` bytes of address space."""
        prelude = textwrap.dedent(
            f"""
            import resource
            resource.setrlimit(resource.RLIMIT_AS, ({mem}, {mem}))
            """
        )
        return subprocess.run(
            [sys.executable, "-c", prelude + textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


PKG = "http://schemas.openxmlformats.org/package/2006"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
CONTENT_TYPES = (
    f'{DECL}<Types xmlns="{PKG}/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{SML}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SML}.worksheet+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    f'{DECL}<Relationships xmlns="{PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    f'{DECL}<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    f'xmlns:r="{REL}">'
    '<sheets><sheet name="Master" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'{DECL}<Relationships xmlns="{PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)

# A refusal that has not come after this long is a hang (speed is measured in
# benchmarks/, not here; a loaded 2-core CI machine takes several seconds for 100,000 rows).
HANG = 60


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sheet_xml(rows: Iterable[Iterable[str]], *, dimension: str | None = "auto") -> bytes:
    """A worksheet with inline strings; ``dimension`` None leaves the element out."""
    parts: list[str] = []
    last_row = 0
    last_col = 1
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row, start=1):
            ref = f"{column_letters(c)}{r}"
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{_escape(value)}</t></is></c>')
            last_col = max(last_col, c)
        parts.append(f'<row r="{r}">{"".join(cells)}</row>')
        last_row = r
    if dimension == "auto":
        dimension = f"A1:{column_letters(last_col)}{max(last_row, 1)}"
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (SHEET_HEAD + dim + "<sheetData>" + "".join(parts) + "</sheetData></worksheet>").encode()


def build_xlsx(
    sheet: bytes,
    *,
    extra: Mapping[str, bytes] | None = None,
    replace: Mapping[str, bytes] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    members: dict[str, bytes] = {
        "[Content_Types].xml": CONTENT_TYPES.encode(),
        "_rels/.rels": ROOT_RELS.encode(),
        "xl/workbook.xml": WORKBOOK.encode(),
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS.encode(),
        "xl/worksheets/sheet1.xml": sheet,
    }
    members.update(replace or {})
    members.update(extra or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def master_sheet(rows: int = 1) -> bytes:
    data = [
        "K10000001", "Haddad", "Omar", "Kerkstraat 1", "2000", "Antwerpen", "11002",
        "0470 12 34 56", "omar@gmail.com", "Arabisch", "A2", "lopend", "buddy", "",
    ]  # fmt: skip
    return sheet_xml([list(schema.MASTER_HEADERS)] + [data] * rows)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    + b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    + b"</sheetData></worksheet>"
)
XXE_WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    + WORKBOOK.split("?>\n", 1)[1].encode().replace(b'name="Master"', b'name="&xxe;"')
)


def million_rows(*, dimension: bool) -> bytes:
    row = '<row r="{0}"><c r="A{0}"><v>1</v></c></row>'
    body = "".join(row.format(i) for i in range(1, 1_000_001))
    dim = '<dimension ref="A1:A1000000"/>' if dimension else ""
    return (SHEET_HEAD + dim + "<sheetData>" + body + "</sheetData></worksheet>").encode()


# --- unit checks --------------------------------------------------------------------------


def test_a_plain_workbook_passes_and_calamine_reads_it() -> None:
    data = build_xlsx(master_sheet(3))
    check_xlsx(data, XlsxLimits())
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    rows = book.get_sheet_by_index(0).to_python()
    assert rows[0][0] == "Klant-ID"
    assert len(rows) == 4


def test_column_names_and_indexes_agree() -> None:
    for index in (1, 26, 27, 52, 702, 703, 16384):
        assert column_index(column_letters(index)) == index
    assert column_letters(16384) == "XFD"


def test_billion_laughs_is_refused_for_its_document_type() -> None:
    with pytest.raises(HostileFile, match="document type"):
        check_xlsx(build_xlsx(BILLION_LAUGHS), XlsxLimits())


def test_external_entity_in_the_workbook_part_is_refused() -> None:
    data = build_xlsx(master_sheet(), replace={"xl/workbook.xml": XXE_WORKBOOK})
    with pytest.raises(HostileFile, match="document type"):
        check_xlsx(data, XlsxLimits())


def test_a_doctype_hidden_behind_a_long_comment_is_refused() -> None:
    padded = (
        b'<?xml version="1.0"?>\n<!--' + b"x" * (100 << 10) + b"-->"
        b'<!DOCTYPE x [<!ENTITY a "b">]><worksheet/>'
    )
    with pytest.raises(HostileFile):
        check_xlsx(build_xlsx(padded), XlsxLimits())


def test_utf16_xml_is_refused_because_a_doctype_would_be_invisible() -> None:
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><worksheet/>'.encode("utf-16")
    with pytest.raises(HostileFile, match="UTF-8"):
        check_xlsx(build_xlsx(utf16), XlsxLimits())


def test_a_claimed_dimension_beyond_the_row_cap_fails_fast() -> None:
    sheet = sheet_xml([["a"]], dimension="A1:XFD2000000000")
    started = time.perf_counter()
    with pytest.raises(HostileFile, match="claims more than"):
        check_xlsx(build_xlsx(sheet), XlsxLimits())
    assert time.perf_counter() - started < 1


def test_a_claimed_dimension_beyond_the_column_cap_is_refused() -> None:
    with pytest.raises(HostileFile, match="columns"):
        check_xlsx(build_xlsx(sheet_xml([["a"]], dimension="A1:ZZ10")), XlsxLimits())


def test_a_single_cell_far_away_is_refused_because_readers_allocate_up_to_it() -> None:
    body = '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="AZ2"><v>1</v></c></row>'
    sheet = (SHEET_HEAD + f"<sheetData>{body}</sheetData></worksheet>").encode()
    with pytest.raises(HostileFile, match="beyond row"):
        check_xlsx(build_xlsx(sheet), XlsxLimits())
    check_xlsx(build_xlsx(sheet), XlsxLimits(max_columns=52))


def test_rows_beyond_the_cap_are_counted_even_when_the_dimension_lies() -> None:
    # Rows without an r attribute: no reference is far, only counting finds them.
    body = '<row><c r="A1"><v>1</v></c></row>' * 30
    sheet = SHEET_HEAD + f'<dimension ref="A1:A2"/><sheetData>{body}</sheetData></worksheet>'
    sheet = sheet.encode()
    with pytest.raises(HostileFile, match="more than 20 rows"):
        check_xlsx(build_xlsx(sheet), XlsxLimits(max_rows=20))
    check_xlsx(build_xlsx(sheet), XlsxLimits(max_rows=40))


def test_cells_without_a_reference_are_refused_because_they_widen_the_grid() -> None:
    # Each unreferenced cell lands right of the previous one: one long row of them
    # would make the reader allocate rows x that width, whatever the column cap says.
    body = '<row r="1">' + "<c><v>1</v></c>" * 40 + "</row>"
    sheet = (SHEET_HEAD + f"<sheetData>{body}</sheetData></worksheet>").encode()
    with pytest.raises(HostileFile, match="without a cell reference"):
        check_xlsx(build_xlsx(sheet), XlsxLimits())


def test_a_zip_bomb_member_is_refused_from_the_directory_alone() -> None:
    bomb = build_xlsx(master_sheet(), extra={"xl/media/zeros.bin": bytes(32 << 20)})
    assert len(bomb) < 1 << 20
    with pytest.raises(HostileFile, match="zip bomb"):
        check_xlsx(bomb, XlsxLimits())


def test_member_and_total_size_caps_are_enforced() -> None:
    data = build_xlsx(master_sheet(), extra={"xl/media/a.bin": bytes(4096)})
    with pytest.raises(HostileFile, match="expands to more than"):
        check_xlsx(data, XlsxLimits(max_member_bytes=2048))
    with pytest.raises(HostileFile, match="expands to more than"):
        check_xlsx(data, XlsxLimits(max_total_bytes=4096))


@pytest.mark.parametrize(
    "part",
    [
        "xl/vbaProject.bin",
        "xl/externalLinks/externalLink1.xml",
        "xl/activeX/activeX1.bin",
        "xl/embeddings/oleObject1.bin",
        "xl/connections.xml",
    ],
)
def test_macros_external_links_and_embedded_objects_are_refused(part: str) -> None:
    data = build_xlsx(master_sheet(), extra={part: b"<x/>"})
    with pytest.raises(HostileFile, match="macros"):
        check_xlsx(data, XlsxLimits())


def test_a_macro_enabled_content_type_is_refused() -> None:
    types = CONTENT_TYPES.replace("sheet.main+xml", "sheet.macroEnabled.main+xml")
    data = build_xlsx(master_sheet(), replace={"[Content_Types].xml": types.encode()})
    with pytest.raises(HostileFile, match="macro"):
        check_xlsx(data, XlsxLimits())


def test_too_many_members_are_refused() -> None:
    extra = {f"xl/media/{i}.png": b"x" for i in range(20)}
    with pytest.raises(HostileFile, match="more than 10 parts"):
        check_xlsx(build_xlsx(master_sheet(), extra=extra), XlsxLimits(max_members=10))


def test_unsafe_member_names_are_refused() -> None:
    with pytest.raises(HostileFile, match="unsafe name"):
        check_xlsx(build_xlsx(master_sheet(), extra={"../evil.xml": b"<x/>"}), XlsxLimits())


def test_a_damaged_member_is_refused_by_its_checksum() -> None:
    data = bytearray(build_xlsx(master_sheet(), compression=zipfile.ZIP_STORED))
    at = bytes(data).index(b"Haddad")
    data[at] ^= 0x20
    with pytest.raises(HostileFile, match="damaged"):
        check_xlsx(bytes(data), XlsxLimits())


def test_password_protected_and_non_zip_files_are_refused_with_their_own_message(
    tmp_path: Path,
) -> None:
    ole = tmp_path / "protected.xlsx"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    with pytest.raises(HostileFile, match="password-protected") as caught:
        check_xlsx(ole, XlsxLimits())
    assert caught.value.hint is not None
    with pytest.raises(HostileFile, match=r"not an \.xlsx"):
        check_xlsx(b"Naam;Voornaam\n", XlsxLimits())


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.xlsx"
    big.write_bytes(build_xlsx(master_sheet()))
    with pytest.raises(HostileFile, match="larger than"):
        check_xlsx(big, XlsxLimits(max_file_bytes=100))


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        XlsxLimits(max_rows=0)


# --- hostile masters through read_master, in a limited child process ---------------------

READ = """
import sys
from pathlib import Path
from securexchange.errors import SxError
from securexchange.intake.master import read_master
try:
    read_master(Path(sys.argv[1] if len(sys.argv) > 1 else {path!r}))
except SxError as exc:
    print(exc.name, int(exc.exit_code))
    print(exc.message)
    raise SystemExit(int(exc.exit_code))
print("accepted")
"""


def _hostile_fixture(kind: str) -> bytes:
    if kind == "billion-laughs":
        return build_xlsx(BILLION_LAUGHS)
    if kind == "xxe":
        return build_xlsx(master_sheet(), replace={"xl/workbook.xml": XXE_WORKBOOK})
    if kind == "million-rows":
        return build_xlsx(million_rows(dimension=True))
    if kind == "million-rows-no-dimension":
        return build_xlsx(million_rows(dimension=False))
    if kind == "2gb-dimension":
        return build_xlsx(sheet_xml([["a"]], dimension="A1:N2000000000"))
    if kind == "zip-bomb":
        return build_xlsx(master_sheet(), extra={"xl/worksheets/sheet2.xml": bytes(200 << 20)})
    if kind in ("far-cell", "far-row"):
        ref, row = ("XFD1000000", 1000000) if kind == "far-cell" else ("BL200000", 200000)
        far = f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>b</t></is></c></row>'
        body = '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>' + far
        return build_xlsx((SHEET_HEAD + f"<sheetData>{body}</sheetData></worksheet>").encode())
    if kind == "every-row-wrong":
        bad = ["=x"] * len(schema.MASTER_HEADERS)
        return build_xlsx(sheet_xml([list(schema.MASTER_HEADERS)] + [bad] * 100_000))
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "billion-laughs",
        "xxe",
        "million-rows",
        "million-rows-no-dimension",
        "2gb-dimension",
        "zip-bomb",
        "every-row-wrong",
        "csv-million-rows",
        "far-cell",
        "far-row",
    ],
)
def test_hostile_master_is_refused_with_exit_2_without_hanging_within_256mib(
    kind: str, tmp_path: Path
) -> None:
    if kind == "csv-million-rows":
        path = tmp_path / "million.csv"
        line = "K1,Haddad,Omar,,,,11002,,,Arabisch,A2,lopend,buddy,\n"
        path.write_text(",".join(schema.MASTER_HEADERS) + "\n" + line * 1_000_000)
    else:
        path = tmp_path / f"{kind}.xlsx"
        path.write_bytes(_hostile_fixture(kind))
    result = run_limited(READ.format(path=str(path)), timeout=HANG, mem=256 << 20)
    assert result.returncode == 2, result.stderr[-2000:]
    name = result.stdout.split()[0]
    assert name in {"SX-HOSTILE-FILE", "SX-INVALID-MASTER"}
    assert "Traceback" not in result.stderr
    assert "lol" not in result.stdout
    assert "passwd" not in result.stdout


def test_a_clean_master_is_accepted_in_the_same_limited_child(tmp_path: Path) -> None:
    path = tmp_path / "clean.xlsx"
    path.write_bytes(build_xlsx(master_sheet(50)))
    result = run_limited(READ.format(path=str(path)), timeout=HANG, mem=256 << 20)
    # 50 identical rows share one Klant-ID: refused for that, not for the archive.
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stdout.startswith("SX-INVALID-MASTER")
    path.write_bytes(build_xlsx(master_sheet(1)))
    result = run_limited(READ.format(path=str(path)), timeout=HANG, mem=256 << 20)
    assert result.stdout.strip() == "accepted", result.stdout + result.stderr[-2000:]


# --- counting tags: two passes give what one pass a tag gives ---------------------------

# Pieces of sheet XML that make every tag, its stem without a tag, and longer names.
_PIECES = [b"<row", b"<c", b"<col", b"<cols>", b"<rowBreaks", b"<x:c ", b'<c r="', b'r="A1"']
_PIECES += [b" ", b">", b"/", b"\t", b"\n", b"\r", b"<", b"c", b"row", b"a"]
_XML_BYTES = st.lists(st.sampled_from(_PIECES), max_size=40).map(b"".join)


@settings(max_examples=2000, deadline=None)
@given(_XML_BYTES, st.integers(0, 200))
def test_counting_tags_by_their_stem_gives_what_counting_each_tag_gives(
    window: bytes, cut: int
) -> None:
    cut = min(cut, len(window))
    for tags in (tagcount.ROW_TAGS[0], tagcount.CELL_TAGS[0]):
        expected = tagcount.one_pass_a_tag(window, tags, cut)
        assert tagcount.count_plain(window, tags, cut) == expected
    colon = b":" in window
    cells = tagcount.one_pass_a_tag(window, tagcount.CELL_TAGS[0], cut)
    referenced = tagcount.one_pass_a_tag(window, tagcount.REFERENCED_CELLS[0], cut)
    if colon:
        cells += sum(1 for m in tagcount.CELL_TAGS[1].finditer(window) if m.start() < cut)
        referenced += sum(
            1 for m in tagcount.REFERENCED_CELLS[1].finditer(window) if m.start() < cut
        )
    assert tagcount.count_cells(window, cut, colon) == (cells, referenced)


# References near and beyond the caps, and the text around them in a sheet.
_REFERENCE_PIECES = [b'r="', b'"', b"A", b"AF", b"AG", b"B", b"ZZ", b"ABC", b"0", b"1", b"2"]
_REFERENCE_PIECES += [b"9", b"12000", b"120002", b"99999", b'<c r="N5" t="s">', b"<v>7</v>"]


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(st.sampled_from(_REFERENCE_PIECES), max_size=30).map(b"".join),
    st.sampled_from([(120_000, 32), (10, 5), (99, 26), (1_000_000, 800)]),
)
def test_a_window_said_to_hold_no_far_reference_holds_none(
    window: bytes, caps: tuple[int, int]
) -> None:
    max_rows, max_columns = caps
    if xlsxguard._far_reference(max_rows, max_columns).search(window):
        assert xlsxguard._may_refer_far(window, max_rows, max_columns)


def test_a_plain_master_sheet_needs_no_far_reference_search() -> None:
    window = b'<row r="7"><c r="A7" t="inlineStr"><is><t>K81716564</t></is></c></row>' * 50
    assert not xlsxguard._may_refer_far(window, 120_000, 32)
    assert xlsxguard._may_refer_far(window + b'<c r="A120002"', 120_000, 32)
    assert xlsxguard._may_refer_far(window + b'<c r="AG7"', 120_000, 32)
