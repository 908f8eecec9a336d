"""``municipality return`` on the municipal side: what it refuses, when it writes nothing."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import assert_single_error, run_cli
from keys_helpers import make_agency, make_staff
from return_flows import make_channel


def test_return_without_a_keyring_from_the_agency_is_refused(tmp_path: Path) -> None:
    make_agency(tmp_path / "agency", demo=True)
    make_staff(tmp_path / "staff", tmp_path / "agency", demo=True)
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli(["municipality", "return", "--out", str(out)], home=tmp_path / "staff")
    assert_single_error(result, "SX-NOT-FOUND", 2)
    assert list(out.iterdir()) == []


def test_return_with_nothing_pending_writes_no_file(tmp_path: Path) -> None:
    channel = make_channel(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli(["municipality", "return", "--out", str(out)], home=channel.staff)
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    assert "nothing to return" in result.stderr
    assert list(out.iterdir()) == []


def test_return_in_an_agency_home_is_the_wrong_home(tmp_path: Path) -> None:
    make_agency(tmp_path / "agency", demo=True)
    result = run_cli(["municipality", "return", "--out", str(tmp_path)], home=tmp_path / "agency")
    assert_single_error(result, "SX-WRONG-HOME", 2)
