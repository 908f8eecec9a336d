"""Intake validates each cell once: its fast paths, memories and trusted construction
give exactly what the slow path and the full checks of Record and MasterRow give.

The reference below is intake as it was before (every cell through ``_clean``, every
row through ``Record(...)`` and ``MasterRow(...)``, which check each field again): the
property tests hold the fast intake to it, row by row and message by message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from securexchange import municipalities, schema
from securexchange.ids import is_nis_code
from securexchange.intake import converters
from securexchange.intake.rows import Columns, Plan, Problem, is_empty
from securexchange.schema import FieldError, FieldSpec, MasterRow, Record
from securexchange.sheets.cells import master_text
from securexchange.sheets.xlsxguard import column_letters

H = schema.MASTER_HEADERS
SPECS = {spec.header: spec for spec in schema.MASTER_FIELDS}


def reference_convert(spec: FieldSpec, cell: object) -> object:
    """A cell's value the slow way: every text through ``_clean``, no memory."""
    if spec is schema.DATUM_ATTEST:
        return converters._certificate(cell)
    if spec.multi:
        try:
            return schema.parse_labels(spec, master_text(cell))
        except FieldError as exc:
            raise ValueError(exc.reason) from None
    if spec.vocabulary is not None:
        text = master_text(cell)
        label = spec.vocabulary.canonical(text)
        if label is None:
            if not text.strip():
                raise ValueError("is empty")
            raise ValueError(f"has a value outside the list of {spec.vocabulary.name}")
        return label
    if spec.normalise is not None:
        text = converters._clean(cell, None)
        if len(text) > 1000:
            raise ValueError("is longer than 1000 characters")
        if not text:
            if spec.required:
                raise ValueError("is empty")
            return ""
        result = spec.normalise(text)
        if len(result) > spec.max_length:
            raise ValueError(f"is longer than {spec.max_length} characters")
        return result
    text = converters._clean(cell, spec)
    problem = spec.check(text) if spec.check is not None and text else None
    if problem is not None:
        raise ValueError(problem)
    return text


# A plan with every canonical column in order and one column without a header after them.
PLAN = [(i, header) for i, header in enumerate(H)] + [(len(H), "")]
WIDTH = len(PLAN)
SHEET = "Blad1"
LETTERS = {target: column_letters(1 + index) for index, target in PLAN}


def reference_row(number: int, cells: Sequence[object]) -> MasterRow | list[Problem]:
    """One row the way intake read it before: converted, then checked again in full."""
    problems: list[Problem] = []
    if len(cells) > WIDTH and any(not is_empty(c) for c in cells[WIDTH:]):
        problems.append(
            Problem(SHEET, number, column_letters(1 + WIDTH), "a value right of the last column")
        )
    values: dict[str, object] = {}
    for index, target in PLAN:
        cell = cells[index] if index < len(cells) else None
        if not target:
            if not is_empty(cell):
                reason = "a value in a column without a header"
                problems.append(Problem(SHEET, number, column_letters(1 + index), reason))
            continue
        try:
            values[SPECS[target].key] = reference_convert(SPECS[target], cell)
        except ValueError as exc:
            reason = exc.reason if isinstance(exc, FieldError) else str(exc)
            problems.append(Problem(SHEET, number, LETTERS[target], reason, target))
    if problems:
        return problems
    try:
        record = Record(**{spec.key: values[spec.key] for spec in schema.SHARED_FIELDS})  # type: ignore[arg-type]
        return MasterRow(
            client_id=values["client_id"],  # type: ignore[arg-type]
            nis=values["nis"],  # type: ignore[arg-type]
            certificate_date=values["certificate_date"],  # type: ignore[arg-type]
            record=record,
        )
    except FieldError as exc:
        header = exc.header if exc.header in LETTERS else None
        return [Problem(SHEET, number, LETTERS.get(exc.header, ""), exc.reason, header)]


# --- cells as calamine and the CSV reader give them ----------------------------------------

