"""The official list of Flemish and Brussels municipalities (Statbel REFNIS, 2025).

Shipped as package data (``data/municipalities.csv``, see ``../shared/data/README.md``
for its provenance): 285 municipalities of the Flemish Region after the mergers of
1 January 2025 and the 19 of the Brussels-Capital Region. A NIS code outside this list
is refused wherever a municipality is named.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources

from securexchange.ids import is_nis_code


class Region(StrEnum):
    FLANDERS = "Vlaams Gewest"
    BRUSSELS = "Brussels Hoofdstedelijk Gewest"


PROVINCES = ("Antwerpen", "Limburg", "Oost-Vlaanderen", "Vlaams-Brabant", "West-Vlaanderen")
_COLUMNS = ["nis", "name_nl", "name_fr", "region", "province_nl", "valid_from"]


@dataclass(frozen=True)
class Municipality:
    nis: str
    name_nl: str
    name_fr: str
    region: Region
    province: str | None  # None in Brussels, which has no province
    valid_from: date

    def __post_init__(self) -> None:
        if not is_nis_code(self.nis):
            raise ValueError("a NIS code has 5 digits")
        if not self.name_nl or not self.name_fr:
            raise ValueError("a municipality has a name")
        if (self.region is Region.BRUSSELS) != (self.province is None):
            raise ValueError("only Brussels municipalities have no province")
        if self.province is not None and self.province not in PROVINCES:
            raise ValueError("unknown province")

    @property
    def short_name(self) -> str:
        """The Dutch name without Statbel's disambiguating suffix: 'Hove (Antwerpen)'."""
        return self.name_nl.split(" (", 1)[0]


@cache
def _table() -> dict[str, Municipality]:
    text = (resources.files("securexchange") / "data" / "municipalities.csv").read_text(
        encoding="utf-8"
    )
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames != _COLUMNS:
        raise RuntimeError("the shipped municipalities.csv has unexpected columns")
    table: dict[str, Municipality] = {}
    for row in reader:
        region = Region(row["region"])
        item = Municipality(
            nis=row["nis"],
            name_nl=row["name_nl"],
            name_fr=row["name_fr"],
            region=region,
            province=row["province_nl"] or None,
            valid_from=date.fromisoformat(row["valid_from"]),
        )
        if item.nis in table:
            raise RuntimeError("the shipped municipalities.csv repeats a NIS code")
        table[item.nis] = item
    return table


def all_municipalities() -> tuple[Municipality, ...]:
    """Every municipality, sorted by NIS code."""
    return tuple(sorted(_table().values(), key=lambda m: m.nis))


def is_known(nis: str) -> bool:
    """Whether ``nis`` is the code of a current Flemish or Brussels municipality."""
    return nis in _table()


def lookup(nis: str) -> Municipality:
    """The municipality with this NIS code; KeyError when there is none."""
    return _table()[nis]


def by_name(name: str) -> Municipality | None:
    """The municipality with this Dutch or French name (with or without suffix)."""
    wanted = " ".join(name.split()).casefold()
    for item in _table().values():
        if wanted in {
            item.name_nl.casefold(),
            item.short_name.casefold(),
            item.name_fr.casefold(),
        }:
            return item
    return None


def in_region(region: Region) -> tuple[Municipality, ...]:
    return tuple(m for m in all_municipalities() if m.region is region)


def in_province(province: str) -> tuple[Municipality, ...]:
    return tuple(m for m in all_municipalities() if m.province == province)
