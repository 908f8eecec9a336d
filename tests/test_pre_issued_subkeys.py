"""Pre-issued subkeys (issue 19, first part): a home holds subkeys for the current
quarter and a horizon of coming ones, and every command that unlocks the key tops them
up, never past the end of the protocol it holds a keyring for.

Demo homes (so the CLI honours SECUREXCHANGE_NOW), everything through the CLI.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli_helpers import CliResult, expect_ok, run_cli
from securexchange.keys.card import read_card
from securexchange.keys.identity import MAX_SUBKEYS

NIS = "11002"
JANUARY = "2027-01-15T10:00:00Z"
APRIL = "2027-04-20T10:00:00Z"


def _at(moment: str) -> dict[str, str]:
    return {"SECUREXCHANGE_NOW": moment}


def _run(args: list[str], home: Path, moment: str) -> CliResult:
    return expect_ok(run_cli(args, home=home, env=_at(moment)))


def _periods(card_file: Path) -> list[tuple[datetime, datetime]]:
    card = read_card(card_file.read_bytes())
    return sorted({(s.valid_from, s.valid_until) for s in card.identity.subkeys})


def _world(tmp: Path, *, until: str, horizon: int | None = None) -> tuple[Path, Path]:
    agency = tmp / "agency"
    _run(["agency", "init", "--name", "Agentschap", "--demo"], agency, JANUARY)
    add = ["agency", "municipality", "add", "--nis", NIS, "--name", "Antwerpen"]
    _run([*add, "--protocol-until", until], agency, JANUARY)
    staff = tmp / "an"
    init = ["municipality", "init", "--demo", "--nis", NIS, "--name", "An"]
    init += ["--role", "integratiebeambte", "--agency-key", str(agency / "keys" / "root.card.json")]
    if horizon is not None:
        init += ["--horizon", str(horizon)]
    _run(init, staff, JANUARY)
    shown = json.loads(_run(["keys", "show", "--json"], staff, JANUARY).stdout)
    card = str(staff / "keys" / "identity.card.json")
    recipient = ["agency", "recipient", "add", "--nis", NIS]
    _run([*recipient, "--fingerprint", str(shown["fingerprint"]), card], agency, JANUARY)
    return agency, staff


def _export_and_import(tmp: Path, agency: Path, staff: Path, moment: str) -> CliResult:
    master = tmp / "master.xlsx"
    if not master.exists():
        sample = ["sample", "--records", "4", "--nis", NIS, "--seed", "3", "--out", str(master)]
        expect_ok(run_cli(sample))
    out = tmp / f"exports-{moment[:10]}"
    exported = _run(["agency", "export", str(master), "--out", str(out), "--json"], agency, moment)
    (package,) = json.loads(exported.stdout)["packages"]
    return _run(["municipality", "import", str(package["file"])], staff, moment)


def _quarter(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end_month = month + 3
    return start, datetime(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=UTC)


def test_a_new_home_holds_the_current_quarter_and_two_more_and_tops_up_when_unlocked(
    tmp_path: Path,
) -> None:
    agency, staff = _world(tmp_path, until="2030-12-31")
    card = staff / "keys" / "identity.card.json"
    enrolled = datetime(2027, 1, 15, 10, tzinfo=UTC)
    assert _periods(card) == [
        (enrolled, datetime(2027, 4, 1, tzinfo=UTC)),
        _quarter(2027, 4),
        _quarter(2027, 7),
    ]
    # A quarter later, with no 'keys rotate' and no root key: the agency still reaches
    # An (her April subkey was on the enrolment card), and the import, which unlocks
    # her key, pre-issues the next quarter and says her next return takes it along.
    imported = _export_and_import(tmp_path, agency, staff, APRIL)
    assert "added 2 subkeys for the coming periods" in imported.stderr
    assert "your next return takes them to the agency" in imported.stderr
    assert _periods(card) == [_quarter(2027, 4), _quarter(2027, 7), _quarter(2027, 10)]
    # Topped up once: the next command that unlocks the key adds nothing.
    again = run_cli(["municipality", "open"], home=staff, env=_at(APRIL))
    assert again.code == 0, again.stderr
    assert "added" not in again.stderr


def test_no_subkey_is_pre_issued_for_a_quarter_after_the_protocol_ends(tmp_path: Path) -> None:
    agency, staff = _world(tmp_path, until="2027-09-30")
    card = staff / "keys" / "identity.card.json"
    imported = _export_and_import(tmp_path, agency, staff, APRIL)
    # The keyring now held says the protocol ends on 30 September: no quarter from
    # October is worth a key (only key material to destroy later).
    assert "added" not in imported.stderr
    periods = _periods(card)
    assert _quarter(2027, 7) in periods and _quarter(2027, 10) not in periods


@pytest.mark.parametrize("horizon", [1, 8])
def test_the_horizon_is_chosen_at_init_from_one_to_eight_quarters(
    tmp_path: Path, horizon: int
) -> None:
    _, staff = _world(tmp_path, until="2030-12-31", horizon=horizon)
    card = read_card((staff / "keys" / "identity.card.json").read_bytes())
    assert len({(s.valid_from, s.valid_until) for s in card.identity.subkeys}) == horizon + 1
    assert len(card.identity.subkeys) == 2 * (horizon + 1) <= MAX_SUBKEYS


@pytest.mark.parametrize("horizon", ["0", "9"])
def test_a_horizon_outside_one_to_eight_is_a_usage_error(tmp_path: Path, horizon: str) -> None:
    agency = tmp_path / "agency"
    _run(["agency", "init", "--name", "Agentschap", "--demo"], agency, JANUARY)
    init = ["municipality", "init", "--demo", "--nis", NIS, "--name", "An", "--role", "x"]
    init += ["--agency-key", str(agency / "keys" / "root.card.json"), "--horizon", horizon]
    result = run_cli(init, home=tmp_path / "an", env=_at(JANUARY))
    assert result.code == 2 and "SX-USAGE" in result.stderr
    assert not (tmp_path / "an").exists()
