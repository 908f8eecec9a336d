"""Synthetic master data for demos, tests and benchmarks (``securexchange sample``).

Everything is invented but looks like the real thing: municipalities from the official
list, names from the countries newcomers in Flanders actually come from, contact
languages that go with them, Belgian street addresses (Faker ``nl_BE``), mobile numbers
(+32 4xx) typed the way people type them, and most records without a certificate date.
The same seed gives the same data.

Postcodes: bpost's list is not shipped. The main postcode of the larger municipalities
is in :data:`MAIN_POSTCODES`; elsewhere a postcode is drawn from the province's range
(so it is a valid Belgian postcode of the right province, not necessarily that of the
municipality).

``hostile=True`` adds what an attacker or a careless export would put in a master:
formula payloads, control characters, an unknown column (a national register number),
values outside every enumeration, an unknown NIS code, a bad phone number and e-mail.
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from securexchange import municipalities, schema, vocabularies
from securexchange.errors import UsageError

Cell = str | date
Rows = list[tuple[Cell, ...]]

# --- names by origin --------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    country: str
    weight: int
    languages: tuple[str, ...]  # contact languages, from vocabularies.CONTACT_LANGUAGES
    first_names: tuple[str, ...]
    surnames: tuple[str, ...]


# Weights roughly follow the nationalities of people starting an integration trajectory
# in Flanders in recent years (Ukraine, Syria, Afghanistan, Morocco, Eritrea, ...).
ORIGINS: tuple[Origin, ...] = (
    Origin(
        "Oekraïne",
        16,
        ("Oekraïens", "Russisch", "Engels"),
        ("Olena", "Oksana", "Iryna", "Kateryna", "Yuliia", "Andrii", "Oleksandr", "Dmytro",
         "Serhii", "Mykola", "Nataliia", "Viktoriia", "Bohdan", "Taras"),
        ("Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko", "Melnyk",
         "Boiko", "Kovalchuk", "Oliinyk", "Lysenko", "Moroz", "Savchenko"),
    ),
    Origin(
        "Syrië",
        13,
        ("Arabisch", "Koerdisch", "Engels"),
        ("Mohammad", "Ahmad", "Omar", "Khaled", "Yousef", "Rami", "Fatima", "Rasha",
         "Lama", "Hiba", "Nour", "Ghazal", "Bashar", "Walid"),
        ("Al Hassan", "Haddad", "Khalil", "Al Ahmad", "Darwish", "Hamdan", "Sabbagh",
         "Al Khatib", "Najjar", "Aziz", "Mansour", "Kurdi"),
    ),
    Origin(
        "Afghanistan",
        11,
        ("Dari", "Pasjtoe", "Perzisch"),
        ("Ahmad", "Mohammad", "Ali", "Hamid", "Farid", "Zahra", "Maryam", "Fereshta",
         "Mursal", "Habibullah", "Sediqa", "Wahid", "Shabnam", "Nasir"),
        ("Ahmadi", "Hakimi", "Rahimi", "Sultani", "Popal", "Stanekzai", "Noori",
         "Karimi", "Sadat", "Amiri", "Wardak", "Haidari"),
    ),
    Origin(
        "Marokko",
        10,
        ("Arabisch", "Berbers", "Frans"),
        ("Mohamed", "Youssef", "Karim", "Hamza", "Ilyas", "Fatima", "Khadija", "Salma",
         "Imane", "Nadia", "Soufiane", "Yasmina", "Bilal", "Hanane"),
        ("El Amrani", "Benali", "Bouzid", "El Idrissi", "Ouali", "Azzouzi", "Tahiri",
         "Boukhari", "El Khattabi", "Ait Said", "Amrani", "Chaouki"),
    ),
    Origin(
        "Eritrea",
        7,
        ("Tigrinya", "Arabisch", "Engels"),
        ("Yonas", "Dawit", "Mehari", "Filmon", "Senait", "Helen", "Saba", "Tesfay",
         "Aron", "Selam", "Mussie", "Luwam"),
        ("Tesfamariam", "Ghebremedhin", "Haile", "Kidane", "Berhane", "Woldemichael",
         "Tekle", "Gebremariam", "Habte", "Asmerom"),
    ),
    Origin(
        "Turkije",
        7,
        ("Turks", "Koerdisch"),
        ("Mehmet", "Mustafa", "Emre", "Burak", "Elif", "Zeynep", "Ayşe", "Fatma",
         "Hüseyin", "Özlem", "Murat", "Büşra"),
        ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Aydın", "Öztürk",
         "Arslan", "Doğan", "Kılıç", "Aslan"),
    ),
    Origin(
        "Roemenië",
        6,
        ("Roemeens", "Engels"),
        ("Andrei", "Ionuț", "Alexandru", "Mihai", "Ioana", "Elena", "Maria", "Cristina",
         "Florin", "Gabriela", "Ștefan", "Adriana"),
        ("Popescu", "Ionescu", "Popa", "Stan", "Dumitru", "Constantin", "Moldovan",
         "Munteanu", "Gheorghe", "Rusu", "Lungu", "Ciobanu"),
    ),
    Origin(
        "DR Congo",
        6,
        ("Frans", "Engels"),
        ("Jean-Pierre", "Patrick", "Christian", "Grâce", "Merveille", "Espoir", "Divine",
         "Cédric", "Aline", "Benedicte", "Junior", "Nathalie"),
        ("Mbuyi", "Kabongo", "Tshibangu", "Ilunga", "Kalala", "Mukendi", "Lukusa",
         "Nkulu", "Kasongo", "Mwamba", "Ngoy", "Banza"),
    ),
    Origin(
        "Palestina",
        5,
        ("Arabisch", "Engels"),
        ("Ahmed", "Mahmoud", "Tariq", "Samir", "Layla", "Dina", "Reem", "Yara", "Hani",
         "Mais"),
        ("Abu Salem", "Odeh", "Barghouti", "Saleh", "Qasem", "Shaheen", "Jaber",
         "Hamdan", "Awad", "Nasser"),
    ),
    Origin(
        "Guinee",
        4,
        ("Frans", "Engels"),
        ("Mamadou", "Alpha", "Ibrahima", "Ousmane", "Mariama", "Aissatou", "Fatoumata",
         "Kadiatou", "Thierno", "Saliou"),
        ("Diallo", "Barry", "Bah", "Sow", "Camara", "Condé", "Baldé", "Touré", "Keita",
         "Soumah"),
    ),
    Origin(
        "Somalië",
        3,
        ("Somalisch", "Arabisch", "Engels"),
        ("Abdi", "Abdirahman", "Hodan", "Ayan", "Fadumo", "Hassan", "Mohamed", "Sahra",
         "Ismail", "Hawa"),
        ("Mohamud", "Farah", "Warsame", "Abdullahi", "Hussein", "Jama", "Omar",
         "Osman", "Yusuf", "Aden"),
    ),
    Origin(
        "Irak",
        4,
        ("Arabisch", "Koerdisch"),
        ("Ali", "Hussein", "Mustafa", "Haider", "Zainab", "Noor", "Rusul", "Ammar",
         "Sara", "Karar"),
        ("Al Jubouri", "Al Obaidi", "Al Saadi", "Hashim", "Kareem", "Jabbar", "Mahdi",
         "Abbas", "Salih", "Barzani"),
    ),
    Origin(
        "India",
        4,
        ("Engels",),
        ("Arjun", "Rahul", "Priya", "Ananya", "Vikram", "Deepa", "Sanjay", "Kavya",
         "Rohan", "Lakshmi"),
        ("Sharma", "Patel", "Reddy", "Nair", "Singh", "Iyer", "Gupta", "Kumar",
         "Menon", "Rao"),
    ),
    Origin(
        "Brazilië",
        3,
        ("Portugees", "Spaans"),
        ("João", "Lucas", "Gabriel", "Ana", "Juliana", "Fernanda", "Rafael", "Beatriz",
         "Thiago", "Camila"),
        ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Rodrigues",
         "Almeida", "Carvalho", "Lima"),
    ),
    Origin(
        "Polen",
        1,
        ("Pools", "Engels"),
        ("Piotr", "Krzysztof", "Anna", "Katarzyna", "Tomasz", "Agnieszka", "Michał",
         "Magdalena"),
        ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowska",
         "Zieliński", "Szymańska"),
    ),
)  # fmt: skip

# Main postcodes of larger municipalities (Dutch REFNIS names, suffix stripped).
MAIN_POSTCODES: dict[str, str] = {
    "Antwerpen": "2000", "Gent": "9000", "Brugge": "8000", "Leuven": "3000",
    "Mechelen": "2800", "Hasselt": "3500", "Genk": "3600", "Aalst": "9300",
    "Kortrijk": "8500", "Oostende": "8400", "Sint-Niklaas": "9100", "Turnhout": "2300",
    "Roeselare": "8800", "Vilvoorde": "1800", "Dendermonde": "9200", "Lokeren": "9160",
    "Beringen": "3580", "Tienen": "3300", "Halle": "1500", "Lier": "2500", "Geel": "2440",
    "Mol": "2400", "Herentals": "2200", "Ninove": "9400", "Waregem": "8790",
    "Ieper": "8900", "Sint-Truiden": "3800", "Brussel": "1000", "Elsene": "1050",
    "Anderlecht": "1070", "Schaarbeek": "1030", "Sint-Jans-Molenbeek": "1080",
    "Etterbeek": "1040", "Jette": "1090", "Sint-Gillis": "1060", "Evere": "1140",
    "Sint-Joost-ten-Node": "1210", "Ukkel": "1180", "Vorst": "1190", "Koekelberg": "1081",
    "Ganshoren": "1083", "Oudergem": "1160", "Watermaal-Bosvoorde": "1170",
    "Sint-Agatha-Berchem": "1082", "Sint-Lambrechts-Woluwe": "1200",
    "Sint-Pieters-Woluwe": "1150",
}  # fmt: skip

# Postcode ranges per province (bpost's allocation); Vlaams-Brabant has two.
_PROVINCE_RANGES: dict[str | None, tuple[tuple[int, int], ...]] = {
    None: ((1000, 1210),),  # Brussels
    "Vlaams-Brabant": ((1500, 1999), (3000, 3499)),
    "Antwerpen": ((2000, 2990),),
    "Limburg": ((3500, 3990),),
    "West-Vlaanderen": ((8000, 8980),),
    "Oost-Vlaanderen": ((9000, 9990),),
}

_EMAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com", "telenet.be",
                  "skynet.be", "proximus.be", "live.be")  # fmt: skip
_PHONE_STYLES = ("0{a}{b} {c} {d} {e}", "0{a}{b}/{c}.{d}.{e}", "+32 {a}{b} {c} {d} {e}",
                 "0{a}{b}{c}{d}{e}", "+32{a}{b}{c}{d}{e}")  # fmt: skip
_DUTCH_LEVEL_WEIGHTS = (18, 30, 24, 15, 8, 4, 1)
_MO_WEIGHTS = (20, 35, 35, 5, 5)
CERTIFICATE_SHARE = 0.25  # most people in the 4th pillar have no certificate yet
DEFAULT_MUNICIPALITIES = 3

# Hostile cells: (header, payload). Each goes into its own row, so that every problem
# kind shows up separately in the problem table.
HOSTILE_COLUMN = "Rijksregisternummer"
HOSTILE_PAYLOADS: tuple[tuple[str, str], ...] = (
    (schema.NAAM.header, '=HYPERLINK("http://x","y")'),
    (schema.VOORNAAM.header, "+cmd|' /C calc'!A0"),
    (schema.ADRES.header, "@SUM(1+1)*cmd|' /C calc'!A0"),
    (schema.NAAM.header, "-2+3+cmd|' /C calc'!A0"),
    (schema.GEMEENTE.header, "\t=1+1"),
    (schema.ADRES.header, "Kerkstraat 1\r\n=cmd"),
    (schema.CONTACTTAAL.header, "Klingon"),
    (schema.NIVEAU_NEDERLANDS.header, "B3"),
    (schema.STATUS_MO.header, "bijna klaar"),
    (schema.INTERESSES.header, "buddy; paardrijden"),
    (schema.NIS_CODE.header, "99999"),
    (schema.TELEFOON.header, "12345"),
    (schema.EMAIL.header, "iemand@@voorbeeld"),
    (schema.POSTCODE.header, "0999"),
)


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in " -"))
    return kept.lower().replace(" ", "").replace("-", "")


def _pick_municipalities(
    rng: random.Random, nis: Sequence[str] | None, count: int | None
) -> list[municipalities.Municipality]:
    if nis is not None and count is not None:
        raise UsageError("give either NIS codes or a number of municipalities, not both")
    if nis is not None:
        if not nis:
            raise UsageError("no NIS code given")
        chosen = []
        for code in nis:
            if not municipalities.is_known(code):
                raise UsageError(
                    "a NIS code is not a Flemish or Brussels municipality",
                    hint="the list is in docs/formats.md (The master spreadsheet)",
                )
            chosen.append(municipalities.lookup(code))
        return chosen
    everything = municipalities.all_municipalities()
    count = DEFAULT_MUNICIPALITIES if count is None else count
    if not 1 <= count <= len(everything):
        raise UsageError(f"the number of municipalities must be 1 to {len(everything)}")
    # Prefer municipalities with a known main postcode: they are the larger ones, where
    # most newcomers live.
    known = [m for m in everything if m.short_name in MAIN_POSTCODES]
    rest = [m for m in everything if m.short_name not in MAIN_POSTCODES]
    rng.shuffle(known)
    rng.shuffle(rest)
    return sorted((known + rest)[:count], key=lambda m: m.nis)


def _postcode(rng: random.Random, place: municipalities.Municipality) -> str:
    known = MAIN_POSTCODES.get(place.short_name)
    if known is not None:
        return known
    low, high = rng.choice(_PROVINCE_RANGES[place.province])
    return str(rng.randrange(low, high + 1, 10))


def _phone(rng: random.Random) -> str:
    a = rng.choice("5789")  # 045x-049x: Belgian mobile ranges
    number = f"{rng.randrange(10**7):07d}"
    return rng.choice(_PHONE_STYLES).format(
        a=4, b=a + number[0], c=number[1:3], d=number[3:5], e=number[5:7]
    )


def _interests(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return vocabularies.NO_INTEREST
    labels = [v for v in vocabularies.INTERESTS.values if v != vocabularies.NO_INTEREST]
    chosen = rng.sample(labels, rng.choice((1, 1, 2, 2, 3)))
    return schema.format_interests(v for v in labels if v in chosen)


def _example(rng: random.Random, spec: schema.FieldSpec) -> str:
    """A value for a field this generator has no rule of its own for: a label from its
    list, else the example its spec gives."""
    if spec.vocabulary is not None:
        return spec.vocabulary.alone or rng.choice(spec.vocabulary.values)
    return spec.example


def generate_master(
    records: int,
    *,
    nis: Sequence[str] | None = None,
    municipalities: int | None = None,
    seed: int = 0,
    hostile: bool = False,
) -> Rows:
    """Rows of a synthetic master: the header row first, then ``records`` data rows."""
    if not 0 <= records <= 1_000_000:
        raise UsageError("the number of records must be 0 to 1,000,000")
    rng = random.Random(seed)
    places = _pick_municipalities(rng, nis, municipalities)

    from faker import Faker

    fake = Faker("nl_BE")
    fake.seed_instance(seed)
    origins = list(ORIGINS)
    weights = [o.weight for o in origins]
    client_numbers = rng.sample(range(10_000_000, 100_000_000), records)
    start = date(2024, 1, 1)

    header: tuple[Cell, ...] = schema.MASTER_HEADERS
    if hostile:
        header = (*header, HOSTILE_COLUMN)
    rows: Rows = [header]
    for i in range(records):
        origin = rng.choices(origins, weights)[0]
        first = rng.choice(origin.first_names)
        last = rng.choice(origin.surnames)
        place = places[i % len(places)] if i < len(places) else rng.choice(places)
        phone = _phone(rng) if rng.random() < 0.9 else ""
        email = ""
        if rng.random() < 0.7:
            local = f"{_ascii(first)}.{_ascii(last)}{rng.randrange(100)}"
            email = f"{local}@{rng.choice(_EMAIL_DOMAINS)}"
        certificate: Cell = ""
        if rng.random() < CERTIFICATE_SHARE:
            certificate = start + timedelta(days=rng.randrange(1000))
        generated: dict[str, Cell] = {
            schema.KLANT_ID.header: f"K{client_numbers[i]}",
            schema.NAAM.header: last,
            schema.VOORNAAM.header: first,
            schema.ADRES.header: f"{fake.street_name()} {rng.randrange(1, 250)}",
            schema.POSTCODE.header: _postcode(rng, place),
            schema.GEMEENTE.header: place.short_name,
            schema.NIS_CODE.header: place.nis,
            schema.TELEFOON.header: phone,
            schema.EMAIL.header: email,
            schema.CONTACTTAAL.header: (
                rng.choice(origin.languages) if rng.random() < 0.85 else "Nederlands"
            ),
            schema.NIVEAU_NEDERLANDS.header: rng.choices(
                vocabularies.DUTCH_LEVELS.values, _DUTCH_LEVEL_WEIGHTS
            )[0],
            schema.STATUS_MO.header: rng.choices(vocabularies.MO_STATUSES.values, _MO_WEIGHTS)[0],
            schema.INTERESSES.header: _interests(rng),
            schema.DATUM_ATTEST.header: certificate,
        }
        row: list[Cell] = [
            generated[spec.header] if spec.header in generated else _example(rng, spec)
            for spec in schema.MASTER_FIELDS
        ]
        if hostile:
            # A national register number: exactly what must never leave the agency.
            row.append(f"{rng.randrange(100):02d}.{rng.randrange(1, 13):02d}.01-001.{i % 97:02d}")
            if i < len(HOSTILE_PAYLOADS):
                target, payload = HOSTILE_PAYLOADS[i]
                row[schema.MASTER_HEADERS.index(target)] = payload
        rows.append(tuple(row))
    return rows


# --- writers ----------------------------------------------------------------------------


def csv_bytes(rows: Rows, *, excel_be: bool = False) -> bytes:
    """CSV of ``rows``: UTF-8 with ',' by default; with ``excel_be`` as Belgian Excel
    writes it: Windows-1252, ';', dates d/mm/yyyy, and '?' for characters that
    Windows-1252 lacks (as Excel does, e.g. Turkish 'ı' or Romanian 'ș')."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=";" if excel_be else ",", lineterminator="\r\n")
    for row in rows:
        writer.writerow(
            [
                (f"{v.day:02d}/{v.month:02d}/{v.year}" if excel_be else v.isoformat())
                if isinstance(v, date)
                else v
                for v in row
            ]
        )
    if excel_be:
        return text.getvalue().encode("cp1252", errors="replace")
    return text.getvalue().encode("utf-8")


def write_master(rows: Rows, out: Path, *, excel_be: bool = False) -> None:
    """Write ``rows`` to ``out`` (.xlsx or .csv) atomically."""
    from securexchange.home.atomicio import atomic_write, output_dir
    from securexchange.sheets.master_write import xlsx_bytes

    suffix = out.suffix.lower()
    if suffix == ".xlsx":
        data = xlsx_bytes(rows)
    elif suffix == ".csv":
        data = csv_bytes(rows, excel_be=excel_be)
    else:
        raise UsageError("the output must end in .xlsx or .csv")
    output_dir(out.parent, private=False)  # synthetic data, no person
    atomic_write(out, data, mode=0o644)
