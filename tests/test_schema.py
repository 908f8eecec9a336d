"""The art. 3 fields, the closed vocabularies, the records and the retention rule."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from securexchange import municipalities, schema, vocabularies
from securexchange.schema import FieldError, MasterRow, Record, retention_deadline


def make_record(**changes: object) -> Record:
    values: dict[str, object] = {
        "naam": "Haddad",
        "voornaam": "Omar",
        "adres": "Kerkstraat 1",
        "postcode": "2000",
        "gemeente": "Antwerpen",
        "telefoon": "+32470123456",
        "email": "omar.haddad@gmail.com",
        "contacttaal": "Arabisch",
        "niveau_nederlands": "A2",
        "status_mo": "lopend",
        "interesses": ("buddy", "sport en beweging"),
    }
    values.update(changes)
    return Record(**values)  # type: ignore[arg-type]


# --- fields and vocabularies ------------------------------------------------------------


def test_shared_fields_are_exactly_the_art3_fields_in_workbook_order() -> None:
    assert schema.SHARED_HEADERS == (
        "Naam",
        "Voornaam",
        "Adres",
        "Postcode",
        "Gemeente",
        "Telefoon",
        "E-mail",
        "Contacttaal",
        "Niveau Nederlands",
        "Status MO",
        "Interesses en noden",
    )
    record = make_record()
    assert [getattr(record, s.key) for s in schema.SHARED_FIELDS] == list(record.values)


def test_master_headers_are_the_canonical_headers_of_the_brief() -> None:
    assert schema.MASTER_HEADERS == (
        "Klant-ID",
        "Naam",
        "Voornaam",
        "Adres",
        "Postcode",
        "Gemeente",
        "NIS-code",
        "Telefoon",
        "E-mail",
        "Contacttaal",
        "Niveau Nederlands",
        "Status MO",
        "Interesses en noden",
        "Datum inburgeringsattest",
    )
    master_only = {f.header for f in schema.MASTER_ONLY_FIELDS}
    assert master_only.isdisjoint(schema.SHARED_HEADERS)


def test_interests_are_the_eleven_of_art3_in_order_plus_geen() -> None:
    assert vocabularies.INTERESTS.values == (
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
        "geen",
    )


def test_quality_problems_are_the_six_of_art7_and_outcomes_the_three_of_the_cli() -> None:
    assert vocabularies.QUALITY_PROBLEMS.values == (
        "foutief",
        "onnauwkeurig",
        "onvolledig",
        "ontbrekend",
        "verouderd",
        "overtollig",
    )
    assert vocabularies.QUALITY_OUTCOMES.values == (
        "gecorrigeerd",
        "correct-bevonden",
        "ingetrokken",
    )
    assert vocabularies.INITIAL_ACTIVITY_STATUS == "nog niet gecontacteerd"
    assert len(vocabularies.ACTIVITY_STATUSES.values) == 8


def test_vocabulary_matches_case_and_spacing_but_nothing_else() -> None:
    assert vocabularies.DUTCH_LEVELS.canonical(" a2 ") == "A2"
    assert vocabularies.MO_STATUSES.canonical("Niet   Gestart") == "niet gestart"
    assert vocabularies.DUTCH_LEVELS.canonical("A3") is None
    assert vocabularies.CONTACT_LANGUAGES.canonical("Klingon") is None
    assert "A2" in vocabularies.DUTCH_LEVELS
    assert "a2" not in vocabularies.DUTCH_LEVELS  # membership is for canonical labels only


def test_a_vocabulary_with_duplicate_labels_is_refused() -> None:
    with pytest.raises(ValueError):
        vocabularies.Vocabulary("x", ("a", "A"))
    with pytest.raises(ValueError):
        vocabularies.Vocabulary("x", ("a;b",))


def test_contact_languages_are_a_closed_list_of_about_twenty_dutch_labels() -> None:
    values = vocabularies.CONTACT_LANGUAGES.values
    assert 20 <= len(values) <= 30
    for expected in ("Nederlands", "Frans", "Engels", "Arabisch", "Turks", "Oekraïens", "Dari"):
        assert expected in values


# --- interests cell ---------------------------------------------------------------------


def test_interests_cell_is_split_on_semicolons_deduplicated_and_put_in_protocol_order() -> None:
    assert schema.parse_interests("Sport en beweging ;BUDDY; buddy;") == (
        "buddy",
        "sport en beweging",
    )
    assert schema.format_interests(("buddy", "sport en beweging")) == "buddy; sport en beweging"


@pytest.mark.parametrize("cell", ["", " ; ", "geen; buddy", "buddy; paardrijden", "buddy, sport"])
def test_interests_cell_outside_the_rules_is_refused(cell: str) -> None:
    with pytest.raises(FieldError) as caught:
        schema.parse_interests(cell)
    assert caught.value.header == "Interesses en noden"
    assert "paardrijden" not in str(caught.value)


# --- records ----------------------------------------------------------------------------


def test_a_valid_record_gives_its_cells_and_comes_back_from_them() -> None:
    record = make_record()
    cells = dict(zip(schema.SHARED_HEADERS, record.cells(), strict=True))
    assert cells["Interesses en noden"] == "buddy; sport en beweging"
    assert Record.from_cells(cells) == record


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("contacttaal", "Klingon"),
        ("niveau_nederlands", "B3"),
        ("status_mo", "bijna"),
        ("interesses", ("paardrijden",)),
        ("interesses", ("sport en beweging", "buddy")),  # not canonical order
        ("interesses", ()),
        ("telefoon", "0470 12 34 56"),  # not E.164
        ("postcode", "999"),
        ("email", "geen-adres"),
        ("naam", ""),
        ("naam", '=HYPERLINK("http://x","y")'),
        ("voornaam", "+cmd"),
        ("adres", "@SUM(1)"),
        ("adres", "Kerkstraat\n1"),
        ("gemeente", " Gent"),
        ("naam", "x" * 101),
    ],
)
def test_a_record_refuses_values_outside_its_rules_without_quoting_them(
    key: str, value: object
) -> None:
    with pytest.raises(FieldError) as caught:
        make_record(**{key: value})
    if isinstance(value, str) and value:
        assert value not in str(caught.value)


def test_optional_contact_fields_may_be_empty() -> None:
    record = make_record(adres="", postcode="", gemeente="", telefoon="", email="")
    assert record.telefoon == ""


def test_master_row_refuses_unknown_nis_codes_and_bad_client_ids() -> None:
    record = make_record()
    row = MasterRow("K12345678", "11002", None, record)
    assert row.nis == "11002"
    with pytest.raises(FieldError):
        MasterRow("K12345678", "99999", None, record)
    with pytest.raises(FieldError):
        MasterRow("K12345678", "1100", None, record)
    with pytest.raises(FieldError):
        MasterRow("=1+1", "11002", None, record)


# --- retention --------------------------------------------------------------------------

END = date(2030, 12, 31)


@pytest.mark.parametrize(
    ("certificate", "expected"),
    [
        (date(2025, 3, 14), date(2025, 9, 1)),  # rounded down to the month
        (date(2025, 3, 1), date(2025, 9, 1)),  # first of month stays
        (date(2025, 3, 31), date(2025, 9, 1)),  # last of month
        (date(2025, 8, 31), date(2026, 2, 1)),  # 31 Aug + 6 months: February, no 31st
        (date(2025, 7, 15), date(2026, 1, 1)),  # crosses the year
        (date(2025, 12, 31), date(2026, 6, 1)),
        (date(2024, 2, 29), date(2024, 8, 1)),  # leap day
        (date(2023, 8, 29), date(2024, 2, 1)),  # lands in a leap February
        (date(2023, 8, 31), date(2024, 2, 1)),
    ],
)
def test_retention_deadline_is_first_of_the_month_of_certificate_plus_six_months(
    certificate: date, expected: date
) -> None:
    assert retention_deadline(certificate, 6, END) == expected


def test_retention_without_certificate_is_the_protocol_end() -> None:
    assert retention_deadline(None, 6, date(2026, 12, 31)) == date(2026, 12, 31)


def test_retention_never_exceeds_the_protocol_end() -> None:
    assert retention_deadline(date(2026, 10, 5), 6, date(2026, 12, 31)) == date(2026, 12, 31)


def test_retention_with_zero_months_is_the_first_of_the_certificate_month() -> None:
    assert retention_deadline(date(2026, 5, 20), 0, END) == date(2026, 5, 1)


def test_retention_months_must_not_be_negative() -> None:
    with pytest.raises(ValueError):
        retention_deadline(date(2026, 5, 20), -1, END)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    st.integers(min_value=0, max_value=120),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2200, 12, 31)),
)
def test_retention_deadline_is_a_first_of_month_never_later_than_allowed(
    certificate: date, months: int, protocol_end: date
) -> None:
    deadline = retention_deadline(certificate, months, protocol_end)
    assert deadline <= protocol_end
    if deadline != protocol_end:
        assert deadline.day == 1
        # The month of certificate + months, so never later than art. 3 allows.
        month_index = certificate.year * 12 + certificate.month - 1 + months
        assert (deadline.year, deadline.month) == (month_index // 12, month_index % 12 + 1)


# --- municipalities ---------------------------------------------------------------------


def test_the_official_list_has_285_flemish_and_19_brussels_municipalities() -> None:
    flemish = municipalities.in_region(municipalities.Region.FLANDERS)
    brussels = municipalities.in_region(municipalities.Region.BRUSSELS)
    assert len(flemish) == 285
    assert len(brussels) == 19
    counts = {p: len(municipalities.in_province(p)) for p in municipalities.PROVINCES}
    assert counts == {
        "Antwerpen": 67,
        "Vlaams-Brabant": 63,
        "West-Vlaanderen": 62,
        "Oost-Vlaanderen": 55,
        "Limburg": 38,
    }
    assert all(m.province is None for m in brussels)


def test_municipalities_are_found_by_nis_code_and_by_name() -> None:
    antwerpen = municipalities.lookup("11002")
    assert antwerpen.name_nl == "Antwerpen"
    assert antwerpen.valid_from == date(2025, 1, 1)  # merged with Borsbeek
    assert municipalities.by_name("Anvers") == antwerpen
    assert municipalities.by_name("Hove") == municipalities.by_name("Hove (Antwerpen)")
    assert municipalities.lookup("46030").province == "Oost-Vlaanderen"
    assert not municipalities.is_known("11007")  # Borsbeek, merged away in 2025
    assert not municipalities.is_known("82039")  # a Walloon merger: out of scope
    with pytest.raises(KeyError):
        municipalities.lookup("99999")
