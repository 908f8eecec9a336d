"""The municipal workbook (brief §5): the Excel file municipal staff open and edit.

One data sheet ("Inburgeraars") with a banner, the Dutch headers and one row per record;
one visible, protected sheet ("Keuzelijsten") with the drop-down lists; in the staff
layouts a third ("Toelichting") explaining each value. Only the cells of "Status
activiteit" and of the quality column(s) are unlocked. Three layouts (:class:`Layout`):
the package keeps layout 1 so that every client reads it; ``municipality open`` writes
layout 3, names first and frozen with the editable columns beside them: the status, then
one quality column per reportable field ("Melding Telefoon", a drop-down of the six
problems). Layout 2 (one "Melding gegevenskwaliteit" column listing every "field:
problem" pair) is no longer written but still read.

Sheet protection here is a user-interface guard, not a security boundary: it has no
password, and even a password would not help, because anyone can remove sheet
protection from an .xlsx in seconds. It stops staff from typing in the wrong column by
accident; what the workbook may change is enforced when it is read back
(:mod:`securexchange.sheets.workbook_read`), which takes only the editable columns and
reports every other changed cell.

This module is the only openpyxl user on the write side. openpyxl is imported inside
:func:`write_workbook`, so that importing the constants and dataclasses (the reader and
the return channel need them) costs nothing.

Plaintext never touches the disk here (brief §3): openpyxl's write-only mode streams
each worksheet into a ``NamedTemporaryFile`` in ``$TMPDIR`` and zips it from there. We
use a subclass of the write-only worksheet whose writer streams each sheet's frame
(everything but the record rows) into memory; the frame is then written into its
deflated member of a ZIP archive built in memory, with the record rows (written as text
by :mod:`securexchange.sheets.sheetxml`) spliced in, so there is no temporary file to leak,
even when the process is killed mid-write. The caller
writes the returned bytes atomically where the workbook belongs.
"""

from __future__ import annotations

import functools
import hashlib
import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, cast

from securexchange import schema
from securexchange.errors import InternalError
from securexchange.ids import is_artifact_id, is_nis_code, is_record_id
from securexchange.schema import (
    ACTIVITY_STATUSES,
    HEADER_ACTIVITY,
    HEADER_OUTCOME,
    HEADER_QUALITY,
    HEADER_RECORD_ID,
    HEADER_RETENTION,
    QUALITY_FIELDS,
    QUALITY_OUTCOMES,
    QUALITY_PROBLEMS,
    SCHEMA_VERSION,
    SHARED_HEADERS,
    Record,
)
from securexchange.sheets import sheetxml

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

# A write-only worksheet. The openpyxl stubs declare only the attributes of its class
# body, not those its ``_setup`` adds (column_dimensions, merged_cells, protection, ...),
# nor the ``_writer`` we replace; so the sheet is typed loosely where it is configured.
_Sheet = Any

# --- the layout, shared with the reader --------------------------------------------------

DATA_SHEET = "Inburgeraars"
LISTS_SHEET = "Keuzelijsten"
HELP_SHEET = "Toelichting"

# Layout 1 (the package workbook, and staff workbooks written before layout 2): the
# record id first, the two editable columns far right.
PACKAGE_HEADERS: tuple[str, ...] = (
    HEADER_RECORD_ID,
    *SHARED_HEADERS,
    HEADER_RETENTION,
    HEADER_ACTIVITY,
    HEADER_QUALITY,
    HEADER_OUTCOME,
)


def quality_header(field: str) -> str:
    """The header of ``field``'s own quality column in layout 3, e.g. "Melding Telefoon"."""
    return f"Melding {field}"


# Layout 3: one quality column per reportable field, each a drop-down of the six
# problems (a drop-down of all 66 "field: problem" pairs was too long to pick from).
QUALITY_HEADERS: tuple[str, ...] = tuple(quality_header(f) for f in QUALITY_FIELDS)
FIELD_BY_QUALITY_HEADER: Mapping[str, str] = dict(zip(QUALITY_HEADERS, QUALITY_FIELDS, strict=True))
# Every column any layout shows, in the order of WorkbookRow.cells(): the package
# layout's, then the per-field quality columns.
ALL_HEADERS: tuple[str, ...] = (*PACKAGE_HEADERS, *QUALITY_HEADERS)

# Layout 2 (staff workbooks written before layout 3): the names first and frozen, so
# that the row's person stays in view while a status is picked and on every printed
# page; the editable columns and the agency's answer right after them; the rest after;
# the record id last.
_NAMES: tuple[str, ...] = SHARED_HEADERS[:2]
LAYOUT_2_HEADERS: tuple[str, ...] = (
    *_NAMES,
    HEADER_ACTIVITY,
    HEADER_QUALITY,
    HEADER_OUTCOME,
    *SHARED_HEADERS[2:],
    HEADER_RETENTION,
    HEADER_RECORD_ID,
)
# Layout 3 (the staff workbook): layout 2 with the one quality column replaced by one
# narrow column per reportable field, between the status and the agency's answer.
HEADERS: tuple[str, ...] = (
    *_NAMES,
    HEADER_ACTIVITY,
    *QUALITY_HEADERS,
    HEADER_OUTCOME,
    *SHARED_HEADERS[2:],
    HEADER_RETENTION,
    HEADER_RECORD_ID,
)
# The columns staff may type in, in any layout (each layout holds some of them).
EDITABLE_HEADERS: tuple[str, ...] = (HEADER_ACTIVITY, HEADER_QUALITY, *QUALITY_HEADERS)


@dataclass(frozen=True)
class Layout:
    """One layout of the workbook: its sheets, its column order and how it is shown.

    Readers find a workbook's layout by its sheets and its header row and take every
    column by its header, so a client reads every layout.
    """

    version: int
    sheets: tuple[str, ...]
    headers: tuple[str, ...]
    frozen_columns: int  # columns kept in view when scrolling right
    landscape: bool  # printed landscape, fitted to the page width

    def column(self, header: str) -> int:
        """0-based column of ``header``."""
        return self.headers.index(header)

    @property
    def editable(self) -> tuple[str, ...]:
        """The headers of the columns staff may type in, in sheet order."""
        return tuple(h for h in self.headers if h in EDITABLE_HEADERS)

    @property
    def per_field_quality(self) -> bool:
        """One quality column per field (layout 3), not one "field: problem" column."""
        return HEADER_QUALITY not in self.headers


PACKAGE_LAYOUT = Layout(1, (DATA_SHEET, LISTS_SHEET), PACKAGE_HEADERS, 1, False)
STAFF_LAYOUT_2 = Layout(
    2, (DATA_SHEET, LISTS_SHEET, HELP_SHEET), LAYOUT_2_HEADERS, len(_NAMES), True
)
STAFF_LAYOUT = Layout(3, (DATA_SHEET, LISTS_SHEET, HELP_SHEET), HEADERS, len(_NAMES), True)
LAYOUTS: tuple[Layout, ...] = (STAFF_LAYOUT, STAFF_LAYOUT_2, PACKAGE_LAYOUT)
SHEETS: tuple[str, ...] = STAFF_LAYOUT.sheets
# Layouts 1 and 2 hold the same columns; layout 3 the same but for the quality column.
if sorted(LAYOUT_2_HEADERS) != sorted(PACKAGE_HEADERS) or sorted(HEADERS) != sorted(
    (*(h for h in PACKAGE_HEADERS if h != HEADER_QUALITY), *QUALITY_HEADERS)
):
    raise RuntimeError("the workbook layouts disagree")

# Rows 1-2: the banner; row 3: the headers; records from row 4 (1-based, as Excel counts).
BANNER_ROWS = 2
HEADER_ROW = BANNER_ROWS + 1
FIRST_DATA_ROW = HEADER_ROW + 1

# On "Keuzelijsten": row 1 banner, row 2 headers, values from row 3; one column a list.
LISTS_HEADER_ROW = 2
LISTS_FIRST_ROW = 3

# Custom document properties (docProps/custom.xml). Custom rather than core properties:
# core properties have fixed meanings (title, keywords) that Explorer, SharePoint and
# search indexers display and index. The record ids themselves are not listed there:
# Excel caps a custom text property at 255 characters, and pseudonymous ids are personal
# data that an indexer should not copy. The sorted ids are committed to by a SHA-256
# digest instead, next to their count; the ids are in column A.
PROP_PACKAGE = "securexchange.package-id"
PROP_SCHEMA = "securexchange.schema-version"
PROP_NIS = "securexchange.municipality-nis"
PROP_DESTROY_BY = "securexchange.destroy-by"
PROP_DEMO = "securexchange.demo"
PROP_RECORD_COUNT = "securexchange.record-count"
PROP_RECORDS_DIGEST = "securexchange.records-sha256"

_DUTCH_MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)

# Readable widths (characters) per column.
_WIDTHS: Mapping[str, float] = {
    HEADER_RECORD_ID: 26,
    "Naam": 20,
    "Voornaam": 18,
    "Adres": 32,
    "Postcode": 10,
    "Gemeente": 18,
    "Telefoon": 16,
    "E-mail": 30,
    "Contacttaal": 14,
    "Niveau Nederlands": 12,
    "Status MO": 14,
    "Interesses en noden": 40,
    HEADER_RETENTION: 13,
    HEADER_ACTIVITY: 24,
    HEADER_QUALITY: 32,
    HEADER_OUTCOME: 20,
    # Narrow: the longest problem ("onnauwkeurig") fits, the header wraps.
    **dict.fromkeys(QUALITY_HEADERS, 14),
}
if set(_WIDTHS) != set(ALL_HEADERS):  # the two lists must never drift
    raise RuntimeError("workbook widths and headers disagree")

_EDITABLE_FILL = "FFF2CC"  # light yellow: "you may type here"
_HEADER_FILL = "D9D9D9"
_BANNER_FILL = "C00000"
_BANNER_SUB_FILL = "F8CBAD"
_DEMO_TAB = "FF0000"


def dutch_date(day: date) -> str:
    """A date as Flemish staff read it: "1 maart 2027"."""
    return f"{day.day} {_DUTCH_MONTHS[day.month - 1]} {day.year}"


# --- the data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityReport:
    """An art. 7 data-quality report: one shared field and one of the six problems."""

    field: str
    problem: str

    def __post_init__(self) -> None:
        if self.field not in QUALITY_FIELDS:
            raise ValueError("a quality report names a field that is not an art. 3 field")
        if self.problem not in QUALITY_PROBLEMS:
            raise ValueError("a quality report names a problem outside the art. 7 list")

    @property
    def label(self) -> str:
        """The drop-down text, e.g. "Telefoon: foutief"."""
        return f"{self.field}: {self.problem}"


