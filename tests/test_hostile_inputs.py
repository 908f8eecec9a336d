"""Hostile inputs that reached exit 3 or native code (issue 14, items 10 and 11).

Each test is named after its attack; each failed on the code before the fix.
"""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest

from cli_helpers import CliResult, assert_single_error, cli_env, run_cli
from municipal_flows import make_package, make_world, muni, person
from securexchange import strictjson
from securexchange.artifacts import zipstrict
from securexchange.artifacts.manifest import MANIFEST, MEMBER_ORDER
from securexchange.errors import HostileFile, Malformed
from securexchange.sheets.xlsxguard import XlsxLimits, check_xlsx

T = date(2030, 1, 1)


def _corrupt_deflate(data: bytes, member: str) -> bytes:
    """``data`` with the deflate stream of ``member`` made invalid (block type 3)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
    assert info.compress_type == zipfile.ZIP_DEFLATED
    raw = bytearray(data)
    name_len = int.from_bytes(raw[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_len = int.from_bytes(raw[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    raw[start] = 0xFF  # BFINAL=1, BTYPE=11: "invalid block type"
    return bytes(raw)


def _far_cell(data: bytes) -> bytes:
    """A workbook whose data sheet refers to the last cell Excel has (XFD1048576)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(
                    b"</sheetData>",
                    b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c>'
                    b"</row></sheetData>",
                )
            target.writestr(info, content)
    return out.getvalue()


