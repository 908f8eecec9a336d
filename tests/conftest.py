"""Shared test fixtures: where ../shared lives, and the real interop binaries."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SECUREXCHANGE_SHARED", REPO.parent / "shared"))


def require_binary(name: str) -> str:
    """The path of a real tool; skipped locally when missing, a failure in CI."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI (installed by .ci/run)")
        pytest.skip(f"{name} not installed")
    return path


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"../shared not found at {SHARED}")
    return SHARED


@pytest.fixture
def age_bin() -> str:
    return require_binary("age")


@pytest.fixture
def age_keygen_bin() -> str:
    return require_binary("age-keygen")


@pytest.fixture
def ssh_keygen_bin() -> str:
    return require_binary("ssh-keygen")
