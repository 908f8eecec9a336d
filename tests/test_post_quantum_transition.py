"""Issue 18: keys and workflows move to the hybrid post-quantum recipient type.

New homes get, per period, a hybrid (mlkem768x25519) subkey and a classic X25519
companion. A municipality whose recipients all hold a hybrid subkey gets hybrid-only
packages; one with a member who holds classic subkeys only (a home made before the
transition) gets classic-only packages, and the export names who holds it back. Data at
rest (the vault's data keys) and returns to a hybrid agency are hybrid. Real crypto
throughout, through the CLI where staff and officers would type it.
"""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from cli_helpers import enrol_demo_staff, expect_ok, init_demo_agency, run_cli
from keys_helpers import make_classic_staff
from securexchange import age
from securexchange.home.home import HomeKind, open_home
from securexchange.municipality import subkeys

NIS = "11002"
HYBRID = "mlkem768x25519"


def _stanza_types(data: bytes) -> list[str]:
    return [s.type for s in age.parse_header(data).stanzas]


def _payload(package: Path) -> bytes:
    return zipfile.ZipFile(io.BytesIO(package.read_bytes())).read("payload.age")


def _export(tmp: Path, agency: Path) -> tuple[dict[str, object], Path, str]:
    """``agency export`` of an 8-record master: (its --json, the package, stderr)."""
    master = tmp / "master.xlsx"
    if not master.exists():
        expect_ok(
            run_cli(["sample", "--records", "8", "--nis", NIS, "--seed", "4", "--out", str(master)])
        )
    out = tmp / "exports"
    result = expect_ok(
        run_cli(["agency", "export", str(master), "--out", str(out), "--json"], home=agency)
    )
    document = json.loads(result.stdout)
    (package,) = document["packages"]
    return package, Path(str(package["file"])), result.stderr


def _enrol_classic(tmp: Path, agency: Path, name: str) -> tuple[Path, str]:
    """A demo staff home as made before the transition (classic subkeys only), authorised."""
    home = tmp / name
    made = make_classic_staff(home, agency, nis=NIS, name=name, demo=True)
    fingerprint = made.fingerprint.display
    add = ["agency", "recipient", "add", "--nis", NIS, "--fingerprint", fingerprint]
    expect_ok(run_cli([*add, str(made.card)], home=agency))
    return home, fingerprint


@pytest.fixture
def agency(tmp_path: Path) -> Path:
    home = tmp_path / "agency"
    init_demo_agency(home, NIS, "Antwerpen")
    return home


def test_a_new_home_holds_a_hybrid_subkey_and_its_classic_companion(
    agency: Path, tmp_path: Path
) -> None:
    an, _ = enrol_demo_staff(tmp_path, agency, "An", nis=NIS)
    with open_home(an, env={}, expect=HomeKind.MUNICIPALITY) as home:
        held = subkeys.listed(home)
        current = subkeys.current_recipient(home)
    assert sorted(subkeys.post_quantum(s.recipient) for s in held) == [False, True]
    assert len({(s.valid_from, s.valid_until) for s in held}) == 1  # one period
    assert current is not None and subkeys.post_quantum(current)
    # Subkey files are named by a hash of the recipient: ~1,960 characters still give a
    # short name, as a classic recipient does.
    assert all(len(s.file) == len("sk-0123456789abcdef.key") for s in held)


def test_an_all_hybrid_municipality_gets_a_hybrid_only_package_that_imports_and_opens(
    agency: Path, tmp_path: Path
) -> None:
    an, _ = enrol_demo_staff(tmp_path, agency, "An", nis=NIS)
    bart, _ = enrol_demo_staff(tmp_path, agency, "Bart", nis=NIS)
    summary, package, stderr = _export(tmp_path, agency)
    assert summary["post_quantum"] is True and summary["held_back_by"] == []
    assert "classic only" not in stderr
    assert _stanza_types(_payload(package)) == [HYBRID, HYBRID]
    for home in (an, bart):
        expect_ok(run_cli(["municipality", "import", str(package)], home=home))
        workbook = Path(expect_ok(run_cli(["municipality", "open"], home=home)).stdout.strip())
        assert workbook.is_file()

    # Data at rest: the vault's data key is wrapped in a hybrid stanza, to the hybrid
    # subkey valid now.
    conn = sqlite3.connect(an / "state.sqlite3")
    try:
        rows = conn.execute("SELECT subkey, wrapped FROM vault_data_keys").fetchall()
    finally:
        conn.close()
    assert rows
    for recipient, wrapped in rows:
        assert subkeys.post_quantum(str(recipient))
        assert _stanza_types(bytes(wrapped)) == [HYBRID]

    # A return to an agency whose export key is hybrid is hybrid only, and imports.
    returns = tmp_path / "returns"
    _set_any_status(an)
    delta = Path(
        expect_ok(
            run_cli(["municipality", "return", "--out", str(returns)], home=an)
        ).stdout.strip()
    )
    assert _stanza_types(zipfile.ZipFile(delta).read("payload.age")) == [HYBRID]
    expect_ok(run_cli(["agency", "import-return", str(delta)], home=agency))


def _set_any_status(staff: Path) -> None:
    """Type a status in the first row of the staff member's workbook, as Excel saves it."""
    import openpyxl

    from securexchange.schema import HEADER_RECORD_ID
    from securexchange.sheets.layout import DATA_SHEET, FIRST_DATA_ROW, HEADERS

    workbook = Path(expect_ok(run_cli(["municipality", "open"], home=staff)).stdout.strip())
    book = openpyxl.load_workbook(workbook)
    sheet = book[DATA_SHEET]
    record = str(sheet.cell(FIRST_DATA_ROW, HEADERS.index(HEADER_RECORD_ID) + 1).value)
    book.close()
    expect_ok(run_cli(["municipality", "set-status", record, "toegeleid"], home=staff))


def test_a_member_with_classic_subkeys_only_keeps_the_package_classic_and_is_named(
    agency: Path, tmp_path: Path
) -> None:
    an, _ = enrol_demo_staff(tmp_path, agency, "An", nis=NIS)
    old, old_fp = _enrol_classic(tmp_path, agency, "Oude Thuis")
    summary, package, stderr = _export(tmp_path, agency)
    assert summary["post_quantum"] is False
    assert summary["held_back_by"] == [{"name": "Oude Thuis", "fingerprint": old_fp}]
    assert "classic only" in stderr and "Oude Thuis" in stderr and old_fp in stderr
    # Classic only: An's classic companion and the old home's classic subkey.
    assert _stanza_types(_payload(package)) == ["X25519", "X25519"]
    for home in (an, old):
        expect_ok(run_cli(["municipality", "import", str(package)], home=home))
    # An's vault moves the data key to her hybrid subkey all the same.
    conn = sqlite3.connect(an / "state.sqlite3")
    try:
        (wrapped,) = conn.execute("SELECT wrapped FROM vault_data_keys").fetchone()
    finally:
        conn.close()
    assert _stanza_types(bytes(wrapped)) == [HYBRID]

    # One 'keys rotate' makes the old home hybrid; with its new card the next package
    # is hybrid only.
    expect_ok(run_cli(["keys", "rotate"], home=old))
    card = str(old / "keys" / "identity.card.json")
    add = ["agency", "recipient", "add", "--nis", NIS, "--fingerprint", old_fp, card]
    expect_ok(run_cli(add, home=agency))
    summary, package, _ = _export(tmp_path, agency)
    assert summary["post_quantum"] is True
    assert _stanza_types(_payload(package)) == [HYBRID, HYBRID]
    expect_ok(run_cli(["municipality", "import", str(package)], home=old))