def _limited_cli(args: list[str], home: Path, env: dict[str, str]) -> CliResult:
    """The CLI under a 1 GiB address-space cap (so a native over-allocation fails fast)."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    proc = subprocess.run(
        [sys.executable, "-m", "securexchange", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=cli_env(env),
        timeout=120,
        check=False,
        preexec_fn=cap,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def _master(tmp_path: Path) -> Path:
    from securexchange.intake.sample import generate_master, write_master

    master = tmp_path / "master.xlsx"
    write_master(generate_master(5, nis=["11002"]), master)
    return master


# --- item 11: the workbook inside a signed package -------------------------------------


def test_a_far_cell_reference_in_a_package_signed_with_a_stolen_export_key_is_refused(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T), person(2, T)], workbook=_far_cell)
    result = _limited_cli(["municipality", "import", str(made.path)], world.staff, {})
    assert_single_error(result, "SX-HOSTILE-FILE", 2)
    assert "Canaryname" not in result.stderr
    assert json.loads(muni(world, "status", "--json").stdout)["packages"] == []


# --- item 10: corrupt deflate streams ---------------------------------------------------


def test_a_corrupt_deflate_stream_in_a_master_is_a_hostile_file_not_exit_3(
    tmp_path: Path,
) -> None:
    master = _master(tmp_path)
    master.write_bytes(_corrupt_deflate(master.read_bytes(), "xl/workbook.xml"))
    agency = tmp_path / "agency"
    from keys_helpers import make_agency

    make_agency(agency, demo=True)
    result = run_cli(
        ["agency", "export", str(master), "--out", str(tmp_path / "out"), "--dry-run"],
        home=agency,
    )
    assert_single_error(result, "SX-HOSTILE-FILE", 2)


def test_the_guard_refuses_a_corrupt_deflate_stream_in_any_part_as_a_hostile_file(
    tmp_path: Path,
) -> None:
    master = _master(tmp_path)
    data = master.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        deflated = [i.filename for i in archive.infolist() if i.compress_type == 8]
    assert deflated
    for member in deflated:
        with pytest.raises(HostileFile):
            check_xlsx(_corrupt_deflate(data, member), XlsxLimits())


def test_a_corrupt_deflate_stream_in_an_opened_workbook_blocks_neither_import_nor_open(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    first = make_package(world, [person(1, T), person(2, T)], sequence=1)
    assert muni(world, "import", str(first.path)).code == 0
    opened = muni(world, "open")
    assert opened.code == 0, opened.stderr
    workbook = Path(opened.stdout.strip())
    workbook.write_bytes(_corrupt_deflate(workbook.read_bytes(), "xl/worksheets/sheet1.xml"))

    # A return would drop what was typed in it unseen: it says why it cannot read it.
    assert_single_error(muni(world, "return", "--out", str(tmp_path)), "SX-HOSTILE-FILE", 2)
    # Opening and importing go on; status says which workbook could not be read.
    again = muni(world, "open")
    assert again.code == 0, again.stderr
    status = json.loads(muni(world, "status", "--json").stdout)
    assert "damaged" in json.dumps(status)
    second = make_package(world, [person(1, T)], sequence=2, supersedes=first)
    imported = muni(world, "import", str(second.path))
    assert imported.code == 0, imported.stderr


# --- item 10: lone surrogate escapes ----------------------------------------------------


def test_strict_json_refuses_a_lone_surrogate_escape_in_a_value_or_a_key() -> None:
    for text in (b'{"a": "\\ud800"}', b'{"\\udfff": 1}', b'["x\\udc00y"]'):
        with pytest.raises(Malformed):
            strictjson.loads(text, what="t")
    assert strictjson.loads(b'["\\ud83d\\ude00"]', what="t") == ["\U0001f600"]


def test_a_lone_surrogate_in_a_cards_outer_field_is_malformed_for_init_and_recipient_add(
    tmp_path: Path,
) -> None:
    card = tmp_path / "card.json"
    card.write_bytes(b'{"card": "\\ud800", "signature": "x"}\n')
    result = run_cli(
        [
            "municipality",
            "init",
            "--nis",
            "11002",
            "--name",
            "X",
            "--role",
            "integratiebeambte",
            "--agency-key",
            str(card),
            "--demo",
        ],
        home=tmp_path / "new",
    )
    assert_single_error(result, "SX-MALFORMED", 1)
    world = make_world(tmp_path / "w")
    from municipal_flows import fingerprint

    result = run_cli(
        [
            "agency",
            "recipient",
            "add",
            "--nis",
            "11002",
            "--fingerprint",
            fingerprint(world.staff),
            str(card),
        ],
        home=world.agency,
    )
    assert_single_error(result, "SX-MALFORMED", 1)


def test_a_lone_surrogate_in_an_unsigned_manifest_is_malformed_for_import_and_audit(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T)])
    members = {m.name: m.data for m in zipstrict.read(made.data, MEMBER_ORDER)}
    manifest = members[MANIFEST]
    # A free-text field passes every field check; re-encoding it for the canonical-form
    # comparison was what failed (UnicodeEncodeError, exit 3).
    assert b'"name": "Antwerpen"' in manifest
    members[MANIFEST] = manifest.replace(b'"name": "Antwerpen"', b'"name": "Antwerpen\\ud800"')
    bad = tmp_path / "audit" / "bad.sxpkg"
    bad.parent.mkdir()
    bad.write_bytes(
        zipstrict.write([zipstrict.Member(n, members[n]) for n in MEMBER_ORDER if n in members])
    )
    assert_single_error(muni(world, "import", str(bad)), "SX-MALFORMED", 1)
    # The audit of a directory goes on past it: the good package is still verified.
    shutil.copyfile(made.path, bad.parent / "good.sxpkg")
    from securexchange.keys.keystore import ROOT_CARD

    root_card = world.agency / "keys" / ROOT_CARD
    result = run_cli(["audit", "verify", str(bad.parent), "--agency-key", str(root_card)])
    assert result.code == 1, result.stderr
    assert "SX-INTERNAL" not in result.stderr and "Traceback" not in result.stderr
    assert "1 of 2 artifacts verified" in result.stderr
    assert os.path.exists(bad)


def test_the_spreadsheet_guard_given_a_fifo_or_dev_zero_refuses_at_once(tmp_path: Path) -> None:
    from hostile import run_limited

    fifo = tmp_path / "master.xlsx"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        child = run_limited(
            f"""
            from securexchange.errors import HostileFile
            from securexchange.sheets.xlsxguard import XlsxLimits, check_xlsx
            try:
                check_xlsx({str(path)!r}, XlsxLimits())
            except HostileFile as exc:
                print(exc.name)
            """,
            timeout=20,
        )
        assert child.stdout.strip() == "SX-HOSTILE-FILE", child.stderr


def test_an_open_out_folder_whose_name_is_not_utf8_is_a_usage_error_not_exit_3(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T)])
    assert muni(world, "import", str(made.path)).code == 0
    folder = os.fsdecode(bytes(tmp_path) + b"/dir\xff")
    os.mkdir(folder)
    assert_single_error(muni(world, "open", "--out", folder), "SX-USAGE", 2)
    opened = muni(world, "open")
    assert opened.code == 0, opened.stderr
