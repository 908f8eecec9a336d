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
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from xml.etree.ElementTree import Element

from securexchange.errors import HostileFile, InvalidWorkbook
from securexchange.i18n import _
from securexchange.ids import is_artifact_id, is_record_id
from securexchange.sheets.cells import written_text
from securexchange.sheets.layout import DATA_SHEET, LAYOUTS, PROP_PACKAGE, Layout
from securexchange.sheets.row_reader import (
    RowReader,
)
from securexchange.sheets.workbook_edits import (
    CellProblem,
    Expectation,
    ExpectedWorkbook,
    WorkbookEdits,
    WrittenCells,
    WrittenRow,
)
from securexchange.sheets.workbook_limits import workbook_limits
from securexchange.sheets.xlsxguard import (
    DAMAGED_ZIP,
    XlsxLimits,
    check_xlsx,
    column_index,
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
_MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam", ".xlsb", ".xls")


# --- what the caller knows, and what it gets back -------------------------------------------


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
        row.record_id: WrittenRow(row.status, row.reports, row.all_cells()) for row in expected.rows
    }
    return _read(data, Expectation(expected.package_id, lookup, len(expected.rows)), name, limits)


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
    lookup: dict[str, WrittenRow] | None = None
    if written is not None:
        lookup = {}
        for record_id, cells in written.items():
            if not is_record_id(record_id) or not isinstance(cells, WrittenCells):
                raise ValueError("written cells must map record ids to WrittenCells")
            lookup[record_id] = WrittenRow(cells.status, cells.reports, None)
        count = len(lookup) if record_count is None else record_count
    elif record_count is None:
        raise ValueError("without the written cells, record_count is needed")
    else:
        count = record_count
    return _read(data, Expectation(package_id, lookup, count), name, limits)


def _read(
    data: bytes, expected: Expectation, name: str | None, limits: XlsxLimits | None
) -> WorkbookEdits:
    # TRANSLATORS: {what} at the start of the reader's messages when the workbook has
    # no file name.
    what = PurePosixPath(name.replace("\\", "/")).name if name else _("the workbook")
    if name is not None:
        suffix = PurePosixPath(what).suffix.lower()
        if suffix in _MACRO_SUFFIXES:
            raise HostileFile(
                _("{what} is not a plain .xlsx workbook (macro-enabled or binary format)").format(
                    what=what
                ),
                hint=_("save a copy as an .xlsx workbook (Excel-werkmap)"),
            )
        if suffix != ".xlsx":
            raise InvalidWorkbook(_("{what} is not an .xlsx workbook").format(what=what))
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
        raise InvalidWorkbook(_("{what} has no part {part}").format(what=what, part=part)) from None
    except DAMAGED_ZIP:
        raise HostileFile(
            _("{what}: part {part} is damaged").format(what=what, part=part)
        ) from None
    try:
        element: Element = fromstring(raw, forbid_dtd=True)
    except DefusedXmlException:
        raise HostileFile(
            _("{what}: part {part} declares a document type").format(what=what, part=part)
        ) from None
    except ParseError:
        raise InvalidWorkbook(
            _("{what}: part {part} is not well-formed XML").format(what=what, part=part)
        ) from None
    return element


def _layouts_of(names: Sequence[str]) -> tuple[Layout, ...]:
    """The layouts whose sheets are exactly ``names`` (added or renamed sheets: none).

    Layouts 2 and 3 have the same sheets; the header row tells them apart."""
    return tuple(layout for layout in LAYOUTS if sorted(names) == sorted(layout.sheets))


