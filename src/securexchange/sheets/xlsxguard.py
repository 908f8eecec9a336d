"""A strict look at an .xlsx archive before any spreadsheet library touches it.

Spreadsheet readers (calamine, openpyxl) trust the archive: a zip bomb exhausts memory,
a 2 GB claimed dimension makes them allocate, an XML document type declaration expands
entities (billion laughs) or fetches files (XXE). This guard refuses all of that with
the standard library only, reading the zip directory and bounded prefixes of members:

* the archive: a real ZIP (a password-protected workbook is an OLE2 file: refused with
  its own message), at most ``max_members`` members, unique safe names, no encryption,
  stored or deflated members only, no macros (``vbaProject.bin``), no external links,
  no ActiveX, no embedded objects, no data connections;
* sizes from the central directory: per member, in total, and the compression ratio of
  every member that is not tiny;
* every XML member: a UTF-8 prolog that reaches its root element with no ``<!DOCTYPE``
  (hence no ``<!ENTITY``), checked on its first bytes only;
* every worksheet: its ``<dimension ref=...>`` (from the first bytes) against the row and
  column caps; then one bounded streaming pass that counts ``<row`` tags, so that a
  missing or lying dimension cannot smuggle in more rows either, and that verifies the
  CRC, so the sizes the caps were checked against are the real ones.

Nothing is written to disk. Every refusal is a :class:`HostileFile` (exit 2) whose
message names the file and the member, never any content.
"""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

from securexchange.errors import HostileFile
from securexchange.i18n import N_, _
from securexchange.sheets.tagcount import ROW_TAGS, count_cells, count_tags

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_XML_SUFFIXES = (".xml", ".rels", ".vml")
# Parts we never accept, by name: macros, ActiveX controls, embedded OLE objects,
# links to other workbooks, external data connections.
_FORBIDDEN_PARTS = re.compile(
    r"(^|/)(vbaProject\.bin|vbaProjectSignature\.bin|vbaData\.xml|connections\.xml)$"
    r"|(^|/)(externalLinks|activeX|embeddings|ctrlProps|queryTables)/",
    re.IGNORECASE,
)
_SHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")
# An XML prolog: optional BOM, declaration, then comments, PIs and whitespace, then the
# root element's start. A DOCTYPE can only occur in the prolog, so a prolog that reaches
# the root without one proves the document has no DTD and no entity declarations.
_PROLOG = re.compile(
    rb"\A(?:\xef\xbb\xbf)?(?:<\?xml[^>]{0,200}\?>)?"
    rb"(?:[ \t\r\n]+|<!--(?:[^-]|-(?!-))*-->|<\?(?!xml)[^>]{0,200}\?>)*"
    rb"<[A-Za-z_]"
)
_ENCODING_DECL = re.compile(rb"\A(?:\xef\xbb\xbf)?<\?xml[^>]*encoding=[\"']([^\"']*)[\"']")
_DIMENSION = re.compile(
    rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3})([0-9]{1,10})(?::([A-Z]{1,3})([0-9]{1,10}))?\""
)
_SHEETDATA = re.compile(rb"<(?:\w+:)?sheetData[\s/>]")
# What zipfile raises on a damaged archive or member: its own errors, zlib.error from a
# corrupt deflate stream, NotImplementedError for an unknown version or method,
# RuntimeError for an encrypted member, struct.error for a cut header. None of these is
# a subclass of another, so each is named.
DAMAGED_ZIP = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)
_TAIL = 24
# The hints of a sheet over the row or cell caps (the agency's master has them raised).
_SPLIT_ROWS = N_("split the master or raise the row limit")
_SPLIT_CELLS = N_("split the master or raise the cell limit")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class XlsxLimits:
    """Caps on an .xlsx archive; all sizes in bytes."""

    max_file_bytes: int = 128 << 20
    max_members: int = 256
    # calamine holds a whole sheet in memory: these caps, with max_cells, keep any
    # accepted workbook within the 256 MiB a refusal may use (a 100,000-row master
    # written by openpyxl is an 80 MB sheet of 1.4 million cells).
    max_member_bytes: int = 128 << 20
    max_total_bytes: int = 192 << 20
    # Spreadsheet XML compresses 5-30x; a deflate bomb reaches ~1000x.
    max_ratio: int = 100
    # Members smaller than this are exempt from the ratio check (a 2 KiB run of spaces
    # compresses 100x and harms nobody); the total cap bounds them together.
    ratio_floor_bytes: int = 1 << 20
    # calamine allocates the whole rectangle up to the last referenced cell (32 bytes a
    # cell): 120,000 x 32 cells is 123 MB, within the budget with the interpreter.
    max_rows: int = 120_000
    max_columns: int = 32
    max_cells: int = 1_500_000
    max_sheets: int = 32
    # How much of each XML member is read to check its prolog and dimension.
    prefix_bytes: int = 64 << 10

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"XlsxLimits.{name} must be a positive integer")


