"""Worksheet rows of text cells as SpreadsheetML, written as text.

The municipal workbook's data rows are thousands of rows of inline-string cells, a few
of them with one cell style. openpyxl builds an lxml element per cell for them, which
was most of the time of writing a workbook; this module writes the same XML with string
formatting. Its output, parsed, is what openpyxl writes for the same cells (inline
strings, ``xml:space="preserve"`` when a text has surrounding white space, a styled
empty cell kept for its style, an unstyled empty cell left out), and
``tests/test_sheetxml.py`` holds it to that against openpyxl itself.

Pure: text in, UTF-8 bytes out; which characters a cell may hold is the caller's check.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from securexchange.xlsxguard import column_letters

# Text content needs only "&" and "<" escaped; ">" is escaped as openpyxl (lxml) does,
# and CR as a character reference, because an XML parser turns a literal CR into LF.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_NEEDS_ESCAPE = frozenset("&<>\r")


def escape_text(text: str) -> str:
    """``text`` as XML character data."""
    if _NEEDS_ESCAPE.isdisjoint(text):
        return text
    return text.translate(_ESCAPES)


def text_cell(ref: str, text: str, style: int | None = None) -> str:
    """One inline-string cell; an empty ``text`` gives a styled empty cell (``style``
    required), as openpyxl keeps an empty cell that carries a style."""
    styled = "" if style is None else f' s="{style}"'
    if not text:
        if style is None:
            raise ValueError("an empty cell is written only for its style")
        return f'<c r="{ref}"{styled} t="n"></c>'
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}"{styled} t="inlineStr"><is><t{space}>{escape_text(text)}</t></is></c>'


def rows_xml(
    first_row: int,
    rows: Iterable[Sequence[str]],
    styles: Sequence[int | None],
    batch: int = 512,
) -> Iterator[bytes]:
    """``<row>`` elements for ``rows`` of cell texts, numbered from ``first_row``.

    ``styles[i]`` is the cell style of column ``i`` (None: unstyled, and then an empty
    text is no cell at all). Yields UTF-8 in batches of ``batch`` rows, so a large
    sheet is never held as one string.
    """
    letters = [column_letters(index) for index in range(1, len(styles) + 1)]
    columns = tuple(zip(letters, styles, strict=True))
    parts: list[str] = []
    number = first_row
    for cells in rows:
        if len(cells) != len(columns):
            raise ValueError("a row has a different number of cells than the sheet")
        parts.append(f'<row r="{number}">')
        for (letter, style), text in zip(columns, cells, strict=True):
            if text or style is not None:
                parts.append(text_cell(f"{letter}{number}", text, style))
        parts.append("</row>")
        number += 1
        if number % batch == 0:
            yield "".join(parts).encode("utf-8")
            parts.clear()
    if parts:
        yield "".join(parts).encode("utf-8")
