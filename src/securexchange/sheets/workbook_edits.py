"""What a caller knows about a municipal workbook it wrote, and what reading it back
gives: the edits of each record, the cells changed outside the editable columns, and
every cell that could not be read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from securexchange.i18n import _
from securexchange.ids import is_artifact_id
from securexchange.sheets.layout import QualityReport, WorkbookRow, check_reports, in_field_order
from securexchange.vocabularies import ACTIVITY_STATUSES


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
class WrittenRow:
    """What the reader compares one record's row with; ``cells`` (in
    :data:`ALL_HEADERS` order) None when only the editable cells are known."""

    status: str
    reports: tuple[QualityReport, ...]
    cells: tuple[str, ...] | None


@dataclass(frozen=True)
class Expectation:
    package_id: str
    lookup: Mapping[str, WrittenRow] | None  # None: the record ids are not known
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
        if self.header:
            # TRANSLATORS: a cell of the workbook that cannot be read. {sheet} and {header}
            # are the Dutch names in the workbook; {why} is the reason ("a value outside
            # the list").
            return _("sheet {sheet}, row {row}, column {column} ({header}): {why}").format(
                sheet=self.sheet, row=self.row, column=self.column, header=self.header, why=self.why
            )
        return _("sheet {sheet}, row {row}, column {column}: {why}").format(
            sheet=self.sheet, row=self.row, column=self.column, why=self.why
        )


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
