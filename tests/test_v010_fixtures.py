"""What release v0.1.0 made still opens, imports and verifies (tests/fixtures/v0.1.0).

The fixtures are a demo's homes and artifacts made by the v0.1.0 code on a demo clock
of 2040-01-01 (tests/fixtures/make_v010_fixtures.py says how); the tests replay them a
day later. A format or schema change that strands a v0.1.0 home or file fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import run_cli
from fixture_copies import private_copy

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v0.1.0"
NEXT_DAY = {"SECUREXCHANGE_NOW": "2040-01-02T00:00:00Z"}


@pytest.fixture
def world(tmp_path: Path) -> Path:
    return private_copy(FIXTURES, tmp_path / "v0.1.0")


def _sx(world: Path, home: str, *args: str) -> tuple[int, str]:
    """Exit code, and stdout then stderr (notes go to stderr)."""
    passphrase = ["--passphrase-file", str(world.parent / "pass")]
    result = run_cli([*args, *passphrase], home=world / home, env=NEXT_DAY)
    return result.code, result.stdout + result.stderr


def test_v010_artifacts_verify_without_a_key(world: Path) -> None:
    folders = [str(world / name) for name in ("exports", "returns", "keyring")]
    card = str(world / "keyring" / "root.card.json")
    result = run_cli(["audit", "verify", *folders, "--agency-key", card, "--json"])
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    kinds = sorted(a["type"] for a in report["artifacts"])
    assert kinds.count("package") == 3 and kinds.count("return") == 4
    assert all(a["result"] == "ok" and not a["failures"] for a in report["artifacts"])


def test_the_v010_agency_home_imports_the_v010_returns(world: Path) -> None:
    returns = sorted(str(p) for p in (world / "returns").iterdir())
    code, out = _sx(world, "agency", "agency", "import-return", *returns)
    assert code == 0
    assert out.count(" yes ") == 4


def test_a_v010_staff_home_reimports_opens_and_shows_its_status(world: Path) -> None:
    package = next((world / "exports").glob("11002-*.sxpkg"))
    code, out = _sx(world, "staff-11002-jan-claes", "municipality", "import", str(package))
    assert code == 0 and "already imported" in out
    code, out = _sx(world, "staff-11002-jan-claes", "municipality", "open")
    assert code == 0 and ".xlsx" in out
    peeters = world / "staff-11002-an-peeters"
    result = run_cli(["municipality", "status", "--json"], home=peeters, env=NEXT_DAY)
    assert result.code == 0
    assert [p["records"] for p in json.loads(result.stdout)["packages"]] == [4]


def test_a_v010_staff_home_shreds_at_the_end_of_the_protocol(world: Path) -> None:
    home = world / "staff-44021-sofie-maes"
    after = {"SECUREXCHANGE_NOW": "2043-01-02T00:00:00Z"}
    assert run_cli(["municipality", "shred"], home=home, env=after).code == 0
    result = run_cli(["municipality", "status", "--json"], home=home, env=after)
    assert result.code == 0
    assert all(p["records"] == 0 for p in json.loads(result.stdout)["packages"])
