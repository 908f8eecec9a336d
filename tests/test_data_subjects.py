"""Data-subject requests at the agency (issue 20 part 3; GDPR art. 15-17, 19, 21).

``agency subject`` answers what was shared about one person; ``agency erase`` makes the
next packages to every municipality that received them carry an erasure instruction,
which the municipal client carries out at import. Both read the Klant-ID from stdin.
The tests start from copies of the demo's homes right after its second export and drive
the CLI as a subprocess.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

from demo_homes import copy_home, ok, snapshot_after, sx
from securexchange.artifacts.erasure_frame import frame, unframe
from securexchange.artifacts.package import PackageBody
from securexchange.errors import Malformed

ANTWERPEN = "11002"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's homes right after its second export (statuses and a resolved quality
    report came back from Antwerpen)."""
    return snapshot_after(tmp_path_factory.mktemp("subjects"), "export again")


def reported_person(agency: Path) -> tuple[str, str]:
    """(Klant-ID, record id) of the Antwerpen person with a data-quality report."""
    with sqlite3.connect(agency / "state.sqlite3") as db:
        row = db.execute(
            "SELECT r.client_id, r.record_id FROM agency_package_records r "
            "JOIN quality_reports q ON q.record_id = r.record_id LIMIT 1"
        ).fetchone()
    return str(row[0]), str(row[1])


def manifest_body(package: Path) -> dict[str, object]:
    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    return dict(manifest["body"])


def test_subject_access_lists_every_package_status_and_quality_report_of_one_person(
    demo: Path, tmp_path: Path
) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    client, record = reported_person(agency)
    done = ok("--home", str(agency), "agency", "subject", "--json", stdin=client + "\n")
    answer = json.loads(done.stdout)
    assert [(s["nis"], s["sequence"], s["record_id"]) for s in answer["shared"]] == [
        (ANTWERPEN, 1, record),
        (ANTWERPEN, 2, record),
    ]
    assert all(s["package"].startswith("pkg-") and s["file"] for s in answer["shared"])
    (report,) = answer["quality_reports"]
    assert report["outcome"] == "gecorrigeerd" and report["report"].startswith("qr-")
    assert answer["erasure"] is None

    out = tmp_path / "answers" / "inzage.xlsx"
    ok("--home", str(agency), "agency", "subject", "--out", str(out), stdin=client)
    assert out.stat().st_mode & 0o777 == 0o600
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["Gedeeld", "Statussen", "Meldingen kwaliteit", "Wissing"]
    cells = [c for row in book["Gedeeld"].iter_rows(values_only=True) for c in row]
    assert record in cells
    # The log says that an answer was given, and to whom nothing.
    log = (agency / "log.jsonl").read_text()
    assert '"subject-access"' in log and client not in log


def test_subject_access_takes_the_klant_id_from_stdin_only(demo: Path, tmp_path: Path) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    client, _record = reported_person(agency)
    done = sx("--home", str(agency), "agency", "subject", "--json", client)
    assert done.returncode == 2  # no argument takes it
    done = sx("--home", str(agency), "agency", "subject", "--json", stdin="not an id!\n")
    assert done.returncode != 0 and b"not an id" not in done.stderr
    done = sx("--home", str(agency), "agency", "subject", "--json", stdin="")
    assert done.returncode != 0


