"""``municipality record-id``: a client's record id by name, without text tools on the
workbook's archive (issue 15 item 5: the guides found ids with ``unzip | grep | sed``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from cli_helpers import assert_single_error
from municipal_flows import World, log_lines, make_package, make_world, muni, person
from securexchange.municipality.lookup import matches, name_key
from securexchange.sheets.layout import WorkbookRow

KEEP = date(2028, 12, 1)


def _named(n: int, first: str, last: str) -> WorkbookRow:
    row = person(n, KEEP)
    return replace(row, record=row.record.replaced(voornaam=first, naam=last))


@pytest.fixture
def world(tmp_path: Path) -> World:
    made = make_world(tmp_path)
    rows = [
        _named(1, "Yasmine", "Benali"),
        _named(2, "Çağla", "Öztürk"),
        _named(3, "Ahmed", "El Idrissi"),
        _named(4, "Sara", "El Idrissi"),
        _named(5, "Sara", "El Idrissi"),
    ]
    package = make_package(made, rows)
    assert muni(made, "import", str(package.path)).code == 0
    return made


def _ids(world: World) -> dict[int, str]:
    return {n: person(n, KEEP).record_id for n in range(1, 6)}


def test_record_id_prints_the_id_of_the_named_client_only(world: World) -> None:
    result = muni(world, "record-id", "Yasmine Benali")
    assert result.code == 0, result.stderr
    assert result.stdout == _ids(world)[1] + "\n"
    # The id it prints is the one set-status takes.
    assert muni(world, "set-status", result.stdout.strip(), "gecontacteerd").code == 0


@pytest.mark.parametrize(
    "typed", ["benali yasmine", "  YASMINE   benali ", "Benali, Yasmine", "Benali"]
)
def test_a_name_typed_as_staff_type_it_finds_the_record(world: World, typed: str) -> None:
    assert muni(world, "record-id", typed).stdout == _ids(world)[1] + "\n"


def test_a_name_without_its_accents_finds_the_record(world: World) -> None:
    assert muni(world, "record-id", "Cagla Ozturk").stdout == _ids(world)[2] + "\n"


def test_the_name_is_asked_for_when_not_given_so_it_stays_out_of_the_shell_history(
    world: World,
) -> None:
    from cli_helpers import run_cli

    result = run_cli(["municipality", "record-id"], home=world.staff, stdin="Yasmine Benali\n")
    assert result.code == 0, result.stderr
    assert result.stdout == _ids(world)[1] + "\n"


def test_a_name_two_clients_share_is_refused_rather_than_picking_one(world: World) -> None:
    result = muni(world, "record-id", "Sara El Idrissi")
    assert_single_error(result, "SX-AMBIGUOUS", 2)
    assert result.stdout == ""
    assert "Sara" not in result.stderr and "Idrissi" not in result.stderr
    listed = muni(world, "record-id", "--all", "Sara El Idrissi")
    assert listed.code == 0, listed.stderr
    assert listed.stdout.split() == [_ids(world)[4], _ids(world)[5]]


def test_a_surname_alone_that_several_clients_share_is_ambiguous(world: World) -> None:
    assert_single_error(muni(world, "record-id", "El Idrissi"), "SX-AMBIGUOUS", 2)


def test_an_unknown_name_is_not_found_and_not_repeated(world: World) -> None:
    result = muni(world, "record-id", "Nobody Canaryname")
    assert_single_error(result, "SX-NOT-FOUND", 2)
    assert "Canaryname" not in result.stderr and result.stdout == ""


def test_a_part_of_a_name_does_not_match_another_client(world: World) -> None:
    # "Ahmed" is a first name only: no substring or first-name-only matching.
    assert_single_error(muni(world, "record-id", "Ahmed"), "SX-NOT-FOUND", 2)
    assert_single_error(muni(world, "record-id", "Bena"), "SX-NOT-FOUND", 2)


def test_an_empty_name_is_a_usage_error(world: World) -> None:
    assert_single_error(muni(world, "record-id", "  "), "SX-USAGE", 2)


def test_a_pasted_wall_of_text_is_refused_as_a_name(world: World) -> None:
    assert_single_error(muni(world, "record-id", "Benali " * 100), "SX-USAGE", 2)


def test_a_lookup_is_logged_with_counts_only_never_the_name_or_the_id(world: World) -> None:
    result = muni(world, "record-id", "Yasmine Benali")
    log = "\n".join(log_lines(world))
    assert '"record-id"' in log
    assert "Benali" not in log and "Yasmine" not in log
    assert result.stdout.strip() not in log


def test_a_shredded_client_is_not_found(tmp_path: Path) -> None:
    made = make_world(tmp_path)
    gone = replace(_named(1, "Yasmine", "Benali"), retention=date(2026, 12, 20))
    package = make_package(made, [gone, _named(2, "Jan", "Claes")])
    assert muni(made, "import", str(package.path)).code == 0
    assert muni(made, "record-id", "Yasmine Benali").code == 0
    result = muni(made, "record-id", "Yasmine Benali", now="2026-12-21")
    assert_single_error(result, "SX-NOT-FOUND", 2)


def test_matching_rules() -> None:
    record = _named(9, "Ana-Maria", "De Smet").record
    assert name_key(" Ána-María  DE smet ") == "ana-maria de smet"
    assert matches(record, "de smet ana-maria")
    assert not matches(record, "ana-maria")
    assert not matches(record, "Smet")