# Every report staff can pick, in field order then problem order (the drop-down list).
QUALITY_REPORTS: tuple[QualityReport, ...] = tuple(
    QualityReport(f, p) for f in QUALITY_FIELDS for p in QUALITY_PROBLEMS
)


def check_reports(reports: Sequence[QualityReport]) -> None:
    """Raise ValueError unless ``reports`` are QualityReports on distinct fields: a row
    carries at most one open report per field (layout 3 has one cell per field)."""
    if not all(isinstance(report, QualityReport) for report in reports):
        raise ValueError("a quality report must be a QualityReport")
    if len({report.field for report in reports}) != len(reports):
        raise ValueError("two quality reports on one field")


def in_field_order(reports: Iterable[QualityReport]) -> tuple[QualityReport, ...]:
    """``reports`` in the order of :data:`QUALITY_FIELDS` (the order of the columns)."""
    return tuple(sorted(reports, key=lambda report: QUALITY_FIELDS.index(report.field)))


def split_reports(
    reports: Sequence[QualityReport],
) -> tuple[QualityReport | None, tuple[QualityReport, ...]]:
    """``(quality, more_quality)`` of a row carrying ``reports`` (field order)."""
    ordered = in_field_order(reports)
    return (ordered[0] if ordered else None), ordered[1:]


@dataclass(frozen=True)
class WorkbookRow:
    """One record as the workbook shows it.

    ``retention`` is the record's deadline ("Bewaren tot"); ``status`` its current
    activity status; ``quality`` the open data-quality report, if any; ``outcome`` the
    agency's answer to an earlier report ("Afhandeling melding"), if any.

    ``more_quality``: open reports on other fields than ``quality``'s. Staff may report
    several fields of one record (layout 3 has a column per field, and the return
    carries every report); the package layout's single column shows ``quality`` only,
    which is all the agency ever writes there.
    """

    record_id: str
    record: Record
    retention: date
    status: str
    quality: QualityReport | None = None
    outcome: str | None = None
    more_quality: tuple[QualityReport, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.record_id, str) or not is_record_id(self.record_id):
            raise ValueError("a workbook row needs a record id")
        if not isinstance(self.record, Record):
            raise ValueError("a workbook row needs a record")
        if type(self.retention) is not date:
            raise ValueError("a workbook row needs a retention date")
        if self.status not in ACTIVITY_STATUSES:
            raise ValueError("an activity status outside its list")
        if self.quality is not None and not isinstance(self.quality, QualityReport):
            raise ValueError("a quality report must be a QualityReport")
        if not isinstance(self.more_quality, tuple):
            raise ValueError("more quality reports must be a tuple")
        if self.more_quality and self.quality is None:
            raise ValueError("more quality reports without a first one")
        check_reports(self.reports)
        if self.outcome is not None and self.outcome not in QUALITY_OUTCOMES:
            raise ValueError("a quality outcome outside its list")

    @property
    def reports(self) -> tuple[QualityReport, ...]:
        """Every open quality report of the row, in field order."""
        if self.quality is None:
            return ()
        if not self.more_quality:
            return (self.quality,)
        return in_field_order((self.quality, *self.more_quality))

    def cells(self) -> tuple[str, ...]:
        """The row's cell texts in :data:`PACKAGE_HEADERS` order ("" for an empty cell)."""
        return (
            self.record_id,
            *self.record.cells(),
            self.retention.isoformat(),
            self.status,
            self.quality.label if self.quality is not None else "",
            self.outcome or "",
        )

    def all_cells(self) -> tuple[str, ...]:
        """The row's cell texts in :data:`ALL_HEADERS` order: :meth:`cells`, then each
        field's problem (layout 3); :func:`cells_in` puts them in a layout's order."""
        return (*self.cells(), *field_cells(self.reports))


def field_cells(reports: Iterable[QualityReport]) -> tuple[str, ...]:
    """The per-field quality cells of layout 3: each field's problem, or ""."""
    by_field = {report.field: report.problem for report in reports}
    return tuple(by_field.get(field, "") for field in QUALITY_FIELDS)


@dataclass(frozen=True)
class WorkbookMeta:
    """What the workbook says about itself (banner and document properties)."""

    package_id: str
    nis: str
    municipality: str
    destroy_by: date
    demo: bool
    schema_version: str = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.package_id, str) or not (
            is_artifact_id(self.package_id) and self.package_id.startswith("pkg-")
        ):
            raise ValueError("workbook metadata needs a package id")
        if not is_nis_code(self.nis):
            raise ValueError("workbook metadata needs a 5-digit NIS code")
        if not isinstance(self.municipality, str) or schema.text_problem(
            self.municipality, schema.GEMEENTE
        ):
            raise ValueError("workbook metadata needs a clean municipality name")
        if type(self.destroy_by) is not date:
            raise ValueError("workbook metadata needs a destroy-by date")
        if not isinstance(self.demo, bool):
            raise ValueError("the demo flag is a bool")
        if not isinstance(self.schema_version, str) or not self.schema_version:
            raise ValueError("workbook metadata needs a schema version")


