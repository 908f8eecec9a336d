"""The art. 3 fields and every closed vocabulary, as code and data.

This module is the single place that says what may leave the agency (promise P1,
protocol art. 3): the eleven shared fields, the three master-only fields that never
leave the agency, and the closed lists every enumerated value must come from. Anything
not named here is refused by intake, by the workbook reader and by the return channel.

Values are Dutch, because the people who read them are Flemish staff. Matching of typed
values is case-insensitive and ignores surrounding and repeated whitespace; what is
stored and written is always the canonical label from the list.

Validation failures raise :class:`FieldError` (a ``ValueError`` naming the field, never
the value); callers translate it into the error of their context (an invalid master, a
malformed package, an invalid workbook).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import date

from securexchange import municipalities
from securexchange.ids import is_nis_code

# Travels in every manifest; bump it when a field or a vocabulary changes, so that a
# client can refuse a package written against a schema it does not know.
SCHEMA_VERSION = "2026.1"

# Separator of the multi-valued "Interesses en noden" cell. No label contains it.
MULTI_SEPARATOR = ";"
# What is written between values: the separator and one space, as people type it.
MULTI_JOINER = "; "


class FieldError(ValueError):
    """A value does not satisfy its field's rule. Names the field, never the value."""

    def __init__(self, header: str, reason: str) -> None:
        super().__init__(f"{header}: {reason}")
        self.header = header
        self.reason = reason


def fold(text: str) -> str:
    """The matching key of a typed label: case-folded, whitespace collapsed."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Vocabulary:
    """A closed list of Dutch labels."""

    name: str
    values: tuple[str, ...]
    _index: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _labels: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError(f"vocabulary {self.name} is empty")
        index: dict[str, str] = {}
        for value in self.values:
            key = fold(value)
            if key in index or value != " ".join(value.split()):
                raise ValueError(f"vocabulary {self.name} has a duplicate or unclean label")
            if MULTI_SEPARATOR in value:
                raise ValueError(f"vocabulary {self.name} has a label with the separator")
            index[key] = value
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_labels", frozenset(self.values))

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and value in self._labels

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def canonical(self, text: str) -> str | None:
        """The canonical label a typed value stands for, or None when it is not one."""
        if text in self._labels:  # already canonical, as in every package workbook
            return text
        return self._index.get(fold(text))


# --- the closed lists -------------------------------------------------------------------

# Art. 3: "(1) buddy, (2) Nederlands oefenen, ... (11) nood aan gratis activiteit. Ook kan
# 'geen' aangeduid worden wanneer er geen info werd gegeven hierover." In protocol order.
NO_INTEREST = "geen"
INTERESTS = Vocabulary(
    "interesses en noden",
    (
        "buddy",
        "Nederlands oefenen",
        "iets leren/cursus",
        "informeel participeren",
        "cultuur/kunst/creativiteit",
        "sport en beweging",
        "stage/voorbereiden op werk",
        "vrijwilligerswerk",
        "nood aan kinderopvang",
        "nood aan gezinsactiviteit",
        "nood aan gratis activiteit",
        NO_INTEREST,
    ),
)

# Common European Framework levels as used by the Huizen van het Nederlands; "geen" for
# someone who has not started Dutch (or whose level is not known yet).
DUTCH_LEVELS = Vocabulary("niveau Nederlands", ("geen", "A1", "A2", "B1", "B2", "C1", "C2"))

# The civic-orientation course (maatschappelijke oriëntatie) ends with a test since 2022.
MO_STATUSES = Vocabulary(
    "status MO",
    ("niet gestart", "lopend", "geslaagd", "niet geslaagd", "vrijgesteld"),
)

# Languages in which newcomers in Flanders are most often contacted (the agency's social
# interpreting and its course languages), with Dutch labels. "andere" keeps a person with
# a rarer language exportable without adding a free-text field.
CONTACT_LANGUAGES = Vocabulary(
    "contacttaal",
    (
        "Nederlands",
        "Frans",
        "Engels",
        "Duits",
        "Spaans",
        "Portugees",
        "Italiaans",
        "Pools",
        "Roemeens",
        "Bulgaars",
        "Oekraïens",
        "Russisch",
        "Turks",
        "Arabisch",
        "Berbers",
        "Koerdisch",
        "Perzisch",
        "Dari",
        "Pasjtoe",
        "Tigrinya",
        "Somalisch",
        "Albanees",
        "Armeens",
        "Georgisch",
        "andere",
    ),
)

# The return channel's vocabulary (promise P6): the only thing a municipality sends back
# besides data-quality reports. The first value is what a fresh record starts with.
ACTIVITY_STATUSES = Vocabulary(
    "status activiteit",
    (
        "nog niet gecontacteerd",
        "gecontacteerd",
        "toegeleid",
        "gestart",
        "afgerond",
        "gestopt",
        "niet bereikbaar",
        "geen interesse",
    ),
)
INITIAL_ACTIVITY_STATUS = ACTIVITY_STATUSES.values[0]

# Art. 7: the six kinds of quality problem a municipality reports.
QUALITY_PROBLEMS = Vocabulary(
    "melding gegevenskwaliteit",
    ("foutief", "onnauwkeurig", "onvolledig", "ontbrekend", "verouderd", "overtollig"),
)

# The agency's answer to a quality report (art. 7: "de gepaste maatregelen").
QUALITY_OUTCOMES = Vocabulary(
    "afhandeling melding",
    ("gecorrigeerd", "correct-bevonden", "ingetrokken"),
)


# --- the fields -------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One column: its attribute name, canonical Dutch header and rule."""

    key: str
    header: str
    required: bool
    max_length: int
    vocabulary: Vocabulary | None = None
    multi: bool = False

    def __post_init__(self) -> None:
        if self.multi and self.vocabulary is None:
            raise ValueError("a multi-valued field needs a vocabulary")


