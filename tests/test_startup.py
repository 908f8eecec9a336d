"""``securexchange --help`` and ``--version`` stay light: no heavy library is imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cli_helpers import cli_env, run_cli

HEAVY = (
    "openpyxl",
    "cryptography",
    "nacl",
    "faker",
    "python_calamine",
    "phonenumbers",
    "email_validator",
    "lxml",
)


def _imported_modules(*args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "securexchange", *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        check=True,
    )
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_help_imports_no_heavy_library() -> None:
    assert not _imported_modules("--help") & set(HEAVY)


def test_top_level_help_imports_no_command_module() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "securexchange", "--help"],
        capture_output=True,
        text=True,
        env=cli_env(),
        check=True,
    )
    assert "securexchange.cli.agency" not in proc.stderr
    assert "agency" in proc.stdout and "municipality" in proc.stdout


def test_every_group_help_imports_no_heavy_library() -> None:
    import click

    from securexchange.cli.main import cli

    for name in cli.list_commands(click.Context(cli)):
        assert not _imported_modules(name, "--help") & set(HEAVY), name


def test_version_prints_the_package_version() -> None:
    from securexchange import __version__

    result = run_cli(["--version"])
    assert result.code == 0
    assert __version__ in result.stdout


def test_english_help_leaves_out_what_only_commands_need() -> None:
    # Each was imported by ``--help`` before (benchmarks/startup.py, docs/benchmarks.md):
    # pathlib and json for the commands' state and output, shutil for the help width.
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "securexchange", "--lang", "en", "--help"],
        capture_output=True,
        text=True,
        env=cli_env(),
        check=True,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "Usage:" in proc.stdout
    left_out = {"pathlib", "json", "dataclasses", "shutil", "securexchange.cli.common"}
    assert names & left_out == set()


@pytest.mark.parametrize("columns", [None, "", "0", "-3", "wide", "40", "79", "200"])
@pytest.mark.parametrize("max_width", [None, 0, 60, 120])
def test_the_help_is_as_wide_as_click_would_make_it(
    monkeypatch: pytest.MonkeyPatch, columns: str | None, max_width: int | None
) -> None:
    import shutil

    import click

    from securexchange.cli.translated import FrameFormatter, terminal_columns

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns
    ours = FrameFormatter(max_width=max_width)
    assert ours.width == click.HelpFormatter(max_width=max_width).width
