"""The home's clock: forward-only, override honoured only in demo homes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli_helpers import assert_single_error, run_cli
from securexchange.clock import format_instant, read_clock, read_instant
from securexchange.errors import ClockOverride, Malformed
from securexchange.home.home import HomeKind, create_home, open_home

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_clock_is_the_later_of_system_time_and_mark() -> None:
    later = T0 + timedelta(days=3)
    assert read_clock(system=T0, mark=later, override=None, demo=False).now == later
    assert read_clock(system=later, mark=T0, override=None, demo=False).now == later


def test_override_in_a_real_home_is_refused() -> None:
    with pytest.raises(ClockOverride):
        read_clock(system=T0, mark=None, override="2030-01-01", demo=False)


def test_override_moves_a_demo_clock_forward_but_never_back() -> None:
    forward = read_clock(system=T0, mark=None, override="2027-01-01", demo=True)
    assert forward.now == datetime(2027, 1, 1, tzinfo=UTC)
    back = read_clock(system=T0, mark=forward.now, override="2026-01-01", demo=True)
    assert back.now == forward.now


def test_clock_more_than_a_day_behind_the_mark_is_reported() -> None:
    late = read_clock(system=T0, mark=T0 + timedelta(hours=25), override=None, demo=False)
    almost = read_clock(system=T0, mark=T0 + timedelta(hours=23), override=None, demo=False)
    assert late.behind
    assert not almost.behind


def test_mark_survives_restarts_of_the_home(tmp_path: Path) -> None:
    home = tmp_path / "h"
    create_home(home, HomeKind.MUNICIPALITY, demo=True, env={})
    with open_home(home, env={"SECUREXCHANGE_NOW": "2031-05-05"}) as opened:
        assert opened.now.year == 2031
    with open_home(home, env={}) as reopened:
        assert reopened.now == datetime(2031, 5, 5, tzinfo=UTC)
        assert reopened.clock.behind


def test_turning_the_system_clock_back_does_not_turn_the_home_back(tmp_path: Path) -> None:
    home = tmp_path / "h"
    create_home(home, HomeKind.AGENCY, demo=False, env={})
    with open_home(home, env={}, system_now=T0 + timedelta(days=10)):
        pass
    with open_home(home, env={}, system_now=T0) as opened:
        assert opened.now == T0 + timedelta(days=10)
        assert opened.clock.behind


def test_cli_refuses_clock_override_in_a_real_home_with_exit_2(tmp_path: Path) -> None:
    home = tmp_path / "h"
    create_home(home, HomeKind.AGENCY, demo=False, env={})
    result = run_cli(["audit", "log"], home=home, env={"SECUREXCHANGE_NOW": "2030-01-01"})
    assert_single_error(result, "SX-CLOCK-OVERRIDE", 2)
    assert "2030" not in result.stderr


def test_cli_accepts_clock_override_in_a_demo_home(tmp_path: Path) -> None:
    home = tmp_path / "h"
    create_home(home, HomeKind.AGENCY, demo=True, env={})
    result = run_cli(["audit", "log"], home=home, env={"SECUREXCHANGE_NOW": "2030-01-01"})
    assert result.code == 0, result.stderr
    assert "DEMO" in result.stderr


def test_cli_warns_when_the_system_clock_is_behind_the_mark(tmp_path: Path) -> None:
    home = tmp_path / "h"
    create_home(home, HomeKind.AGENCY, demo=True, env={})
    # A command that acts (not a read-only one) carries the demo's time travel forward.
    with open_home(home, env={"SECUREXCHANGE_NOW": "2099-01-01"}):
        pass
    result = run_cli(["audit", "log"], home=home)
    assert result.code == 0
    assert "behind" in result.stderr


@pytest.mark.parametrize(
    "text",
    [
        "2027-03-01",
        "2027-03-01T09:30:00",
        "2027-03-01T09:30:00+00:00",
        "2027-03-01T09:30:00Z\n",
        "2027-02-29T09:30:00Z",
        "2027-03-01T23:59:60Z",
        "2027-03-01 09:30:00Z",
        "0999-03-01T09:30:00Z",
        "0001-01-01T00:00:00Z",
        "０２０２7-03-01T09:30:00Z",
    ],
)
def test_a_documents_instant_is_only_the_one_timestamp_form(text: str) -> None:
    with pytest.raises(Malformed):
        read_instant(text, "the manifest")


def test_a_documents_instant_reads_back_what_format_instant_wrote() -> None:
    moment = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    assert read_instant(format_instant(moment), "the manifest") == moment