def cells_in(layout: Layout, cells: Sequence[str]) -> tuple[str, ...]:
    """Cells in :data:`ALL_HEADERS` order (:meth:`WorkbookRow.all_cells`) in ``layout``'s."""
    return tuple(cells[i] for i in _order(layout))


@functools.cache
def _order(layout: Layout) -> tuple[int, ...]:
    return tuple(ALL_HEADERS.index(header) for header in layout.headers)


def records_digest(record_ids: Sequence[str]) -> str:
    """SHA-256 (hex) of the sorted record ids, one per line: the property's value."""
    joined = "\n".join(sorted(record_ids)).encode("ascii")
    return hashlib.sha256(joined).hexdigest()


def _editable_text(layout: Layout) -> str:
    """The editable columns as the banners name them (Dutch)."""
    if layout.per_field_quality:
        return f"'{HEADER_ACTIVITY}' en de kolommen 'Melding ...' (één per gegeven)"
    return f"'{HEADER_ACTIVITY}' en '{HEADER_QUALITY}'"


# The header, on "Keuzelijsten", of layout 3's list of the six problems.
PROBLEMS_LIST_HEADER = "Melding (per gegeven)"


def banner_lines(meta: WorkbookMeta, layout: Layout = STAFF_LAYOUT) -> tuple[str, str]:
    """The two banner lines of the data sheet (Dutch)."""
    demo = "DEMO – fictieve gegevens – " if meta.demo else ""
    first = (
        f"{demo}VERTROUWELIJK: dit bestand bevat persoonsgegevens van inburgeraars "
        "(protocol met het Agentschap Integratie en Inburgering). Niet kopiëren, niet "
        "doorsturen, niet bewaren in een gedeelde of gesynchroniseerde map."
    )
    second = (
        f"securexchange vernietigt dit bestand zelf op {dutch_date(meta.destroy_by)}: "
        "laat het staan waar het is. "
        f"Alleen {_editable_text(layout)} kunnen gewijzigd worden. "
        f"{meta.municipality} ({meta.nis}), pakket {meta.package_id}."
    )
    return first, second


def lists_banner(meta: WorkbookMeta, layout: Layout = STAFF_LAYOUT) -> str:
    demo = "DEMO – fictieve gegevens – " if meta.demo else ""
    return (
        f"{demo}Keuzelijsten voor {_editable_text(layout)} op het blad "
        f"'{DATA_SHEET}'. Niet wijzigen."
    )


def validation_formula(column: str, count: int) -> str:
    """The list reference of a drop-down: a column range on "Keuzelijsten"."""
    last = LISTS_FIRST_ROW + count - 1
    return f"{LISTS_SHEET}!${column}${LISTS_FIRST_ROW}:${column}${last}"


_NO_FIELD_CELLS: tuple[str, ...] = ("",) * len(QUALITY_FIELDS)

# --- writing -------------------------------------------------------------------------------


def write_package_workbook(rows: Sequence[WorkbookRow], meta: WorkbookMeta) -> bytes:
    """:func:`write_workbook` in the package layout (layout 1), which clients of every
    version read."""
    return write_workbook(rows, meta, layout=PACKAGE_LAYOUT)


def write_workbook(
    rows: Sequence[WorkbookRow], meta: WorkbookMeta, *, layout: Layout = STAFF_LAYOUT
) -> bytes:
    """The .xlsx bytes of the municipal workbook for ``rows``; nothing is written to disk.

    ``layout``: the staff workbook's (default) or :data:`PACKAGE_LAYOUT`.

    Raises ValueError for duplicate record ids; :class:`InternalError` if a value
    cannot be stored in a workbook (the vault should never hold one).
    """
    from openpyxl import Workbook
    from openpyxl.workbook.protection import WorkbookProtection

    if not isinstance(meta, WorkbookMeta):
        raise TypeError("meta must be a WorkbookMeta")
    if layout not in LAYOUTS:
        raise TypeError("layout must be one of LAYOUTS")
    if not all(isinstance(row, WorkbookRow) for row in rows):
        raise TypeError("rows must be WorkbookRow values")
    ids = [row.record_id for row in rows]
    if len(set(ids)) != len(ids):
        raise ValueError("the workbook rows have a duplicate record id")

    wb = Workbook(write_only=True)
    _set_properties(wb, meta, ids)
    # Structure protection keeps sheets from being added, removed, renamed or hidden by
    # accident (the reader refuses all of that anyway); no password, as for the sheets.
    wb.security = WorkbookProtection(lockStructure=True)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        sheet_class = _memory_sheet_class()
        # Sheets are numbered in workbook order, as openpyxl's ExcelWriter names them.
        data = sheet_class(wb, DATA_SHEET, "xl/worksheets/sheet1.xml")
        lists = sheet_class(wb, LISTS_SHEET, "xl/worksheets/sheet2.xml")
        cast(Any, wb)._add_sheet(data)
        cast(Any, wb)._add_sheet(lists)
        help_sheet = None
        if HELP_SHEET in layout.sheets:
            help_sheet = sheet_class(wb, HELP_SHEET, "xl/worksheets/sheet3.xml")
            cast(Any, wb)._add_sheet(help_sheet)
        # openpyxl writes everything but the records' rows (a few KB); the rows are
        # written as text (sheetxml) straight into the sheet's deflated member.
        styles = _write_data_sheet(data, rows, meta, layout)
        data.finish()
        _write_lists_sheet(lists, meta, layout)
        lists.finish()
        data.store(archive, _record_rows(rows, styles, layout))
        lists.store(archive, None)
        if help_sheet is not None:
            _write_help_sheet(help_sheet, meta, layout)
            help_sheet.finish()
            help_sheet.store(archive, None)
        _write_other_parts(wb, archive)
    return buffer.getvalue()


