"""Reading a municipal workbook back: the editable columns, and nothing else.

Staff type activity statuses and data-quality reports into the workbook that
:mod:`securexchange.sheets.workbook` wrote; the return channel (promise P6) needs exactly those
per record: the status column, and the quality column (layouts 1 and 2) or the one
quality column per reportable field (layout 3). Everything else in the file is untrusted input:

1. :func:`securexchange.sheets.xlsxguard.check_xlsx` first (size and ratio caps, row and cell
   caps, no DTD, no macros, no external links, no embedded objects): HostileFile.
2. The structure we wrote, checked with the standard library and defusedxml on small
   parts: exactly the sheets of one layout (:data:`securexchange.sheets.workbook.LAYOUTS`), all
   visible worksheets; the package id in the custom properties: InvalidWorkbook. The
   data sheet is scanned for ``<f>`` elements only when it contains one.
3. The values, with python-calamine (fast, and it never resolves a DTD): the header row
   is found by its exact headers (staff may have inserted rows above it), records by
   their record id (staff may have sorted, filtered or inserted empty rows), each column
   by its header in the layout found; the editable cells are matched against their
   closed lists; any other cell that differs from what was written is reported by
   position only, never by value. A cell that cannot be read (outside its list, a
   formula in an editable column, a record id that was not written or is repeated) is
   listed in ``problems`` and dropped; every other cell is still read.

Two entry points share every check: :func:`read_workbook` takes the rows as written
(:class:`ExpectedWorkbook`); :func:`read_workbook_cells` takes only the package id and,
per record id, the editable cells as written (:class:`WrittenCells`), which is what
the municipal vault keeps without decrypting its records. Without the other cells as
written it cannot compare them, so its ``changed_cells`` are only what needs no
comparison: formulas outside the editable columns, cells right of the table and rows
without a record id.

openpyxl is not used here: calamine reports sheet visibility (``sheets_metadata``), and
formulas are found in the sheet XML directly.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import NoReturn
from xml.etree.ElementTree import Element

from securexchange.errors import HostileFile, InvalidWorkbook
from securexchange.ids import is_artifact_id, is_record_id
from securexchange.schema import (
    ACTIVITY_STATUSES,
    HEADER_ACTIVITY,
    HEADER_QUALITY,
    HEADER_RECORD_ID,
    QUALITY_PROBLEMS,
    fold,
)
from securexchange.sheets.cells import written_text
from securexchange.sheets.layout import (
    ALL_HEADERS,
    DATA_SHEET,
    FIELD_BY_QUALITY_HEADER,
    LAYOUTS,
    PROP_PACKAGE,
    QUALITY_REPORTS,
    Layout,
    QualityReport,
    WorkbookRow,
    check_reports,
    in_field_order,
    split_reports,
)
from securexchange.sheets.xlsxguard import (
    DAMAGED_ZIP,
    XlsxLimits,
    check_xlsx,
    column_index,
    column_letters,
)

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
# Any formula element, with or without a namespace prefix.
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,15}:)?f[\s>/]")
_SHEETDATA_END = re.compile(
    rb"</(?:[A-Za-z_][\w.-]{0,15}:)?sheetData>|<(?:[A-Za-z_][\w.-]{0,15}:)?sheetData\s*/>"
)
_CELL_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")
# How far down the header row may have been pushed by inserted rows.
_HEADER_SEARCH_ROWS = 100
_MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam", ".xlsb", ".xls")

_QUALITY_BY_LABEL: Mapping[str, QualityReport] = {
    fold(report.label): report for report in QUALITY_REPORTS
}


# --- what the caller knows, and what it gets back -------------------------------------------


@dataclass(frozen=True)
class ExpectedWorkbook:
    """What the vault says was written: the package and the rows as they were written."""

    package_id: str
    rows: tuple[WorkbookRow, ...]
    _by_id: Mapping[str, WorkbookRow] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.package_id, str) or not (
            is_artifact_id(self.package_id) and self.package_id.startswith("pkg-")
        ):
            raise ValueError("an expected workbook needs a package id")
        if not isinstance(self.rows, tuple) or not all(
            isinstance(row, WorkbookRow) for row in self.rows
        ):
            raise ValueError("expected rows must be a tuple of WorkbookRow")
        by_id = {row.record_id: row for row in self.rows}
        if len(by_id) != len(self.rows):
            raise ValueError("the expected rows have a duplicate record id")
        object.__setattr__(self, "_by_id", by_id)

    def row(self, record_id: str) -> WorkbookRow | None:
        return self._by_id.get(record_id)


@dataclass(frozen=True)
class WrittenCells:
    """The editable cells of one record as they were written: its status and its quality
    reports (``quality`` and ``more_quality`` as in :class:`WorkbookRow`)."""

    status: str
    quality: QualityReport | None = None
    more_quality: tuple[QualityReport, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in ACTIVITY_STATUSES:
            raise ValueError("a written status must be one of the list")
        if self.quality is not None and not isinstance(self.quality, QualityReport):
            raise ValueError("a written quality report must be a QualityReport")
        if not isinstance(self.more_quality, tuple) or (self.more_quality and not self.quality):
            raise ValueError("more written quality reports need a first one, in a tuple")
        check_reports(self.reports)

    @property
    def reports(self) -> tuple[QualityReport, ...]:
        """Every written quality report, in field order."""
        if self.quality is None:
            return ()
        return in_field_order((self.quality, *self.more_quality))


@dataclass(frozen=True)
class _Written:
    """What the reader compares one record's row with; ``cells`` (in
    :data:`ALL_HEADERS` order) None when only the editable cells are known."""

    status: str
    reports: tuple[QualityReport, ...]
    cells: tuple[str, ...] | None


@dataclass(frozen=True)
class _Expectation:
    package_id: str
    lookup: Mapping[str, _Written] | None  # None: the record ids are not known
    record_count: int


@dataclass(frozen=True)
class ChangedCell:
    """A cell outside the editable columns whose content differs from what was written.

    Position only (1-based row as Excel shows it, column letter, and its header when
    the column is one of ours): the value is personal data and is never reported.
    """

    row: int
    column: str
    header: str | None


@dataclass(frozen=True)
class CellProblem:
    """A cell that cannot be read: where it is and why, never its value.

    The cell is dropped (its record keeps what was written there); every other cell of
    the workbook is still read.
    """

    sheet: str
    row: int
    column: str
    header: str | None
    why: str

    def __str__(self) -> str:
        header = f" ({self.header})" if self.header else ""
        return f"sheet {self.sheet}, row {self.row}, column {self.column}{header}: {self.why}"


@dataclass(frozen=True)
class RecordEdit:
    """The editable cells of one record as the workbook holds them.

    ``status`` None: the status cell could not be read (it is listed in the workbook's
    ``problems``); ``quality_read`` False: the same for a quality cell (in layout 3, one
    of the per-field cells; that field keeps the report as written).

    ``quality`` and ``more_quality`` are the record's quality reports as in
    :class:`WorkbookRow` (layout 3 holds one per field); :attr:`reports` all of them.
    """

    record_id: str
    row: int
    status: str | None
    quality: QualityReport | None
    status_changed: bool
    quality_changed: bool
    quality_read: bool = True
    more_quality: tuple[QualityReport, ...] = ()

    @property
    def changed(self) -> bool:
        return self.status_changed or self.quality_changed

    @property
    def reports(self) -> tuple[QualityReport, ...]:
        """Every quality report the row holds, in field order."""
        if self.quality is None:
            return ()
        return in_field_order((self.quality, *self.more_quality))


@dataclass(frozen=True)
class WorkbookEdits:
    """What a returned workbook says: one entry per record found, in sheet order.

    ``missing`` lists the package's record ids that no row holds any more (rows deleted
    by staff: not an edit, their status stays as it was). ``changed_cells`` lists,
    by position, cells outside the editable columns that differ from what was
    written, in sheet order. ``problems`` lists every cell that could not be read (a
    value outside its list, a formula in an editable column, a record id that was not
    written or is repeated), in sheet order; those cells are dropped, all others read.
    """

    package_id: str
    records: tuple[RecordEdit, ...]
    changed_cells: tuple[ChangedCell, ...]
    missing: tuple[str, ...]
    problems: tuple[CellProblem, ...] = ()
    layout: int = 2  # the workbook's layout version (workbook.Layout)

    @property
    def edits(self) -> tuple[RecordEdit, ...]:
        """The records whose status or quality report differs from what was written."""
        return tuple(record for record in self.records if record.changed)


def workbook_limits(record_count: int) -> XlsxLimits:
    """Caps for a returned workbook of ``record_count`` records.

    Room for 10,000 rows more than were written (inserted empty rows, notes), at most
    32 columns and 32 cells a row; 64 MiB of file (a 100,000-record workbook is about
    11 MB). The cell cap is checked against the sheet's dimension, a rectangle: layout
    3 is 26 columns wide, so fewer cells a row would refuse a large workbook we wrote.
    calamine's rectangle for 110,000 rows of 32 cells stays within the guard's memory
    budget (xlsxguard.XlsxLimits).
    """
    rows = record_count + 10_000
    return XlsxLimits(
        max_file_bytes=64 << 20,
        max_rows=rows,
        max_cells=rows * 32,
        max_sheets=8,  # an added sheet gets the clearer InvalidWorkbook below
    )


# --- reading ---------------------------------------------------------------------------------


def read_workbook(
    data: bytes,
    *,
    expected: ExpectedWorkbook,
    name: str | None = None,
    limits: XlsxLimits | None = None,
) -> WorkbookEdits:
    """The edits a returned workbook carries; HostileFile or InvalidWorkbook (exit 2).

    ``name`` (the file name, for the extension check and messages) and ``limits``
    (default :func:`workbook_limits`) are optional.
    """
    if not isinstance(data, bytes):
        raise TypeError("data must be bytes")
    if not isinstance(expected, ExpectedWorkbook):
        raise TypeError("expected must be an ExpectedWorkbook")
    lookup = {
        row.record_id: _Written(row.status, row.reports, row.all_cells()) for row in expected.rows
    }
    return _read(data, _Expectation(expected.package_id, lookup, len(expected.rows)), name, limits)


def read_workbook_cells(
    data: bytes,
    *,
    package_id: str,
    written: Mapping[str, WrittenCells] | None,
    record_count: int | None = None,
    name: str | None = None,
    limits: XlsxLimits | None = None,
) -> WorkbookEdits:
    """:func:`read_workbook` for a caller that knows only the editable cells as written.

    ``written`` maps each record id the workbook was written with to its editable
    cells; every check of :func:`read_workbook` applies (the guard, the structure, the
    package id, no formula in an editable column, the header, known record ids once
    each, the closed lists). Cells outside the editable columns of a record's row are
    not compared (nothing to compare with): ``changed_cells`` holds formulas outside the
    editable columns, cells right of the table and rows without a record id.

    ``written`` None means the record ids are not known either (a caller without the
    key that seals them): any well-formed record id is accepted once, nothing counts as
    changed and ``missing`` is empty; ``record_count`` (the number of records written)
    then sets the default limits.
    """
    if not isinstance(data, bytes):
        raise TypeError("data must be bytes")
    if not isinstance(package_id, str) or not (
        is_artifact_id(package_id) and package_id.startswith("pkg-")
    ):
        raise ValueError("an expected workbook needs a package id")
    lookup: dict[str, _Written] | None = None
    if written is not None:
        lookup = {}
        for record_id, cells in written.items():
            if not is_record_id(record_id) or not isinstance(cells, WrittenCells):
                raise ValueError("written cells must map record ids to WrittenCells")
            lookup[record_id] = _Written(cells.status, cells.reports, None)
        count = len(lookup) if record_count is None else record_count
    elif record_count is None:
        raise ValueError("without the written cells, record_count is needed")
    else:
        count = record_count
    return _read(data, _Expectation(package_id, lookup, count), name, limits)


def _read(
    data: bytes, expected: _Expectation, name: str | None, limits: XlsxLimits | None
) -> WorkbookEdits:
    what = PurePosixPath(name.replace("\\", "/")).name if name else "the workbook"
    if name is not None:
        suffix = PurePosixPath(what).suffix.lower()
        if suffix in _MACRO_SUFFIXES:
            raise HostileFile(
                f"{what} is not a plain .xlsx workbook (macro-enabled or binary format)",
                hint="save a copy as an .xlsx workbook (Excel-werkmap)",
            )
        if suffix != ".xlsx":
            raise InvalidWorkbook(f"{what} is not an .xlsx workbook")
    limits = limits if limits is not None else workbook_limits(expected.record_count)
    check_xlsx(data, limits)

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_parts, layouts = _check_structure(archive, what)
        _check_package(archive, what, expected.package_id)
        formulas = _formula_cells(archive, sheet_parts[DATA_SHEET], what)
    return _read_values(data, expected, formulas, what, layouts)


def _parse(archive: zipfile.ZipFile, part: str, what: str) -> Element:
    """A small XML part, parsed with DTDs and entities forbidden (the guard already
    refused them; this is the second lock)."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        raw = archive.read(part)
    except KeyError:
        raise InvalidWorkbook(f"{what} has no part {part}") from None
    except DAMAGED_ZIP:
        raise HostileFile(f"{what}: part {part} is damaged") from None
    try:
        element: Element = fromstring(raw, forbid_dtd=True)
    except DefusedXmlException:
        raise HostileFile(f"{what}: part {part} declares a document type") from None
    except ParseError:
        raise InvalidWorkbook(f"{what}: part {part} is not well-formed XML") from None
    return element


