"""Bytes computed in a forked child (aside.py): the same bytes as computing them here,
whatever happens to the child, and no child outlives its block."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from securexchange.aside import aside, can_fork

PARENT = os.getpid()
needs_fork = pytest.mark.skipif(not can_fork(), reason="forks only on Linux, one thread")


def _pid() -> bytes:
    return str(os.getpid()).encode()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@needs_fork
def test_the_result_is_computed_in_a_child_while_the_caller_goes_on() -> None:
    big = os.urandom(3 << 20)  # more than a pipe holds: the child blocks until read
    with aside(lambda: _pid() + b":" + big) as pending:
        child = pending._child
        assert child is not None and child != PARENT
        pid, _, data = pending.result().partition(b":")
    assert int(pid) == child and data == big
    assert _gone(child)


def test_with_another_thread_running_the_caller_computes_it() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not can_fork()
        with aside(_pid) as pending:
            assert pending.result() == _pid()
    finally:
        stop.set()
        other.join()


@needs_fork
def test_a_compute_that_raises_raises_in_the_caller() -> None:
    def refuse() -> bytes:
        raise ValueError("no workbook")

    with aside(refuse) as pending, pytest.raises(ValueError, match="no workbook"):
        pending.result()


@needs_fork
def test_a_child_killed_midway_is_replaced_by_computing_here() -> None:
    def dies_in_the_child() -> bytes:
        if os.getpid() != PARENT:
            os.kill(os.getpid(), signal.SIGKILL)
        return b"computed here"

    with aside(dies_in_the_child) as pending:
        assert pending.result() == b"computed here"


@needs_fork
def test_leaving_the_block_without_the_result_kills_and_reaps_the_child() -> None:
    started = time.monotonic()
    with pytest.raises(RuntimeError), aside(lambda: time.sleep(60) or b"late") as pending:
        child = pending._child
        raise RuntimeError("registration failed")
    assert child is not None and _gone(child)
    assert time.monotonic() - started < 30


def _script(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


# Ctrl-C reaching the child in the instant after the fork, before it is inside its
# ``try``: a real SIGINT, raised in the child at the first line aside.py runs after the
# fork (a trace function is how a test can pick that instant).
_CTRL_C_AFTER_THE_FORK = """
import os, signal, sys
from securexchange import aside as module
from securexchange.aside import aside

PARENT = os.getpid()
sent = []

def local(frame, event, arg):
    if event == "line" and os.getpid() != PARENT and not sent:
        sent.append(True)
        signal.raise_signal(signal.SIGINT)
    return local

def traced(frame, event, arg):
    return local if frame.f_code.co_filename == module.__file__ else None

sys.settrace(traced)
try:
    with aside(lambda: b"rendered") as pending:
        data = pending.result()
    sys.settrace(None)
    print("result", data.decode(), flush=True)
except KeyboardInterrupt:
    # The caller's own handler: in a command, the home's lock released (flock: for the
    # parent too), "interrupted" printed, the exit handlers run.
    print("the caller's code ran in the", "parent" if os.getpid() == PARENT else "child")
"""


@needs_fork
def test_ctrl_c_right_after_the_fork_never_runs_the_callers_code_in_the_child(
    tmp_path: Path,
) -> None:
    done = _script(_CTRL_C_AFTER_THE_FORK, tmp_path)
    assert done.stdout.splitlines() == ["result rendered"], done.stderr


@needs_fork
def test_the_caller_interrupted_while_it_waits_does_not_wait_for_the_child() -> None:
    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    def slow_in_the_child() -> bytes:
        if os.getpid() != PARENT:
            time.sleep(40)
        return b"late"

    before = signal.signal(signal.SIGALRM, interrupt)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt), aside(slow_in_the_child) as pending:
            child = pending._child
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            pending.result()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
    assert child is not None and _gone(child)
    assert time.monotonic() - started < 20


_GARBAGE_IN_THE_CHILD = """
import gc, os
from securexchange.aside import aside

class Buffered:
    # Cyclic garbage whose finalizer writes, as a buffered file's does when it is
    # collected with bytes still in its buffer.
    def __init__(self):
        self.me = self
    def __del__(self):
        with open("written", "a") as out:
            out.write(f"{os.getpid()}\\n")

gc.collect()
gc.disable()
Buffered()
gc.enable()
with aside(lambda: bytes(len([[] for _ in range(200_000)]) % 7)) as pending:
    pending.result()
gc.collect()
print(os.getpid())
"""


@needs_fork
def test_no_finalizer_of_the_callers_garbage_runs_in_the_child(tmp_path: Path) -> None:
    done = _script(_GARBAGE_IN_THE_CHILD, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "written").read_text() == done.stdout


_NO_PROCESS_TO_BE_HAD = """
import os, resource
from securexchange.aside import aside

resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
before = sorted(os.listdir("/proc/self/fd"))
with aside(lambda: b"computed here") as pending:
    print(pending.result().decode())
assert sorted(os.listdir("/proc/self/fd")) == before
"""


@needs_fork
@pytest.mark.skipif(os.geteuid() == 0, reason="root is not held to RLIMIT_NPROC")
def test_when_no_child_can_be_made_the_caller_computes_and_no_pipe_is_left(
    tmp_path: Path,
) -> None:
    done = _script(_NO_PROCESS_TO_BE_HAD, tmp_path)
    assert (done.returncode, done.stdout) == (0, "computed here\n"), done.stderr