GOOD = (
    "K10000001",
    "Haddad",
    "Omar",
    "Kerkstraat 1",
    "2000",
    "Antwerpen",
    "11002",
    "0470 12 34 56",
    "Omar.Haddad@Gmail.COM",
    "arabisch",
    "a2",
    "Lopend",
    "sport en beweging;buddy",
    "14/03/2025",
)
# Characters that take intake's every branch: spaces of all kinds, controls, formula
# starts, separators, accents, digits and the characters of numbers and addresses.
ALPHABET = st.sampled_from(
    list("aAzZ09 +-=@.;/_()éß\t\n\r\x00\x1f\x7f\x85\xa0\u2028\u2029\u3000\u200b")
)
texts = st.text(ALPHABET, max_size=24)
labels = st.sampled_from(
    [
        v
        for spec in schema.MASTER_FIELDS
        if spec.vocabulary is not None
        for v in spec.vocabulary.values
    ]
)


@st.composite
def variants(draw: st.DrawFn, base: str) -> str:
    """A typed value as people vary it: spacing around and inside, case."""
    text = draw(st.sampled_from([base, base.upper(), base.lower()]))
    inner = draw(st.sampled_from([" ", "  ", "\xa0", "\t"]))
    if draw(st.booleans()):
        text = text.replace(" ", inner)
    pad = draw(st.sampled_from(["", " ", "  ", "\n", "\xa0"]))
    return pad + text + draw(st.sampled_from(["", " ", "\u3000"]))


cells: st.SearchStrategy[object] = st.one_of(
    texts,
    st.sampled_from(GOOD).flatmap(variants),
    labels.flatmap(variants),
    st.sampled_from(
        ["-jan@gent.be", "=1+1", "+32470123456", "@x", "0032 470 12 34 56", "1000", "99999"]
    ),
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([2000.0, 11002.0, 470123456.0, 0.0]),
    st.dates(),
    st.datetimes(),
    st.times(),
    st.timedeltas(),
)


def outcome(convert: converters.Converter, cell: object) -> tuple[str, object]:
    try:
        value = convert(cell)
    except ValueError as exc:
        return ("refused", str(exc))
    return ("value", (type(value), value))


# One set of converters for all examples, so that their memories are exercised too.
FAST = converters.converters()


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(H), cells)
def test_every_converter_gives_what_the_slow_path_gives(header: str, cell: object) -> None:
    spec = SPECS[header]
    expected = outcome(lambda c: reference_convert(spec, c), cell)
    assert outcome(FAST[header].convert, cell) == expected
    assert outcome(FAST[header].convert, cell) == expected  # remembered: the same again


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(H), cells)
def test_a_converted_value_satisfies_its_field_unless_it_is_checked_again(
    header: str, cell: object
) -> None:
    spec = SPECS[header]
    try:
        value = FAST[header].convert(cell)
    except ValueError:
        return
    if spec in schema.SHARED_FIELDS and header not in converters.RECHECKED:
        assert spec.problem(value) is None
    if spec is schema.KLANT_ID:
        assert isinstance(value, str) and schema.KLANT_ID.problem(value) is None
    if spec is schema.NIS_CODE:
        assert is_nis_code(value) and municipalities.is_known(str(value))


@settings(max_examples=2000, deadline=None)
@given(st.text(ALPHABET, max_size=40))
def test_clean_text_is_its_own_cleaned_form(text: str) -> None:
    if converters.CLEAN_TEXT.fullmatch(text):
        assert converters._clean(text, None) == text


@st.composite
def rows(draw: st.DrawFn) -> list[object]:
    """A row of mostly good values, some replaced by any cell, of any length."""
    row: list[object] = [*GOOD, None]
    for i in draw(st.lists(st.integers(0, WIDTH + 1), max_size=4)):
        if i < len(row):
            row[i] = draw(cells)
        else:
            row.append(draw(cells))
    return row[: draw(st.integers(len(row) - 3, len(row)))]


READ = Columns(Plan(SHEET, 1, WIDTH, tuple(PLAN)))


