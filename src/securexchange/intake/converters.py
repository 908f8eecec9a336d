"""A master's cell as the value of its field: trimmed and checked text, the closed lists,
phone numbers, e-mail addresses, postcodes and dates normalised; one converter per
canonical header (:data:`CONVERTERS`). A value that does not fit raises ValueError naming
why, never the value."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from securexchange import schema
from securexchange.intake import normalise
from securexchange.schema import FieldError, FieldSpec
from securexchange.sheets.cells import master_text

_interests_seen: dict[object, tuple[str, ...]] = {}


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
    def convert(cell: object) -> object:
        return _clean(cell, spec)

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


def _interests(cell: object) -> object:
    if cell in _interests_seen:
        return _interests_seen[cell]
    try:
        result = schema.parse_interests(master_text(cell))
    except FieldError as exc:
        raise ValueError(exc.reason) from None
    if len(_interests_seen) < 1 << 14:  # 4096 combinations and their spellings
        _interests_seen[cell] = result
    return result


def _client_id(cell: object) -> object:
    text = _clean(cell, schema.KLANT_ID)
    if not schema.CLIENT_ID_PATTERN.fullmatch(text):
        raise ValueError("is not a client id (letters, digits, '.', '_', '/', '-')")
    return text


def _certificate(cell: object) -> object:
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if isinstance(cell, str):
        cell = cell.strip()
    return normalise.certificate_date(cell)


CONVERTERS: Mapping[str, Callable[[object], object]] = {
    schema.KLANT_ID.header: _client_id,
    schema.NAAM.header: _free_text(schema.NAAM),
    schema.VOORNAAM.header: _free_text(schema.VOORNAAM),
    schema.ADRES.header: _free_text(schema.ADRES),
    schema.POSTCODE.header: _optional(schema.POSTCODE, normalise.postcode),
    schema.GEMEENTE.header: _free_text(schema.GEMEENTE),
    schema.NIS_CODE.header: _optional(schema.NIS_CODE, normalise.nis_code),
    schema.TELEFOON.header: _optional(schema.TELEFOON, normalise.phone),
    schema.EMAIL.header: _optional(schema.EMAIL, normalise.email),
    schema.CONTACTTAAL.header: _enum(schema.CONTACTTAAL),
    schema.NIVEAU_NEDERLANDS.header: _enum(schema.NIVEAU_NEDERLANDS),
    schema.STATUS_MO.header: _enum(schema.STATUS_MO),
    schema.INTERESSES.header: _interests,
    schema.DATUM_ATTEST.header: _certificate,
}