def test_erasure_travels_to_the_municipality_that_shreds_the_record_and_its_edits(
    demo: Path, tmp_path: Path
) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    staff = copy_home(demo, "staff-11002-jan-claes", tmp_path)
    client, record = reported_person(agency)
    # A status typed for the person, not yet returned: it must not travel back.
    ok("--home", str(staff), "municipality", "set-status", record, "toegeleid")

    done = ok(
        "--home", str(agency), "agency", "erase", "--reason", "objection", "--json", stdin=client
    )
    assert json.loads(done.stdout) == {
        "erased": 1,
        "already_erased": 0,
        "instructions": 1,
        "never_shared": 0,
    }
    again = ok(
        "--home", str(agency), "agency", "erase", "--reason", "objection", "--json", stdin=client
    )
    assert json.loads(again.stdout)["already_erased"] == 1

    out = tmp_path / "exports-3"
    master = str(demo / "demo-master.xlsx")
    done = ok(
        "--home",
        str(agency),
        "agency",
        "export",
        master,
        "--out",
        str(out),
        "--nis",
        ANTWERPEN,
        "--json",
    )
    (summary,) = json.loads(done.stdout)["packages"]
    # The master still holds the person: left out, and the instruction carried.
    assert summary["erased_rows"] == 1 and summary["erasures"] == 1
    (package,) = out.glob("*.sxpkg")
    body = manifest_body(package)
    assert body["erasures"] == 1
    assert record not in package.read_bytes().decode("latin-1")  # encrypted, never in clear

    card = str(demo / "keyring" / "root.card.json")
    ok(
        "audit",
        "verify",
        str(demo / "exports"),
        str(demo / "exports-2"),
        str(out),
        "--agency-key",
        card,
    )

    ok("--home", str(staff), "municipality", "import", str(package))
    log = (staff / "log.jsonl").read_text()
    (entry,) = [json.loads(line) for line in log.splitlines() if '"action":"erase"' in line]
    # The status not yet returned, and the quality report kept until its answer.
    assert entry["counts"]["instructions"] == 1 and entry["counts"]["edits"] == 2
    assert record not in log
    # Nothing left to return: the only pending edit was about the erased person.
    done = ok("--home", str(staff), "municipality", "return", "--out", str(tmp_path / "ret"))
    assert done.stdout == b""
    opened = ok("--home", str(staff), "municipality", "open")
    workbook = Path(opened.stdout.decode().strip())
    assert record.encode() not in workbook.read_bytes()
    assert record not in json.dumps(
        [
            c
            for row in openpyxl.load_workbook(workbook, read_only=True).active.iter_rows(
                values_only=True
            )
            for c in row
        ],
        default=str,
    )

    # The agency still answers the person truthfully, and names no Klant-ID it erased.
    answer = json.loads(
        ok("--home", str(agency), "agency", "subject", "--json", stdin=client).stdout
    )
    assert [s["sequence"] for s in answer["shared"]] == [1, 2]
    assert answer["erasure"]["reason"] == "objection"
    (instruction,) = answer["erasure"]["instructions"]
    assert instruction["first_carried_in"] == package.name.split("-", 2)[2].removesuffix(".sxpkg")
    with sqlite3.connect(agency / "state.sqlite3") as db:
        assert db.execute(
            "SELECT COUNT(*) FROM agency_package_records WHERE client_id = ?", (client,)
        ).fetchone() == (0,)
    assert client not in (agency / "log.jsonl").read_text()


def test_a_package_that_holds_a_record_it_asks_to_erase_is_refused(
    demo: Path, tmp_path: Path
) -> None:
    """An agency state edited to erase a record it still sends (no client erased)."""
    agency = copy_home(demo, "agency", tmp_path)
    staff = copy_home(demo, "staff-11002-jan-claes", tmp_path)
    client, record = reported_person(agency)
    with sqlite3.connect(agency / "state.sqlite3") as db:
        (party,) = db.execute(
            "SELECT party_id FROM agency_municipalities WHERE nis = ?", (ANTWERPEN,)
        ).fetchone()
        db.execute(
            "INSERT INTO agency_erased_clients VALUES ('x', 'objection', '2026-01-01T00:00:00Z')"
        )
        db.execute(
            "INSERT INTO agency_erasures (party_id, record_id, digest, held_until) "
            "VALUES (?, ?, 'x', '2099-01-01')",
            (party, record),
        )
    out = tmp_path / "exports-3"
    master = str(demo / "demo-master.xlsx")
    ok("--home", str(agency), "agency", "export", master, "--out", str(out), "--nis", ANTWERPEN)
    (package,) = out.glob("*.sxpkg")
    done = sx("--home", str(staff), "municipality", "import", str(package))
    assert done.returncode != 0 and b"SX-MALFORMED" in done.stderr
    assert b"asks to erase" in done.stderr
    assert client not in done.stderr.decode()


def test_the_erasure_frame_states_exactly_the_ids_the_manifest_counts() -> None:
    ids = ("R-AAAAAAAAAAAAAAAAAAAA", "R-BBBBBBBBBBBBBBBBBBBB")
    content = frame(ids, b"PK workbook")
    assert unframe(content, expected=2) == (ids, b"PK workbook")
    assert frame((), b"PK workbook") == b"PK workbook"
    for wrong in (1, 3, 0):
        with pytest.raises(Malformed):
            unframe(content, expected=wrong)
    with pytest.raises(Malformed):
        unframe(b"PK workbook", expected=1)
    unsorted = content.replace(
        b'"R-AAAAAAAAAAAAAAAAAAAA","R-BBBBBBBBBBBBBBBBBBBB"',
        b'"R-BBBBBBBBBBBBBBBBBBBB","R-AAAAAAAAAAAAAAAAAAAA"',
    )
    assert unsorted != content
    with pytest.raises(Malformed):
        unframe(unsorted, expected=2)
    with pytest.raises(ValueError):
        frame(("R-B", "R-A"), b"")


def test_a_body_with_erasures_needs_format_4_and_never_states_zero(demo: Path) -> None:
    (package,) = (demo / "exports-2").glob(f"{ANTWERPEN}-*.sxpkg")
    body = PackageBody.from_json(manifest_body(package))
    assert body.erasures == 0 and "erasures" not in body.to_json()
    carrying = replace(body, erasures=2)
    assert carrying.format_version == 4
    assert PackageBody.from_json(carrying.to_json()) == carrying
    with pytest.raises(Malformed):
        PackageBody.from_json({**body.to_json(), "erasures": 0})


