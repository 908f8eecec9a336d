"""Worksheet rows of text cells as SpreadsheetML, written as text.

The municipal workbook's data rows are thousands of rows of inline-string cells, a few
of them with one cell style. openpyxl builds an lxml element per cell for them, which
was most of the time of writing a workbook; this module writes the same XML with string
formatting. Its output, parsed, is what openpyxl writes for the same cells (inline
strings, ``xml:space="preserve"`` when a text has surrounding white space, a styled
empty cell kept for its style, an unstyled empty cell left out), and
``tests/test_sheetxml.py`` holds it to that against openpyxl itself.

Pure: text in, UTF-8 bytes out. Which characters a cell may hold is the caller's check
(it names the row); a text XML cannot hold still stops here, without quoting it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from securexchange.sheets.xlsxguard import column_letters

# Text content needs only "&" and "<" escaped; ">" is escaped as openpyxl (lxml) does,
# and CR as a character reference, because an XML parser turns a literal CR into LF.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_NEEDS_ESCAPE = frozenset("&<>\r")
# What XML 1.0 cannot hold at all: C0 controls other than tab, LF and CR, U+FFFE/U+FFFF
# and lone surrogates (lxml would refuse them with a message that quotes the value).
# The caller refuses such texts first, naming the row; this is the last guard, so that
# no malformed XML is written and no encoding error carries a batch of plaintext.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _encoded(parts: list[str]) -> bytes:
    text = "".join(parts)
    if NOT_XML.search(text) is not None:
        raise ValueError("a cell holds a character XML cannot hold")
    return text.encode("utf-8")


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
    # Per column, the text around the row number and the value, formatted once.
    heads = [f'<c r="{column_letters(index)}' for index in range(1, len(styles) + 1)]
    styled = ["" if style is None else f' s="{style}"' for style in styles]
    texts = [f'"{attribute} t="inlineStr"><is><t' for attribute in styled]
    # openpyxl keeps an empty cell that carries a style, and drops one that does not.
    empties = [
        None if style is None else f'"{attribute} t="n"></c>'
        for style, attribute in zip(styles, styled, strict=True)
    ]
    columns = tuple(zip(heads, texts, empties, strict=True))
    width = len(columns)
    parts: list[str] = []
    number = first_row
    for cells in rows:
        if len(cells) != width:
            raise ValueError("a row has a different number of cells than the sheet")
        row = str(number)
        parts.append(f'<row r="{row}">')
        for (head, text_head, empty), text in zip(columns, cells, strict=True):
            if text:
                space = ' xml:space="preserve"' if text != text.strip() else ""
                data = text if _NEEDS_ESCAPE.isdisjoint(text) else text.translate(_ESCAPES)
                parts.append(f"{head}{row}{text_head}{space}>{data}</t></is></c>")
            elif empty is not None:
                parts.append(f"{head}{row}{empty}")
        parts.append("</row>")
        number += 1
        if number % batch == 0:
            yield _encoded(parts)
            parts.clear()
    if parts:
        yield _encoded(parts)
