"""Making a file undeletable for real: ``chattr +i`` (tests run as root, where chmod
cannot stop an unlink). Skips, saying why, where the filesystem has no such flag."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _chattr(flag: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True, check=False)


def make_immutable(path: Path) -> None:
    """``chattr +i path``, or skip the test with the reason."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed: cannot make a file undeletable")
    done = _chattr("+i", path)
    if done.returncode != 0:
        pytest.skip(f"this filesystem has no immutable flag: {done.stderr.strip()}")


def make_mutable(path: Path) -> None:
    _chattr("-i", path)


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """``path`` cannot be removed or written while inside (and is released after)."""
    make_immutable(path)
    try:
        yield
    finally:
        make_mutable(path)