# An audit hook that refuses to unlink workbooks, as Windows does while Excel holds the
# file: the real file system, one operation failing as it fails there.
HELD_OPEN = r"""
import os, sys
WRITE = os.O_WRONLY | os.O_RDWR
def hook(event, args):
    if not args or not str(args[0]).endswith(".xlsx"):
        return
    if event in ("os.remove", "os.unlink"):
        raise PermissionError(13, "held open by Excel")
    if event == "open" and isinstance(args[2], int) and args[2] & WRITE:
        raise PermissionError(13, "held open by Excel")
sys.addaudithook(hook)
from securexchange.cli.main import main
sys.argv = ["securexchange", *sys.argv[1:]]
main()
"""


def type_status(workbook: Path, record: str, status: str) -> None:
    from securexchange.schema import HEADER_ACTIVITY, HEADER_RECORD_ID
    from securexchange.sheets.layout import DATA_SHEET, FIRST_DATA_ROW, HEADERS

    book = openpyxl.load_workbook(workbook)
    sheet = book[DATA_SHEET]
    id_column = HEADERS.index(HEADER_RECORD_ID) + 1
    status_column = HEADERS.index(HEADER_ACTIVITY) + 1
    rows = [r for r in range(FIRST_DATA_ROW, sheet.max_row + 1)]
    (row,) = [r for r in rows if sheet.cell(r, id_column).value == record]
    sheet.cell(row, status_column).value = status
    book.save(workbook)


def erase_and_export(demo: Path, agency: Path, client: str, out: Path) -> Path:
    ok("--home", str(agency), "agency", "erase", "--reason", "objection", stdin=client)
    master = str(demo / "demo-master.xlsx")
    ok("--home", str(agency), "agency", "export", master, "--out", str(out), "--nis", ANTWERPEN)
    (package,) = out.glob("*.sxpkg")
    return package


def history_of(agency: Path, record: str) -> list[tuple[str, str]]:
    with sqlite3.connect(agency / "state.sqlite3") as db:
        rows = db.execute(
            "SELECT status, delta_id FROM ledger_history WHERE record_id = ?", (record,)
        ).fetchall()
    return [(str(s), str(d)) for s, d in rows]


def test_a_return_made_before_the_erasure_arrived_applies_without_the_erased_person(
    demo: Path, tmp_path: Path
) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    staff = copy_home(demo, "staff-11002-jan-claes", tmp_path)
    client, record = reported_person(agency)
    ok("--home", str(agency), "agency", "erase", "--reason", "objection", stdin=client)
    ok("--home", str(staff), "municipality", "set-status", record, "toegeleid")
    before = history_of(agency, record)
    ok("--home", str(staff), "municipality", "return", "--out", str(tmp_path / "ret"))
    (returned,) = (tmp_path / "ret").glob("*")
    done = ok("--home", str(agency), "agency", "import-return", str(returned), "--json")
    (result,) = json.loads(done.stdout)["returns"]
    assert result["applied"] and result["erased_dropped"] == 1 and result["statuses"] == 0
    assert history_of(agency, record) == before


def test_a_status_typed_for_an_erased_person_in_a_workbook_that_outlived_the_import_stays_home(
    demo: Path, tmp_path: Path
) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    staff = copy_home(demo, "staff-11002-jan-claes", tmp_path)
    client, record = reported_person(agency)
    opened = ok("--home", str(staff), "municipality", "open", "--out", str(tmp_path / "wb"))
    workbook = Path(opened.stdout.decode().strip())
    package = erase_and_export(demo, agency, client, tmp_path / "exports-3")
    script = tmp_path / "held_open.py"
    script.write_text(HELD_OPEN)
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--lang",
            "en",
            "--home",
            str(staff),
            "municipality",
            "import",
            str(package),
        ],
        capture_output=True,
        check=False,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert workbook.exists()  # Excel held it: the import could not remove it
    type_status(workbook, record, "toegeleid")
    done = ok("--home", str(staff), "municipality", "return", "--out", str(tmp_path / "ret"))
    assert done.stdout == b""  # nothing to return: the status typed for them stays home


def test_a_lost_pseudonym_key_is_refused_not_replaced_by_a_lookup(
    demo: Path, tmp_path: Path
) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    client, _record = reported_person(agency)
    (agency / "keys" / "pseudonym.key").unlink()
    done = sx("--home", str(agency), "agency", "subject", "--json", stdin=client)
    assert done.returncode != 0 and b"restore" in done.stderr
    assert not (agency / "keys" / "pseudonym.key").exists()
    done = sx("--home", str(agency), "agency", "erase", "--reason", "objection", stdin=client)
    assert done.returncode != 0 and not (agency / "keys" / "pseudonym.key").exists()


def test_erasing_an_id_no_package_carried_says_so(demo: Path, tmp_path: Path) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    client, _record = reported_person(agency)
    done = ok(
        "--home",
        str(agency),
        "agency",
        "erase",
        "--reason",
        "objection",
        "--json",
        stdin=client.lower(),
    )
    assert json.loads(done.stdout)["never_shared"] == 1
    assert b"in no package ever sent" in done.stderr
