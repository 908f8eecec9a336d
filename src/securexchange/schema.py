"""The art. 3 fields, each one entry carrying its rules, and the record they make.

This module is the single place that says what may leave the agency (promise P1,
protocol art. 3): the eleven shared fields, the three master-only fields that never
leave the agency, and for each its header, its rule (a closed list from
:mod:`securexchange.vocabularies`, a normaliser and check, or free text) and its column
width. Anything not named here is refused by intake, by the workbook reader and by the
return channel; a field named here is carried by all of them with no other change.

Validation failures raise :class:`FieldError` (a ``ValueError`` naming the field, never
the value); callers translate it into the error of their context (an invalid master, a
malformed package, an invalid workbook).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from securexchange import municipalities, normalise
from securexchange.ids import is_nis_code
from securexchange.vocabularies import (
    CONTACT_LANGUAGES,
    DUTCH_LEVELS,
    INTERESTS,
    MO_STATUSES,
    MULTI_SEPARATOR,
    Vocabulary,
)

# Travels in every manifest; bump it when a field or a vocabulary changes, so that a
# client can refuse a package written against a schema it does not know.
SCHEMA_VERSION = "2026.1"

# What is written between values: the separator and one space, as people type it.
MULTI_JOINER = "; "


class FieldError(ValueError):
    """A value does not satisfy its field's rule. Names the field, never the value."""

    def __init__(self, header: str, reason: str) -> None:
        super().__init__(f"{header}: {reason}")
        self.header = header
        self.reason = reason


# --- the closed lists -------------------------------------------------------------------


# --- value rules ------------------------------------------------------------------------

# C0/C1 controls and the Unicode line/paragraph separators; none belongs in a cell and
# some (CR, TAB) start CSV/formula injection.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Text that a spreadsheet could take for a formula (OWASP CSV injection). No name,
# address or municipality starts with one of these, so such a value is refused at intake
# rather than neutralised silently; the workbook writer also stores text as text.
FORMULA_START = ("=", "+", "-", "@")
_POSTCODE = re.compile(r"[1-9][0-9]{3}")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# A deliberately loose shape check: intake does the real check with email-validator.
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CLIENT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/]*(?:-[A-Za-z0-9._/]+)*")


def text_problem(value: str, spec: FieldSpec) -> str | None:
    """Why a free-text value is unacceptable for ``spec``, or None. Never quotes it."""
    if value != value.strip():
        return "has leading or trailing spaces"
    if not value:
        return "is empty" if spec.required else None
    if len(value) > spec.max_length:
        return f"is longer than {spec.max_length} characters"
    if CONTROL_CHARACTERS.search(value):
        return "contains a control character"
    if value.startswith(FORMULA_START):
        return "starts like a formula"
    return None


def _postcode_problem(value: str) -> str | None:
    return None if _POSTCODE.fullmatch(value) else "is not a Belgian postcode (4 digits)"


def _e164_problem(value: str) -> str | None:
    return None if _E164.fullmatch(value) else "is not a phone number in E.164 form"


def _email_problem(value: str) -> str | None:
    if CONTROL_CHARACTERS.search(value):
        return "contains a control character"
    if value.startswith(FORMULA_START):
        return "starts like a formula"
    return None if _EMAIL_SHAPE.fullmatch(value) else "is not an e-mail address"


def _client_id_problem(value: str) -> str | None:
    if CLIENT_ID_PATTERN.fullmatch(value):
        return None
    return "is not a client id (letters, digits, '.', '_', '/', '-')"


# --- the fields -------------------------------------------------------------------------

# What a field holds once canonical: text, or the labels of a multi-valued field.
FieldValue = str | tuple[str, ...]