def _layouts_of(names: Sequence[str]) -> tuple[Layout, ...]:
    """The layouts whose sheets are exactly ``names`` (added or renamed sheets: none).

    Layouts 2 and 3 have the same sheets; the header row tells them apart."""
    return tuple(layout for layout in LAYOUTS if sorted(names) == sorted(layout.sheets))


def _sheet_list(layout: Layout) -> str:
    return ", ".join(layout.sheets[:-1]) + " and " + layout.sheets[-1]


def _check_structure(
    archive: zipfile.ZipFile, what: str
) -> tuple[dict[str, str], tuple[Layout, ...]]:
    """Exactly the sheets of one layout, visible worksheets, no external references.

    Returns the zip part name of each sheet, and the layouts with those sheets. Only
    the data sheet is read; the others are accepted by name, so no sheet a staff member
    can type in carries anything back but the editable columns.
    """
    workbook = _parse(archive, "xl/workbook.xml", what)
    if workbook.find(f"{{{_MAIN_NS}}}externalReferences") is not None:
        raise HostileFile(
            f"{what} links to other workbooks",
            hint="save a copy without links to other files",
        )
    sheets = workbook.findall(f"{{{_MAIN_NS}}}sheets/{{{_MAIN_NS}}}sheet")
    names = [sheet.get("name", "") for sheet in sheets]
    layouts = _layouts_of(names)
    if not layouts:
        raise InvalidWorkbook(
            f"{what} must hold exactly the sheets {_sheet_list(LAYOUTS[0])}, "
            f"but holds {len(names)} sheet(s)",
            hint="remove added sheets and do not rename the sheets",
        )
    for sheet in sheets:
        if sheet.get("state", "visible") != "visible":
            raise InvalidWorkbook(
                f"{what}: sheet {sheet.get('name')} is hidden",
                hint="unhide the sheet (hidden sheets are not accepted)",
            )

    rels = _parse(archive, "xl/_rels/workbook.xml.rels", what)
    targets = {
        rel.get("Id"): rel.get("Target", "")
        for rel in rels.findall(f"{{{_PKG_REL_NS}}}Relationship")
        if rel.get("TargetMode", "Internal") == "Internal"
    }
    parts: dict[str, str] = {}
    for sheet in sheets:
        target = targets.get(sheet.get(f"{{{_REL_NS}}}id"))
        if not target:
            raise InvalidWorkbook(f"{what}: sheet {sheet.get('name')} has no part")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if part not in archive.NameToInfo or not part.startswith("xl/worksheets/"):
            raise InvalidWorkbook(f"{what}: sheet {sheet.get('name')} is not a worksheet")
        parts[sheet.get("name", "")] = part
    return parts, layouts


