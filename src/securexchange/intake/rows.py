"""A master's data rows read by a plan of its columns: each row a master row, or every
problem it has (located, never quoted).

Rows are read a chunk at a time and a column at a time (:meth:`Columns.read`); what a
row gives depends on that row and the plan only (the converters' memories and
normalise's caches give what they gave before, reasons included), which is what lets
a chunk be read a column at a time, and would let chunks be read in another process.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import zip_longest

from securexchange import schema
from securexchange.intake.converters import RECHECKED, FieldConverter, converters
from securexchange.printable import escape
from securexchange.schema import FieldError, MasterRow, Record
from securexchange.sheets.xlsxguard import column_letters


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a master, located but never quoted."""

    sheet: str
    row: int  # as the spreadsheet shows it: the header is row 1
    column: str  # column letter(s); "" when the whole row is concerned
    reason: str
    header: str | None = None  # the canonical header, when the column is known

    def __post_init__(self) -> None:
        if self.row < 1 or not self.reason:
            raise ValueError("a problem has a row and a reason")

    def __str__(self) -> str:
        where = f"sheet '{escape(self.sheet)}', row {self.row}"
        if self.column:
            where += f", column {self.column}"
            if self.header:
                where += f" ({self.header})"
        return f"{where}: {self.reason}"