def _record_rows(
    rows: Sequence[WorkbookRow], styles: Sequence[int | None], layout: Layout
) -> Iterator[bytes]:
    """The records' ``<row>`` elements, every text checked first (never quoted)."""
    order = _order(layout)
    per_field = layout.per_field_quality

    def texts() -> Iterator[tuple[str, ...]]:
        dates: dict[date, str] = {}
        for number, row in enumerate(rows):
            retention = dates.get(row.retention)
            if retention is None:
                retention = dates[row.retention] = row.retention.isoformat()
            cells = (
                row.record_id,
                *row.record.cells(),
                retention,
                row.status,
                row.quality.label if row.quality is not None else "",
                row.outcome or "",
                *(field_cells(row.reports) if per_field else _NO_FIELD_CELLS),
            )
            # One search over the row finds a bad character in any cell; the length
            # limit is per cell.
            if (
                _UNSTORABLE.search("".join(cells)) is not None
                or max(map(len, cells)) > _MAX_CELL_TEXT
            ):
                raise InternalError(
                    f"sheet {DATA_SHEET}, row {FIRST_DATA_ROW + number}: a value holds a "
                    "character a workbook cannot store"
                )
            yield tuple(cells[i] for i in order)

    return sheetxml.rows_xml(FIRST_DATA_ROW, texts(), styles)


def _set_properties(wb: Workbook, meta: WorkbookMeta, ids: Sequence[str]) -> None:
    from openpyxl.packaging.custom import BoolProperty, IntProperty, StringProperty

    props = wb.properties
    props.creator = "securexchange"
    props.lastModifiedBy = "securexchange"
    props.title = f"Inburgeraars {meta.municipality}" + (" (DEMO)" if meta.demo else "")
    custom = cast(Any, wb).custom_doc_props  # not in the stubs (openpyxl 3.1 has it)
    custom.append(StringProperty(name=PROP_PACKAGE, value=meta.package_id))
    custom.append(StringProperty(name=PROP_SCHEMA, value=meta.schema_version))
    custom.append(StringProperty(name=PROP_NIS, value=meta.nis))
    custom.append(StringProperty(name=PROP_DESTROY_BY, value=meta.destroy_by.isoformat()))
    custom.append(BoolProperty(name=PROP_DEMO, value=meta.demo))
    custom.append(IntProperty(name=PROP_RECORD_COUNT, value=len(ids)))
    custom.append(StringProperty(name=PROP_RECORDS_DIGEST, value=records_digest(ids)))


@functools.cache
def _memory_sheet_class() -> type[Any]:
    """openpyxl's write-only worksheet, streaming into memory and writing text as text.

    Two methods of ``WriteOnlyWorksheet`` are replaced, in a subclass (no global state
    is changed, so concurrent writers in one process cannot race):

    * ``_get_writer``: openpyxl's creates ``WorksheetWriter(ws)``, which streams the
      sheet into a NamedTemporaryFile in $TMPDIR and copies it into the archive when
      the workbook is saved; ours streams it into memory. Only the sheet's frame goes
      there (views, widths, banner, headers, protection, filters, drop-downs: a few
      KB); :meth:`store` writes it into its deflated member of the in-memory archive
      with the records' rows, written as text by :mod:`securexchange.sheets.sheetxml`,
      spliced in before ``</sheetData>``. No uncompressed copy of the rows is held.
    * ``_values_to_row``: openpyxl's binds each value through ``Cell.value``, which
      turns a str that starts with "=" into a formula. Ours stores every str as a
      string cell (``data_type = "s"``, written as an inline string), whatever it
      starts with, after refusing characters XML 1.0 cannot hold (a superset of
      openpyxl's own check). Cell objects (styled cells: banner, headers) pass through
      as in openpyxl's, without its exception round trip; empty text is an absent cell.

    A row is written completely inside ``append``, so one plain cell can be reused for
    every text value, as openpyxl itself does.
    """
    from openpyxl.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
    from openpyxl.worksheet._writer import WorksheetWriter

    class MemorySheet(WriteOnlyWorksheet):
        def __init__(self, parent: Any, title: str, part: str) -> None:
            super().__init__(parent, title)
            self._plain = Cell(self, row=1, column=1)
            self.part = part
            self._frame = io.BytesIO()
            self._stored = False

        def _get_writer(self) -> None:
            sheet = cast(Any, self)  # the stubs type _writer as None
            if sheet._writer is None:
                writer = WorksheetWriter(self, out=self._frame)
                writer.write_top()
                sheet._writer = writer

        def finish(self) -> None:
            """Close the sheet's XML (its frame, without the records' rows)."""
            self._get_writer()
            if not self.closed:
                self.close()

        def store(self, archive: zipfile.ZipFile, rows: Iterator[bytes] | None) -> None:
            """Write the sheet into its member, ``rows`` spliced in before
            ``</sheetData>``."""
            frame = self._frame.getvalue()
            head, end, tail = frame.partition(b"</sheetData>")
            if not end or end in tail:
                # Cell text is escaped, so the tag occurs once: fail closed otherwise.
                raise InternalError("a worksheet frame has no single end of its rows")
            with archive.open(self.part, "w") as member:
                member.write(head)
                for chunk in rows or ():
                    member.write(chunk)
                member.write(end)
                member.write(tail)
            self._frame = io.BytesIO()
            self._stored = True

        def stored(self) -> bool:
            """The sheet is complete in its ZIP member (never in a file)."""
            return bool(self.closed) and self._stored

        def _values_to_row(self, values: Sequence[Any], row_idx: int) -> Iterator[Any]:
            plain = self._plain
            for col_idx, value in enumerate(values, 1):
                if value is None or value == "":
                    continue
                if type(value) is str:
                    cell = plain
                    _set_text(cell, value)
                elif isinstance(value, Cell):
                    cell = value
                else:
                    raise TypeError("a workbook cell is text or a prepared cell")
                cell.column = col_idx
                cell.row = row_idx
                yield cell

    return MemorySheet


