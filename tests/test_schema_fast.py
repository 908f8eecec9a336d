"""Reading a record's cells checks each cell once (issue 22), and gives exactly what
reading every cell and then checking every value gives: the same record, or a refusal."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from securexchange.schema import SHARED_FIELDS, FieldError, FieldSpec, Record

_EDGES = st.sampled_from(["", " ", "  ", "\t", "\u00a0"])
_AWKWARD = st.sampled_from(
    ["", " ", "=1+1", "+3247", "-x", "@x", "a\x00b", "a\nb", "x" * 300, "é", ";", " ; "]
)
_SHAPES = st.sampled_from(
    ["1000", "9999", "0999", "+32470123456", "+1", "a@b.be", "a @b.be", "Kerkstraat 1"]
)


def _label(spec: FieldSpec) -> st.SearchStrategy[str]:
    """One of the field's labels as somebody could type it (case, spaces around)."""
    assert spec.vocabulary is not None
    label = st.sampled_from(spec.vocabulary.values)
    cased = st.tuples(label, st.sampled_from([str, str.upper, str.lower, str.title])).map(
        lambda pair: pair[1](pair[0])
    )
    return st.tuples(_EDGES, cased, _EDGES).map("".join)


_CANDIDATES = ("Haddad", "Kerkstraat 1", "1000", "+32470123456", "a@b.be", "", "x" * 100)


def _valid_text(spec: FieldSpec) -> st.SearchStrategy[str]:
    """Texts the field takes (picked with the reference reading), so that whole rows of
    valid cells are generated too."""
    taken = [t for t in _CANDIDATES if spec.problem(spec.read_cell(t)) is None]
    return st.sampled_from(taken)


def _good_cell(spec: FieldSpec) -> st.SearchStrategy[str]:
    """A cell as it may be typed for the field: mostly taken, sometimes not (two lone
    labels, a repeated label)."""
    if spec.vocabulary is None:
        return _valid_text(spec)
    if spec.multi:
        return st.lists(_label(spec), min_size=1, max_size=4).map(";".join)
    return _label(spec)


_ANY_TEXT = st.one_of(_AWKWARD, _SHAPES, st.text(max_size=30))


@st.composite
def _rows(draw: st.DrawFn) -> tuple[str, ...]:
    """A row of good cells, but for a few fields that get any text at all."""
    spoiled = draw(st.sets(st.integers(0, len(SHARED_FIELDS) - 1), max_size=3))
    return tuple(
        draw(_ANY_TEXT if index in spoiled else _good_cell(spec))
        for index, spec in enumerate(SHARED_FIELDS)
    )


_ROWS = _rows()


def _read_then_checked(texts: tuple[str, ...]) -> Record | None:
    """The reference: read every cell, then check every value (Record's constructor)."""
    try:
        values = {
            spec.key: spec.read_cell(text) for spec, text in zip(SHARED_FIELDS, texts, strict=False)
        }
        return Record(**values)
    except FieldError:
        return None


def _checked_once(texts: tuple[str, ...]) -> Record | None:
    try:
        return Record.from_cell_texts(texts)
    except FieldError:
        return None


@settings(max_examples=1500, deadline=None)
@given(_ROWS)
def test_cells_checked_once_give_the_record_or_the_refusal_of_checking_twice(
    texts: tuple[str, ...],
) -> None:
    assert _checked_once(texts) == _read_then_checked(texts)


def test_the_generated_rows_reach_both_records_and_refusals() -> None:
    """The property above is not vacuous: rows of valid cells are read as records."""
    valid = ("Haddad", "Amina", "", "", "", "", "", "Arabisch", "A1", "lopend", "buddy")
    assert isinstance(_checked_once(valid), Record)
    assert _checked_once(valid) == _read_then_checked(valid)
    assert _checked_once(("=x", *valid[1:])) is None
    assert _checked_once(valid[:-1]) is None
