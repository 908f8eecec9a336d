"""The municipal workbook's frame: built once, filled in for each workbook.

Every workbook of one layout has the same styles, sheets, column widths, drop-downs,
headers, lists, help texts and document parts; only the records' rows and a few values
differ (the municipality's name and NIS code, the package id, the destroy-by date, the
record count and the records' digest, the document's time). openpyxl took most of a
small workbook's time rebuilding that frame for each municipality (issue 22). Here
openpyxl writes the workbook once, for sentinel values; its parts are cut at the
sentinels into literal bytes and holes, and each workbook is those bytes with its own
values (escaped as openpyxl escapes them in that part) and its rows
(:mod:`securexchange.sheets.sheetxml`) in the holes, deflated into a ZIP built in
memory as before.

Fail closed: a frame proves itself when it is built. It is filled in with a second,
different set of values (non-ASCII text, characters XML escapes, other lengths and
digits) and must give exactly the parts, in the same order, that openpyxl writes for
those values; otherwise :class:`InternalError`, and no workbook is written. A sentinel
that also occurred in the fixed text, or an escaping that differs from openpyxl's,
cannot pass that check. Pure: no file, no clock.

A frame is also a document (:func:`frame_document`, :func:`frame_from_document`): the
package ships the frames of its current layouts (:mod:`securexchange.sheets.shipped_frames`),
so that ``municipality open`` neither imports openpyxl nor builds one.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from securexchange.errors import InternalError
from securexchange.i18n import _, dutch_date
from securexchange.sheets import sheetxml
from securexchange.sheets.layout import HEADER_ROW, WorkbookMeta
from securexchange.sheets.memory import document_time

# The cell style of each column of the records' rows (None: unstyled).
StyleIds = tuple[int | None, ...]

# The holes: one per value a package's workbook differs in, and the rows.
MUNICIPALITY, NIS, PACKAGE, DESTROY_BY, DESTROY_BY_ISO = "m", "n", "p", "d", "i"
COUNT, LAST_ROW, DIGEST, WRITTEN, ROWS = "c", "l", "h", "w", "rows"
_HOLES = frozenset(
    (MUNICIPALITY, NIS, PACKAGE, DESTROY_BY, DESTROY_BY_ISO, COUNT, LAST_ROW, DIGEST, WRITTEN, ROWS)
)

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
    written_at: datetime | None

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
            # As openpyxl writes the document's created and modified time.
            WRITTEN: document_time(self.written_at).isoformat(timespec="seconds") + "Z",
        }


# The values the frame is cut at: each unlikely to occur in the fixed text (which the
# proof would catch); and the values it proves itself with: every one different.
_SENTINEL = FrameValues(
    "Qzxjv Sjabloongemeente",
    "98765",
    "pkg-" + "q" * 26,
    date(1901, 7, 23),
    654321,
    "5a" * 32,
    datetime(1903, 5, 17, 13, 37, 41, tzinfo=UTC),
)
_PROOF = FrameValues(
    "Éé & <Ü> \"'s–Wâlhain 😀",
    "12340",
    "pkg-" + "2" * 26,
    date(2031, 12, 9),
    3,
    "0f" * 32,
    datetime(2048, 11, 29, 6, 12, 5, tzinfo=UTC),
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
    """The frame of one layout's workbooks (demo flag and schema version fixed)."""

    parts: tuple[_Part, ...]
    styles: StyleIds

    def render(
        self, values: FrameValues, rows: Iterator[bytes], compresslevel: int | None = None
    ) -> bytes:
        """The .xlsx bytes with ``values`` and ``rows`` (``<row>`` elements, UTF-8),
        deflated at zlib's ``compresslevel`` (None: its default)."""
        filled = {sheet: _filled(values, sheet) for sheet in (True, False)}
        buffer = io.BytesIO()
        with zipfile.ZipFile(
            buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        ) as archive:
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


