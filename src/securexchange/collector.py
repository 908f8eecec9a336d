"""Python's cyclic garbage collector paused while many objects without cycles are built.

Intake and export build hundreds of thousands of small frozen objects (rows of text,
dates and tuples) that hold no reference cycle; the collector would scan them again and
again as they grow. Paused, nothing is lost: reference counting still frees what is not
kept, and the collector runs again as it was once the block ends.
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
