"""The process leaves without the interpreter's teardown, and loses nothing by it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import cli_env
from securexchange.cli.leaving import status_of
from securexchange.collector import COMMAND_THRESHOLDS


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        cwd=tmp_path,
        env=cli_env(),
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (3, 3), (True, 1), ("bye", 1)])
def test_the_status_is_the_one_sys_exit_gives(code: str | int | None, status: int) -> None:
    assert status_of(code) == status


def test_leaving_runs_the_exit_handlers_and_flushes_every_buffered_line(tmp_path: Path) -> None:
    done = _python(
        "import atexit, sys\n"
        "from securexchange.cli.leaving import leave\n"
        "atexit.register(lambda: open('handler-ran', 'w').close())\n"
        "sys.stdout.write('x' * 200_000 + '\\n')\n"  # more than a pipe's buffer
        "sys.stderr.write('on stderr\\n')\n"
        "leave(3)\n",
        tmp_path,
    )
    assert done.returncode == 3
    assert done.stdout == b"x" * 200_000 + b"\n"
    assert done.stderr == b"on stderr\n"
    assert (tmp_path / "handler-ran").exists()


def test_leaving_with_a_message_prints_it_and_fails_as_sys_exit_does(tmp_path: Path) -> None:
    done = _python("from securexchange.cli.leaving import leave\nleave('no way')\n", tmp_path)
    assert done.returncode == 1
    assert done.stderr == b"no way\n"


def test_leaving_waits_for_a_running_thread_that_is_not_a_daemon(tmp_path: Path) -> None:
    done = _python(
        "import threading, time\n"
        "from securexchange.cli.leaving import leave\n"
        "def late():\n"
        "    time.sleep(0.3)\n"
        "    open('thread-finished', 'w').close()\n"
        "threading.Thread(target=late).start()\n"
        "leave(0)\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "thread-finished").exists()


def test_the_entry_point_exits_with_the_commands_status_and_output(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "securexchange", "--lang", "en", "--version"],
        capture_output=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0
    assert ok.stdout.startswith(b"securexchange")
    refused = subprocess.run(
        [sys.executable, "-m", "securexchange", "--lang", "en", "no-such-command"],
        capture_output=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith(b"error: ")


def test_a_command_s_process_runs_the_collector_less_often(tmp_path: Path) -> None:
    """The entry point sets the collector's thresholds for one command (collector.py);
    code that imports the CLI into its own process keeps its own."""
    done = _python(
        "import atexit, gc, sys\n"
        "before = gc.get_threshold()\n"
        "from securexchange.cli.main import run\n"
        "assert gc.get_threshold() == before\n"
        "atexit.register(lambda: sys.stderr.write(repr(gc.get_threshold())))\n"
        "sys.argv = ['securexchange', '--version']\n"
        "run()\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode() == repr(COMMAND_THRESHOLDS)
