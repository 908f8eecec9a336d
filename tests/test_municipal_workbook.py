"""What staff type in a workbook ``open`` wrote survives shredding and new packages."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl

from municipal_flows import World, make_package, make_world, muni, person
from retention_helpers import immutable
from securexchange.schema import HEADER_ACTIVITY, HEADER_RECORD_ID
from securexchange.sheets.layout import DATA_SHEET, FIRST_DATA_ROW, HEADERS

T = date(2026, 12, 15)
LATER = date(2027, 2, 1)


def _type_status(path: Path, record_id: str, status: str) -> None:
    """Edit the status cell as Excel would save it (openpyxl, sheet protection kept)."""
    book = openpyxl.load_workbook(path)
    sheet = book[DATA_SHEET]
    id_col = HEADERS.index(HEADER_RECORD_ID) + 1
    status_col = HEADERS.index(HEADER_ACTIVITY) + 1
    for row in range(FIRST_DATA_ROW, sheet.max_row + 1):
        if sheet.cell(row, id_col).value == record_id:
            sheet.cell(row, status_col).value = status
            break
    else:
        raise AssertionError("record not in the workbook")
    book.save(path)


def _shown_status(path: Path, record_id: str) -> str:
    sheet = openpyxl.load_workbook(path, read_only=True)[DATA_SHEET]
    for row in sheet.iter_rows(min_row=FIRST_DATA_ROW, values_only=True):
        if row[HEADERS.index(HEADER_RECORD_ID)] == record_id:
            return str(row[HEADERS.index(HEADER_ACTIVITY)])
    raise AssertionError("record not in the workbook")


def _open(world: World, now: str | None = None) -> Path:
    result = muni(world, "open", now=now)
    assert result.code == 0, result.stderr
    return Path(result.stdout.strip())


def test_status_typed_in_a_workbook_survives_its_shredding_and_a_superseding_package(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    a, b = person(1, T), person(2, LATER)
    first = make_package(world, [a, b], sequence=1)
    assert muni(world, "import", str(first.path)).code == 0
    workbook = _open(world)
    _type_status(workbook, b.record_id, "gecontacteerd")

    # Past A's deadline, without any key: the workbook goes, what was typed is kept.
    assert muni(world, "shred", now="2026-12-16").code == 0
    assert not workbook.exists()
    second = make_package(world, [b], sequence=2, supersedes=first)
    assert muni(world, "import", str(second.path), now="2026-12-16").code == 0
    assert json.loads(muni(world, "status", "--json").stdout)["pending_edits"] == 1
    assert _shown_status(_open(world, now="2026-12-16"), b.record_id) == "gecontacteerd"


def test_status_typed_in_a_workbook_carries_over_when_a_newer_package_arrives(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    a, b = person(1, LATER), person(2, LATER)
    first = make_package(world, [a, b], sequence=1)
    assert muni(world, "import", str(first.path)).code == 0
    workbook = _open(world)
    _type_status(workbook, a.record_id, "toegeleid")
    second = make_package(world, [a, b], sequence=2, supersedes=first)
    assert muni(world, "import", str(second.path)).code == 0
    assert not workbook.exists()  # it showed the superseded package's rows
    fresh = _open(world)
    assert _shown_status(fresh, a.record_id) == "toegeleid"
    assert _shown_status(fresh, b.record_id) == "nog niet gecontacteerd"


def test_workbook_excel_holds_open_is_listed_and_retried(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    a = person(1, T)
    made = make_package(world, [a, person(2, LATER)])
    assert muni(world, "import", str(made.path)).code == 0
    workbook = _open(world)
    owner = workbook.with_name("~$" + workbook.name)
    owner.write_bytes(b"owner")
    # What Excel's open handle does on Windows: the file cannot be removed.
    with immutable(workbook):
        result = muni(world, "shred", now="2026-12-16")
        assert result.code == 0 and "could not be removed" in result.stderr
        books = json.loads(muni(world, "status", "--json").stdout)["workbooks"]
        assert [(w["state"], bool(w["problem"])) for w in books] == [("pending", True)]
    assert muni(world, "shred").code == 0
    assert not workbook.exists() and not owner.exists()
    books = json.loads(muni(world, "status", "--json").stdout)["workbooks"]
    assert [w["state"] for w in books] == ["harvested"]  # its cells wait for the key


def test_set_status_and_report_quality_refuse_values_outside_the_lists(tmp_path: Path) -> None:
    from cli_helpers import assert_single_error

    world = make_world(tmp_path)
    a = person(1, LATER)
    made = make_package(world, [a])
    assert muni(world, "import", str(made.path)).code == 0
    assert_single_error(muni(world, "set-status", a.record_id, "verhuisd"), "SX-USAGE", 2)
    assert_single_error(
        muni(world, "report-quality", a.record_id, "Rijksregisternummer", "foutief"),
        "SX-USAGE",
        2,
    )
    assert_single_error(
        muni(world, "set-status", "R-AAAAAAAAAAAAAAAAAAAA", "gecontacteerd"), "SX-NOT-FOUND", 2
    )
    assert muni(world, "report-quality", a.record_id, "telefoon", "Verouderd").code == 0
    assert muni(world, "set-status", a.record_id, "Gestart").code == 0
    assert json.loads(muni(world, "status", "--json").stdout)["pending_edits"] == 2


def test_open_refuses_while_the_clock_is_wound_back_but_shredding_still_runs(
    tmp_path: Path,
) -> None:
    from cli_helpers import assert_single_error

    world = make_world(tmp_path)
    a, b = person(1, T), person(2, LATER)
    made = make_package(world, [a, b])
    assert muni(world, "import", str(made.path)).code == 0
    assert muni(world, "shred", now="2026-12-20").code == 0  # the mark moves on
    # The system clock is now weeks behind the mark: open refuses ...
    assert_single_error(muni(world, "open"), "SX-CLOCK-BEHIND", 1)
    # ... and A, past its deadline by the home's clock, is gone all the same.
    status = json.loads(muni(world, "status", "--json").stdout)
    assert status["packages"][0]["records"] == 1


def test_open_refuses_a_stale_package_without_deleting_it(tmp_path: Path) -> None:
    from cli_helpers import assert_single_error

    world = make_world(tmp_path)
    made = make_package(world, [person(1, LATER)], import_days=5, valid_days=10)
    assert muni(world, "import", str(made.path)).code == 0
    later = "2026-12-20"
    assert_single_error(muni(world, "open", now=later), "SX-STALE", 1)
    status = json.loads(muni(world, "status", "--json", now=later).stdout)
    assert status["packages"][0]["records"] == 1 and status["packages"][0]["stale"]