def _styles() -> dict[str, Any]:
    from openpyxl.styles import Alignment, Font, PatternFill, Protection

    return {
        "banner_font": Font(bold=True, color="FFFFFF", size=12),
        "banner_fill": PatternFill("solid", fgColor=_BANNER_FILL),
        "banner_sub_font": Font(bold=True, size=11),
        "banner_sub_fill": PatternFill("solid", fgColor=_BANNER_SUB_FILL),
        "wrap": Alignment(wrap_text=True, vertical="center"),
        "header_font": Font(bold=True),
        "header_fill": PatternFill("solid", fgColor=_HEADER_FILL),
        "editable_fill": PatternFill("solid", fgColor=_EDITABLE_FILL),
        "unlocked": Protection(locked=False),
    }


def _write_data_sheet(
    ws: _Sheet, rows: Sequence[WorkbookRow], meta: WorkbookMeta, layout: Layout
) -> tuple[int | None, ...]:
    """The data sheet's frame; returns the cell style of each column for the rows."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    style = _styles()
    headers = layout.headers
    last_col = get_column_letter(len(headers))
    last_row = HEADER_ROW + len(rows)
    status_col = get_column_letter(layout.column(HEADER_ACTIVITY) + 1)

    # Everything that write-only mode emits before <sheetData> must be set first.
    for index, header in enumerate(headers, 1):
        ws.column_dimensions[get_column_letter(index)].width = _WIDTHS[header]
    for banner_row in range(1, BANNER_ROWS + 1):
        ws.row_dimensions[banner_row].height = 32
    # Layout 3's narrow quality columns wrap their headers over three lines.
    ws.row_dimensions[HEADER_ROW].height = 45 if layout.per_field_quality else 30
    # The banner, the headers and the first columns (the names, in layout 2) stay in view.
    ws.freeze_panes = f"{get_column_letter(layout.frozen_columns + 1)}{FIRST_DATA_ROW}"
    if meta.demo:
        ws.sheet_properties.tabColor = _DEMO_TAB
    _print_setup(ws, meta)
    if layout.landscape:
        _print_landscape(ws, layout)

    # The banner: two merged rows above the headers.
    first, second = banner_lines(meta, layout)
    for row_index, (text, font, fill) in enumerate(
        (
            (first, style["banner_font"], style["banner_fill"]),
            (second, style["banner_sub_font"], style["banner_sub_fill"]),
        ),
        1,
    ):
        cell = WriteOnlyCell(ws, text)
        cell.font = font
        cell.fill = fill
        cell.alignment = style["wrap"]
        ws.append([cell])
        ws.merged_cells.add(f"A{row_index}:{last_col}{row_index}")

    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(ws, header)
        cell.font = style["header_font"]
        cell.fill = style["header_fill"]
        cell.alignment = style["wrap"]
        header_cells.append(cell)
    ws.append(header_cells)

    # The records' rows are written as text (see ``store``); the editable columns'
    # cells carry one style, registered here so openpyxl writes it into styles.xml.
    styles: list[int | None] = [None] * len(headers)
    if rows:
        editable = WriteOnlyCell(ws)
        editable.protection = style["unlocked"]
        editable.fill = style["editable_fill"]
        for header in layout.editable:
            styles[layout.column(header)] = editable.style_id

    ws.auto_filter.ref = f"A{HEADER_ROW}:{last_col}{last_row}"
    if rows:
        status_list = DataValidation(
            type="list",
            formula1=validation_formula("A", len(ACTIVITY_STATUSES.values)),
            allow_blank=False,
            showErrorMessage=True,
            errorStyle="stop",
            errorTitle=HEADER_ACTIVITY,
            error="Kies een status uit de lijst.",
            showInputMessage=True,
            promptTitle=HEADER_ACTIVITY,
            prompt="Kies de status van de activiteit.",
        )
        status_list.add(f"{status_col}{FIRST_DATA_ROW}:{status_col}{last_row}")
        ws.data_validations.append(status_list)
        for quality_list in _quality_lists(layout, last_row):
            ws.data_validations.append(quality_list)
    _protect(ws)
    return tuple(styles)


def _quality_lists(layout: Layout, last_row: int) -> Iterator[Any]:
    """The quality drop-downs: in layout 3 one per field column, each the six problems
    (column B of "Keuzelijsten"); before, one of every "field: problem" pair."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    columns: list[tuple[str, str | None]]
    if layout.per_field_quality:
        columns = [(header, FIELD_BY_QUALITY_HEADER[header]) for header in QUALITY_HEADERS]
        count = len(QUALITY_PROBLEMS.values)
    else:
        columns = [(HEADER_QUALITY, None)]
        count = len(QUALITY_REPORTS)
    for header, field in columns:
        letter = get_column_letter(layout.column(header) + 1)
        prompt = (
            f"Is '{field}' fout, onvolledig, verouderd...? Kies het probleem, of laat de "
            "cel leeg. (art. 7 protocol)"
            if field is not None
            else "Welk gegeven is fout, onvolledig, verouderd...? (art. 7 protocol)"
        )
        quality_list = DataValidation(
            type="list",
            formula1=validation_formula("B", count),
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="stop",
            # Excel caps a title at 32 characters: "Melding Interesses en noden" fits.
            errorTitle=header,
            error="Kies een melding uit de lijst, of laat de cel leeg.",
            showInputMessage=True,
            promptTitle=header,
            prompt=prompt,
        )
        quality_list.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}")
        yield quality_list