def _meta(values: FrameValues, demo: bool, schema: str) -> WorkbookMeta:
    return WorkbookMeta(
        values.package_id,
        values.nis,
        values.municipality,
        values.destroy_by,
        demo,
        schema_version=schema,
        written_at=values.written_at,
    )


def build_frame(
    render: Callable[[WorkbookMeta, int, str], tuple[bytes, StyleIds]],
    *,
    demo: bool,
    schema_version: str,
) -> WorkbookFrame:
    """The frame of the workbooks ``render`` writes (openpyxl: the meta, the record
    count and digest, no rows), proven against it (see the module docstring)."""

    def reference(values: FrameValues) -> tuple[bytes, StyleIds]:
        meta = _meta(values, demo, schema_version)
        return render(meta, values.count, values.digest)

    workbook, styles = reference(_SENTINEL)
    frame = WorkbookFrame(tuple(_part(n, data) for n, data in _members(workbook)), styles)
    expected, proof_styles = reference(_PROOF)
    if proof_styles != styles or _members(frame.render(_PROOF, iter(()))) != _members(expected):
        raise InternalError(_("the workbook frame does not reproduce the workbook"))
    return frame


# --- a frame as a document ------------------------------------------------------------------

FRAME_FORMAT = "securexchange-workbook-frame/1"


@dataclass(frozen=True)
class FrameKey:
    """What a frame is the frame of."""

    layout: int  # Layout.version
    demo: bool
    schema_version: str


def frame_document(frame: WorkbookFrame, key: FrameKey) -> bytes:
    """``frame`` as JSON: each part's literal text (UTF-8, as openpyxl writes every
    part) and the hole after it. Deterministic: the same frame, the same bytes."""
    document = {
        "format": FRAME_FORMAT,
        "layout": key.layout,
        "demo": key.demo,
        "schema_version": key.schema_version,
        "styles": list(frame.styles),
        "parts": [
            {
                "name": part.name,
                "segments": [[literal.decode("utf-8"), hole] for literal, hole in part.segments],
            }
            for part in frame.parts
        ],
    }
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def frame_from_document(data: bytes, key: FrameKey, columns: int) -> WorkbookFrame | None:
    """The frame ``data`` holds, when it is a well-formed frame of ``key`` for a layout of
    ``columns`` columns (the rows' hole once, in the data part, every other hole known
    and none left out); None otherwise."""
    try:
        document = json.loads(data)
        if not isinstance(document, dict) or (
            document.get("format"),
            document.get("layout"),
            document.get("demo"),
            document.get("schema_version"),
        ) != (FRAME_FORMAT, key.layout, key.demo, key.schema_version):
            return None
        styles = tuple(document["styles"])
        if len(styles) != columns or not all(
            s is None or (type(s) is int and s >= 0) for s in styles
        ):
            return None
        parts = tuple(_part_from(entry) for entry in document["parts"])
    except (ValueError, KeyError, TypeError, UnicodeError, RecursionError):
        return None
    holes = [hole for part in parts for _literal, hole in part.segments if hole is not None]
    rows_in = [part.name for part in parts for _literal, hole in part.segments if hole == ROWS]
    if rows_in != [_DATA_PART] or len({part.name for part in parts}) != len(parts):
        return None
    if set(holes) != _HOLES:  # a value left out (the destroy-by date, say)
        return None
    return WorkbookFrame(parts, styles)


def _part_from(entry: object) -> _Part:
    if not isinstance(entry, dict) or not isinstance(entry["name"], str):
        raise TypeError("a frame part")
    segments: list[tuple[bytes, str | None]] = []
    for segment in entry["segments"]:
        if not isinstance(segment, list) or len(segment) != 2:
            raise TypeError("a frame segment")
        literal, hole = segment
        if not isinstance(literal, str) or (hole is not None and hole not in _HOLES):
            raise TypeError("a frame segment")
        segments.append((literal.encode("utf-8"), hole))
    if not segments or segments[-1][1] is not None:
        raise TypeError("a frame part ends with a hole")
    return _Part(entry["name"], tuple(segments))