NAAM = FieldSpec("naam", "Naam", True, 100)
VOORNAAM = FieldSpec("voornaam", "Voornaam", True, 100)
ADRES = FieldSpec("adres", "Adres", False, 200)
POSTCODE = FieldSpec("postcode", "Postcode", False, 4)
GEMEENTE = FieldSpec("gemeente", "Gemeente", False, 100)
TELEFOON = FieldSpec("telefoon", "Telefoon", False, 16)
EMAIL = FieldSpec("email", "E-mail", False, 254)
CONTACTTAAL = FieldSpec("contacttaal", "Contacttaal", True, 40, CONTACT_LANGUAGES)
NIVEAU_NEDERLANDS = FieldSpec("niveau_nederlands", "Niveau Nederlands", True, 10, DUTCH_LEVELS)
STATUS_MO = FieldSpec("status_mo", "Status MO", True, 20, MO_STATUSES)
INTERESSES = FieldSpec("interesses", "Interesses en noden", True, 400, INTERESTS, multi=True)

# The art. 3 fields, in the order of the municipal workbook (brief §5).
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
KLANT_ID = FieldSpec("client_id", "Klant-ID", True, 64)  # the agency's internal client id
NIS_CODE = FieldSpec("nis", "NIS-code", True, 5)  # municipality of residence
DATUM_ATTEST = FieldSpec("certificate_date", "Datum inburgeringsattest", False, 10)
MASTER_ONLY_FIELDS: tuple[FieldSpec, ...] = (KLANT_ID, NIS_CODE, DATUM_ATTEST)