def _write_lists_sheet(ws: _Sheet, meta: WorkbookMeta, layout: Layout) -> None:
    from openpyxl.cell import WriteOnlyCell

    style = _styles()
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 40
    ws.row_dimensions[1].height = 32
    if meta.demo:
        ws.sheet_properties.tabColor = _DEMO_TAB
    _print_setup(ws, meta)

    banner = WriteOnlyCell(ws, lists_banner(meta, layout))
    banner.font = style["banner_font"]
    banner.fill = style["banner_fill"]
    banner.alignment = style["wrap"]
    ws.append([banner])
    ws.merged_cells.add("A1:B1")
    headers = []
    per_field = layout.per_field_quality
    for header in (HEADER_ACTIVITY, PROBLEMS_LIST_HEADER if per_field else HEADER_QUALITY):
        cell = WriteOnlyCell(ws, header)
        cell.font = style["header_font"]
        cell.fill = style["header_fill"]
        headers.append(cell)
    ws.append(headers)
    statuses = ACTIVITY_STATUSES.values
    reports = (
        list(QUALITY_PROBLEMS.values) if per_field else [report.label for report in QUALITY_REPORTS]
    )
    for index in range(max(len(statuses), len(reports))):
        ws.append(
            [
                statuses[index] if index < len(statuses) else None,
                reports[index] if index < len(reports) else None,
            ]
        )
    _protect(ws)


def _print_setup(ws: _Sheet, meta: WorkbookMeta) -> None:
    """Printed pages carry the warning too, and "DEMO" in a demo package."""
    notice = f"Persoonsgegevens – vernietigen uiterlijk op {dutch_date(meta.destroy_by)}"
    header = ws.oddHeader.center
    header.text = "DEMO" if meta.demo else "VERTROUWELIJK"
    header.size = 14
    header.font = "Calibri,Bold"
    ws.oddFooter.center.text = notice
    ws.print_title_rows = f"1:{HEADER_ROW}" if ws.title == DATA_SHEET else "1:2"


def _print_landscape(ws: _Sheet, layout: Layout) -> None:
    """Landscape, fitted to the page width (as many pages down as needed), the names
    repeated on every page: a printed row never loses its person."""
    from openpyxl.utils import get_column_letter

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_cols = f"A:{get_column_letter(layout.frozen_columns)}"


def _write_help_sheet(ws: _Sheet, meta: WorkbookMeta, layout: Layout) -> None:
    """The "Toelichting": each status, each quality problem and each answer explained in
    plain Dutch (:mod:`securexchange.sheets.workbook_help`). Protected, like the lists."""
    from openpyxl.cell import WriteOnlyCell

    from securexchange.sheets.workbook_help import (
        OUTCOME_HELP,
        PROBLEM_HELP,
        QUALITY_INTRO_PER_FIELD,
        STATUS_HELP,
    )

    style = _styles()
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 90
    ws.row_dimensions[1].height = 48
    if meta.demo:
        ws.sheet_properties.tabColor = _DEMO_TAB
    _print_setup(ws, meta)
    ws.page_setup.orientation = "landscape"

    banner = WriteOnlyCell(ws, help_banner(meta, layout))
    banner.font = style["banner_font"]
    banner.fill = style["banner_fill"]
    banner.alignment = style["wrap"]
    ws.append([banner])
    ws.merged_cells.add("A1:B1")
    sections = (
        (HEADER_ACTIVITY, "Wat betekent de status?", STATUS_HELP),
        (
            "Melding ..." if layout.per_field_quality else HEADER_QUALITY,
            QUALITY_INTRO_PER_FIELD.nl
            if layout.per_field_quality
            else "Wat is er mis met het gegeven? Kies eerst het veld, dan:",
            PROBLEM_HELP,
        ),
        (HEADER_OUTCOME, "Het antwoord van het Agentschap op uw melding:", OUTCOME_HELP),
    )
    for title, intro, texts in sections:
        ws.append([])
        heads = []
        for text in (title, intro):
            cell = WriteOnlyCell(ws, text)
            cell.font = style["header_font"]
            cell.fill = style["header_fill"]
            heads.append(cell)
        ws.append(heads)
        for value, help_text in texts.items():
            explained = WriteOnlyCell(ws, help_text.nl)
            explained.alignment = style["wrap"]
            ws.append([value, explained])
    _protect(ws)