@dataclass(frozen=True)
class FieldSpec:
    """One column, and everything the product needs to know about it, in one entry.

    ``normalise`` turns a master's trimmed text into the canonical value (intake; it
    raises ValueError with a reason of its own, never the value); ``check`` says why a
    canonical value is unacceptable (a package, the vault), or None: it replaces the
    free-text rules of :func:`text_problem` but for the length cap. A field without
    them is free text; a field with a vocabulary takes its labels. ``width`` is its
    column width in the workbook; ``example`` is what synthetic masters (``securexchange
    sample``) hold in it when the generator has no rule of its own for the field.
    """

    key: str
    header: str
    required: bool
    max_length: int
    width: float
    vocabulary: Vocabulary | None = None
    multi: bool = False
    normalise: Callable[[str], str] | None = None
    check: Callable[[str], str | None] | None = None
    example: str = ""

    def __post_init__(self) -> None:
        if self.multi and self.vocabulary is None:
            raise ValueError("a multi-valued field needs a vocabulary")
        if self.vocabulary is not None and (self.normalise or self.check):
            raise ValueError("a field with a closed list takes no normaliser or check")

    def problem(self, value: object) -> str | None:
        """Why ``value`` is not a canonical value of this field, or None. Never quotes it."""
        if self.multi:
            return _labels_problem(self, value)
        if self.vocabulary is not None:
            return None if value in self.vocabulary else "has a value outside its list"
        if not isinstance(value, str):
            return "is not text"
        if not value or self.check is None:
            return text_problem(value, self)
        # A checked field's own rule is the authority ("+32..." is a phone number, not
        # a formula); the length cap holds for every field.
        if len(value) > self.max_length:
            return f"is longer than {self.max_length} characters"
        return self.check(value)

    def read_cell(self, text: str) -> FieldValue:
        """The value of a package workbook's cell; raises FieldError.

        Closed lists are matched case-insensitively; everything else must already be
        canonical (:mod:`securexchange.intake` normalises raw master data).
        """
        if self.multi:
            return parse_labels(self, text)
        if self.vocabulary is not None:
            label = self.vocabulary.canonical(text)
            if label is None:
                raise FieldError(self.header, "has a value outside its list")
            return label
        return text

    def cell(self, value: FieldValue) -> str:
        """The cell text of a canonical value."""
        return MULTI_JOINER.join(value) if isinstance(value, tuple) else value


def _vocabulary(spec: FieldSpec) -> Vocabulary:
    if spec.vocabulary is None:
        raise ValueError(f"{spec.header} has no closed list")
    return spec.vocabulary


def parse_labels(spec: FieldSpec, text: str) -> tuple[str, ...]:
    """Split and canonicalise a multi-valued cell; raises FieldError.

    Values are separated by ';'; repeated values are merged; the result is in the
    list's order; the list's lone label ("geen") stands alone.
    """
    vocabulary = _vocabulary(spec)
    chosen: set[str] = set()
    for part in text.split(MULTI_SEPARATOR):
        if not part.strip():
            continue
        label = vocabulary.canonical(part)
        if label is None:
            raise FieldError(spec.header, "has a value outside the list of art. 3")
        chosen.add(label)
    if not chosen:
        if not spec.required:
            return ()
        hint = f" (use '{vocabulary.alone}' when nothing was said)" if vocabulary.alone else ""
        raise FieldError(spec.header, "is empty" + hint)
    if vocabulary.alone in chosen and len(chosen) > 1:
        raise FieldError(spec.header, f"combines '{vocabulary.alone}' with other values")
    return tuple(v for v in vocabulary.values if v in chosen)


def _labels_problem(spec: FieldSpec, values: object) -> str | None:
    """Labels from the list, strictly in its order, the lone label alone."""
    vocabulary = _vocabulary(spec)
    if not isinstance(values, tuple):
        return "is not a list of labels"
    if not values:
        return "is empty" if spec.required else None
    positions = [vocabulary.position(v) for v in values]
    if -1 in positions or positions != sorted(set(positions)):
        return "is not in canonical form"
    if vocabulary.alone in values and len(values) > 1:
        return "is not in canonical form"
    return None