def _check_package(archive: zipfile.ZipFile, what: str, package_id: str) -> None:
    if "docProps/custom.xml" not in archive.NameToInfo:
        raise InvalidWorkbook(
            f"{what} has lost its package properties",
            hint="return the workbook that securexchange wrote, not a copy into a new file",
        )
    custom = _parse(archive, "docProps/custom.xml", what)
    found: list[str] = []
    for prop in custom.findall(f"{{{_CUSTOM_NS}}}property"):
        if prop.get("name") == PROP_PACKAGE:
            value = prop.find(f"{{{_VT_NS}}}lpwstr")
            found.append(value.text or "" if value is not None else "")
    if not found:
        raise InvalidWorkbook(
            f"{what} has lost its package properties",
            hint="return the workbook that securexchange wrote, not a copy into a new file",
        )
    if found != [package_id]:
        raise InvalidWorkbook(
            f"{what} belongs to another package than the one expected",
            hint="read back the workbook of the package it was written for",
        )


def _formula_cells(archive: zipfile.ZipFile, part: str, what: str) -> frozenset[tuple[int, int]]:
    """(row, 0-based column) of every cell with a formula in the sheet part."""
    if not _has_formula(archive, part, what):
        return frozenset()
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, iterparse

    cell_tag = f"{{{_MAIN_NS}}}c"
    formula_tag = f"{{{_MAIN_NS}}}f"
    row_tag = f"{{{_MAIN_NS}}}row"
    found: set[tuple[int, int]] = set()
    try:
        with archive.open(part) as stream:
            for _event, element in iterparse(stream, events=("end",), forbid_dtd=True):
                if element.tag == cell_tag:
                    if element.find(formula_tag) is not None:
                        match = _CELL_REF.fullmatch(element.get("r", ""))
                        if match is None:
                            raise InvalidWorkbook(
                                f"{what}: sheet {DATA_SHEET} has a formula in a cell "
                                "without a reference"
                            )
                        found.add((int(match.group(2)), column_index(match.group(1)) - 1))
                    element.clear()
                elif element.tag == row_tag:
                    element.clear()  # its cells are done: keeps memory flat
    except DefusedXmlException:
        raise HostileFile(f"{what}: part {part} declares a document type") from None
    except ParseError:
        raise InvalidWorkbook(f"{what}: sheet {DATA_SHEET} is not well-formed XML") from None
    except DAMAGED_ZIP:
        raise HostileFile(f"{what}: part {part} is damaged") from None
    return frozenset(found)


