"""Master intake: round trips, refusals with located problems, normalisation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securexchange import normalise, schema
from securexchange.errors import ExitCode, InvalidMaster, UsageError
from securexchange.intake.master import MasterProblems, Problem, load_mapping, read_master
from securexchange.intake.sample import HOSTILE_PAYLOADS, csv_bytes, generate_master
from securexchange.sheets.master_write import xlsx_bytes

H = schema.MASTER_HEADERS
GOOD: dict[str, str] = {
    "Klant-ID": "K10000001",
    "Naam": "Haddad",
    "Voornaam": "Omar",
    "Adres": "Kerkstraat 1",
    "Postcode": "2000",
    "Gemeente": "Antwerpen",
    "NIS-code": "11002",
    "Telefoon": "0470 12 34 56",
    "E-mail": "Omar.Haddad@Gmail.COM",
    "Contacttaal": "arabisch",
    "Niveau Nederlands": "a2",
    "Status MO": "Lopend",
    "Interesses en noden": "sport en beweging;buddy",
    "Datum inburgeringsattest": "14/03/2025",
}


def master(tmp_path: Path, rows: list[dict[str, str]], name: str = "m.xlsx") -> Path:
    headers = list(rows[0]) if rows else list(H)
    table: list[tuple[str | date, ...]] = [tuple(headers)]
    table += [tuple(row[h] for h in headers) for row in rows]
    path = tmp_path / name
    if name.endswith(".xlsx"):
        path.write_bytes(xlsx_bytes(table))
    else:
        path.write_bytes(csv_bytes(table))
    return path


def with_(**changes: str) -> dict[str, str]:
    row = dict(GOOD)
    for key, value in changes.items():
        row[key.replace("_", " ")] = value
    return row


def problems_of(path: Path, **kwargs: object) -> tuple[Problem, ...]:
    with pytest.raises(MasterProblems) as caught:
        read_master(path, **kwargs)  # type: ignore[arg-type]
    assert caught.value.exit_code == ExitCode.USAGE
    return caught.value.problems


# --- round trips --------------------------------------------------------------------------


def expected_rows(rows: list[tuple[str | date, ...]]) -> list[dict[str, object]]:
    """What intake must make of sample rows, computed with the libraries directly."""
    out: list[dict[str, object]] = []
    for row in rows[1:]:
        cells = dict(zip(H, row, strict=True))
        phone = str(cells["Telefoon"])
        mail = str(cells["E-mail"])
        out.append(
            {
                "client_id": cells["Klant-ID"],
                "nis": cells["NIS-code"],
                "certificate_date": cells["Datum inburgeringsattest"] or None,
                "naam": cells["Naam"],
                "telefoon": normalise.phone_library(phone) if phone else "",
                "email": normalise.email_library(mail) if mail else "",
                "interesses": schema.parse_interests(str(cells["Interesses en noden"])),
                "contacttaal": cells["Contacttaal"],
            }
        )
    return out


def actual_rows(path: Path) -> list[dict[str, object]]:
    result = read_master(path)
    assert result.problems == ()
    return [
        {
            "client_id": r.client_id,
            "nis": r.nis,
            "certificate_date": r.certificate_date,
            "naam": r.record.naam,
            "telefoon": r.record.telefoon,
            "email": r.record.email,
            "interesses": r.record.interesses,
            "contacttaal": r.record.contacttaal,
        }
        for r in result.rows
    ]


def test_sample_xlsx_round_trips_to_normalised_records(tmp_path: Path) -> None:
    rows = generate_master(300, municipalities=4, seed=11)
    path = tmp_path / "master.xlsx"
    path.write_bytes(xlsx_bytes(rows))
    assert actual_rows(path) == expected_rows(rows)
    assert read_master(path).dialect == "xlsx"


@pytest.mark.parametrize("bom", [False, True])
def test_sample_utf8_csv_round_trips_to_normalised_records(tmp_path: Path, bom: bool) -> None:
    rows = generate_master(300, municipalities=4, seed=12)
    path = tmp_path / "master.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + csv_bytes(rows))
    assert actual_rows(path) == expected_rows(rows)
    assert read_master(path).dialect == ("csv UTF-8 with BOM ','" if bom else "csv UTF-8 ','")


def test_windows_1252_semicolon_csv_as_belgian_excel_writes_it_round_trips(
    tmp_path: Path,
) -> None:
    rows = generate_master(300, municipalities=4, seed=13)
    path = tmp_path / "master.csv"
    path.write_bytes(csv_bytes(rows, excel_be=True))
    assert read_master(path).dialect == "csv Windows-1252 ';'"
    # Excel writes '?' for letters Windows-1252 lacks (Turkish ı, Romanian ș).
    lossy = [
        tuple(
            v.encode("cp1252", "replace").decode("cp1252") if isinstance(v, str) else v for v in r
        )
        for r in rows
    ]
    assert actual_rows(path) == expected_rows(lossy)


def test_values_are_normalised_as_documented(tmp_path: Path) -> None:
    (row,) = read_master(master(tmp_path, [GOOD])).rows
    assert row.client_id == "K10000001"
    assert row.certificate_date == date(2025, 3, 14)
    assert row.record.telefoon == "+32470123456"
    assert row.record.email == "Omar.Haddad@gmail.com"  # domain lower-cased only
    assert row.record.contacttaal == "Arabisch"
    assert row.record.niveau_nederlands == "A2"
    assert row.record.status_mo == "lopend"
    assert row.record.interesses == ("buddy", "sport en beweging")


def test_numeric_cells_as_excel_stores_them_are_read_as_text(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(H))
    values: list[object] = [GOOD[h] for h in H]
    values[H.index("Postcode")] = 2000
    values[H.index("NIS-code")] = 11002
    values[H.index("Telefoon")] = 470123456  # the leading zero lost, as Excel does
    values[H.index("Datum inburgeringsattest")] = date(2025, 3, 14)
    sheet.append(values)
    path = tmp_path / "numbers.xlsx"
    book.save(path)
    (row,) = read_master(path).rows
    assert (row.record.postcode, row.nis, row.record.telefoon) == ("2000", "11002", "+32470123456")
    assert row.certificate_date == date(2025, 3, 14)


def test_blank_rows_are_skipped_and_optional_fields_may_be_empty(tmp_path: Path) -> None:
    blank = dict.fromkeys(H, "")
    sparse = with_(Telefoon="", E_mail="", Adres="", Postcode="", Gemeente="")
    sparse["Datum inburgeringsattest"] = ""
    rows = read_master(master(tmp_path, [GOOD, blank, sparse | {"Klant-ID": "K2"}])).rows
    assert len(rows) == 2
    assert rows[1].record.telefoon == "" and rows[1].certificate_date is None


# --- columns ----------------------------------------------------------------------------


def test_an_unknown_column_is_refused_unless_dropped(tmp_path: Path) -> None:
    row = GOOD | {"Rijksregisternummer": "85.07.30-033.61"}
    path = master(tmp_path, [row])
    (problem,) = problems_of(path)
    assert (problem.row, problem.column) == (1, "O")
    assert "unknown column" in problem.reason
    assert len(read_master(path, drop_columns=["rijksregisternummer"]).rows) == 1


def test_the_unknown_header_text_is_never_echoed(tmp_path: Path) -> None:
    path = master(tmp_path, [GOOD | {"Fatima El Amrani": "x"}])
    with pytest.raises(MasterProblems) as caught:
        read_master(path)
    assert "Fatima" not in str(caught.value)
    assert "Fatima" not in caught.value.table()


def test_a_mapping_renames_other_headers_to_canonical_ones(tmp_path: Path) -> None:
    row = {("GSM" if k == "Telefoon" else k): v for k, v in GOOD.items()}
    path = master(tmp_path, [row])
    assert any("Telefoon" in str(p) for p in problems_of(path))  # missing column
    assert read_master(path, mapping={"GSM": "Telefoon"}).rows[0].record.telefoon


def test_a_mapping_file_is_strict_json_onto_canonical_headers(tmp_path: Path) -> None:
    good = tmp_path / "map.json"
    good.write_text('{"GSM": "Telefoon"}', encoding="utf-8")
    assert load_mapping(good) == {"GSM": "Telefoon"}
    duplicate = tmp_path / "dup.json"
    duplicate.write_text('{"GSM": "Telefoon", "GSM": "E-mail"}', encoding="utf-8")
    with pytest.raises(UsageError):
        load_mapping(duplicate)
    with pytest.raises(UsageError):
        read_master(master(tmp_path, [GOOD]), mapping={"GSM": "Rijksregisternummer"})


def test_missing_and_repeated_columns_are_reported(tmp_path: Path) -> None:
    row = {k: v for k, v in GOOD.items() if k != "E-mail"}
    reasons = [p.reason for p in problems_of(master(tmp_path, [row]))]
    assert reasons == ["the column E-mail is missing"]
    path = tmp_path / "twice.csv"
    header = ",".join([*H, "naam"])
    path.write_text(header + "\n" + ",".join([*GOOD.values(), "x"]) + "\n", encoding="utf-8")
    (problem,) = problems_of(path)
    assert problem.header == "Naam" and "repeats the column B" in problem.reason


# --- values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Contacttaal", "Klingon"),
        ("Niveau Nederlands", "B3"),
        ("Status MO", "bijna klaar"),
        ("Interesses en noden", "buddy; paardrijden"),
        ("Interesses en noden", "geen; buddy"),
        ("Interesses en noden", ""),
        ("Contacttaal", ""),
    ],
)
def test_every_enumeration_is_refused_outside_its_values(
    tmp_path: Path, header: str, value: str
) -> None:
    (problem,) = problems_of(master(tmp_path, [GOOD | {header: value}]))
    assert (problem.row, problem.header) == (2, header)
    assert problem.column == "ABCDEFGHIJKLMN"[H.index(header)]


@pytest.mark.parametrize("nis", ["99999", "11007", "1100", "abcde", ""])
def test_a_wrong_nis_code_is_refused(tmp_path: Path, nis: str) -> None:
    (problem,) = problems_of(master(tmp_path, [GOOD | {"NIS-code": nis}]))
    assert problem.header == "NIS-code"


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0470 12 34 56", "+32470123456"),
        ("0470/12.34.56", "+32470123456"),
        ("+32 470 12 34 56", "+32470123456"),
        ("0032470123456", "+32470123456"),
        ("03 231 45 67", "+3232314567"),  # a landline, through the library
        ("+31 6 12345678", "+31612345678"),  # a Dutch mobile
    ],
)
def test_phone_numbers_are_normalised_to_e164(tmp_path: Path, typed: str, e164: str) -> None:
    (row,) = read_master(master(tmp_path, [GOOD | {"Telefoon": typed}])).rows
    assert row.record.telefoon == e164


@pytest.mark.parametrize("typed", ["12345", "0470 12 34", "bel me", "+32 470 12 34 56 78"])
def test_invalid_phone_numbers_are_refused_without_echo(tmp_path: Path, typed: str) -> None:
    with pytest.raises(MasterProblems) as caught:
        read_master(master(tmp_path, [GOOD | {"Telefoon": typed}]))
    assert caught.value.problems[0].header == "Telefoon"
    assert typed not in str(caught.value) and typed not in caught.value.table()


@pytest.mark.parametrize("typed", ["iemand@@voorbeeld", "geen", "a b@c.be", "x@localhost"])
def test_invalid_email_addresses_are_refused_without_echo(tmp_path: Path, typed: str) -> None:
    with pytest.raises(MasterProblems) as caught:
        read_master(master(tmp_path, [GOOD | {"E-mail": typed}]))
    assert caught.value.problems[0].header == "E-mail"
    assert typed not in caught.value.table()


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Postcode", "0999"),
        ("Postcode", "20000"),
        ("Datum inburgeringsattest", "31/02/2025"),
        ("Datum inburgeringsattest", "gisteren"),
        ("Klant-ID", ""),
        ("Klant-ID", "=1+1"),
        ("Naam", ""),
    ],
)
def test_other_bad_values_are_refused(tmp_path: Path, header: str, value: str) -> None:
    (problem,) = problems_of(master(tmp_path, [GOOD | {header: value}]))
    assert problem.header == header


def test_a_repeated_client_id_refuses_every_row_that_has_it(tmp_path: Path) -> None:
    other = GOOD | {"Klant-ID": "K2"}
    problems = problems_of(master(tmp_path, [GOOD, other, GOOD]))
    assert [(p.row, p.reason) for p in problems] == [
        (2, "the same Klant-ID as row 4"),
        (4, "the same Klant-ID as row 2"),
    ]


def test_skip_invalid_keeps_valid_rows_and_reports_the_others(tmp_path: Path) -> None:
    path = master(tmp_path, [GOOD, with_(Klant_ID="K2") | {"Status MO": "?"}])
    result = read_master(path, skip_invalid=True)
    assert [r.client_id for r in result.rows] == ["K10000001"]
    assert [(p.row, p.header) for p in result.problems] == [(3, "Status MO")]


def test_reading_stops_after_max_problems_and_says_so(tmp_path: Path) -> None:
    from securexchange.intake.master import MAX_PROBLEMS

    path = master(tmp_path, [GOOD | {"Status MO": "?", "Klant-ID": f"K{i}"} for i in range(1500)])
    with pytest.raises(MasterProblems) as caught:
        read_master(path)
    assert caught.value.stopped
    assert len(caught.value.problems) == MAX_PROBLEMS
    assert "reading stopped" in caught.value.message
    result = read_master(path, skip_invalid=True)
    assert (len(result.problems), result.problems_omitted) == (MAX_PROBLEMS, 500)


def test_many_rows_with_one_client_id_give_bounded_problems(tmp_path: Path) -> None:
    path = master(tmp_path, [GOOD] * 1200)
    with pytest.raises(MasterProblems) as caught:
        read_master(path)
    assert caught.value.stopped
    assert caught.value.problems[0].reason == "the same Klant-ID as row 3, 4, 5 and 1196 more"


def test_header_problems_are_never_skipped(tmp_path: Path) -> None:
    path = master(tmp_path, [GOOD | {"Extra": "x"}])
    with pytest.raises(MasterProblems):
        read_master(path, skip_invalid=True)


def test_sample_hostile_master_fails_with_a_located_table_and_no_cell_value(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hostile.xlsx"
    path.write_bytes(xlsx_bytes(generate_master(40, seed=5, hostile=True)))
    (header_problem,) = problems_of(path)  # the national register number column
    assert (header_problem.row, header_problem.column) == (1, "O")
    with pytest.raises(MasterProblems) as caught:
        read_master(path, drop_columns=["Rijksregisternummer"])
    problems = caught.value.problems
    assert len(problems) == len(HOSTILE_PAYLOADS)
    assert {p.header for p in problems} == {h for h, _ in HOSTILE_PAYLOADS}
    assert all(p.sheet == "Master" and p.row >= 2 and p.column for p in problems)
    rendered = str(caught.value) + "\n" + caught.value.table()
    for _, payload in HOSTILE_PAYLOADS:
        assert payload.strip() not in rendered
    assert "HYPERLINK" not in rendered and "cmd" not in rendered
    assert "sheet" in caught.value.table().splitlines()[0]


def test_hostile_csv_is_refused_as_well(tmp_path: Path) -> None:
    path = tmp_path / "hostile.csv"
    path.write_bytes(csv_bytes(generate_master(40, seed=5, hostile=True)))
    with pytest.raises(MasterProblems) as caught:
        read_master(path, drop_columns=["Rijksregisternummer"])
    assert len(caught.value.problems) == len(HOSTILE_PAYLOADS)


def test_unsupported_formats_are_refused(tmp_path: Path) -> None:
    for name in ("m.xlsm", "m.xls"):
        path = tmp_path / name
        path.write_bytes(b"x")
        with pytest.raises(InvalidMaster):
            read_master(path)
    with pytest.raises(UsageError):
        read_master(tmp_path / "m.txt")


def test_csv_that_is_neither_utf8_nor_windows_1252_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(",".join(H).encode() + b"\n\x81\x8d\n")
    with pytest.raises(InvalidMaster, match="neither UTF-8 nor Windows-1252"):
        read_master(path)


# --- the fast paths agree with the libraries ---------------------------------------------

phone_texts = st.one_of(
    st.from_regex(
        r"(\+32|0032|0)?[ ]?4[0-9]{2}[ /.]?[0-9]{2}[ .]?[0-9]{2}[ .]?[0-9]{2}", fullmatch=True
    ),
    st.text(alphabet="0123456789+ ./-()", max_size=18),
)


@settings(max_examples=400, deadline=None)
@given(phone_texts)
def test_the_phone_fast_path_agrees_with_phonenumbers(text: str) -> None:
    fast = normalise.phone_fast(text)
    if fast is not None:
        assert fast == normalise.phone_library(text)


email_texts = st.one_of(
    st.from_regex(
        r"[A-Za-z0-9_+\-]{1,10}(\.[A-Za-z0-9_+\-]{1,5})?@([A-Za-z0-9\-]{1,8}\.){1,3}[A-Za-z]{2,6}",
        fullmatch=True,
    ),
    st.emails(),
)


@settings(max_examples=400, deadline=None)
@given(email_texts)
def test_the_email_fast_path_agrees_with_email_validator(text: str) -> None:
    fast = normalise.email_fast(text)
    if fast is not None:
        assert fast == normalise.email_library(text)


@pytest.mark.parametrize(
    "text", ["jan@foo.test", "jan@a.b.local", "jan@localhost", "jan@x.onion", "jan@host.invalid"]
)
def test_the_email_fast_path_leaves_special_use_domains_to_the_library(text: str) -> None:
    assert normalise.email_fast(text) is None


@pytest.mark.parametrize("text", ["jan@attest.be", "jan@local-bakery.be", "jan@test.example.be"])
def test_the_email_fast_path_matches_special_use_names_by_whole_labels(text: str) -> None:
    assert normalise.email_fast(text) == text


@pytest.mark.parametrize("text", ["WWW@0.AA", "Postmaster@gent.be", "ABUSE@example.be"])
def test_the_email_fast_path_leaves_case_insensitive_mailboxes_to_the_library(
    text: str,
) -> None:
    assert normalise.email_fast(text) is None
    assert normalise.email(text) == normalise.email_library(text)
