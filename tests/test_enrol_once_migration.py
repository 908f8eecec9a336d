"""Homes, cards, keyrings and files made just before subkeys travelled without the root
key keep working after the upgrade (issue 19, item 8).

The fixtures (tests/fixtures/before-enrol-once, made by
tests/fixtures/make_enrol_once_fixtures.py with that code on a demo clock of 2040-01-01)
are a demo's homes after the agency imported the first returns: keyrings that list every
card's pre-issued subkeys, an export key with two coming periods, format-1 packages and
returns. This code then runs the data flow for a year and a quarter through the CLI,
past the end of every subkey those homes and keyrings held, with no ``keys rotate`` and
no root key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import CliResult, run_cli
from fixture_copies import private_copy

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "before-enrol-once"
STAFF = "staff-11002-jan-claes"
# A day after the fixtures, then past the end of the cards' subkeys (2040-10-01) and
# of the export key's as made then.
STEPS = (
    "2040-01-02T10:00:00Z",
    "2040-07-15T10:00:00Z",
    "2041-01-15T10:00:00Z",
    "2041-04-15T10:00:00Z",
)


@pytest.fixture
def world(tmp_path: Path) -> Path:
    return private_copy(FIXTURES, tmp_path / "before")


def _sx(world: Path, home: str, now: str, *args: str) -> CliResult:
    passphrase = ["--passphrase-file", str(world.parent / "pass")]
    result = run_cli([*args, *passphrase], home=world / home, env={"SECUREXCHANGE_NOW": now})
    assert result.code == 0, result.stderr
    return result


def _keyring_versions(world: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(world / "agency" / "state.sqlite3")
    try:
        return int(conn.execute("SELECT MAX(version) FROM agency_keyrings").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.slow
def test_homes_made_before_the_upgrade_keep_the_data_flow_for_a_year_without_root_key(
    world: Path,
) -> None:
    master = world / "master.xlsx"
    expect = run_cli(["sample", "--records", "6", "--nis", "11002", "--out", str(master)])
    assert expect.code == 0, expect.stderr
    versions = _keyring_versions(world)
    for number, now in enumerate(STEPS):
        out = world / f"exports-{number}"
        exported = _sx(
            world,
            "agency",
            now,
            "agency",
            "export",
            str(master),
            "--out",
            str(out),
            "--nis",
            "11002",
            "--json",
        )
        (package,) = json.loads(exported.stdout)["packages"]
        assert package["recipients"] == 2, exported.stdout
        for staff in ("staff-11002-jan-claes", "staff-11002-an-peeters"):
            _sx(world, staff, now, "municipality", "import", package["file"])
        # Jan returns whatever is pending (at least the subkeys his home pre-issued since
        # the last return); the agency applies it.
        returned = world / f"returns-{number}"
        _sx(world, STAFF, now, "municipality", "return", "--out", str(returned))
        files = sorted(str(p) for p in returned.glob("*.sxr"))
        if files:
            _sx(world, "agency", now, "agency", "import-return", *files)
        # An returns too, so the agency learns her new subkeys.
        returned_an = world / f"returns-an-{number}"
        _sx(
            world,
            "staff-11002-an-peeters",
            now,
            "municipality",
            "return",
            "--out",
            str(returned_an),
        )
        files = sorted(str(p) for p in returned_an.glob("*.sxr"))
        if files:
            _sx(world, "agency", now, "agency", "import-return", *files)
    assert _keyring_versions(world) == versions, "the root key signed a new keyring"
    # Every package and return, old and new, verifies without a key.
    folders = sorted(str(p) for p in world.iterdir() if p.name.startswith(("exports", "returns")))
    card = str(world / "keyring" / "root.card.json")
    verified = run_cli(["audit", "verify", *folders, "--agency-key", card, "--json"])
    assert verified.code == 0, verified.stdout + verified.stderr
