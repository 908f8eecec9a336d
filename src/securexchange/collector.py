"""Python's cyclic garbage collector: paused while many objects without cycles are
built, and tuned for a process that runs one command.

Intake and export build hundreds of thousands of small frozen objects (rows of text,
dates and tuples) that hold no reference cycle; the collector would scan them again and
again as they grow. Paused, nothing is lost: reference counting still frees what is not
kept, and the collector runs again as it was once the block ends. A command's process
runs it less often (:func:`for_a_command`); a server goes back to the interpreter's
thresholds (:func:`for_a_server`).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block, then enabled again if it was (nesting is safe)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def unfreezing(work: Callable[P, R]) -> Callable[P, R]:
    """``work`` that may ``gc.freeze()`` what it built: whatever it froze goes back to
    the collector when it returns or raises."""

    @functools.wraps(work)
    def unfrozen_after(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return work(*args, **kwargs)
        finally:
            gc.unfreeze()

    return unfrozen_after


# One command's process: the collector every 100,000 new container objects instead of
# every 700 (as mypy does). Importing a command's modules and building its rows
# allocate hundreds of thousands of objects without cycles; at the default the
# collector ran 100-130 times per command (12-27 ms). Cyclic garbage still goes, later.
COMMAND_THRESHOLDS = (100_000, 20, 20)
# The interpreter's own, as this module found them (before any command set its own).
PYTHON_THRESHOLDS = gc.get_threshold()


def for_a_command() -> None:
    """Set the collector's thresholds for one command's process (the process's entry
    point only: not for code that imports the CLI into a process of its own)."""
    gc.set_threshold(*COMMAND_THRESHOLDS)


def for_a_server() -> None:
    """The interpreter's thresholds again, for a process that serves for long (the
    gemeente-app): cyclic garbage, which may hold decrypted rows, goes as soon as
    Python would collect it."""
    gc.set_threshold(*PYTHON_THRESHOLDS)
