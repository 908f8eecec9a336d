"""Hostile spreadsheets through the CLI: one error line, exit 2, nothing written."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import flows
from cli_helpers import assert_single_error, run_cli
from keys_helpers import EXPORT_PASS, passphrase_file

A = "11002"

_BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row>'
    b"</sheetData></worksheet>"
)


def _hostile_master(path: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"/>',
        )
        archive.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
        archive.writestr("xl/worksheets/sheet1.xml", _BILLION_LAUGHS)
    path.write_bytes(buffer.getvalue())
    return path


def test_a_hostile_master_is_refused_with_one_line_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    agency = tmp_path / "agency"
    flows.make_agency(agency)
    flows.register(agency, A, "Antwerpen")
    flows.add_staff(agency, tmp_path / "a", A)
    master = _hostile_master(tmp_path / "master.xlsx")
    out = tmp_path / "out"
    result = run_cli(
        [
            "agency",
            "export",
            str(master),
            "--out",
            str(out),
            "--passphrase-file",
            str(passphrase_file(tmp_path, "p", EXPORT_PASS)),
        ],
        home=agency,
    )
    assert_single_error(result, "SX-HOSTILE-FILE", 2)
    assert "lol" not in result.stderr
    assert not out.exists() or list(out.iterdir()) == []
