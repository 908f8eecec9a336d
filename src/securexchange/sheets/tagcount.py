"""Counting a worksheet's row and cell tags in a window of its XML, for the archive guard
(:mod:`securexchange.sheets.xlsxguard`): plain tags with ``bytes.count`` (C speed: the
guard reads 80 MB sheets), namespace-prefixed ones with a regex where a colon occurs.

A tag counts when it starts before ``cut``: the guard streams a sheet in windows, and a
tag that starts in a window's last bytes is counted in the next one. Fewer passes over
a window give the same counts as one pass a tag (``tests/test_xlsxguard.py`` proves it
with hypothesis): tags that differ in their last byte only occur at most as often as
their stem, and a referenced cell (``<c r="``) is a cell tag.
"""

from __future__ import annotations

import re

_ENDS = (b" ", b">", b"/", b"\t", b"\n", b"\r")
ROW_TAGS = (tuple(b"<row" + end for end in _ENDS), re.compile(rb"<\w{1,16}:row[\s/>]"))
CELL_TAGS = (tuple(b"<c" + end for end in _ENDS), re.compile(rb"<\w{1,16}:c[\s/>]"))
# A cell whose reference comes first, as every spreadsheet writer puts it.
REFERENCED_CELLS = ((b'<c r="',), re.compile(rb'<\w{1,16}:c r="'))

Tags = tuple[tuple[bytes, ...], re.Pattern[bytes]]


def one_pass_a_tag(window: bytes, tags: tuple[bytes, ...], cut: int) -> int:
    """The plain ``tags`` that start before ``cut``, counted one by one."""
    return sum(window.count(tag, 0, cut + len(tag) - 1) for tag in tags)


def count_plain(window: bytes, tags: tuple[bytes, ...], cut: int) -> int:
    """:func:`one_pass_a_tag` for tags that share all bytes but the last: if the first
    is as frequent as their stem, the others cannot occur (two passes, not six)."""
    first = window.count(tags[0], 0, cut + len(tags[0]) - 1)
    if len(tags) > 1:
        stem = tags[0][:-1]
        if first != window.count(stem, 0, cut + len(stem) - 1):
            first += one_pass_a_tag(window, tags[1:], cut)
    return first


def _prefixed(window: bytes, pattern: re.Pattern[bytes], cut: int, colon: bool) -> int:
    # A prefixed tag needs a colon (looked for once a window); most sheets have none.
    return sum(1 for m in pattern.finditer(window) if m.start() < cut) if colon else 0


def count_tags(window: bytes, tags: Tags, cut: int, colon: bool) -> int:
    """Tags (plain or namespace-prefixed) that start before ``cut`` in ``window``;
    ``colon`` says whether the window holds a colon."""
    plain, prefixed = tags
    return count_plain(window, plain, cut) + _prefixed(window, prefixed, cut, colon)


def count_cells(window: bytes, cut: int, colon: bool) -> tuple[int, int]:
    """Cell tags and referenced cell tags that start before ``cut``: when every ``<c``
    is a referenced cell, both are that count (two passes, not three)."""
    plain, prefixed = REFERENCED_CELLS
    referenced = window.count(plain[0], 0, cut + len(plain[0]) - 1)
    if window.count(b"<c", 0, cut + 1) == referenced:
        cells = referenced
    else:
        cells = count_plain(window, CELL_TAGS[0], cut)
    if colon:
        referenced += _prefixed(window, prefixed, cut, colon)
        cells += _prefixed(window, CELL_TAGS[1], cut, colon)
    return cells, referenced