def _has_formula(archive: zipfile.ZipFile, part: str, what: str) -> bool:
    """A fast byte scan: does the part's sheetData contain a formula element at all?

    Only up to the end of sheetData: Excel stores list validations that point at another
    sheet in an extension after it, as ``<xm:f>``, which is not a cell formula.
    """
    carry = b""
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(1 << 20):
                window = carry + chunk
                end = _SHEETDATA_END.search(window)
                if _FORMULA_TAG.search(window, 0, end.start() if end else len(window)):
                    return True
                if end is not None:
                    return False
                carry = window[-24:]
    except DAMAGED_ZIP:
        raise HostileFile(f"{what}: part {part} is damaged") from None
    return False


def _read_values(
    data: bytes,
    expected: _Expectation,
    formulas: frozenset[tuple[int, int]],
    what: str,
    layouts: tuple[Layout, ...],
) -> WorkbookEdits:
    """Read the data sheet with calamine, one row at a time (no copy of the grid)."""
    from python_calamine import CalamineError, CalamineWorkbook, SheetVisibleEnum

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError):
        raise InvalidWorkbook(f"{what} cannot be read as a workbook") from None
    reader = _RowReader(expected, formulas, what, layouts)
    with book:
        # calamine's own view of the sheets must agree with the XML we checked.
        for meta in book.sheets_metadata:
            if meta.visible != SheetVisibleEnum.Visible:
                raise InvalidWorkbook(
                    f"{what}: sheet {meta.name} is hidden",
                    hint="unhide the sheet (hidden sheets are not accepted)",
                )
        if _layouts_of(book.sheet_names) != layouts:
            raise InvalidWorkbook(f"{what} must hold exactly the sheets {_sheet_list(layouts[0])}")
        try:
            sheet = book.get_sheet_by_name(DATA_SHEET)
            end = sheet.end
            count = 0
            # python-calamine 0.9 yields rows from row 1 but columns from the first used
            # column (``start`` does not say which); both run to ``end``. The column
            # offset follows from each row's length; the row count is checked at the end,
            # so a change in that behaviour cannot shift row numbers unnoticed.
            for values in sheet.iter_rows():
                count += 1
                if end is None or len(values) > end[1] + 1:
                    raise InvalidWorkbook(f"{what}: sheet {DATA_SHEET} cannot be read")
                pad = ("",) * (end[1] + 1 - len(values))
                reader.row(count, pad + tuple(written_text(value) for value in values))
        except (CalamineError, ValueError, OSError):
            raise InvalidWorkbook(f"{what}: sheet {DATA_SHEET} cannot be read") from None
    if end is not None and count != end[0] + 1:
        raise InvalidWorkbook(f"{what}: sheet {DATA_SHEET} cannot be read")
    return reader.result()


