"""A master's cell as the value of its field: trimmed and checked text, the closed lists,
phone numbers, e-mail addresses, postcodes and dates normalised; one converter per
canonical header (:data:`CONVERTERS`). A value that does not fit raises ValueError naming
why, never the value."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from securexchange import normalise, schema
from securexchange.schema import FieldError, FieldSpec
from securexchange.sheets.cells import master_text


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


def _free_text(spec: FieldSpec) -> Callable[[object], object]:
    """Text under the free-text rules, and under the spec's own check when it has one."""
    check = spec.check

    def convert(cell: object) -> object:
        text = _clean(cell, spec)
        problem = check(text) if check is not None and text else None
        if problem is not None:
            raise ValueError(problem)
        return text

    return convert


def _optional(spec: FieldSpec, normalise_: Callable[[str], str]) -> Callable[[object], object]:
    def convert(cell: object) -> object:
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


def _enum(spec: FieldSpec) -> Callable[[object], object]:
    vocabulary = spec.vocabulary
    assert vocabulary is not None

    seen: dict[object, str] = {}  # few distinct values: remember each verdict

    def convert(cell: object) -> object:
        if cell in seen:
            return seen[cell]
        text = master_text(cell)
        label = vocabulary.canonical(text)
        if label is None:
            if not text.strip():
                raise ValueError("is empty")
            raise ValueError(f"has a value outside the list of {vocabulary.name}")
        if len(seen) < 4096:
            seen[cell] = label
        return label

    return convert


def _labels(spec: FieldSpec) -> Callable[[object], object]:
    seen: dict[object, tuple[str, ...]] = {}  # 4096 combinations and their spellings

    def convert(cell: object) -> object:
        if cell in seen:
            return seen[cell]
        try:
            result = schema.parse_labels(spec, master_text(cell))
        except FieldError as exc:
            raise ValueError(exc.reason) from None
        if len(seen) < 1 << 14:
            seen[cell] = result
        return result

    return convert


def _certificate(cell: object) -> object:
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if isinstance(cell, str):
        cell = cell.strip()
    return normalise.certificate_date(cell)


def converter(spec: FieldSpec) -> Callable[[object], object]:
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


CONVERTERS: Mapping[str, Callable[[object], object]] = {
    spec.header: converter(spec) for spec in schema.MASTER_FIELDS
}
