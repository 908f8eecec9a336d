"""The return channel against a real export: packages, returns, report, outcomes back."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cli_helpers import CliResult, assert_single_error, run_cli
from return_flows import (
    Channel,
    agency_export_source,
    ledger_tables,
    make_channel,
    now_text,
    quality,
    seal_delta,
    status,
    write,
)
from securexchange.agency import packages
from securexchange.agency.export import export_master
from securexchange.artifacts.package_open import PackageTrust, open_package
from securexchange.home.home import HomeKind, open_home
from securexchange.intake.sample import generate_master, write_master
from securexchange.schema import HEADER_ACTIVITY, HEADER_OUTCOME, HEADER_RECORD_ID

NEVER_SENT = "R-CCCCCCCCCCCCCCCCCCCC"


def _export(channel: Channel, tmp_path: Path, name: str) -> Path:
    master = tmp_path / f"{name}.xlsx"
    if not master.exists():
        write_master(generate_master(6, nis=["11002"], seed=7), master)
    out = tmp_path / name
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        result = export_master(home, master, out, export_key=agency_export_source(channel.agency))
    (summary,) = result.packages
    assert summary.file is not None
    return summary.file


def _sent(channel: Channel) -> dict[str, str]:
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        latest = packages.latest(home, channel.party_id)
        assert latest is not None
        return {r.record_id: r.client_id for r in packages.package_records(home, latest.package_id)}


def _workbook_rows(channel: Channel, package: Path) -> list[dict[str, object]]:
    from openpyxl import load_workbook

    root = channel.agency / "keys" / "root.card.json"
    from securexchange.keys.card import read_card

    trust = PackageTrust(read_card(root.read_bytes()).identity.signing_key)
    from municipal_flows import home_identities

    identities = home_identities(channel.staff)
    opened = open_package(package.read_bytes(), trust=trust, identities=identities)
    assert opened.workbook is not None
    sheet = load_workbook(io.BytesIO(opened.workbook), read_only=True).worksheets[0]
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    header_at = next(i for i, r in enumerate(rows) if HEADER_RECORD_ID in r)
    headers = rows[header_at]
    return [dict(zip(headers, r, strict=False)) for r in rows[header_at + 1 :] if r[0]]


def _import_cli(channel: Channel, tmp_path: Path, name: str, data: bytes) -> CliResult:
    return run_cli(
        ["agency", "import-return", str(write(tmp_path, name, data))], home=channel.agency
    )


@pytest.fixture
def channel(tmp_path: Path) -> Channel:
    return make_channel(tmp_path)


def test_returned_statuses_reach_the_report_and_outcomes_the_next_package(
    channel: Channel, tmp_path: Path
) -> None:
    _export(channel, tmp_path, "first")
    sent = _sent(channel)
    r1, r2 = sorted(sent)[:2]
    _, data = seal_delta(channel.staff, [status(r1, new="toegeleid"), quality(r2, at=now_text())])
    path = write(tmp_path, "ret.sxr", data)
    result = run_cli(["agency", "import-return", "--json", str(path)], home=channel.agency)
    assert result.code == 0, result.stderr
    (applied,) = json.loads(result.stdout)["returns"]
    assert applied["applied"] and applied["statuses"] == 1
    (report_id,) = applied["reports"]

    again = run_cli(["agency", "import-return", "--json", str(path)], home=channel.agency)
    assert again.code == 0 and not json.loads(again.stdout)["returns"][0]["applied"]

    from openpyxl import load_workbook

    out = tmp_path / "opvolging.xlsx"
    assert run_cli(["agency", "report", "--out", str(out)], home=channel.agency).code == 0
    current = [tuple(c.value for c in r) for r in load_workbook(out)["Huidige status"].iter_rows()]
    assert current[1][0] == sent[r1] and current[1][2] == "toegeleid"
    assert "An Peeters" in str(current[1][4])

    home = channel.agency
    resolved = run_cli(["agency", "quality", "resolve", report_id, "gecorrigeerd"], home=home)
    assert resolved.code == 0, resolved.stderr
    rows = {
        r[HEADER_RECORD_ID]: r for r in _workbook_rows(channel, _export(channel, tmp_path, "first"))
    }
    assert rows[r1][HEADER_ACTIVITY] == "toegeleid"
    assert rows[r2][HEADER_OUTCOME] == "gecorrigeerd"


def test_a_record_never_sent_to_that_municipality_is_refused(
    channel: Channel, tmp_path: Path
) -> None:
    _export(channel, tmp_path, "first")
    r1 = sorted(_sent(channel))[0]
    _, data = seal_delta(channel.staff, [status(r1), status(NEVER_SENT)])
    before = ledger_tables(channel.agency)
    result = _import_cli(channel, tmp_path, "r.sxr", data)
    assert_single_error(result, "SX-UNKNOWN-RECORD", 1)
    assert ledger_tables(channel.agency) == before
    assert r1 not in result.stderr


def test_a_reused_sequence_number_with_other_content_is_refused(
    channel: Channel, tmp_path: Path
) -> None:
    _export(channel, tmp_path, "first")
    r1, r2 = sorted(_sent(channel))[:2]
    _, first = seal_delta(channel.staff, [status(r1)], sequence=1)
    ok = _import_cli(channel, tmp_path, "a.sxr", first)
    assert ok.code == 0, ok.stderr
    before = ledger_tables(channel.agency)
    _, second = seal_delta(channel.staff, [status(r2)], sequence=1)
    result = _import_cli(channel, tmp_path, "b.sxr", second)
    assert_single_error(result, "SX-EQUIVOCATION", 1)
    assert ledger_tables(channel.agency) == before


def test_records_of_a_package_two_exports_back_are_no_longer_accepted(
    channel: Channel, tmp_path: Path
) -> None:
    _export(channel, tmp_path, "first")
    old = sorted(_sent(channel))[0]
    write_master(generate_master(2, nis=["11002"], seed=99), tmp_path / "second.xlsx")
    _export(channel, tmp_path, "second")
    _export(channel, tmp_path, "second")
    assert old not in _sent(channel)
    _, data = seal_delta(channel.staff, [status(old)])
    result = _import_cli(channel, tmp_path, "r.sxr", data)
    assert_single_error(result, "SX-UNKNOWN-RECORD", 1)