def _sheet_list(layout: Layout) -> str:
    # TRANSLATORS: a list of sheet names: {sheets} is "Inburgeraars, Keuzelijsten",
    # {last} the last one ("Toelichting").
    return _("{sheets} and {last}").format(
        sheets=", ".join(layout.sheets[:-1]), last=layout.sheets[-1]
    )


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
            _("{what} links to other workbooks").format(what=what),
            hint=_("save a copy without links to other files"),
        )
    sheets = workbook.findall(f"{{{_MAIN_NS}}}sheets/{{{_MAIN_NS}}}sheet")
    names = [sheet.get("name", "") for sheet in sheets]
    layouts = _layouts_of(names)
    if not layouts:
        raise InvalidWorkbook(
            _("{what} must hold exactly the sheets {sheets}, but holds {count} sheet(s)").format(
                what=what, sheets=_sheet_list(LAYOUTS[0]), count=len(names)
            ),
            hint=_("remove added sheets and do not rename the sheets"),
        )
    for sheet in sheets:
        if sheet.get("state", "visible") != "visible":
            raise InvalidWorkbook(
                _("{what}: sheet {sheet} is hidden").format(what=what, sheet=sheet.get("name")),
                hint=_("unhide the sheet (hidden sheets are not accepted)"),
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
            raise InvalidWorkbook(
                _("{what}: sheet {sheet} has no part").format(what=what, sheet=sheet.get("name"))
            )
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if part not in archive.NameToInfo or not part.startswith("xl/worksheets/"):
            raise InvalidWorkbook(
                _("{what}: sheet {sheet} is not a worksheet").format(
                    what=what, sheet=sheet.get("name")
                )
            )
        parts[sheet.get("name", "")] = part
    return parts, layouts


def _check_package(archive: zipfile.ZipFile, what: str, package_id: str) -> None:
    if "docProps/custom.xml" not in archive.NameToInfo:
        raise InvalidWorkbook(
            _("{what} has lost its package properties").format(what=what),
            hint=_("return the workbook that securexchange wrote, not a copy into a new file"),
        )
    custom = _parse(archive, "docProps/custom.xml", what)
    found: list[str] = []
    for prop in custom.findall(f"{{{_CUSTOM_NS}}}property"):
        if prop.get("name") == PROP_PACKAGE:
            value = prop.find(f"{{{_VT_NS}}}lpwstr")
            found.append(value.text or "" if value is not None else "")
    if not found:
        raise InvalidWorkbook(
            _("{what} has lost its package properties").format(what=what),
            hint=_("return the workbook that securexchange wrote, not a copy into a new file"),
        )
    if found != [package_id]:
        raise InvalidWorkbook(
            _("{what} belongs to another package than the one expected").format(what=what),
            hint=_("read back the workbook of the package it was written for"),
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
                                _(
                                    "{what}: sheet {sheet} has a formula in a cell "
                                    "without a reference"
                                ).format(what=what, sheet=DATA_SHEET)
                            )
                        found.add((int(match.group(2)), column_index(match.group(1)) - 1))
                    element.clear()
                elif element.tag == row_tag:
                    element.clear()  # its cells are done: keeps memory flat
    except DefusedXmlException:
        raise HostileFile(
            _("{what}: part {part} declares a document type").format(what=what, part=part)
        ) from None
    except ParseError:
        raise InvalidWorkbook(
            _("{what}: sheet {sheet} is not well-formed XML").format(what=what, sheet=DATA_SHEET)
        ) from None
    except DAMAGED_ZIP:
        raise HostileFile(
            _("{what}: part {part} is damaged").format(what=what, part=part)
        ) from None
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
        raise HostileFile(
            _("{what}: part {part} is damaged").format(what=what, part=part)
        ) from None
    return False


def _read_values(
    data: bytes,
    expected: Expectation,
    formulas: frozenset[tuple[int, int]],
    what: str,
    layouts: tuple[Layout, ...],
) -> WorkbookEdits:
    """Read the data sheet with calamine, one row at a time (no copy of the grid)."""
    from python_calamine import CalamineError, CalamineWorkbook, SheetVisibleEnum

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError):
        raise InvalidWorkbook(_("{what} cannot be read as a workbook").format(what=what)) from None
    reader = RowReader(expected, formulas, what, layouts)
    with book:
        # calamine's own view of the sheets must agree with the XML we checked.
        for meta in book.sheets_metadata:
            if meta.visible != SheetVisibleEnum.Visible:
                raise InvalidWorkbook(
                    _("{what}: sheet {sheet} is hidden").format(what=what, sheet=meta.name),
                    hint=_("unhide the sheet (hidden sheets are not accepted)"),
                )
        if _layouts_of(book.sheet_names) != layouts:
            raise InvalidWorkbook(
                _("{what} must hold exactly the sheets {sheets}").format(
                    what=what, sheets=_sheet_list(layouts[0])
                )
            )
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
                    raise _unreadable_sheet(what)
                pad = ("",) * (end[1] + 1 - len(values))
                reader.row(count, pad + tuple(written_text(value) for value in values))
        except (CalamineError, ValueError, OSError):
            raise _unreadable_sheet(what) from None
    if end is not None and count != end[0] + 1:
        raise _unreadable_sheet(what)
    return reader.result()


def _unreadable_sheet(what: str) -> InvalidWorkbook:
    return InvalidWorkbook(
        _("{what}: sheet {sheet} cannot be read").format(what=what, sheet=DATA_SHEET)
    )


def refusal(what: str, problems: Sequence[CellProblem]) -> InvalidWorkbook:
    """One error listing every cell that cannot be read (for a caller that must not
    drop them: the return would lose what was typed there)."""
    listed = "; ".join(str(p) for p in problems[:50])
    # TRANSLATORS: added after the first 50 cells that cannot be read.
    more = _("; and {count} more").format(count=len(problems) - 50) if len(problems) > 50 else ""
    return InvalidWorkbook(
        _("{what}: {count} cell(s) cannot be read: {cells}{more}").format(
            what=what, count=len(problems), cells=listed, more=more
        ),
        hint=_("pick each of these cells from its drop-down list (or empty a quality cell)"),
    )
