"""Synthetic masters: realistic, deterministic, and the `sample` command."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

import pytest

from cli_helpers import cli_env, run_cli
from securexchange import municipalities, schema, vocabularies
from securexchange.errors import UsageError
from securexchange.intake.master import read_master
from securexchange.intake.sample import (
    HOSTILE_COLUMN,
    HOSTILE_PAYLOADS,
    MAIN_POSTCODES,
    ORIGINS,
    generate_master,
)
from securexchange.sheets.master_write import xlsx_bytes


def test_the_same_seed_gives_the_same_master_and_another_seed_another() -> None:
    assert generate_master(50, seed=3) == generate_master(50, seed=3)
    assert generate_master(50, seed=3) != generate_master(50, seed=4)


def test_the_header_is_the_canonical_master_header() -> None:
    rows = generate_master(2, seed=0)
    assert rows[0] == schema.MASTER_HEADERS
    assert len(rows) == 3


def test_records_go_only_to_the_named_municipalities() -> None:
    rows = generate_master(60, nis=["11002", "44021"], seed=1)
    nis = {row[schema.MASTER_HEADERS.index("NIS-code")] for row in rows[1:]}
    assert nis == {"11002", "44021"}


def test_a_number_of_municipalities_picks_that_many_from_the_official_list() -> None:
    rows = generate_master(200, municipalities=7, seed=2)
    nis = {str(row[schema.MASTER_HEADERS.index("NIS-code")]) for row in rows[1:]}
    assert len(nis) == 7
    assert all(municipalities.is_known(code) for code in nis)


def test_nis_and_municipalities_are_exclusive_and_checked() -> None:
    with pytest.raises(UsageError):
        generate_master(5, nis=["11002"], municipalities=2)
    with pytest.raises(UsageError):
        generate_master(5, nis=["99999"])
    with pytest.raises(UsageError):
        generate_master(5, municipalities=400)


def test_some_records_have_a_certificate_date_but_most_do_not() -> None:
    rows = generate_master(1000, seed=9)
    dates = [r[-1] for r in rows[1:] if isinstance(r[-1], date)]
    assert 150 < len(dates) < 400


def test_names_come_from_the_curated_origins_and_every_language_is_in_the_list() -> None:
    rows = generate_master(300, seed=4)
    surnames = {s for origin in ORIGINS for s in origin.surnames}
    assert all(row[1] in surnames for row in rows[1:])
    for origin in ORIGINS:
        assert all(language in vocabularies.CONTACT_LANGUAGES for language in origin.languages)


def test_every_main_postcode_names_a_municipality_in_the_list() -> None:
    for name, code in MAIN_POSTCODES.items():
        assert municipalities.by_name(name) is not None, name
        assert code.isdigit() and 1000 <= int(code) <= 9999


def test_generated_masters_pass_intake(tmp_path: Path) -> None:
    path = tmp_path / "m.xlsx"
    path.write_bytes(xlsx_bytes(generate_master(500, municipalities=5, seed=6)))
    assert len(read_master(path).rows) == 500


def test_hostile_masters_carry_an_unknown_column_and_every_payload() -> None:
    rows = generate_master(20, seed=1, hostile=True)
    assert rows[0][-1] == HOSTILE_COLUMN
    cells = {str(c) for row in rows[1:] for c in row}
    for _, payload in HOSTILE_PAYLOADS:
        assert payload in cells


def test_hostile_formula_payloads_are_stored_as_text_not_formulas(tmp_path: Path) -> None:
    import python_calamine

    path = tmp_path / "h.xlsx"
    path.write_bytes(xlsx_bytes(generate_master(3, seed=1, hostile=True)))
    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    assert sheet.to_python()[1][1] == '=HYPERLINK("http://x","y")'


def test_the_xlsx_writer_leaves_no_temporary_file_behind(tmp_path: Path) -> None:
    watched = tmp_path / "tmp"
    watched.mkdir()
    previous = tempfile.tempdir
    tempfile.tempdir = str(watched)
    try:
        xlsx_bytes(generate_master(20, seed=1))
        assert tempfile.tempdir == str(watched)
    finally:
        tempfile.tempdir = previous
    assert list(watched.iterdir()) == []


# --- the command --------------------------------------------------------------------------


def test_sample_command_writes_a_master_that_intake_accepts(tmp_path: Path) -> None:
    out = tmp_path / "master.xlsx"
    result = run_cli(
        ["sample", "--records", "25", "--municipalities", "2", "--seed", "7", "--out", str(out)],
        env=cli_env(),
    )
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    assert "25" in result.stderr
    assert len(read_master(out).rows) == 25


def test_sample_command_writes_belgian_excel_csv(tmp_path: Path) -> None:
    out = tmp_path / "master.csv"
    args = ["sample", "--records", "10", "--nis", "11002,71072", "--csv-dialect", "excel-be"]
    result = run_cli([*args, "--out", str(out)], env=cli_env())
    assert result.code == 0, result.stderr
    assert read_master(out).dialect == "csv Windows-1252 ';'"


def test_sample_command_refuses_nis_with_municipalities_with_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "m.xlsx"
    result = run_cli(
        ["sample", "--records", "5", "--nis", "11002", "--municipalities", "2", "--out", str(out)],
        env=cli_env(),
    )
    assert result.code == 2
    assert result.stderr.startswith("error: SX-USAGE")
    assert not out.exists()


def test_sample_command_refuses_an_unknown_suffix(tmp_path: Path) -> None:
    result = run_cli(["sample", "--records", "5", "--out", str(tmp_path / "m.ods")], env=cli_env())
    assert result.code == 2
    assert "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == []
