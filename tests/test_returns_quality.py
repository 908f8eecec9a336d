"""Data-quality reports (art. 7): two-week deadline, listing, resolution, the report."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli_helpers import assert_single_error, run_cli
from return_flows import Channel, agency_export_source, make_channel, now_text, quality, seal_delta
from return_flows import status as status_entry
from securexchange.agency import quality as agency_quality
from securexchange.agency.report import write_report
from securexchange.agency.returns import import_returns
from securexchange.home.home import Home, HomeKind, open_home

R1 = "R-AAAAAAAAAAAAAAAAAAAA"
R2 = "R-BBBBBBBBBBBBBBBBBBBB"


def _sent(_home: Home, _party: str) -> frozenset[str]:
    return frozenset({R1, R2})


def _clients(_home: Home, _party: str) -> dict[str, str]:
    return {R1: "KL-0001", R2: "KL-0002"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Channel:
    return make_channel(tmp_path_factory.mktemp("quality"))


@pytest.fixture
def channel(template: Channel, tmp_path: Path) -> Channel:
    shutil.copytree(template.agency, tmp_path / "agency")
    shutil.copytree(template.staff, tmp_path / "staff")
    return Channel(tmp_path / "agency", tmp_path / "staff", template.party_id)


def _report_today(channel: Channel) -> str:
    _, data = seal_delta(channel.staff, [quality(R1, at=now_text()), status_entry(R2)])
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        result = import_returns(
            home, agency_export_source(channel.agency), [("a.sxr", data)], sent_records=_sent
        )
    return result.results[0].report_ids[0]


def _listed(channel: Channel, when: datetime) -> list[dict[str, object]]:
    env = {"SECUREXCHANGE_NOW": when.strftime("%Y-%m-%dT%H:%M:%SZ")}
    result = run_cli(["agency", "quality", "list", "--json"], home=channel.agency, env=env)
    assert result.code == 0, result.stderr
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def test_a_report_raised_today_is_overdue_once_two_weeks_have_passed(channel: Channel) -> None:
    report = _report_today(channel)
    today = datetime.now(UTC)
    within = _listed(channel, today + timedelta(days=13))
    assert [(r["report"], r["overdue"]) for r in within] == [(report, False)]
    after = _listed(channel, today + timedelta(days=15))
    assert [(r["report"], r["overdue"]) for r in after] == [(report, True)]
    assert R1 not in json.dumps(after)  # the listing names reports, not records


def test_a_resolved_report_stays_listed_as_not_sent_and_its_outcome_is_ready_for_export(
    channel: Channel,
) -> None:
    report = _report_today(channel)
    result = run_cli(["agency", "quality", "resolve", report, "gecorrigeerd"], home=channel.agency)
    assert result.code == 0, result.stderr
    listed = _listed(channel, datetime.now(UTC))
    assert [(r["report"], r["outcome"], r["sent"]) for r in listed] == [
        (report, "gecorrigeerd", False)
    ]
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        assert agency_quality.outcomes_for(home, channel.party_id) == {R1: "gecorrigeerd"}


def test_an_outcome_outside_the_three_is_a_usage_error(channel: Channel) -> None:
    report = _report_today(channel)
    result = run_cli(["agency", "quality", "resolve", report, "genegeerd"], home=channel.agency)
    assert_single_error(result, "SX-USAGE", 2)


def test_resolving_an_unknown_report_is_not_found(channel: Channel) -> None:
    result = run_cli(
        ["agency", "quality", "resolve", "qr-" + "a" * 26, "ingetrokken"], home=channel.agency
    )
    assert_single_error(result, "SX-NOT-FOUND", 2)


def test_the_report_shows_status_by_client_id_and_overdue_reports_highlighted(
    channel: Channel, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    _report_today(channel)
    out = tmp_path / "opvolging.xlsx"
    later = {"SECUREXCHANGE_NOW": (datetime.now(UTC) + timedelta(days=20)).isoformat()}
    with open_home(channel.agency, env=later, expect=HomeKind.AGENCY) as home:
        summary = write_report(home, out, client_ids=_clients)
    assert (summary.statuses, summary.open_reports, summary.overdue) == (1, 1, 1)
    wb = load_workbook(out, read_only=True)
    assert wb.sheetnames == ["Huidige status", "Geschiedenis", "Conflicten", "Meldingen kwaliteit"]
    current = [tuple(c.value for c in row) for row in wb["Huidige status"].iter_rows()]
    assert current[1][0] == "KL-0002" and current[1][2] == "gecontacteerd"
    assert "An Peeters" in str(current[1][4])
    quality_rows = list(wb["Meldingen kwaliteit"].iter_rows())
    assert quality_rows[1][8].value == "TE LAAT"
    assert quality_rows[1][0].fill.fgColor.rgb.endswith("F4B183")
    assert R1 not in (channel.agency / "log.jsonl").read_text(encoding="utf-8")


def test_a_record_with_a_report_still_open_carries_no_outcome(channel: Channel) -> None:
    entries = [quality(R1, "Adres", at=now_text()), quality(R1, "Telefoon", at=now_text())]
    _, data = seal_delta(channel.staff, entries)
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        result = import_returns(
            home, agency_export_source(channel.agency), [("a.sxr", data)], sent_records=_sent
        )
    first, second = result.results[0].report_ids
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        agency_quality.resolve(home, first, "gecorrigeerd")
        # The earlier outcome would read as the answer to the report still open.
        assert agency_quality.outcomes_for(home, channel.party_id) == {}
        agency_quality.resolve(home, second, "correct-bevonden")
        assert set(agency_quality.outcomes_for(home, channel.party_id)) == {R1}
