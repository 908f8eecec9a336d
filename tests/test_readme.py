"""The README's first command, exactly as written there, works on a fresh checkout.

The command (between ``<!-- demo-command -->`` and ``<!-- /demo-command -->``) is taken
with the same logic as ``.ci/readme_command.py demo`` and run literally by ``bash`` in a
temporary copy of the repository's tracked files (``git ls-files``), so it creates its
own ``.venv`` there and pip-installs the package: the real checkout's venv is untouched.
Takes about half a minute here (most of it pip).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cli_helpers import cli_env

REPO = Path(__file__).resolve().parents[1]


def readme_command(which: str) -> str:
    spec = importlib.util.spec_from_file_location(
        "readme_command", REPO / ".ci" / "readme_command.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.command(which))


def test_the_readme_commands_install_then_run_the_demo_and_the_tests() -> None:
    demo = readme_command("demo")
    assert demo.startswith("python3 -m venv .venv && ")
    assert demo.endswith("securexchange demo")
    assert " -m pytest -q" in readme_command("test")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is missing")
def test_the_readme_demo_command_runs_literally_in_a_fresh_copy(tmp_path: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    copy = tmp_path / "checkout"
    for name in filter(None, files):
        source = REPO / name.decode()
        if source.is_file():
            target = copy / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    assert not (copy / ".venv").exists()
    env = cli_env({"TMPDIR": str(tmp_path)})
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(
        ["bash", "-c", readme_command("demo")],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"^all \d+ steps ok", result.stdout, re.M), result.stdout
    assert (copy / ".venv" / "bin" / "securexchange").exists()
