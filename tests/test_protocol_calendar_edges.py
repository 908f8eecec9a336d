"""Protocol dates at the edges of the calendar, and a termination the agency's own audit
would fail: named errors, never exit 3, never an artifact audit refuses."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from cli_helpers import (
    TERMINATION_GROUND,
    assert_single_error,
    expect_ok,
    init_demo_agency,
    run_cli,
)
from securexchange.artifacts.allowed_signers import allowed_signers
from test_keyring_format import World, world  # noqa: F401 - the fixture

NIS = "11002"


def test_a_protocol_until_the_last_day_of_the_calendar_is_refused_not_an_internal_error(
    tmp_path: Path,
) -> None:
    agency = tmp_path / "agency"
    expect_ok(run_cli(["agency", "init", "--name", "Agentschap", "--demo"], home=agency))
    add = ["agency", "municipality", "add", "--nis", NIS, "--name", "Antwerpen"]
    result = run_cli([*add, "--protocol-until", "9999-12-31"], home=agency)
    assert_single_error(result, "SX-USAGE", 2)
    publish = run_cli(["agency", "keyring", "publish", "--out", str(tmp_path / "o")], home=agency)
    assert publish.code == 0, publish.stderr


def test_allowed_signers_of_a_keyring_running_to_date_max_has_no_valid_before(
    world: World,  # noqa: F811
) -> None:
    _, _, keyring = world
    entry = replace(keyring.municipalities[0], protocol_until=date.max)
    text = allowed_signers(replace(keyring, municipalities=(entry,)))
    staff = [line for line in text.splitlines() if "securexchange-return-v1" in line]
    assert staff and all("valid-before" not in line for line in staff)


def test_a_notice_cancelling_a_protocol_before_it_began_is_signed_and_audited_alike(
    tmp_path: Path,
) -> None:
    # terminate signed it and audit verify failed it: one of them was wrong. A
    # termination before the start is a cancellation (allowed_signers lists nobody).
    agency = tmp_path / "agency"
    init_demo_agency(agency, NIS, "Antwerpen")
    out = tmp_path / "out"
    expect_ok(run_cli(["agency", "keyring", "publish", "--out", str(out)], home=agency))
    expect_ok(
        run_cli(
            [
                "agency",
                "terminate",
                *TERMINATION_GROUND,
                "--nis",
                NIS,
                "--effective",
                "2001-01-01",
                "--out",
                str(out),
            ],
            home=agency,
        )
    )
    card = agency / "keys" / "root.card.json"
    result = run_cli(["audit", "verify", str(out), "--agency-key", str(card), "--json"])
    assert result.code == 0, result.stdout + result.stderr
