"""The closed lists of Dutch labels that every enumerated value comes from.

Art. 3's interests, the Dutch levels, civic orientation and contact languages; the return
channel's activity statuses; art. 7's quality problems and the agency's outcomes. Values
are Dutch, because the people who read them are Flemish staff. A typed value matches a
label case-insensitively and ignoring surrounding and repeated whitespace; what is stored
and written is always the canonical label.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

# Separator of the multi-valued "Interesses en noden" cell. No label contains it.
MULTI_SEPARATOR = ";"


def fold(text: str) -> str:
    """The matching key of a typed label: case-folded, whitespace collapsed."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Vocabulary:
    """A closed list of Dutch labels."""

    name: str
    values: tuple[str, ...]
    # A label that may only stand alone in a multi-valued cell ("geen": nothing said).
    alone: str | None = None
    _index: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _labels: frozenset[str] = field(init=False, repr=False, compare=False)
    _positions: Mapping[str, int] = field(init=False, repr=False, compare=False)

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
        if self.alone is not None and self.alone not in self.values:
            raise ValueError(f"vocabulary {self.name} does not hold its lone label")
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_labels", frozenset(self.values))
        object.__setattr__(self, "_positions", {v: i for i, v in enumerate(self.values)})

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and value in self._labels

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def position(self, label: object) -> int:
        """Where ``label`` stands in the list; -1 when it is not one of its labels."""
        return self._positions.get(label, -1) if isinstance(label, str) else -1

    def canonical(self, text: str) -> str | None:
        """The canonical label a typed value stands for, or None when it is not one."""
        if text in self._labels:  # already canonical, as in every package workbook
            return text
        return self._index.get(fold(text))


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
    alone=NO_INTEREST,
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