# The master's canonical column order (brief §4, `securexchange sample`).
MASTER_FIELDS: tuple[FieldSpec, ...] = (
    KLANT_ID,
    NAAM,
    VOORNAAM,
    ADRES,
    POSTCODE,
    GEMEENTE,
    NIS_CODE,
    TELEFOON,
    EMAIL,
    CONTACTTAAL,
    NIVEAU_NEDERLANDS,
    STATUS_MO,
    INTERESSES,
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


def parse_interests(text: str) -> tuple[str, ...]:
    """Split and canonicalise an "Interesses en noden" cell; raises FieldError.

    Values are separated by ';'; repeated values are merged; the result is in protocol
    order; "geen" stands alone.
    """
    chosen: set[str] = set()
    for part in text.split(MULTI_SEPARATOR):
        if not part.strip():
            continue
        label = INTERESTS.canonical(part)
        if label is None:
            raise FieldError(INTERESSES.header, "has a value outside the list of art. 3")
        chosen.add(label)
    if not chosen:
        raise FieldError(INTERESSES.header, "is empty (use 'geen' when nothing was said)")
    if NO_INTEREST in chosen and len(chosen) > 1:
        raise FieldError(INTERESSES.header, "combines 'geen' with other values")
    return tuple(v for v in INTERESTS.values if v in chosen)


_INTEREST_ORDER = {label: i for i, label in enumerate(INTERESTS.values)}


def _canonical_interests(values: tuple[str, ...]) -> bool:
    """Labels from the list, strictly in protocol order, "geen" alone."""
    positions = [_INTEREST_ORDER.get(v, -1) if isinstance(v, str) else -1 for v in values]
    if -1 in positions or positions != sorted(set(positions)):
        return False
    return NO_INTEREST not in values or len(values) == 1


def format_interests(values: Iterable[str]) -> str:
    """The cell text of a tuple of interests."""
    return MULTI_JOINER.join(values)


def _check_text(value: object, spec: FieldSpec) -> None:
    if not isinstance(value, str):
        raise FieldError(spec.header, "is not text")
    problem = text_problem(value, spec)
    if problem is not None:
        raise FieldError(spec.header, problem)


def _check_enum(value: object, spec: FieldSpec) -> None:
    assert spec.vocabulary is not None
    if value not in spec.vocabulary:
        raise FieldError(spec.header, "has a value outside its list")


@dataclass(frozen=True)
class Record:
    """The art. 3 data of one person: exactly what a municipality receives.

    Every value is canonical: trimmed text, a postcode of 4 digits, a phone number in
    E.164 form, labels from the closed lists. Optional fields are the empty string.
    """

    naam: str
    voornaam: str
    adres: str
    postcode: str
    gemeente: str
    telefoon: str
    email: str
    contacttaal: str
    niveau_nederlands: str
    status_mo: str
    interesses: tuple[str, ...]

    def __post_init__(self) -> None:
        for spec in (NAAM, VOORNAAM, ADRES, GEMEENTE):
            _check_text(getattr(self, spec.key), spec)
        if self.postcode and not _POSTCODE.fullmatch(self.postcode):
            raise FieldError(POSTCODE.header, "is not a Belgian postcode (4 digits)")
        if self.telefoon and not _E164.fullmatch(self.telefoon):
            raise FieldError(TELEFOON.header, "is not a phone number in E.164 form")
        if self.email:
            _check_text(self.email, EMAIL)
            if not _EMAIL_SHAPE.fullmatch(self.email):
                raise FieldError(EMAIL.header, "is not an e-mail address")
        for spec in (CONTACTTAAL, NIVEAU_NEDERLANDS, STATUS_MO):
            _check_enum(getattr(self, spec.key), spec)
        if not isinstance(self.interesses, tuple) or not self.interesses:
            raise FieldError(INTERESSES.header, "is empty")
        if not _canonical_interests(self.interesses):
            raise FieldError(INTERESSES.header, "is not in canonical form")

    def cells(self) -> tuple[str, ...]:
        """The values as cell text, in the order of :data:`SHARED_HEADERS`."""
        return tuple(
            format_interests(self.interesses) if spec.multi else getattr(self, spec.key)
            for spec in SHARED_FIELDS
        )

    @classmethod
    def from_cells(cls, cells: Mapping[str, str]) -> Record:
        """A record from canonical cell texts keyed by shared header; raises FieldError.

        Enumerated values are matched case-insensitively; everything else must already
        be canonical (use :mod:`securexchange.intake.master` for raw master data).
        """
        if set(cells) != set(SHARED_HEADERS):
            raise FieldError("record", "does not have exactly the art. 3 fields")
        values: dict[str, object] = {}
        for spec in SHARED_FIELDS:
            text = cells[spec.header]
            if spec.multi:
                values[spec.key] = parse_interests(text)
            elif spec.vocabulary is not None:
                label = spec.vocabulary.canonical(text)
                if label is None:
                    raise FieldError(spec.header, "has a value outside its list")
                values[spec.key] = label
            else:
                values[spec.key] = text
        return cls(**values)  # type: ignore[arg-type]


RECORD_KEYS: tuple[str, ...] = tuple(f.name for f in fields(Record))
if tuple(s.key for s in SHARED_FIELDS) != RECORD_KEYS:  # the two lists must never drift
    raise RuntimeError("Record and SHARED_FIELDS disagree")


@dataclass(frozen=True)
class MasterRow:
    """One row of the agency's master: the record plus what never leaves the agency."""

    client_id: str
    nis: str
    certificate_date: date | None
    record: Record

    def __post_init__(self) -> None:
        if not isinstance(self.client_id, str) or len(self.client_id) > KLANT_ID.max_length:
            raise FieldError(KLANT_ID.header, "is not a client id")
        if not CLIENT_ID_PATTERN.fullmatch(self.client_id):
            raise FieldError(KLANT_ID.header, "is not a client id")
        if not is_nis_code(self.nis):
            raise FieldError(NIS_CODE.header, "is not a 5-digit NIS code")
        if not municipalities.is_known(self.nis):
            raise FieldError(NIS_CODE.header, "is not a Flemish or Brussels municipality")
        if self.certificate_date is not None and type(self.certificate_date) is not date:
            raise FieldError(DATUM_ATTEST.header, "is not a date")
        if not isinstance(self.record, Record):
            raise FieldError("record", "is not a record")


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