def help_banner(meta: WorkbookMeta, layout: Layout = STAFF_LAYOUT) -> str:
    demo = "DEMO – fictieve gegevens – " if meta.demo else ""
    return (
        f"{demo}Toelichting bij het blad '{DATA_SHEET}'. U kunt alleen "
        f"{_editable_text(layout)} invullen; kies altijd uit de lijst. "
        f"securexchange vernietigt het bestand zelf op {dutch_date(meta.destroy_by)}."
    )


def _protect(ws: _Sheet) -> None:
    """Sheet protection without a password (a UI guard; see the module docstring).

    Filtering, sorting and resizing stay allowed, so staff can work with the list.
    """
    protection = ws.protection
    protection.sheet = True
    protection.autoFilter = False
    protection.sort = False
    protection.formatColumns = False
    protection.formatRows = False


class UnstorableText(ValueError):
    """A value holds a character that an .xlsx file cannot store (never quoted)."""


# What XML 1.0 cannot hold (one pattern with the row writer's own last guard).
_UNSTORABLE = sheetxml.NOT_XML
_MAX_CELL_TEXT = 32_767  # Excel's limit per cell


def _storable(text: str) -> bool:
    return len(text) <= _MAX_CELL_TEXT and _UNSTORABLE.search(text) is None


def _set_text(cell: Any, text: str | None) -> None:
    """Bind ``text`` to an openpyxl cell as a string cell, never as a formula.

    Sets the cell's slots directly (``_value``, ``data_type``), as ``Cell._bind_value``
    does, minus its rule that a leading "=" means a formula.
    """
    if text is None:
        cell._value = None
        cell.data_type = "n"  # openpyxl's type of an empty cell
        return
    if not _storable(text):
        raise UnstorableText("a value holds a character a workbook cannot store")
    cell._value = text
    cell.data_type = "s"


def _write_other_parts(wb: Workbook, archive: zipfile.ZipFile) -> None:
    """Everything but the sheets' XML, with openpyxl's ExcelWriter.

    Its ``save`` would zip each sheet from the temporary file it was streamed into; here
    each sheet is already complete in its member, so only its relationships and its
    entry in [Content_Types].xml are left to write.
    """
    import datetime

    from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
    from openpyxl.writer.excel import ExcelWriter

    class StoredSheetsWriter(ExcelWriter):
        def write_worksheet(self, ws: Any) -> None:
            if not ws.stored() or ws.path[1:] != ws.part:
                # Fail closed: a sheet that was not streamed into its own member.
                raise InternalError("a worksheet was not written into the workbook archive")
            ws._drawing = SpreadsheetDrawing()
            ws._drawing.charts = ws._charts
            ws._drawing.images = ws._images
            ws._rels = ws._writer._rels
            self.manifest.append(ws)

    wb.properties.modified = datetime.datetime.now(tz=datetime.UTC).replace(tzinfo=None)
    StoredSheetsWriter(wb, archive).write_data()


# --- other write-only workbooks (the agency's report) ---------------------------------------


def attach_memory_writer(ws: _Sheet) -> None:
    """Make a plain write-only worksheet stream into memory instead of a $TMPDIR file.

    For other workbooks built with openpyxl's write-only mode (the agency's report):
    call it after the sheet's widths, panes and filters are set (``write_top`` emits
    them) and before the first ``append``; then build the bytes with
    :func:`save_in_memory`. ``WriteOnlyWorksheet._get_writer`` creates a temp file only
    when ``ws._writer`` is None; setting it per sheet changes no global state.
    """
    from openpyxl.worksheet._writer import WorksheetWriter

    writer = WorksheetWriter(ws, out=io.BytesIO())
    writer.write_top()
    ws._writer = writer


def save_in_memory(wb: Workbook) -> bytes:
    """The .xlsx bytes of a write-only workbook whose sheets all stream into memory
    (:func:`attach_memory_writer`); openpyxl's ``save`` would zip them from temp files."""
    import datetime

    from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
    from openpyxl.writer.excel import ExcelWriter

    class MemorySheetsWriter(ExcelWriter):
        def write_worksheet(self, ws: Any) -> None:
            writer = ws._writer
            if writer is None or not isinstance(writer.out, io.BytesIO):
                # Fail closed: a sheet that would be streamed through a temp file.
                raise InternalError("a worksheet is not being written to memory")
            ws._drawing = SpreadsheetDrawing()
            ws._drawing.charts = ws._charts
            ws._drawing.images = ws._images
            if not ws.closed:
                ws.close()
            ws._rels = writer._rels
            writer.close()
            out: io.BytesIO = writer.out
            with out.getbuffer() as view:  # compress without copying the sheet
                cast(Any, self)._archive.writestr(ws.path[1:], view)
            out.close()
            self.manifest.append(ws)

    wb.properties.modified = datetime.datetime.now(tz=datetime.UTC).replace(tzinfo=None)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        MemorySheetsWriter(wb, archive).write_data()
    return buffer.getvalue()
