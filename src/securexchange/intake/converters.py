"""A master's cell as the value of its field: trimmed and checked text, the closed lists,
phone numbers, e-mail addresses, postcodes and dates normalised; one converter per
canonical header (:func:`converters`). A value that does not fit raises ValueError naming
why, never the value.

Each cell is validated once. A converter's value already satisfies its field's rule
(:meth:`FieldSpec.problem`) and :class:`MasterRow`'s checks, so intake builds records
without checking them again, except for the fields in :data:`RECHECKED`, whose library
may accept a value the stored form refuses. ``tests/test_intake_fast.py`` proves both
claims with hypothesis, and that every fast path below gives what the slow path gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat

from securexchange import normalise, schema
from securexchange.schema import FieldError, FieldSpec
from securexchange.sheets.cells import master_text

Converter = Callable[[object], object]

# Text that is its own cleaned form: runs of characters that are neither whitespace nor
# control characters, joined by single spaces. ``_clean`` returns such a cell unchanged,
# so the fast paths take it as it is (most cells of a master are like this).
_NOT_BLANK = r"[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]"
CLEAN_TEXT = re.compile(f"{_NOT_BLANK}+(?: {_NOT_BLANK}+)*")

# The fields whose converted value is checked again by the field's rule: a number or
# address the library accepts may still break the stored form's rule (an address whose
# local part starts with '-' starts like a formula).
RECHECKED: frozenset[str] = frozenset({schema.TELEFOON.header, schema.EMAIL.header})

# Distinct cell texts remembered per field and intake: a master repeats municipalities,
# postcodes, labels and names; a bound keeps a hostile master's memory in check.
_MEMO_LIMIT = 1 << 14
_MISSING = object()


def _clean(cell: object, spec: FieldSpec | None) -> str:
    """Trimmed text with inner runs of spaces collapsed; control characters refused;
    with ``spec``, also the free-text rules (length, formula-like start)."""
    raw = master_text(cell)
    if schema.CONTROL_CHARACTERS.search(raw):
        raise ValueError("contains a line break or control character")
    text = " ".join(raw.split())
    if spec is None:
        return text
    problem = schema.text_problem(text, spec)
    if problem is not None:
        raise ValueError(problem)
    return text


def _free_text(spec: FieldSpec) -> Converter:
    """Text under the free-text rules, and under the spec's own check when it has one."""
    check = spec.check
    limit = spec.max_length
    formula = schema.FORMULA_START
    clean = CLEAN_TEXT.fullmatch

    def convert(cell: object) -> object:
        if (
            type(cell) is str
            and len(cell) <= limit
            and clean(cell)
            and not cell.startswith(formula)
        ):
            text = cell  # what _clean would return: see CLEAN_TEXT
        else:
            text = _clean(cell, spec)
        problem = check(text) if check is not None and text else None
        if problem is not None:
            raise ValueError(problem)
        return text

    return convert


def _optional(spec: FieldSpec, normalise_: Callable[[str], str]) -> Converter:
    clean = CLEAN_TEXT.fullmatch

    def convert(cell: object) -> object:
        if type(cell) is str and len(cell) <= 1000 and clean(cell):
            text = cell  # what _clean would return: see CLEAN_TEXT
        else:
            text = _clean(cell, None)
            if len(text) > 1000:
                raise ValueError("is longer than 1000 characters")
            if not text:
                if spec.required:
                    raise ValueError("is empty")
                return ""
        result = normalise_(text)
        if len(result) > spec.max_length:
            raise ValueError(f"is longer than {spec.max_length} characters")
        return result

    return convert


def _enum(spec: FieldSpec) -> Converter:
    vocabulary = spec.vocabulary
    assert vocabulary is not None

    def convert(cell: object) -> object:
        text = master_text(cell)
        label = vocabulary.canonical(text)
        if label is None:
            if not text.strip():
                raise ValueError("is empty")
            raise ValueError(f"has a value outside the list of {vocabulary.name}")
        return label

    return convert


def _labels(spec: FieldSpec) -> Converter:
    def convert(cell: object) -> object:
        try:
            return schema.parse_labels(spec, master_text(cell))
        except FieldError as exc:
            raise ValueError(exc.reason) from None

    return convert


def _certificate(cell: object) -> object:
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if isinstance(cell, str):
        cell = cell.strip()
    return normalise.certificate_date(cell)


@dataclass(frozen=True)
class FieldConverter:
    """A field's converter for one intake; ``memo``, when there is one, holds the value
    ``convert`` gave for each text cell it accepted (not its refusals)."""

    convert: Converter
    memo: dict[str, object] | None = None

    def column(self, cells: Sequence[object]) -> tuple[list[object], list[int]]:
        """The value of each cell of a column, and the indexes of those refused (their
        value is None). Remembered text is looked up for the whole column at once."""
        if self.memo is None:
            values: list[object] = [_MISSING] * len(cells)
            misses: Iterable[int] = range(len(cells))
        else:
            # Only text is remembered, and text never equals another type: a number
            # or a date cell (True == 1 == 1.0) is never taken for a remembered one.
            values = list(map(self.memo.get, cells, repeat(_MISSING)))  # type: ignore[arg-type]
            misses = [i for i, value in enumerate(values) if value is _MISSING]
        refused: list[int] = []
        convert = self.convert
        for i in misses:
            try:
                values[i] = convert(cells[i])
            except ValueError:
                values[i] = None
                refused.append(i)
        return values, refused


def _memoised(convert: Converter) -> FieldConverter:
    seen: dict[str, object] = {}

    def memo(cell: object) -> object:
        if type(cell) is not str:  # True == 1 == 1.0: only text is a safe key
            return convert(cell)
        value = seen.get(cell, _MISSING)
        if value is _MISSING:
            value = convert(cell)
            if len(seen) < _MEMO_LIMIT:
                seen[cell] = value
        return value

    return FieldConverter(memo, seen)


# Fields whose values are mostly unique (the client id, the address) or cached by
# normalise (phone numbers, addresses) are not memoised here.
_NOT_MEMOISED = frozenset(
    {schema.KLANT_ID.header, schema.ADRES.header, schema.TELEFOON.header, schema.EMAIL.header}
)


def converter(spec: FieldSpec) -> Converter:
    """The converter of a field, from what its spec says (see :class:`FieldSpec`)."""
    if spec is schema.DATUM_ATTEST:
        return _certificate
    if spec.multi:
        return _labels(spec)
    if spec.vocabulary is not None:
        return _enum(spec)
    if spec.normalise is not None:
        return _optional(spec, spec.normalise)
    return _free_text(spec)


def converters() -> Mapping[str, FieldConverter]:
    """A converter for each canonical header, with memories of their own (one intake)."""
    return {
        spec.header: (
            FieldConverter(converter(spec))
            if spec.header in _NOT_MEMOISED
            else _memoised(converter(spec))
        )
        for spec in schema.MASTER_FIELDS
    }
