"""A termination notice is visible in the agency's own list, also before it takes effect."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import run_cli
from test_audit_notices import _agency_with_notice


def test_municipality_list_shows_a_coming_termination_next_to_the_protocol(
    tmp_path: Path,
) -> None:
    agency, _out = _agency_with_notice(tmp_path)
    result = run_cli(["agency", "municipality", "list"], home=agency)
    assert result.code == 0, result.stderr
    header, row = result.stdout.splitlines()[:2]
    assert header.split()[4] == "TERMINATED"
    assert row.split()[4] == "2027-01-01"