# The stand-in for a record whose written cells are not known (``written`` None).
_UNKNOWN = _Written(status="", reports=(), cells=None)


class _RowReader:
    """Interprets the data sheet row by row: the header, then records by record id.

    The header row says which of the candidate layouts the workbook has (layouts 2 and
    3 share their sheets); columns are taken by their header in that layout. A cell that
    cannot be read is listed (:class:`CellProblem`) and dropped; reading goes on.
    """

    def __init__(
        self,
        expected: _Expectation,
        formulas: frozenset[tuple[int, int]],
        what: str,
        layouts: tuple[Layout, ...],
    ) -> None:
        self._expected = expected
        self._formulas = formulas
        self._what = what
        self._layouts = layouts
        self._use(layouts[0])
        self._header_seen = False
        self._changed: list[ChangedCell] = []
        self._problems: list[CellProblem] = []
        self._records: list[RecordEdit] = []
        self._seen: dict[str, int] = {}

    def _use(self, layout: Layout) -> None:
        self._layout = layout
        self._headers = layout.headers
        self._id_column = layout.column(HEADER_RECORD_ID)
        self._status_column = layout.column(HEADER_ACTIVITY)
        # Layouts 1 and 2: one "field: problem" column; layout 3: a column per field.
        self._quality_column = None if layout.per_field_quality else layout.column(HEADER_QUALITY)
        self._field_columns = tuple(
            (layout.column(header), field)
            for header, field in FIELD_BY_QUALITY_HEADER.items()
            if header in layout.headers
        )
        self._editable = frozenset(layout.column(h) for h in layout.editable)
        # Column of the layout -> index in WorkbookRow.all_cells().
        self._written_index = tuple(ALL_HEADERS.index(h) for h in layout.headers)

    def _problem(self, row: int, column: int, why: str) -> None:
        header = self._headers[column] if column < len(self._headers) else None
        self._problems.append(CellProblem(DATA_SHEET, row, column_letters(column + 1), header, why))

    def row(self, row_number: int, cells: tuple[str, ...]) -> None:
        if not self._header_seen:
            for layout in self._layouts:
                headers = layout.headers
                if tuple(cell.strip() for cell in cells[: len(headers)]) == headers:
                    self._use(layout)
                    self._header_seen = True
                    return
            if row_number >= _HEADER_SEARCH_ROWS:
                self._no_header()
            return
        headers = self._headers
        if not any(cells):
            return  # an empty (inserted or cleared) row
        width = len(headers)
        padded = cells + ("",) * (width - len(cells)) if len(cells) < width else cells
        record_id = padded[self._id_column].strip()
        if not record_id:
            # A row without a record id cannot be returned; say where it is.
            self._changed.extend(self._positions(row_number, padded, range(len(padded))))
            return
        lookup = self._expected.lookup
        row: _Written | None = None
        if is_record_id(record_id):
            row = _UNKNOWN if lookup is None else lookup.get(record_id)
        if row is None:
            self._problem(
                row_number, self._id_column, "a record id that is not one of this package's"
            )
            return
        if record_id in self._seen:
            self._problem(
                row_number,
                self._id_column,
                f"the same record id as row {self._seen[record_id]} (a copied row)",
            )
            return
        self._seen[record_id] = row_number
        written = row.cells
        index = self._written_index
        differing = [
            column
            for column in range(width)
            if column not in self._editable
            and (
                (row_number, column) in self._formulas
                or (written is not None and padded[column] != written[index[column]])
            )
        ]
        differing.extend(column for column in range(width, len(padded)) if padded[column])
        self._changed.extend(self._positions(row_number, padded, differing, force=True))
        status = self._status(padded[self._status_column], row_number)
        known = row is not _UNKNOWN
        if self._quality_column is None:
            reports, quality_read = self._field_reports(padded, row_number, row.reports)
        else:
            quality, quality_read = self._quality(padded[self._quality_column], row_number)
            # A cell that could not be read keeps the report as written.
            reports = (() if quality is None else (quality,)) if quality_read else row.reports
        first, more = split_reports(reports)
        self._records.append(
            RecordEdit(
                record_id=record_id,
                row=row_number,
                status=status,
                quality=first,
                more_quality=more,
                status_changed=known and status is not None and status != row.status,
                quality_changed=known and set(reports) != set(row.reports),
                quality_read=quality_read,
            )
        )

    def _status(self, text: str, row_number: int) -> str | None:
        column = self._status_column
        if (row_number, column) in self._formulas:
            self._problem(row_number, column, "a formula (pick the value itself)")
            return None
        if not text.strip():
            self._problem(row_number, column, "empty (pick a status from the list)")
            return None
        status = ACTIVITY_STATUSES.canonical(text)
        if status is None:
            self._problem(row_number, column, "a value outside the list")
        return status

    def _quality(self, text: str, row_number: int) -> tuple[QualityReport | None, bool]:
        column = self._quality_column
        if column is None:
            raise AssertionError("a single quality column in a per-field layout")
        if (row_number, column) in self._formulas:
            self._problem(row_number, column, "a formula (pick the value itself)")
            return None, False
        if not text.strip():
            return None, True
        report = _QUALITY_BY_LABEL.get(fold(text))
        if report is None:
            self._problem(row_number, column, "a value outside the list")
            return None, False
        return report, True

    def _field_reports(
        self, cells: Sequence[str], row_number: int, written: tuple[QualityReport, ...]
    ) -> tuple[tuple[QualityReport, ...], bool]:
        """Layout 3: one report per field column that holds a problem. A cell that
        cannot be read is listed and keeps its field's report as written."""
        as_written = {report.field: report for report in written}
        reports: list[QualityReport] = []
        all_read = True
        for column, name in self._field_columns:
            text = cells[column]
            if (row_number, column) in self._formulas:
                self._problem(row_number, column, "a formula (pick the value itself)")
            elif not text.strip():
                continue
            else:
                problem = QUALITY_PROBLEMS.canonical(text)
                if problem is not None:
                    reports.append(QualityReport(name, problem))
                    continue
                self._problem(row_number, column, "a value outside the list")
            all_read = False
            if name in as_written:
                reports.append(as_written[name])
        return tuple(reports), all_read

    def result(self) -> WorkbookEdits:
        if not self._header_seen:
            self._no_header()
        seen = self._seen
        return WorkbookEdits(
            package_id=self._expected.package_id,
            records=tuple(self._records),
            changed_cells=tuple(self._changed),
            missing=tuple(r for r in self._expected.lookup or () if r not in seen),
            problems=tuple(self._problems),
            layout=self._layout.version,
        )

    def _no_header(self) -> NoReturn:
        raise InvalidWorkbook(
            f"{self._what}: sheet {DATA_SHEET} has no header row with the columns as written",
            hint="do not move, rename, insert or delete columns",
        )

    def _positions(
        self, row_number: int, cells: Sequence[str], columns: Iterable[int], *, force: bool = False
    ) -> Iterator[ChangedCell]:
        headers = self._headers
        for column in columns:
            if force or cells[column]:
                header = headers[column] if column < len(headers) else None
                yield ChangedCell(row=row_number, column=column_letters(column + 1), header=header)


def refusal(what: str, problems: Sequence[CellProblem]) -> InvalidWorkbook:
    """One error listing every cell that cannot be read (for a caller that must not
    drop them: the return would lose what was typed there)."""
    listed = "; ".join(str(p) for p in problems[:50])
    more = f"; and {len(problems) - 50} more" if len(problems) > 50 else ""
    return InvalidWorkbook(
        f"{what}: {len(problems)} cell(s) cannot be read: {listed}{more}",
        hint="pick each of these cells from its drop-down list (or empty a quality cell)",
    )
