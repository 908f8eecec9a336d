"""The process leaves without the interpreter's teardown, and loses nothing by it."""

from __future__ import annotations

import gc
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


def _entry(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "securexchange", "--lang", "en", *args],
        capture_output=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )


def test_the_entry_point_exits_with_the_commands_status_and_output() -> None:
    ok = _entry("--version")
    assert ok.returncode == 0
    assert ok.stdout.startswith(b"securexchange")
    refused = _entry("no-such-command")
    assert refused.returncode == 2
    assert refused.stderr.startswith(b"error: ")


def test_a_command_s_process_runs_the_collector_less_often(tmp_path: Path) -> None:
    """The entry point sets the collector's thresholds for one command (collector.py);
    code that imports the CLI into its own process keeps its own."""
    done = _python(
        "import atexit, gc, sys\n"
        "before = gc.get_threshold()\n"
        "import securexchange.cli.main\n"
        "assert gc.get_threshold() == before\n"
        "from securexchange.__main__ import run\n"
        "atexit.register(lambda: sys.stderr.write(repr(gc.get_threshold())))\n"
        "sys.argv = ['securexchange', '--version']\n"
        "run()\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode() == repr(COMMAND_THRESHOLDS)


# How a process may find its standard streams: closed before it started (a scheduler
# that runs it without them: Python makes them None), or a pipe whose reader is gone.
_STREAMS = {
    "stdout closed": "os.close(1)",
    "stderr closed": "os.close(2)",
    "stdout broken": "r, w = os.pipe(); os.dup2(w, 1); os.close(r); os.close(w)",
}
_EXITS = {
    "leave": "from securexchange.cli.leaving import leave\nleave({code!r})\n",
    "sys.exit": "sys.exit({code!r})\n",
}


def _exit_with(streams: str, code: str | int, how: str, tmp_path: Path) -> tuple[int, bytes]:
    """The status and stderr of a process whose streams are as ``streams`` says when it
    starts, that writes a line to stdout and exits by ``how``."""
    script = (
        "import os, sys\n"
        f"{_STREAMS[streams]}\n"
        "os.execv(sys.executable, [sys.executable, '-c', sys.argv[1]])\n"
    )
    inner = "import sys\nif sys.stdout is not None: sys.stdout.write('a line\\n')\n"
    inner += _EXITS[how].format(code=code)
    env = cli_env()
    env.pop("PYTHONUNBUFFERED", None)  # the line stays in the buffer until the exit
    done = subprocess.run(
        [sys.executable, "-c", script, inner],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stderr


@pytest.mark.parametrize("code", [0, 3, "no way"])
@pytest.mark.parametrize("streams", sorted(_STREAMS))
def test_leaving_without_a_stream_or_with_a_broken_one_ends_as_sys_exit_does(
    streams: str, code: str | int, tmp_path: Path
) -> None:
    """Same status, same messages: a scheduler that closes stdout sees the status of
    the command, not 1 and a traceback, and a message is printed once."""
    assert _exit_with(streams, code, "leave", tmp_path) == _exit_with(
        streams, code, "sys.exit", tmp_path
    )


def test_the_entry_point_run_without_stdout_exits_with_the_commands_status(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        ["/bin/sh", "-c", 'exec "$0" -m securexchange --lang en --version >&-', sys.executable],
        capture_output=True,
        cwd=tmp_path,
        env=cli_env(),
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, b"")


def test_a_server_goes_back_to_the_interpreter_s_collector() -> None:
    from securexchange.collector import PYTHON_THRESHOLDS, for_a_command, for_a_server

    before = gc.get_threshold()
    try:
        for_a_command()
        assert gc.get_threshold() == COMMAND_THRESHOLDS
        for_a_server()
        assert gc.get_threshold() == PYTHON_THRESHOLDS == (700, 10, 10)
    finally:
        gc.set_threshold(*before)