@settings(max_examples=1500, deadline=None)
@given(rows())
def test_a_row_gives_the_master_row_or_the_problems_full_checks_give(row: list[object]) -> None:
    expected = reference_row(7, row)
    actual = READ.row(7, row)
    assert actual == expected
    if isinstance(expected, MasterRow):
        assert isinstance(actual, MasterRow)
        assert type(actual.certificate_date) is type(expected.certificate_date)
        assert actual.record.values == expected.record.values


def test_a_library_accepted_address_the_stored_form_refuses_is_reported_as_before() -> None:
    row: list[object] = list(GOOD)
    row[H.index("E-mail")] = "-jan@gent.be"
    assert READ.row(3, row) == reference_row(3, row)
    assert READ.row(3, row) == [
        Problem(SHEET, 3, "I", "starts like a formula", "E-mail"),
    ]


def test_values_of_other_types_than_calamine_gives_take_the_slow_path() -> None:
    row: list[object] = list(GOOD)
    row[H.index("Datum inburgeringsattest")] = datetime(2025, 3, 14, 12, 0)
    row[H.index("Postcode")] = 2000.0
    row[H.index("Naam")] = time(1)
    assert READ.row(4, row) == reference_row(4, row)
    row[H.index("Naam")] = timedelta(1)
    assert READ.row(4, row) == reference_row(4, row)
    row[H.index("Naam")] = "Haddad"
    read = READ.row(4, row)
    assert isinstance(read, MasterRow)
    assert read.certificate_date == date(2025, 3, 14)
    assert type(read.certificate_date) is date


def test_a_refused_phone_number_or_address_gives_the_same_reason_every_time() -> None:
    from securexchange import normalise

    normalise.clear_caches()
    for text, normalise_ in (("x", normalise.phone), ("a@@b", normalise.email)):
        reasons = set()
        for _ in range(3):
            try:
                normalise_(text)
            except ValueError as exc:
                reasons.add(str(exc))
        assert len(reasons) == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(rows(), max_size=12), st.sampled_from([None, " ", ""]))
def test_reading_a_chunk_a_column_at_a_time_gives_what_reading_each_row_gives(
    chunk: list[list[object]], blank: str | None
) -> None:
    for row in chunk[::3]:  # blank rows are left out, as before
        row[:] = [blank] * len(row)
    numbered = [(n + 2, row) for n, row in enumerate(chunk)]
    one_by_one = Columns(Plan(SHEET, 1, WIDTH, tuple(PLAN)))
    live = [(n, row) for n, row in numbered if not all(map(is_empty, row))]
    rows_read = [(n, one_by_one.row(n, row)) for n, row in live]
    assert READ.read(numbered) == rows_read
    assert Columns(Plan(SHEET, 1, WIDTH, tuple(PLAN))).read(numbered) == rows_read


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(H), st.lists(cells, max_size=20))
def test_a_column_gives_each_cell_its_value_or_its_refusal(
    header: str, column: list[object]
) -> None:
    values, refused = converters.converters()[header].column(column)
    for i, cell in enumerate(column):
        kind, value = outcome(FAST[header].convert, cell)
        if kind == "refused":
            assert i in refused and values[i] is None
        else:
            assert i not in refused and (type(values[i]), values[i]) == value


@settings(max_examples=500, deadline=None)
@given(
    st.from_regex(r"[A-Za-z0-9_+\-]{1,8}", fullmatch=True),
    st.sampled_from(["Gmail.com", "gmail.COM", "x--y.be", "a.test", "b.Local", "gent.be"]),
)
def test_a_remembered_domain_gives_the_library_s_answer_again(local: str, domain: str) -> None:
    from securexchange import normalise

    text = f"{local}@{domain}"
    for _ in range(2):  # the second time from what was remembered of the domain
        fast = normalise.email_fast(text)
        if fast is not None:
            assert fast == normalise.email_library(text)
        elif domain in ("x--y.be", "a.test", "b.Local"):
            assert normalise._plain_domain(domain) is None
