"""The data sheet of a municipal workbook read row by row: the header says the layout,
then each record's editable cells by record id; a cell that cannot be read is listed and
dropped, and reading goes on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import NoReturn

from securexchange.errors import InvalidWorkbook
from securexchange.i18n import _
from securexchange.ids import is_record_id
from securexchange.schema import HEADER_ACTIVITY, HEADER_QUALITY, HEADER_RECORD_ID
from securexchange.sheets.layout import (
    ALL_HEADERS,
    DATA_SHEET,
    FIELD_BY_QUALITY_HEADER,
    QUALITY_REPORTS,
    Layout,
    QualityReport,
    split_reports,
)
from securexchange.sheets.workbook_edits import (
    CellProblem,
    ChangedCell,
    Expectation,
    RecordEdit,
    WorkbookEdits,
    WrittenRow,
)
from securexchange.sheets.xlsxguard import (
    column_letters,
)
from securexchange.vocabularies import ACTIVITY_STATUSES, QUALITY_PROBLEMS, fold

# How far down the header row may have been pushed by inserted rows.
_HEADER_SEARCH_ROWS = 100
_QUALITY_BY_LABEL: Mapping[str, QualityReport] = {
    fold(report.label): report for report in QUALITY_REPORTS
}


# The stand-in for a record whose written cells are not known (``written`` None).
_UNKNOWN = WrittenRow(status="", reports=(), cells=None)


class RowReader:
    """Interprets the data sheet row by row: the header, then records by record id.

    The header row says which of the candidate layouts the workbook has (layouts 2 and
    3 share their sheets); columns are taken by their header in that layout. A cell that
    cannot be read is listed (:class:`CellProblem`) and dropped; reading goes on.
    """

    def __init__(
        self,
        expected: Expectation,
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
        row: WrittenRow | None = None
        if is_record_id(record_id):
            row = _UNKNOWN if lookup is None else lookup.get(record_id)
        if row is None:
            self._problem(
                row_number, self._id_column, _("a record id that is not one of this package's")
            )
            return
        if record_id in self._seen:
            self._problem(
                row_number,
                self._id_column,
                _("the same record id as row {row} (a copied row)").format(
                    row=self._seen[record_id]
                ),
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
            self._problem(row_number, column, _("a formula (pick the value itself)"))
            return None
        if not text.strip():
            self._problem(row_number, column, _("empty (pick a status from the list)"))
            return None
        status = ACTIVITY_STATUSES.canonical(text)
        if status is None:
            self._problem(row_number, column, _("a value outside the list"))
        return status

    def _quality(self, text: str, row_number: int) -> tuple[QualityReport | None, bool]:
        column = self._quality_column
        if column is None:
            raise AssertionError("a single quality column in a per-field layout")
        if (row_number, column) in self._formulas:
            self._problem(row_number, column, _("a formula (pick the value itself)"))
            return None, False
        if not text.strip():
            return None, True
        report = _QUALITY_BY_LABEL.get(fold(text))
        if report is None:
            self._problem(row_number, column, _("a value outside the list"))
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
                self._problem(row_number, column, _("a formula (pick the value itself)"))
            elif not text.strip():
                continue
            else:
                problem = QUALITY_PROBLEMS.canonical(text)
                if problem is not None:
                    reports.append(QualityReport(name, problem))
                    continue
                self._problem(row_number, column, _("a value outside the list"))
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
            _("{what}: sheet {sheet} has no header row with the columns as written").format(
                what=self._what, sheet=DATA_SHEET
            ),
            hint=_("do not move, rename, insert or delete columns"),
        )

    def _positions(
        self, row_number: int, cells: Sequence[str], columns: Iterable[int], *, force: bool = False
    ) -> Iterator[ChangedCell]:
        headers = self._headers
        for column in columns:
            if force or cells[column]:
                header = headers[column] if column < len(headers) else None
                yield ChangedCell(row=row_number, column=column_letters(column + 1), header=header)