def is_empty(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _filled(cell: object) -> bool:
    return not is_empty(cell)


def _blank(cells: Sequence[object]) -> bool:
    """Whether every cell of a row is empty (a first cell with text answers at once)."""
    first = cells[0] if cells else None
    if type(first) is str and first and not first[0].isspace():
        return False
    return all(map(is_empty, cells))


@dataclass(frozen=True)
class Plan:
    """Which columns of one master are read, as what: (cell index, canonical header, or
    "" for a column without a header), where the sheet's columns start, and its width."""

    sheet: str
    first_column: int
    width: int
    columns: tuple[tuple[int, str], ...]


# A row's converted values in schema.MASTER_FIELDS order, once every check has passed.
Values = tuple[object, ...]
Rows = Sequence[tuple[int, Sequence[object]]]  # (row number, cells)
# What reading a row gives: its number, and its master row or its problems.
Read = tuple[int, MasterRow | list[Problem]]

_FIELD_COUNT = len(schema.MASTER_FIELDS)
_PLACE = {spec.header: i for i, spec in enumerate(schema.MASTER_FIELDS)}
_CLIENT_ID = _PLACE[schema.KLANT_ID.header]
_NIS = _PLACE[schema.NIS_CODE.header]
_CERTIFICATE = _PLACE[schema.DATUM_ATTEST.header]
# A master row's values in record order (schema.SHARED_FIELDS), as one tuple.
_SHARED = tuple(_PLACE[s.header] for s in schema.SHARED_FIELDS)
_shared_values = operator.itemgetter(*_SHARED)
_RECHECKED = tuple(
    (_PLACE[spec.header], spec) for spec in schema.SHARED_FIELDS if spec.header in RECHECKED
)


class Columns:
    """A plan with its converters, which remember values for one intake: for each planned
    column its cell index, its field's place in :data:`schema.MASTER_FIELDS`, its
    converter (None: a column without a header), its letter and its header."""

    def __init__(self, plan: Plan) -> None:
        convert = converters()
        self.plan = plan
        self.letters = {
            target: column_letters(plan.first_column + index) for index, target in plan.columns
        }
        self.planned: tuple[tuple[int, int, FieldConverter | None, str, str], ...] = tuple(
            (
                index,
                _PLACE.get(target, -1),
                convert[target] if target else None,
                column_letters(plan.first_column + index),
                target,
            )
            for index, target in plan.columns
        )
        if sorted(p for _, p, c, _, _ in self.planned if c is not None) != list(
            range(_FIELD_COUNT)
        ):
            raise ValueError("a plan reads every canonical column once")

    def read(self, rows: Rows) -> list[Read]:
        """Each row that is not blank as a master row, or its problems, in order: what
        :meth:`row` gives for each (``tests/test_intake_fast.py``)."""
        live, columns, again = self._columns(rows)
        records = map(Record.trusted, zip(*(columns[p] for p in _SHARED), strict=True))
        # A refused row's values make a master row too, never used: it is read again.
        masters = map(
            MasterRow.trusted,  # type: ignore[arg-type]
            columns[_CLIENT_ID],
            columns[_NIS],
            columns[_CERTIFICATE],
            records,
        )
        return [
            (number, self.row(number, cells) if i in again else master)
            for i, ((number, cells), master) in enumerate(zip(live, masters, strict=True))
        ]

    def _columns(
        self, rows: Rows
    ) -> tuple[list[tuple[int, Sequence[object]]], list[list[object]], set[int]]:
        """The rows that are not blank, their values a column at a time (remembered
        values looked up for a whole column), and which rows must be read again, one by
        one, for their problems: a cell refused or out of place, a value the field's
        rule refuses after conversion."""
        live = [(n, cells) for n, cells in rows if not _blank(cells)]
        table = list(zip_longest(*(cells for _, cells in live)))
        width = self.plan.width
        again: set[int] = set()
        if len(table) > width:  # a value right of the last column
            again.update(i for i, (_, c) in enumerate(live) if any(map(_filled, c[width:])))
        columns: list[list[object]] = [[]] * _FIELD_COUNT
        for index, place, field, _, _ in self.planned:
            column = table[index] if index < len(table) else (None,) * len(live)
            if field is None:  # a column without a header: its cells must be empty
                again.update(i for i, cell in enumerate(column) if not is_empty(cell))
                continue
            columns[place], refused = field.column(column)
            again.update(refused)
        for place, spec in _RECHECKED:
            problem = spec.problem
            again.update(i for i, v in enumerate(columns[place]) if problem(v) is not None)
        again.update(
            i for i, v in enumerate(columns[_CERTIFICATE]) if v is not None and type(v) is not date
        )
        return live, columns, again

    def row(self, number: int, cells: Sequence[object]) -> MasterRow | list[Problem]:
        """One row as a master row, or every problem it has (located, never quoted)."""
        values = self.values(number, cells)
        return values if isinstance(values, list) else master_row(values)

    def values(self, number: int, cells: Sequence[object]) -> Values | list[Problem]:
        """One row's converted values, or every problem it has."""
        sheet = self.plan.sheet
        problems: list[Problem] = []
        width = self.plan.width
        count = len(cells)
        if count > width and any(not is_empty(c) for c in cells[width:]):
            where = column_letters(self.plan.first_column + width)
            problems.append(Problem(sheet, number, where, "a value right of the last column"))
        values: list[object] = [None] * _FIELD_COUNT
        for index, place, convert, letter, target in self.planned:
            cell = cells[index] if index < count else None
            if convert is None:
                if not is_empty(cell):
                    reason = "a value in a column without a header"
                    problems.append(Problem(sheet, number, letter, reason))
                continue
            try:
                values[place] = convert.convert(cell)
            except ValueError as exc:
                # Our converters' reasons only: the libraries' messages were replaced.
                reason = exc.reason if isinstance(exc, FieldError) else str(exc)
                problems.append(Problem(sheet, number, letter, reason, target))
        if problems:
            return problems
        return self._checked(number, values)

    def _checked(self, number: int, values: list[object]) -> Values | list[Problem]:
        """The converted values, after the checks conversion does not imply: the first
        failing one is the row's one problem, as Record and MasterRow report it."""
        for place, spec in _RECHECKED:
            problem = spec.problem(values[place])
            if problem is not None:
                letter = self.letters[spec.header]
                return [Problem(self.plan.sheet, number, letter, problem, spec.header)]
        certificate = values[_CERTIFICATE]
        if certificate is not None and type(certificate) is not date:
            header = schema.DATUM_ATTEST.header
            where = self.letters[header]
            return [Problem(self.plan.sheet, number, where, "is not a date", header)]
        return tuple(values)


def master_row(values: Values) -> MasterRow:
    """The master row of values :meth:`Columns.values` gave (checked there, once)."""
    return MasterRow.trusted(
        values[_CLIENT_ID],  # type: ignore[arg-type]
        values[_NIS],  # type: ignore[arg-type]
        values[_CERTIFICATE],  # type: ignore[arg-type]
        Record.trusted(_shared_values(values)),
    )


# Rows read at a time: enough that a column's remembered values are looked up at C speed,
# few enough that a chunk's cells are a small part of the intake's memory.
CHUNK_ROWS = 2000


def chunks(
    rows: Iterable[tuple[int, Sequence[object]]],
) -> Iterator[list[tuple[int, Sequence[object]]]]:
    """``rows`` in chunks of :data:`CHUNK_ROWS`. When the source refuses a row (a CSV row
    over the caps), the rows before it come first, then the refusal: as when rows were
    read one at a time, problems found before it may stop reading first."""
    chunk: list[tuple[int, Sequence[object]]] = []
    try:
        for row in rows:
            chunk.append(row)
            if len(chunk) == CHUNK_ROWS:
                yield chunk
                chunk = []
    except Exception:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk
