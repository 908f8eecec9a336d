"""One ``--out`` rule for every command: a missing directory is created (mode 0700 when
it will hold personal data or a secret), an existing one is used as it is, and a path
that exists as something else is refused with SX-USAGE, never an internal error.

Before, ``agency export`` and ``agency keyring publish`` created a missing directory
while ``municipality open``/``return``, ``agency terminate`` and ``agency report``
refused it (SX-NOT-FOUND), ``sample`` with SX-USAGE, and ``keys export --out`` failed
with SX-INTERNAL.
"""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

import pytest

from cli_helpers import (
    TERMINATION_GROUND,
    assert_single_error,
    expect_ok,
    init_demo_agency,
    run_cli,
)
from municipal_flows import World, make_package, make_world, muni, person
from securexchange.home.atomicio import output_dir

LATER = date(2030, 6, 30)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _missing(tmp_path: Path) -> Path:
    """A directory two levels below anything that exists."""
    return tmp_path / "not" / "yet"


@pytest.fixture
def municipal(tmp_path: Path) -> World:
    world = make_world(tmp_path)
    first = make_package(world, [person(1, LATER), person(2, LATER)], sequence=1)
    expect_ok(muni(world, "import", str(first.path)))
    return world


def test_municipality_open_creates_a_missing_out_dir_private_instead_of_refusing_it(
    tmp_path: Path, municipal: World
) -> None:
    target = _missing(tmp_path)
    opened = expect_ok(muni(municipal, "open", "--out", str(target)))
    workbook = Path(opened.stdout.strip())
    assert workbook.parent == target and workbook.is_file()
    assert _mode(target) == 0o700  # a plaintext workbook lives here


def test_municipality_return_creates_a_missing_out_dir_private_instead_of_refusing_it(
    tmp_path: Path, municipal: World
) -> None:
    expect_ok(muni(municipal, "set-status", person(1, LATER).record_id, "gecontacteerd"))
    target = _missing(tmp_path)
    made = expect_ok(muni(municipal, "return", "--out", str(target)))
    assert Path(made.stdout.strip()).parent == target
    assert _mode(target) == 0o700  # encrypted, but personal data all the same


def test_agency_terminate_and_report_create_a_missing_out_dir_instead_of_refusing_it(
    tmp_path: Path,
) -> None:
    agency = tmp_path / "agency"
    init_demo_agency(agency, "11002", "Antwerpen")
    notices = _missing(tmp_path) / "notices"
    done = expect_ok(
        run_cli(
            [
                *(
                    "agency",
                    "terminate",
                    *TERMINATION_GROUND,
                    "--nis",
                    "11002",
                    "--effective",
                    "2030-01-31",
                ),
                *("--out", str(notices)),
            ],
            home=agency,
        )
    )
    assert Path(done.stdout.strip()).parent == notices
    assert _mode(notices) == 0o755  # a notice names a protocol, no person
    report = tmp_path / "reports" / "deep" / "report.xlsx"
    expect_ok(run_cli(["agency", "report", "--out", str(report)], home=agency))
    assert report.is_file()
    assert _mode(report.parent) == 0o700  # statuses per client id


def test_agency_export_and_keyring_publish_create_their_out_dir_with_the_same_modes(
    tmp_path: Path,
) -> None:
    agency = tmp_path / "agency"
    init_demo_agency(agency, "11002", "Antwerpen")
    master = tmp_path / "master.xlsx"
    expect_ok(run_cli(["sample", "--records", "3", "--nis", "11002", "--out", str(master)]))
    keyring = _missing(tmp_path) / "keyring"
    expect_ok(run_cli(["agency", "keyring", "publish", "--out", str(keyring)], home=agency))
    assert _mode(keyring) == 0o755  # public keys, to be published
    exports = _missing(tmp_path) / "exports"
    result = run_cli(["agency", "export", str(master), "--out", str(exports)], home=agency)
    # No recipient registered yet: the municipality is skipped, the directory exists.
    assert result.code in (0, 1), result.stderr
    assert _mode(exports) == 0o700  # encrypted personal data


def test_sample_creates_the_missing_directory_of_its_out_file_instead_of_refusing_it(
    tmp_path: Path,
) -> None:
    out = _missing(tmp_path) / "master.xlsx"
    expect_ok(run_cli(["sample", "--records", "2", "--out", str(out)]))
    assert out.is_file()


def test_keys_export_to_a_missing_directory_is_no_internal_error(tmp_path: Path) -> None:
    agency = tmp_path / "agency"
    init_demo_agency(agency, "11002", "Antwerpen")
    card = _missing(tmp_path) / "root.card.json"
    expect_ok(run_cli(["keys", "export", "--card", "--out", str(card)], home=agency))
    assert card.is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["agency", "keyring", "publish", "--out", "{file}"],
        [
            "agency",
            "terminate",
            *TERMINATION_GROUND,
            "--nis",
            "11002",
            "--effective",
            "2030-01-31",
            "--out",
            "{file}",
        ],
        ["agency", "report", "--out", "{file}/report.xlsx"],
        ["keys", "export", "--card", "--out", "{file}/card.json"],
        ["sample", "--records", "2", "--out", "{file}/master.xlsx"],
    ],
)
def test_an_out_path_that_is_a_file_is_refused_as_usage_not_an_internal_error(
    tmp_path: Path, args: list[str]
) -> None:
    agency = tmp_path / "agency"
    init_demo_agency(agency, "11002", "Antwerpen")
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"x")
    argv = [a.replace("{file}", str(blocker)) for a in args]
    result = run_cli(argv, home=agency if args[0] != "sample" else None)
    assert_single_error(result, "SX-USAGE", 2)
    assert blocker.read_bytes() == b"x"


def test_an_existing_out_dir_keeps_its_mode_and_a_dangling_symlink_is_refused(
    tmp_path: Path,
) -> None:
    mine = tmp_path / "shared-folder"
    mine.mkdir(mode=0o750)
    mine.chmod(0o750)
    output_dir(mine, private=True)
    assert _mode(mine) == 0o750  # the user's directory, the user's choice
    dangling = tmp_path / "link"
    dangling.symlink_to(tmp_path / "nowhere")
    from securexchange.errors import UsageError

    with pytest.raises(UsageError):
        output_dir(dangling, private=True)
    assert not (tmp_path / "nowhere").exists()
