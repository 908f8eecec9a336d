"""Master intake: the agency's .xlsx or .csv export -> validated, normalised rows.

The master is refused as a whole unless every column is one of the canonical headers
of :mod:`securexchange.schema` (or mapped onto one, or explicitly dropped) and every
value satisfies its field's rule (promise P1). All problems are collected, each with
sheet, row and column and a reason, never the value, into one
:class:`MasterProblems` (an ``SX-INVALID-MASTER``, exit 2); nothing is written. With
``skip_invalid`` the valid rows are kept and the problems returned for a report; problems
with the columns themselves are never skipped.

An .xlsx is read by :mod:`securexchange.sheets.master_read`: the archive guard first,
then python-calamine, from the same bytes; only the one visible sheet with data is read,
so what is exported is what the agency sees in Excel.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from securexchange import schema, strictjson, vocabularies
from securexchange.collector import paused
from securexchange.errors import HostileFile, InvalidMaster, Malformed, UsageError
from securexchange.intake.csvread import CsvLimits
from securexchange.intake.rows import Columns, Plan, Problem, chunks
from securexchange.printable import escape
from securexchange.schema import MasterRow
from securexchange.sheets.xlsxguard import XlsxLimits, column_letters

__all__ = [
    "MAX_PROBLEMS",
    "IntakeResult",
    "MasterLimits",
    "MasterProblems",
    "Problem",
    "format_problems",
    "load_mapping",
    "read_master",
]

# Problems kept before reading stops (or, with skip_invalid, before they are only
# counted): enough to fix a master, and a bound on memory for a hostile one.
MAX_PROBLEMS = 1000


@dataclass(frozen=True)
class MasterLimits:
    """Caps on a master file: the archive checks, the CSV caps, and the row count."""

    xlsx: XlsxLimits = field(default_factory=XlsxLimits)
    csv: CsvLimits = field(default_factory=CsvLimits)

    def __post_init__(self) -> None:
        if not isinstance(self.xlsx, XlsxLimits) or not isinstance(self.csv, CsvLimits):
            raise TypeError("MasterLimits needs XlsxLimits and CsvLimits")


def format_problems(problems: Sequence[Problem]) -> str:
    """A plain-text table of problems: sheet, row, column, header, reason."""
    head = ("sheet", "row", "column", "field", "problem")
    lines = [head] + [
        (escape(p.sheet), str(p.row), p.column or "-", p.header or "-", p.reason) for p in problems
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line[:4])) + "  " + line[4]
        for line in lines
    )


class MasterProblems(InvalidMaster):
    """An invalid master, with every problem found (``.problems``, in file order)."""

    def __init__(self, what: str, problems: Sequence[Problem], *, stopped: bool = False) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(problems))
        self.stopped = stopped
        rows = len({(p.sheet, p.row) for p in self.problems})
        count = len(self.problems)
        first = self.problems[0] if self.problems else None
        more = "+" if stopped else ""
        message = (
            f"{what}: {count}{more} problem{'s' if count != 1 else ''} in "
            f"{rows}{more} row{'s' if rows != 1 else ''}"
            + (" (reading stopped)" if stopped else "")
            + (f"; first: {first}" if first else "")
        )
        super().__init__(
            message,
            hint="each problem names sheet, row and column; fix the master, or map or "
            "drop unknown columns",
        )

    def table(self) -> str:
        return format_problems(self.problems)


@dataclass(frozen=True)
class IntakeResult:
    rows: tuple[MasterRow, ...]
    problems: tuple[Problem, ...]  # empty unless skip_invalid was used
    problems_omitted: int  # beyond MAX_PROBLEMS: counted, not kept
    source: str  # the file name
    sheet: str
    dialect: str  # "xlsx", or the CSV encoding and delimiter


# --- reading raw cells ------------------------------------------------------------------


@dataclass
class _Raw:
    sheet: str
    dialect: str
    first_column: int  # 1-based index of the first column read
    rows: Iterator[tuple[int, Sequence[object]]]  # (row number, cells)


def _read_xlsx(path: Path, limits: MasterLimits) -> _Raw:
    from securexchange.home.atomicio import read_capped
    from securexchange.sheets.master_read import read_data_sheet

    data = read_capped(path, limit=limits.xlsx.max_file_bytes, what="master", too_large=HostileFile)
    sheet = read_data_sheet(data, limits.xlsx, what=path.name)
    return _Raw(sheet=sheet.name, dialect="xlsx", first_column=sheet.first_column, rows=sheet.rows)


def _read_csv(path: Path, limits: MasterLimits) -> _Raw:
    from securexchange.intake import csvread

    source = csvread.decode(path, limits.csv)
    label = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "cp1252": "Windows-1252"}
    delimiter = {";": "';'", ",": "','", "\t": "TAB"}[source.delimiter]
    return _Raw(
        sheet=path.name,
        dialect=f"csv {label[source.encoding]} {delimiter}",
        first_column=1,
        rows=csvread.rows(source, path.name, limits.csv),
    )


# --- headers ----------------------------------------------------------------------------


def load_mapping(path: Path) -> dict[str, str]:
    """A header mapping file: strict JSON ``{"Header in the file": "Canonical header"}``."""
    from securexchange.home.atomicio import read_capped

    data = read_capped(path, limit=64 << 10, what="mapping file", too_large=UsageError)
    try:
        value = strictjson.loads(data, what=f"mapping file {path.name}", max_bytes=64 << 10)
    except Malformed as exc:
        raise UsageError(exc.message) from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise UsageError(f"mapping file {path.name} is not an object of header names")
    return dict(value)


def _plan_columns(
    header: Sequence[object],
    *,
    sheet: str,
    header_number: int,
    first_column: int,
    mapping: Mapping[str, str],
    drop_columns: Collection[str],
) -> tuple[list[tuple[int, str]], list[Problem]]:
    """(cell index, canonical header) of the columns to read, and header problems."""
    canonical = {vocabularies.fold(h): h for h in schema.MASTER_HEADERS}
    for target in mapping.values():
        if target not in schema.MASTER_HEADERS:
            raise UsageError(
                "the header mapping names a target that is not a canonical header",
                hint="targets: " + ", ".join(schema.MASTER_HEADERS),
            )
    mapped = {vocabularies.fold(k): v for k, v in mapping.items()}
    dropped = {vocabularies.fold(name) for name in drop_columns}
    plan: list[tuple[int, str]] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for index, cell in enumerate(header):
        letter = column_letters(first_column + index)
        text = cell if isinstance(cell, str) else ""
        key = vocabularies.fold(text)
        if not key:
            if cell not in ("", None):
                problems.append(Problem(sheet, header_number, letter, "the header is not text"))
            else:
                plan.append((index, ""))  # no header: its cells must all be empty
            continue
        if key in dropped:
            continue
        found = mapped.get(key) or canonical.get(key)
        if found is None:
            # The header text is not quoted: a master without a header row would put a
            # person's data here.
            problems.append(
                Problem(
                    sheet,
                    header_number,
                    letter,
                    "unknown column: not an art. 3 field; map it to a canonical header or drop it",
                )
            )
            continue
        if found in seen:
            problems.append(
                Problem(sheet, header_number, letter, f"repeats the column {seen[found]}", found)
            )
            continue
        seen[found] = letter
        plan.append((index, found))
    for required in schema.MASTER_HEADERS:
        if required not in seen:
            problems.append(
                Problem(sheet, header_number, "", f"the column {required} is missing", required)
            )
    return plan, problems


# --- the intake -------------------------------------------------------------------------


def _read_raw(path: Path, limits: MasterLimits) -> _Raw:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path, limits)
    if suffix == ".csv":
        return _read_csv(path, limits)
    if suffix in {".xlsm", ".xls", ".xlsb", ".ods"}:
        raise InvalidMaster(
            f"{path.name}: only .xlsx and .csv masters are read",
            hint="save the master in Excel as an .xlsx workbook or as CSV",
        )
    raise UsageError(f"{path.name}: a master is an .xlsx or .csv file")


def _repeated_client_ids(
    rows: list[tuple[int, MasterRow]], columns: Columns, problems: list[Problem]
) -> tuple[list[tuple[int, MasterRow]], int]:
    """The rows without those whose client id another row has too (each listed as a
    problem), and how many such problems were past the cap."""
    # The client id is what record ids are derived from: two rows with one id would
    # give two records the same id. Neither row can be trusted over the other.
    seen: set[str] = set()
    twice: set[str] = set()
    for _, row in rows:
        if row.client_id in seen:
            twice.add(row.client_id)
        seen.add(row.client_id)
    if not twice:
        return rows, 0
    # Each repeated id with its rows, ids in the order of their first row.
    repeated: dict[str, list[int]] = {}
    for number, row in rows:
        if row.client_id in twice:
            repeated.setdefault(row.client_id, []).append(number)
    omitted = 0
    for numbers in repeated.values():
        for number in numbers:
            if len(problems) >= MAX_PROBLEMS:
                omitted += 1
                continue
            others = [n for n in numbers if n != number]
            listed = ", ".join(str(n) for n in others[:3])
            if len(others) > 3:
                listed += f" and {len(others) - 3} more"
            problems.append(
                Problem(
                    columns.plan.sheet,
                    number,
                    columns.letters[schema.KLANT_ID.header],
                    f"the same Klant-ID as row {listed}",
                    schema.KLANT_ID.header,
                )
            )
    return [(n, r) for n, r in rows if r.client_id not in repeated], omitted


def read_master(
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    drop_columns: Collection[str] = (),
    skip_invalid: bool = False,
    limits: MasterLimits | None = None,
) -> IntakeResult:
    """Read and validate a master; :class:`MasterProblems` lists every problem."""
    return _read(
        path,
        mapping=mapping or {},
        drop_columns=drop_columns,
        skip_invalid=skip_invalid,
        limits=limits or MasterLimits(),
    )


def _read(
    path: Path,
    *,
    mapping: Mapping[str, str],
    drop_columns: Collection[str],
    skip_invalid: bool,
    limits: MasterLimits,
) -> IntakeResult:
    raw = _read_raw(path, limits)
    what = path.name
    sheet = raw.sheet
    header_row = next(raw.rows, None)
    if header_row is None:
        raise MasterProblems(what, [Problem(sheet, 1, "", "the sheet is empty")])
    header_number, header = header_row
    plan, problems = _plan_columns(
        header,
        sheet=sheet,
        header_number=header_number,
        first_column=raw.first_column,
        mapping=mapping,
        drop_columns=drop_columns,
    )
    if problems:
        raise MasterProblems(what, problems)
    columns = Columns(Plan(sheet, raw.first_column, len(header), tuple(plan)))
    omitted = 0
    rows: list[tuple[int, MasterRow]] = []
    with paused():
        for number, read in (read for chunk in chunks(raw.rows) for read in columns.read(chunk)):
            if isinstance(read, MasterRow):
                rows.append((number, read))
            elif len(problems) + len(read) > MAX_PROBLEMS:
                if not skip_invalid:
                    # Bounded memory: a million bad rows must not become 14 million
                    # problem objects. What was found is enough to act on.
                    raise MasterProblems(what, problems[:MAX_PROBLEMS], stopped=True)
                omitted += len(read)
            else:
                problems.extend(read)
        rows, over = _repeated_client_ids(rows, columns, problems)
    omitted += over
    if problems and not skip_invalid:
        raise MasterProblems(what, problems, stopped=omitted > 0)
    return IntakeResult(
        rows=tuple([r for _, r in rows]),
        problems=tuple(sorted(problems)),
        problems_omitted=omitted,
        source=what,
        sheet=sheet,
        dialect=raw.dialect,
    )
