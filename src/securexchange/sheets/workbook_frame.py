"""The municipal workbook's frame: built once per export, filled in for each package.

Every workbook of one export has the same styles, sheets, column widths, drop-downs,
headers, lists, help texts and document parts; only the records' rows and a few values
differ (the municipality's name and NIS code, the package id, the destroy-by date, the
record count and the records' digest). openpyxl took most of a small workbook's time
rebuilding that frame for each municipality (issue 22). Here openpyxl writes the
workbook once, for sentinel values; its parts are cut at the sentinels into literal
bytes and holes, and each package's workbook is those bytes with its own values (escaped
as openpyxl escapes them in that part) and its rows (:mod:`securexchange.sheets.sheetxml`)
in the holes, deflated into a ZIP built in memory as before.

Fail closed: a frame proves itself when it is built. It is filled in with a second,
different set of values (non-ASCII text, characters XML escapes, other lengths and
digits) and must give exactly the parts, in the same order, that openpyxl writes for
those values; otherwise :class:`InternalError`, and no workbook is written. A sentinel
that also occurred in the fixed text, or an escaping that differs from openpyxl's,
cannot pass that check. Pure: no file, no clock (the document's time is the frame's).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from securexchange.errors import InternalError
from securexchange.i18n import _, dutch_date
from securexchange.sheets import sheetxml
from securexchange.sheets.layout import HEADER_ROW, WorkbookMeta

# The cell style of each column of the records' rows (None: unstyled).
StyleIds = tuple[int | None, ...]

# The holes: one per value a package's workbook differs in, and the rows.
MUNICIPALITY, NIS, PACKAGE, DESTROY_BY, DESTROY_BY_ISO = "m", "n", "p", "d", "i"
COUNT, LAST_ROW, DIGEST, ROWS = "c", "l", "h", "rows"

# The worksheets stream into their members; every other part is written whole, as
# openpyxl's writer (and :mod:`securexchange.sheets.memory`) do.
_SHEETS = "xl/worksheets/"
_DATA_PART = "xl/worksheets/sheet1.xml"
_ROWS_END = b"</sheetData>"
# Text content as openpyxl writes it: worksheets stream through lxml's xmlfile in ASCII
# (other characters as decimal references); the document properties are UTF-8.
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


@dataclass(frozen=True)
class FrameValues:
    """What one package's workbook says about itself besides its rows."""

    municipality: str
    nis: str
    package_id: str
    destroy_by: date
    count: int
    digest: str

    def texts(self) -> dict[str, str]:
        """Each hole's text, unescaped."""
        return {
            MUNICIPALITY: self.municipality,
            NIS: self.nis,
            PACKAGE: self.package_id,
            DESTROY_BY: dutch_date(self.destroy_by),
            DESTROY_BY_ISO: self.destroy_by.isoformat(),
            COUNT: str(self.count),
            LAST_ROW: str(HEADER_ROW + self.count),
            DIGEST: self.digest,
        }


# The values the frame is cut at: each unlikely to occur in the fixed text (which the
# proof would catch); and the values it proves itself with: every one different.
_SENTINEL = FrameValues(
    "Qzxjv Sjabloongemeente", "98765", "pkg-" + "q" * 26, date(1901, 7, 23), 654321, "5a" * 32
)
_PROOF = FrameValues(
    "Éé & <Ü> \"'s–Wâlhain 😀", "12340", "pkg-" + "2" * 26, date(2031, 12, 9), 3, "0f" * 32
)


def _escaped(text: str, sheet: bool) -> bytes:
    if sheetxml.NOT_XML.search(text) is not None:
        raise ValueError("a workbook value holds a character XML cannot hold")
    escaped = text.translate(_TEXT)
    if sheet:
        return escaped.encode("ascii", "xmlcharrefreplace")
    return escaped.encode("utf-8")


def _filled(values: FrameValues, sheet: bool) -> dict[str, bytes]:
    return {hole: _escaped(text, sheet) for hole, text in values.texts().items()}


# One part: literal bytes, each followed by a hole (None after the last).
Segments = tuple[tuple[bytes, str | None], ...]


@dataclass(frozen=True)
class _Part:
    name: str
    segments: Segments

    @property
    def sheet(self) -> bool:
        return self.name.startswith(_SHEETS)

    def chunks(self, filled: Mapping[str, bytes], rows: Iterator[bytes]) -> Iterator[bytes]:
        for literal, hole in self.segments:
            yield literal
            if hole == ROWS:
                yield from rows
            elif hole is not None:
                yield filled[hole]


@dataclass(frozen=True)
class WorkbookFrame:
    """One export's workbook frame (layout, demo flag, time and schema version fixed)."""

    parts: tuple[_Part, ...]
    styles: StyleIds

    def render(self, values: FrameValues, rows: Iterator[bytes]) -> bytes:
        """The .xlsx bytes with ``values`` and ``rows`` (``<row>`` elements, UTF-8)."""
        filled = {sheet: _filled(values, sheet) for sheet in (True, False)}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in self.parts:
                chunks = part.chunks(filled[part.sheet], rows)
                if part.sheet:
                    with archive.open(part.name, "w") as member:
                        for chunk in chunks:
                            member.write(chunk)
                else:
                    archive.writestr(part.name, b"".join(chunks))
        return buffer.getvalue()


def _cut(data: bytes, sheet: bool) -> list[tuple[bytes, str | None]]:
    """``data`` cut at every sentinel."""
    tokens = {text: hole for hole, text in _filled(_SENTINEL, sheet).items()}
    pattern = re.compile(b"|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))
    segments: list[tuple[bytes, str | None]] = []
    start = 0
    for found in pattern.finditer(data):
        segments.append((data[start : found.start()], tokens[found.group()]))
        start = found.end()
    segments.append((data[start:], None))
    return segments


def _part(name: str, data: bytes) -> _Part:
    sheet = name.startswith(_SHEETS)
    if name != _DATA_PART:
        return _Part(name, tuple(_cut(data, sheet)))
    head, end, tail = data.partition(_ROWS_END)
    if not end or end in tail:
        # Cell text is escaped, so the tag occurs once: fail closed otherwise.
        raise InternalError(_("a worksheet frame has no single end of its rows"))
    *before, (last, _none) = _cut(head, sheet)
    return _Part(name, (*before, (last, ROWS), *_cut(end + tail, sheet)))


def _members(workbook: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def _meta(
    values: FrameValues, demo: bool, written_at: datetime | None, schema: str
) -> WorkbookMeta:
    return WorkbookMeta(
        values.package_id,
        values.nis,
        values.municipality,
        values.destroy_by,
        demo,
        schema_version=schema,
        written_at=written_at,
    )


def build_frame(
    render: Callable[[WorkbookMeta, int, str], tuple[bytes, StyleIds]],
    *,
    demo: bool,
    written_at: datetime | None,
    schema_version: str,
) -> WorkbookFrame:
    """The frame of the workbooks ``render`` writes (openpyxl: the meta, the record
    count and digest, no rows), proven against it (see the module docstring)."""

    def reference(values: FrameValues) -> tuple[bytes, StyleIds]:
        meta = _meta(values, demo, written_at, schema_version)
        return render(meta, values.count, values.digest)

    workbook, styles = reference(_SENTINEL)
    frame = WorkbookFrame(tuple(_part(n, data) for n, data in _members(workbook)), styles)
    expected, proof_styles = reference(_PROOF)
    if proof_styles != styles or _members(frame.render(_PROOF, iter(()))) != _members(expected):
        raise InternalError(_("the workbook frame does not reproduce the workbook"))
    return frame
