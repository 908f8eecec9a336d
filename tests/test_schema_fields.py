"""A new whitelist field is one entry in schema.py: proven on a copy of the package with one.

The copy's ``SHARED_FIELDS`` gains a field (a second phone number, with the phone
normaliser and check and its own column width) and nothing else changes. In that copy,
synthetic masters carry the column, intake normalises it, the package and staff
workbooks show it at its width with its own quality column, the package reader and the
vault read it back, and the whole demo (export, import, open, edit, return, audit) runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cli_helpers import cli_env

SRC = Path(__file__).resolve().parents[1] / "src" / "securexchange"

# The one entry: inserted into SHARED_FIELDS right after E-mail.
NEW_FIELD = (
    "    FieldSpec(\n"
    '        "tweede_telefoon",\n'
    '        "Tweede telefoon",\n'
    "        False,\n"
    "        16,\n"
    "        width=17,\n"
    "        normalise=normalise.phone,\n"
    "        check=_e164_problem,\n"
    '        example="0470 98 76 54",\n'
    "    ),\n"
)

DRIVER = textwrap.dedent(
    """
    import hashlib, json, sys
    from datetime import date
    from pathlib import Path

    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    from securexchange import schema
    from securexchange.ids import record_id_from_digest
    from securexchange.intake.master import read_master
    from securexchange.intake.sample import generate_master, write_master
    from securexchange.municipality.sealing import decode_row, encode_row
    from securexchange.sheets.layout import WorkbookMeta, WorkbookRow
    from securexchange.sheets.package_read import read_package_rows
    from securexchange.sheets.workbook import write_package_workbook, write_workbook

    out = Path(sys.argv[1])
    rows = generate_master(12, nis=["11002"], seed=4)
    write_master(rows, out / "master.xlsx")
    intake = read_master(out / "master.xlsx")
    spec = next(s for s in schema.SHARED_FIELDS if s.key == "tweede_telefoon")
    book_rows = [
        WorkbookRow(
            record_id=record_id_from_digest(hashlib.sha256(bytes([i])).digest()),
            record=row.record,
            retention=date(2027, 6, 1),
            status="gestart",
        )
        for i, row in enumerate(intake.rows)
    ]
    meta = WorkbookMeta(
        package_id="pkg-" + "a" * 26,
        nis="11002",
        municipality="Antwerpen",
        destroy_by=date(2027, 3, 1),
        demo=True,
    )
    package = write_package_workbook(book_rows, meta)
    (out / "staff.xlsx").write_bytes(write_workbook(book_rows, meta))
    read_back = read_package_rows(package, records=len(book_rows))
    vaulted = [decode_row(encode_row(row)) for row in read_back]

    def columns(path):
        sheet = load_workbook(path).worksheets[0]
        header_row = next(
            r for r in sheet.iter_rows(values_only=True) if "Naam" in (r or ())
        )
        headers = [h for h in header_row]
        index = headers.index(spec.header)
        letter = get_column_letter(index + 1)
        return headers, sheet.column_dimensions[letter].width

    (out / "package.xlsx").write_bytes(package)
    package_headers, package_width = columns(out / "package.xlsx")
    staff_headers, staff_width = columns(out / "staff.xlsx")
    print(json.dumps({
        "master_header": list(rows[0]),
        "master_raw": sorted({str(r[list(rows[0]).index(spec.header)]) for r in rows[1:]}),
        "intake_values": sorted({r.record.text(spec) for r in intake.rows}),
        "package_headers": package_headers,
        "package_width": package_width,
        "staff_headers": staff_headers,
        "staff_width": staff_width,
        "read_back_equal": [r.record for r in read_back] == [r.record for r in book_rows],
        "vault_equal": [r.record for r in vaulted] == [r.record for r in book_rows],
    }))
    """
)


@pytest.fixture(scope="module")
def package_with_a_new_field(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package whose schema.py has exactly one entry more."""
    root = tmp_path_factory.mktemp("fixture-schema")
    copy = root / "src" / "securexchange"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    schema_py = copy / "schema.py"
    text = schema_py.read_text(encoding="utf-8")
    anchor = "    EMAIL,\n    CONTACTTAAL,\n"
    assert text.count(anchor) == 1, "SHARED_FIELDS no longer lists EMAIL then CONTACTTAAL"
    schema_py.write_text(
        text.replace(anchor, "    EMAIL,\n" + NEW_FIELD + "    CONTACTTAAL,\n"), encoding="utf-8"
    )
    return root / "src"


def _run(src: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = cli_env({"PYTHONPATH": str(src)})
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_the_fixture_copy_is_the_one_imported(
    package_with_a_new_field: Path, tmp_path: Path
) -> None:
    code = "import securexchange.schema as s; print(s.__file__, len(s.SHARED_FIELDS))"
    result = _run(package_with_a_new_field, "-c", code, cwd=tmp_path)
    where, count = result.stdout.split()
    assert Path(where).is_relative_to(package_with_a_new_field)
    assert int(count) == 12


def test_one_new_entry_is_carried_by_intake_workbooks_package_reader_and_vault(
    package_with_a_new_field: Path, tmp_path: Path
) -> None:
    result = _run(package_with_a_new_field, "-c", DRIVER, str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout)
    header = seen["master_header"]
    assert header.index("Tweede telefoon") == header.index("E-mail") + 1
    assert seen["master_raw"] == ["0470 98 76 54"]  # the spec's example, as typed
    assert seen["intake_values"] == ["+32470987654"]  # its normaliser ran
    for layout in ("package", "staff"):
        assert "Tweede telefoon" in seen[f"{layout}_headers"]
        assert seen[f"{layout}_width"] == 17
    assert "Melding Tweede telefoon" in seen["staff_headers"]  # reportable, art. 7
    assert seen["read_back_equal"] and seen["vault_equal"]


@pytest.mark.slow
def test_the_whole_demo_runs_with_the_new_field(
    package_with_a_new_field: Path, tmp_path: Path
) -> None:
    result = _run(
        package_with_a_new_field,
        "-m",
        "securexchange",
        "demo",
        "--dir",
        str(tmp_path / "d"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "all 24 steps ok" in result.stdout


def test_the_new_field_is_checked_in_a_package_like_every_other(
    package_with_a_new_field: Path, tmp_path: Path
) -> None:
    code = textwrap.dedent(
        """
        from securexchange.schema import FieldError, Record, SHARED_FIELDS
        values = {s.key: "" for s in SHARED_FIELDS}
        values.update(naam="Haddad", voornaam="Omar", contacttaal="Arabisch",
                      niveau_nederlands="A2", status_mo="lopend", interesses=("geen",))
        Record(**values)  # optional: may be empty
        for bad in ("0470 98 76 54", "=1+1", "+3247" + "1" * 20):
            try:
                Record(**{**values, "tweede_telefoon": bad})
            except FieldError as exc:
                assert exc.header == "Tweede telefoon" and bad not in str(exc), exc
            else:
                raise SystemExit("accepted " + repr(bad))
        print("ok")
        """
    )
    result = _run(package_with_a_new_field, "-c", code, cwd=tmp_path)
    assert result.stdout.strip() == "ok", result.stderr[-3000:]
