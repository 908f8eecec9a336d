"""A value that holds for one block, in this thread or task only (a ContextVar set and
reset): how the app hands a session's memories (derived keys, decrypted edits, verified
copies) to the library for one request without a parameter through every workflow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def scoped(variable: ContextVar[T | None], value: T) -> Iterator[None]:
    """Within the block, ``variable.get()`` is ``value``; afterwards what it was."""
    token = variable.set(value)
    try:
        yield
    finally:
        variable.reset(token)
