"""The municipal workbook's layout and row model: sheets, headers, the three layouts,
rows, quality reports, metadata and the banner texts. No openpyxl: the reader, the
return channel and the vault import this without loading a spreadsheet library.

One data sheet ("Inburgeraars") with a banner, the Dutch headers and one row per record;
one visible, protected sheet ("Keuzelijsten") with the drop-down lists; in the staff
layouts a third ("Toelichting") explaining each value. Only the cells of "Status
activiteit" and of the quality column(s) are editable. The package keeps layout 1 so
that every client reads it; ``municipality open`` writes layout 3, names first and
frozen with the editable columns beside them: the status, then one quality column per
reportable field ("Melding Telefoon", a drop-down of the six problems). Layout 2 (one
"Melding gegevenskwaliteit" column listing every "field: problem" pair) is no longer
written but still read.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from securexchange import schema
from securexchange.i18n import dutch_date
from securexchange.ids import is_artifact_id, is_nis_code, is_record_id
from securexchange.schema import (
    HEADER_ACTIVITY,
    HEADER_OUTCOME,
    HEADER_QUALITY,
    HEADER_RECORD_ID,
    HEADER_RETENTION,
    QUALITY_FIELDS,
    SCHEMA_VERSION,
    SHARED_HEADERS,
    Record,
)
from securexchange.vocabularies import ACTIVITY_STATUSES, QUALITY_OUTCOMES, QUALITY_PROBLEMS

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
        return f"{self.field}{_LABEL_SEPARATOR}{self.problem}"

    @classmethod
    def from_label(cls, label: str) -> QualityReport:
        """The report a drop-down text names; ValueError for any other text."""
        field, separator, problem = label.partition(_LABEL_SEPARATOR)
        if not separator:
            raise ValueError("not a quality report label")
        return cls(field, problem)


_LABEL_SEPARATOR = ": "
# Several reports in one text (the vault's sealed cells, layout 2's single column): the
# labels joined in field order. No field name or problem holds "; ".
_LABELS_JOIN = "; "


def join_labels(reports: Iterable[QualityReport]) -> str:
    """``reports`` as one text, in field order ("" for none)."""
    return _LABELS_JOIN.join(report.label for report in in_field_order(reports))


def label_parts(text: str) -> tuple[str, ...]:
    """The labels in a joined text, unchecked (a digest keys them by :func:`label_field`)."""
    return tuple(text.split(_LABELS_JOIN)) if text else ()


def label_field(label: str) -> str:
    """The field a label names, unchecked."""
    return label.partition(_LABEL_SEPARATOR)[0]


def reports_from_labels(text: str) -> tuple[QualityReport, ...]:
    """The reports a joined text names, in field order; ValueError for any other text."""
    return in_field_order(QualityReport.from_label(part) for part in label_parts(text))


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
    # The document's created/modified time: the caller's clock (the writer reads none).
    written_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.written_at is not None and (
            type(self.written_at) is not datetime or self.written_at.tzinfo is None
        ):
            raise ValueError("workbook metadata needs an aware time or none")
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
    return tuple(cells[i] for i in layout_order(layout))


@functools.cache
def layout_order(layout: Layout) -> tuple[int, ...]:
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


NO_FIELD_CELLS: tuple[str, ...] = ("",) * len(QUALITY_FIELDS)


def help_banner(meta: WorkbookMeta, layout: Layout = STAFF_LAYOUT) -> str:
    demo = "DEMO – fictieve gegevens – " if meta.demo else ""
    return (
        f"{demo}Toelichting bij het blad '{DATA_SHEET}'. U kunt alleen "
        f"{_editable_text(layout)} invullen; kies altijd uit de lijst. "
        f"securexchange vernietigt het bestand zelf op {dutch_date(meta.destroy_by)}."
    )