def column_index(letters: str) -> int:
    """1-based index of a column name: A=1, Z=26, AA=27."""
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - ord("A") + 1)
    return index


def column_letters(index: int) -> str:
    """Column name of a 1-based index: 1=A, 27=AA."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _read_regular(path: Path, what: str, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file; never waits on a FIFO or reads a device."""
    # O_BINARY: Windows would otherwise read in text mode (CR LF, Ctrl-Z).
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        raise HostileFile(_("{what} cannot be read").format(what=what)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise HostileFile(_("{what} is not a regular file").format(what=what))
        if info.st_size > limit:
            raise HostileFile(
                _("{what} is larger than {limit} bytes").format(what=what, limit=limit)
            )
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    except OSError:
        raise HostileFile(_("{what} cannot be read").format(what=what)) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise HostileFile(_("{what} is larger than {limit} bytes").format(what=what, limit=limit))
    return data


def _open(source: Path | str | bytes, what: str, limits: XlsxLimits) -> zipfile.ZipFile:
    if isinstance(source, bytes):
        data = source
        if len(data) > limits.max_file_bytes:
            raise HostileFile(
                _("{what} is larger than {limit} bytes").format(
                    what=what, limit=limits.max_file_bytes
                )
            )
    else:
        data = _read_regular(Path(source), what, limits.max_file_bytes)
    if data.startswith(_OLE2_MAGIC):
        raise HostileFile(
            _("{what} is password-protected or an old .xls file").format(what=what),
            hint=_("save it in Excel as an .xlsx workbook without a password"),
        )
    if not data.startswith(_ZIP_MAGIC):
        raise HostileFile(
            _("{what} is not an .xlsx workbook (not a ZIP archive)").format(what=what)
        )
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except DAMAGED_ZIP:
        raise HostileFile(_("{what} is not a readable ZIP archive").format(what=what)) from None


def _check_directory(archive: zipfile.ZipFile, what: str, limits: XlsxLimits) -> None:
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise HostileFile(
            _("{what} has more than {limit} parts").format(what=what, limit=limits.max_members)
        )
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        folded = name.casefold()
        pure = PurePosixPath(name)
        if (
            not name
            or name.startswith("/")
            or "\\" in name
            or "\x00" in name
            or any(part in {"", ".", ".."} for part in name.rstrip("/").split("/"))
            or pure.is_absolute()
        ):
            raise HostileFile(_("{what} has a part with an unsafe name").format(what=what))
        if folded in seen:
            raise HostileFile(_("{what} has two parts with the same name").format(what=what))
        seen.add(folded)
        if _FORBIDDEN_PARTS.search(name):
            raise HostileFile(
                _(
                    "{what} contains macros, external links, embedded objects or data "
                    "connections (part {part})"
                ).format(what=what, part=name),
                hint=_("save a copy as a plain .xlsx workbook without them"),
            )
        if info.flag_bits & 0x1:
            raise HostileFile(_("{what} has an encrypted part").format(what=what))
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise HostileFile(_("{what} uses an unsupported compression method").format(what=what))
        if info.file_size > limits.max_member_bytes:
            raise HostileFile(
                _("{what}: part {part} expands to more than {limit} bytes").format(
                    what=what, part=name, limit=limits.max_member_bytes
                )
            )
        if info.file_size >= limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise HostileFile(
                _("{what}: part {part} is compressed more than {ratio}:1 (a zip bomb)").format(
                    what=what, part=name, ratio=limits.max_ratio
                )
            )
        total += info.file_size
        if total > limits.max_total_bytes:
            raise HostileFile(
                _("{what} expands to more than {limit} bytes").format(
                    what=what, limit=limits.max_total_bytes
                )
            )
    for required in ("[Content_Types].xml", "xl/workbook.xml"):
        if required not in archive.NameToInfo:
            raise HostileFile(
                _("{what} is not an .xlsx workbook (no {part})").format(what=what, part=required)
            )


def _read_prefix(archive: zipfile.ZipFile, name: str, size: int, what: str) -> bytes:
    try:
        with archive.open(name) as stream:
            return stream.read(size)
    except DAMAGED_ZIP:
        raise HostileFile(
            _("{what}: part {part} is damaged or cannot be read").format(what=what, part=name)
        ) from None


def _check_prolog(prefix: bytes, name: str, what: str, limits: XlsxLimits) -> None:
    if prefix.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in prefix[:4]:
        # A byte search for DOCTYPE would not see it in UTF-16; Excel writes UTF-8.
        raise HostileFile(_("{what}: part {part} is not UTF-8 XML").format(what=what, part=name))
    declared = _ENCODING_DECL.match(prefix)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise HostileFile(_("{what}: part {part} is not UTF-8 XML").format(what=what, part=name))
    if _PROLOG.match(prefix):
        return
    if b"<!DOCTYPE" in prefix or b"<!ENTITY" in prefix or b"<!doctype" in prefix.lower():
        raise HostileFile(
            _(
                "{what}: part {part} declares a document type "
                "(entity expansion or external entities)"
            ).format(what=what, part=name)
        )
    if len(prefix) >= limits.prefix_bytes:
        raise HostileFile(
            _("{what}: part {part} has an XML prolog that is too long").format(what=what, part=name)
        )
    raise HostileFile(_("{what}: part {part} is not well-formed XML").format(what=what, part=name))


def _check_dimension(prefix: bytes, name: str, what: str, limits: XlsxLimits) -> None:
    head = prefix
    data_start = _SHEETDATA.search(head)
    if data_start is not None:
        # Only the part before the rows: a cell cannot pose as the dimension.
        head = head[: data_start.start()]
    match = _DIMENSION.search(head)
    if match is None:
        return  # no (readable) dimension: the row count below decides
    last_col = (match.group(3) or match.group(1)).decode("ascii")
    last_row = int(match.group(4) or match.group(2))
    if last_row > limits.max_rows + 1:
        raise HostileFile(
            _("{what}: sheet part {part} claims more than {limit} rows").format(
                what=what, part=name, limit=limits.max_rows
            ),
            hint=_(_SPLIT_ROWS),
        )
    first_row = int(match.group(2))
    first_col = column_index(match.group(1).decode("ascii"))
    cells = max(last_row - first_row + 1, 1) * max(column_index(last_col) - first_col + 1, 1)
    if cells > limits.max_cells:
        raise HostileFile(
            _("{what}: sheet part {part} claims more than {limit} cells").format(
                what=what, part=name, limit=limits.max_cells
            ),
            hint=_(_SPLIT_CELLS),
        )
    if column_index(last_col) > limits.max_columns:
        raise HostileFile(
            _("{what}: sheet part {part} claims more than {limit} columns").format(
                what=what, part=name, limit=limits.max_columns
            )
        )


def _greater_than(limit: int) -> str:
    """A regex for decimal numbers (leading zeros allowed) greater than ``limit``."""
    digits = str(limit)
    options = [f"[1-9][0-9]{{{len(digits)},}}"]  # more digits
    for i, char in enumerate(digits):
        if char != "9":
            rest = len(digits) - i - 1
            options.append(f"{digits[:i]}[{int(char) + 1}-9][0-9]{{{rest}}}")
    return "0*(?:" + "|".join(options) + ")"


def _letters_greater_than(limit: int) -> str:
    """A regex for column names (1-3 letters) after column number ``limit``."""
    name = column_letters(limit)
    options = [f"[A-Z]{{{len(name) + 1},3}}"] if len(name) < 3 else []
    for i, char in enumerate(name):
        if char != "Z":
            rest = len(name) - i - 1
            options.append(f"{name[:i]}[{chr(ord(char) + 1)}-Z][A-Z]{{{rest}}}")
    return "(?:" + "|".join(options) + ")" if options else "(?!)"


@cache
def _far_reference(max_rows: int, max_columns: int) -> re.Pattern[bytes]:
    """A row or cell reference beyond the caps (``r="..."`` of <row> or <c>)."""
    row = _greater_than(max_rows + 1)
    col = _letters_greater_than(max_columns)
    return re.compile(f'r="(?:[A-Z]{{0,3}}{row}|{col}[0-9]+)"'.encode("ascii"))


def _may_refer_far(window: bytes, max_rows: int, max_columns: int) -> bool:
    """False when no reference in ``window`` can be beyond the caps, decided without the
    regex: every match of :func:`_far_reference` is ``r="`` and as many letters as the
    last column's name has, or as many digits as the first row beyond the cap has and a
    quote. With letters and digits folded to one of each, those are two plain searches
    (``tests/test_xlsxguard.py`` holds it to the regex with hypothesis)."""
    shapes = window.translate(_SHAPES)
    letters = b'r="' + b"A" * len(column_letters(max_columns))
    return letters in shapes or b"0" * len(str(max_rows + 1)) + b'"' in shapes


_SHAPES = bytes.maketrans(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"0" * 10 + b"A" * 26)


def _count_rows(archive: zipfile.ZipFile, name: str, what: str, limits: XlsxLimits) -> int:
    """Stream a worksheet once: count its rows (with a cap) and let zipfile check CRC."""
    rows = cells = referenced = 0
    carry = b""
    far = _far_reference(limits.max_rows, limits.max_columns)
    try:
        with archive.open(name) as stream:
            while True:
                chunk = stream.read(_CHUNK)
                if not chunk:
                    break
                window = carry + chunk
                # A tag that starts in the last _TAIL bytes may be cut by the chunk
                # boundary: it is counted in the next window, which starts at `cut`.
                cut = max(len(window) - _TAIL, 0)
                colon = b":" in window
                rows += count_tags(window, ROW_TAGS, cut, colon)
                window_cells, window_referenced = count_cells(window, cut, colon)
                cells += window_cells
                referenced += window_referenced
                carry = window[cut:]
                # calamine sizes its grid by the furthest reference, not by the count:
                # one cell at XFD1000000 would make it allocate 16 billion cells.
                if _may_refer_far(window, limits.max_rows, limits.max_columns) and far.search(
                    window
                ):
                    raise HostileFile(
                        _(
                            "{what}: sheet part {part} refers to a cell beyond row {row} "
                            "or column {column}"
                        ).format(
                            what=what,
                            part=name,
                            row=limits.max_rows + 1,
                            column=column_letters(limits.max_columns),
                        ),
                        hint=_(_SPLIT_ROWS),
                    )
                if rows > limits.max_rows + 1:
                    raise HostileFile(
                        _("{what}: sheet part {part} has more than {limit} rows").format(
                            what=what, part=name, limit=limits.max_rows
                        ),
                        hint=_(_SPLIT_ROWS),
                    )
                if cells > limits.max_cells:
                    raise HostileFile(
                        _("{what}: sheet part {part} has more than {limit} cells").format(
                            what=what, part=name, limit=limits.max_cells
                        ),
                        hint=_(_SPLIT_CELLS),
                    )
            end, colon = len(carry), b":" in carry
            rows += count_tags(carry, ROW_TAGS, end, colon)
            carry_cells, carry_referenced = count_cells(carry, end, colon)
            cells += carry_cells
            referenced += carry_referenced
    except DAMAGED_ZIP:
        raise HostileFile(
            _("{what}: part {part} is damaged (sizes or checksum)").format(what=what, part=name)
        ) from None
    if rows > limits.max_rows + 1:
        raise HostileFile(
            _("{what}: sheet part {part} has more than {limit} rows").format(
                what=what, part=name, limit=limits.max_rows
            ),
            hint=_(_SPLIT_ROWS),
        )
    if referenced < cells:
        # A cell without its own reference is placed after the previous one, so a long
        # run of them would widen the grid the reader allocates past every cap.
        raise HostileFile(
            _("{what}: sheet part {part} has cells without a cell reference").format(
                what=what, part=name
            ),
            hint=_("save the file again with Excel or LibreOffice"),
        )
    return rows


def _check_content_types(archive: zipfile.ZipFile, what: str, limits: XlsxLimits) -> None:
    head = _read_prefix(archive, "[Content_Types].xml", limits.prefix_bytes, what)
    if b"macroEnabled" in head or b"vbaProject" in head:
        raise HostileFile(
            _("{what} is a macro-enabled workbook").format(what=what),
            hint=_("save a copy as a plain .xlsx workbook without macros"),
        )


def inspect_xlsx(
    source: Path | str | bytes, limits: XlsxLimits, *, what: str | None = None
) -> None:
    """Check an .xlsx archive as described in the module docstring; HostileFile if not."""
    # TRANSLATORS: {what} at the start of the guard's messages ("the workbook is larger
    # than ... bytes") when the workbook has no file name.
    label = what or (Path(source).name if not isinstance(source, bytes) else _("the workbook"))
    with _open(source, label, limits) as archive:
        _check_directory(archive, label, limits)
        _check_content_types(archive, label, limits)
        sheets = [i.filename for i in archive.infolist() if _SHEET_PART.fullmatch(i.filename)]
        if not sheets:
            raise HostileFile(_("{what} has no worksheet").format(what=label))
        if len(sheets) > limits.max_sheets:
            raise HostileFile(
                _("{what} has more than {limit} worksheets").format(
                    what=label, limit=limits.max_sheets
                )
            )
        for info in archive.infolist():
            if info.filename.lower().endswith(_XML_SUFFIXES):
                prefix = _read_prefix(archive, info.filename, limits.prefix_bytes, label)
                _check_prolog(prefix, info.filename, label, limits)
                if info.filename in sheets:
                    _check_dimension(prefix, info.filename, label, limits)
        for name in sheets:
            _count_rows(archive, name, label, limits)


def check_xlsx(source: Path | str | bytes, limits: XlsxLimits) -> None:
    """Refuse a hostile or oversized .xlsx with :class:`HostileFile`; return if it is safe
    for calamine or openpyxl to open."""
    inspect_xlsx(source, limits)