NAAM = FieldSpec("naam", "Naam", True, 100, width=20)
VOORNAAM = FieldSpec("voornaam", "Voornaam", True, 100, width=18)
ADRES = FieldSpec("adres", "Adres", False, 200, width=32)
POSTCODE = FieldSpec(
    "postcode",
    "Postcode",
    False,
    4,
    width=10,
    normalise=normalise.postcode,
    check=_postcode_problem,
)
GEMEENTE = FieldSpec("gemeente", "Gemeente", False, 100, width=18)
TELEFOON = FieldSpec(
    "telefoon", "Telefoon", False, 16, width=16, normalise=normalise.phone, check=_e164_problem
)
EMAIL = FieldSpec(
    "email", "E-mail", False, 254, width=30, normalise=normalise.email, check=_email_problem
)
CONTACTTAAL = FieldSpec("contacttaal", "Contacttaal", True, 40, 14, CONTACT_LANGUAGES)
NIVEAU_NEDERLANDS = FieldSpec("niveau_nederlands", "Niveau Nederlands", True, 10, 12, DUTCH_LEVELS)
STATUS_MO = FieldSpec("status_mo", "Status MO", True, 20, 14, MO_STATUSES)
INTERESSES = FieldSpec("interesses", "Interesses en noden", True, 400, 40, INTERESTS, multi=True)

# The art. 3 fields, in the order of the municipal workbook (brief §5). A new field is
# one entry here: intake, the workbooks, packages, the vault and quality reports all
# take their fields from this tuple (tests/test_schema_fields.py adds one to prove it).
SHARED_FIELDS: tuple[FieldSpec, ...] = (
    NAAM,
    VOORNAAM,
    ADRES,
    POSTCODE,
    GEMEENTE,
    TELEFOON,
    EMAIL,
    CONTACTTAAL,
    NIVEAU_NEDERLANDS,
    STATUS_MO,
    INTERESSES,
)
SHARED_HEADERS: tuple[str, ...] = tuple(f.header for f in SHARED_FIELDS)

# Master-only: read by the exporter, never written into a package.
KLANT_ID = FieldSpec(  # the agency's internal client id
    "client_id", "Klant-ID", True, 64, width=14, check=_client_id_problem
)
NIS_CODE = FieldSpec(  # municipality of residence
    "nis", "NIS-code", True, 5, width=10, normalise=normalise.nis_code
)
DATUM_ATTEST = FieldSpec("certificate_date", "Datum inburgeringsattest", False, 10, width=14)
MASTER_ONLY_FIELDS: tuple[FieldSpec, ...] = (KLANT_ID, NIS_CODE, DATUM_ATTEST)

# The master's canonical column order (brief §4, `securexchange sample`): the client id,
# the shared fields with the NIS code after the municipality's name, the certificate date.
_BEFORE_NIS = SHARED_FIELDS.index(GEMEENTE) + 1
MASTER_FIELDS: tuple[FieldSpec, ...] = (
    KLANT_ID,
    *SHARED_FIELDS[:_BEFORE_NIS],
    NIS_CODE,
    *SHARED_FIELDS[_BEFORE_NIS:],
    DATUM_ATTEST,
)
MASTER_HEADERS: tuple[str, ...] = tuple(f.header for f in MASTER_FIELDS)
# Columns of the municipal workbook that are not art. 3 fields (brief §5). Named here so
# that the workbook writer, its reader and the return channel agree on them.
HEADER_RECORD_ID = "record-id"
HEADER_RETENTION = "Bewaren tot"
HEADER_ACTIVITY = "Status activiteit"
HEADER_QUALITY = "Melding gegevenskwaliteit"
HEADER_OUTCOME = "Afhandeling melding"
# A quality report names one of the shared fields (art. 7 "gegevens ... vermeld in
# artikel 3"), and one problem from QUALITY_PROBLEMS.
QUALITY_FIELDS: tuple[str, ...] = SHARED_HEADERS
# Art. 7: the agency answers a quality report "binnen 2 weken". The one rule both sides
# apply (the agency's list and the municipality's status): see :func:`quality_due`.
QUALITY_ANSWER_WITHIN = timedelta(days=14)


