"""Rows written as text (sheetxml) are, parsed, exactly what openpyxl writes for them."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from lxml import etree
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import PatternFill, Protection

from securexchange.sheets import sheetxml

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

TRICKY = [
    "plain",
    " leading space",
    "trailing space ",
    "\u00a0no-break space first",
    "a & b < c > d",
    "]]> and &amp; already escaped",
    "line one\nline two",
    "carriage\r\nreturn",
    "\ttab first",
    "=SUM(A1:A9)",
    "+32 470 12 34 56",
    "Kopiëren, Yılmaz, Ğ, 😀",
    "\"quoted\" and 'apostrophe'",
]


Shape = tuple[str, tuple[tuple[str, str], ...], str | None, tuple[Any, ...]]


def _shape(element: Any) -> Shape:
    """An element as comparable data: tag, attributes, text and children, recursively
    (a parsed tree compared this way ignores only how the bytes spelled it)."""
    return (
        element.tag,
        tuple(sorted(element.attrib.items())),
        element.text,
        tuple(_shape(child) for child in element),
    )


def _openpyxl_sheet_data(rows: list[list[str]], styled_columns: set[int]) -> tuple[Shape, Any]:
    """openpyxl's <sheetData> for ``rows`` (text cells as inline strings) and the style
    id it gave the styled columns."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("S")
    style_id = None
    for values in rows:
        cells = []
        for column, text in enumerate(values):
            cell = WriteOnlyCell(ws)
            if column in styled_columns:
                cell.protection = Protection(locked=False)
                cell.fill = PatternFill("solid", fgColor="FFF2CC")
                style_id = cell.style_id
            if text:
                cell._value = text  # as a string cell, never a formula
                cell.data_type = "s"
            cells.append(cell)
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    sheet = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml")
    data = etree.fromstring(sheet).find(f"{{{MAIN_NS}}}sheetData")
    assert data is not None
    return _shape(data), style_id


def _ours(rows: list[list[str]], styles: list[int | None], first_row: int = 1) -> Shape:
    body = b"".join(sheetxml.rows_xml(first_row, rows, styles, batch=3))
    wrapped = f'<sheetData xmlns="{MAIN_NS}">'.encode() + body + b"</sheetData>"
    return _shape(etree.fromstring(wrapped))


def test_text_rows_parse_to_exactly_what_openpyxl_writes() -> None:
    rows = [[text, "", TRICKY[(i + 3) % len(TRICKY)], ""] for i, text in enumerate(TRICKY)]
    theirs, style_id = _openpyxl_sheet_data(rows, styled_columns={3})
    assert style_id is not None
    ours = _ours(rows, [None, None, None, style_id])
    assert ours == theirs
    assert len(theirs[3]) == len(TRICKY)  # one row each: the comparison saw them all


def test_parsed_text_is_the_input_exactly() -> None:
    rows = [[text] for text in TRICKY]
    body = b"".join(sheetxml.rows_xml(4, rows, [None]))
    parsed = etree.fromstring(f'<d xmlns="{MAIN_NS}">'.encode() + body + b"</d>")
    texts = [t.text for t in parsed.iter(f"{{{MAIN_NS}}}t")]
    refs = [c.get("r") for c in parsed.iter(f"{{{MAIN_NS}}}c")]
    assert texts == TRICKY
    assert refs == [f"A{4 + i}" for i in range(len(TRICKY))]


def test_batches_hold_every_row_once_in_order() -> None:
    rows = [[str(i)] for i in range(1, 1001)]
    chunks = list(sheetxml.rows_xml(1, rows, [None], batch=64))
    assert len(chunks) > 10
    joined = b"".join(chunks).decode()
    assert joined.count("<row ") == 1000
    assert joined.index('<row r="999">') < joined.index('<row r="1000">')


def test_a_row_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError):
        list(sheetxml.rows_xml(1, [["a", "b"]], [None]))


@pytest.mark.parametrize("bad", ["\x00", "\x0b", "\ufffe", "\ud800"])
def test_a_character_xml_cannot_hold_is_refused_without_quoting_the_row(bad: str) -> None:
    secret = f"Haddad{bad}Omar"
    with pytest.raises(ValueError) as info:
        list(sheetxml.rows_xml(4, [[secret]], [None]))
    assert "Haddad" not in str(info.value) and "Omar" not in str(info.value)
