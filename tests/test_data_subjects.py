"""Data-subject requests at the agency (issue 20 part 3; GDPR art. 15-17, 19, 21).

``agency subject`` answers what was shared about one person; ``agency erase`` makes the
next packages to every municipality that received them carry an erasure instruction,
which the municipal client carries out at import. Both read the Klant-ID from stdin.
The tests start from copies of the demo's homes right after its second export and drive
the CLI as a subprocess.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

from securexchange.artifacts.erasure_frame import frame, unframe
from securexchange.artifacts.package import PackageBody
from securexchange.demo.run import run_demo
from securexchange.errors import Malformed

ANTWERPEN = "11002"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's homes right after its second export (statuses and a resolved quality
    report came back from Antwerpen)."""
    base = tmp_path_factory.mktemp("subjects")
    snapshot = base / "snapshot"
    for step in run_demo(base / "demo"):
        if step.name == "export again":
            shutil.copytree(base / "demo", snapshot, symlinks=True)
            break
    return snapshot


def sx(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "securexchange", "--lang", "en", *args],
        capture_output=True,
        check=False,
        timeout=180,
        input=None if stdin is None else stdin.encode(),
    )


def ok(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[bytes]:
    done = sx(*args, stdin=stdin)
    assert done.returncode == 0, done.stderr.decode()
    return done


def copy_home(demo: Path, name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(demo / name, target, symlinks=True)
    return target


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
    assert json.loads(done.stdout) == {"erased": 1, "already_erased": 0, "instructions": 1}
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
    assert entry["counts"]["instructions"] == 1 and entry["counts"]["edits"] == 1
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


def test_a_body_with_erasures_needs_format_3_and_never_states_zero(demo: Path) -> None:
    (package,) = (demo / "exports-2").glob(f"{ANTWERPEN}-*.sxpkg")
    body = PackageBody.from_json(manifest_body(package))
    assert body.erasures == 0 and "erasures" not in body.to_json()
    carrying = replace(body, erasures=2)
    assert carrying.format_version == 3
    assert PackageBody.from_json(carrying.to_json()) == carrying
    with pytest.raises(Malformed):
        PackageBody.from_json({**body.to_json(), "erasures": 0})