def quality_due(reported_at: datetime) -> date:
    """The last day the agency's answer to a quality report made at ``reported_at``
    (UTC) is in time: two weeks after the finding. The answer is overdue the day after."""
    return (reported_at + QUALITY_ANSWER_WITHIN).date()


def parse_interests(text: str) -> tuple[str, ...]:
    """Split and canonicalise an "Interesses en noden" cell; raises FieldError."""
    return parse_labels(INTERESSES, text)


def format_interests(values: Iterable[str]) -> str:
    """The cell text of a tuple of interests."""
    return MULTI_JOINER.join(values)


RECORD_KEYS: tuple[str, ...] = tuple(spec.key for spec in SHARED_FIELDS)
_SHARED_KEYS = frozenset(RECORD_KEYS)
_FIELD_INDEX: Mapping[str, int] = {key: i for i, key in enumerate(RECORD_KEYS)}


@dataclass(frozen=True, init=False)
class Record:
    """The art. 3 data of one person: exactly what a municipality receives.

    Built from one keyword value per shared field (``Record(naam="Haddad", ...)``) and
    checked by each field's rule: every value is canonical (trimmed text, a postcode of
    4 digits, a phone number in E.164 form, labels from the closed lists; optional
    fields are the empty string). Read a value with :meth:`text` or :meth:`labels`, or
    as an attribute named by the field's key.
    """

    values: tuple[FieldValue, ...]

    def __init__(self, **values: FieldValue) -> None:
        if values.keys() != _SHARED_KEYS:
            raise FieldError("record", "does not have exactly the art. 3 fields")
        ordered = tuple(values[key] for key in RECORD_KEYS)
        for spec, value in zip(SHARED_FIELDS, ordered, strict=True):
            problem = spec.problem(value)
            if problem is not None:
                raise FieldError(spec.header, problem)
        object.__setattr__(self, "values", ordered)

    @classmethod
    def trusted(cls, values: Sequence[FieldValue]) -> Record:
        """A record from values this program checked before (the vault's own rows, which
        the AEAD proves are ours): the per-field rules cost more than the decryption."""
        if len(values) != len(RECORD_KEYS):
            raise FieldError("record", "does not have exactly the art. 3 fields")
        record = object.__new__(cls)
        object.__setattr__(record, "values", tuple(values))
        return record

    def __getattr__(self, key: str) -> FieldValue:
        index = _FIELD_INDEX.get(key)
        if index is None:
            raise AttributeError(key)
        return self.values[index]

    def text(self, spec: FieldSpec) -> str:
        """The value of a single-valued field."""
        value = self.values[_FIELD_INDEX[spec.key]]
        if not isinstance(value, str):
            raise TypeError(f"{spec.header} holds labels, not text")
        return value

    def labels(self, spec: FieldSpec) -> tuple[str, ...]:
        """The labels of a multi-valued field."""
        value = self.values[_FIELD_INDEX[spec.key]]
        if not isinstance(value, tuple):
            raise TypeError(f"{spec.header} holds text, not labels")
        return value

    def replaced(self, **changes: FieldValue) -> Record:
        """This record with some values changed, checked again."""
        return Record(**{**dict(zip(RECORD_KEYS, self.values, strict=True)), **changes})

    def cells(self) -> tuple[str, ...]:
        """The values as cell text, in the order of :data:`SHARED_HEADERS`."""
        # FieldSpec.cell for every field, inline: a workbook of 5,000 rows asks 55,000 times.
        return tuple(MULTI_JOINER.join(v) if isinstance(v, tuple) else v for v in self.values)

    @classmethod
    def from_cells(cls, cells: Mapping[str, str]) -> Record:
        """A record from a package workbook's cell texts keyed by shared header; raises
        FieldError (see :meth:`FieldSpec.read_cell`)."""
        if set(cells) != set(SHARED_HEADERS):
            raise FieldError("record", "does not have exactly the art. 3 fields")
        return cls.from_cell_texts([cells[header] for header in SHARED_HEADERS])

    @classmethod
    def from_cell_texts(cls, texts: Sequence[str]) -> Record:
        """A record from its cell texts in :data:`SHARED_HEADERS` order; raises
        FieldError. The same record as ``Record(**{key: spec.read_cell(text)})``, with
        each cell checked once: reading a closed list's cell gives a canonical value,
        which its rule holds by construction; free text is held to its rule
        (``tests/test_schema_fast.py`` proves the two equal)."""
        if len(texts) != len(SHARED_FIELDS):
            raise FieldError("record", "does not have exactly the art. 3 fields")
        values: list[FieldValue] = []
        for spec, text in zip(SHARED_FIELDS, texts, strict=True):
            value = spec.read_cell(text)
            if spec.vocabulary is None:
                problem = spec.problem(value)
                if problem is not None:
                    raise FieldError(spec.header, problem)
            values.append(value)
        return cls.trusted(values)


