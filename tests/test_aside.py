"""Bytes computed in a forked child (aside.py): the same bytes as computing them here,
whatever happens to the child, and no child outlives its block."""

from __future__ import annotations

import os
import signal
import threading
import time

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
