"""docs/cli.md lists every error with its exit code, and a test provokes each one."""

from __future__ import annotations

import re
from pathlib import Path

from cli_helpers import assert_single_error, run_cli
from securexchange.errors import all_error_classes

REPO = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| `(SX-[A-Z-]+)` \| (\d) \|", re.MULTILINE)

# Names no CLI test provokes yet, because the command that raises them has not landed.
# The last test keeps this set exact, so it shrinks as the commands arrive.
NOT_YET_PROVOKED: set[str] = set()


def _documented() -> dict[str, int]:
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    return {name: int(code) for name, code in ROW.findall(text)}


def test_docs_error_table_matches_the_code() -> None:
    in_code = {cls.name: int(cls.exit_code) for cls in all_error_classes()}
    assert _documented() == in_code


def test_unknown_command_is_a_usage_error() -> None:
    assert_single_error(run_cli(["no-such-command"]), "SX-USAGE", 2)


def test_unreadable_state_database_is_a_damaged_home_not_an_internal_error(tmp_path: Path) -> None:
    # Anyone with access to the home can overwrite it: a hostile input, not a bug.
    from securexchange.home.home import HomeKind, create_home

    home = tmp_path / "h"
    create_home(home, HomeKind.AGENCY, demo=False, env={})
    (home / "state.sqlite3").write_bytes(b"not a database" * 100)
    result = run_cli(["audit", "log"], home=home)
    assert_single_error(result, "SX-UNSAFE-HOME", 1)
    assert "damaged" in result.stderr


def test_every_documented_error_is_provoked_by_some_cli_test() -> None:
    # A name counts as provoked when it stands, as a literal, in a test module that
    # asserts CLI errors with assert_single_error (directly or through parametrize).
    provoked: set[str] = set()
    for path in (REPO / "tests").glob("test_*.py"):
        if path.name == Path(__file__).name:
            continue
        source = path.read_text(encoding="utf-8")
        if "assert_single_error(" in source:
            provoked.update(re.findall(r"\"(SX-[A-Z-]+)\"", source))
    missing = set(_documented()) - provoked
    assert missing == NOT_YET_PROVOKED


def _command_paths() -> list[str]:
    import click

    from securexchange.cli.main import cli

    paths: list[str] = []

    ctx = click.Context(cli)

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, [*path, name])
        else:
            paths.append(" ".join(path))

    walk(cli, ["securexchange"])
    return paths


def test_every_command_is_documented_in_the_cli_reference() -> None:
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    # A heading names one command, or two joined by " / " (the second without the
    # "securexchange" prefix); either way its words follow "securexchange " or "/ ".
    headings = " ".join(re.findall(r"^#{3,4} (.*)$", text, re.MULTILINE))
    missing = []
    for path in _command_paths():
        words = path.removeprefix("securexchange ")
        if not re.search(rf"(`securexchange |/ `?){re.escape(words)}( |`)", headings):
            missing.append(path)
    assert missing == []