@dataclass(frozen=True)
class MasterRow:
    """One row of the agency's master: the record plus what never leaves the agency."""

    client_id: str
    nis: str
    certificate_date: date | None
    record: Record

    def __post_init__(self) -> None:
        if not isinstance(self.client_id, str) or KLANT_ID.problem(self.client_id):
            raise FieldError(KLANT_ID.header, "is not a client id")
        if not is_nis_code(self.nis):
            raise FieldError(NIS_CODE.header, "is not a 5-digit NIS code")
        if not municipalities.is_known(self.nis):
            raise FieldError(NIS_CODE.header, "is not a Flemish or Brussels municipality")
        if self.certificate_date is not None and type(self.certificate_date) is not date:
            raise FieldError(DATUM_ATTEST.header, "is not a date")
        if not isinstance(self.record, Record):
            raise FieldError("record", "is not a record")

    @classmethod
    def trusted(
        cls, client_id: str, nis: str, certificate_date: date | None, record: Record
    ) -> MasterRow:
        """A master row from values intake's converters checked once already (every rule
        above is implied by them: ``tests/test_intake_fast.py`` proves it); 100,000 rows
        must not be checked twice."""
        row = object.__new__(cls)
        object.__setattr__(row, "client_id", client_id)
        object.__setattr__(row, "nis", nis)
        object.__setattr__(row, "certificate_date", certificate_date)
        object.__setattr__(row, "record", record)
        return row


# --- retention (brief §3, protocol art. 3 and 5) ----------------------------------------

# Art. 3: "tot 6 maanden na behalen van het Inburgeringsattest".
DEFAULT_RETENTION_MONTHS = 6


def add_months_first_of_month(day: date, months: int) -> date:
    """The first day of the month in which ``day`` + ``months`` months falls."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def retention_deadline(
    certificate_date: date | None, retention_months: int, protocol_end: date
) -> date:
    """The day a record must be gone by: one deadline in manifest, vault and workbook.

    With a certificate date: the first day of the month in which certificate date +
    ``retention_months`` falls. Rounding down to the month means the deadline never
    exceeds what art. 3 allows and reveals only the month, not the day, of the
    certificate. Without a certificate date: the protocol's end.

    Never later than the protocol's end either: once the protocol ends (art. 5, 12) there
    is no legal basis to keep anything, whatever the certificate date says.
    """
    if retention_months < 0:
        raise ValueError("retention months must not be negative")
    if certificate_date is None:
        return protocol_end
    # Only the month of the sum matters, so day overflow (31 August + 6 months) cannot
    # arise: the result is built as the first of a month.
    return min(add_months_first_of_month(certificate_date, retention_months), protocol_end)
