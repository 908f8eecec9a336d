"""Shared test fixtures: where the age test vectors live, the real interop binaries, and
a real headless Chromium for the browser tests (tests/browser.py).

Tests read nothing outside the repository: the vectors are committed under
tests/vectors/age (0BSD/CC0, see SOURCE.md there), and .ci/run runs the suite in a copy
of the checkout with no sibling folders.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from selenium.webdriver import Chrome as WebDriver

REPO = Path(__file__).resolve().parents[1]
AGE_VECTORS = REPO / "tests" / "vectors" / "age"


def require_binary(name: str) -> str:
    """The path of a real tool; skipped locally when missing, a failure in CI."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI (installed by .ci/run)")
        pytest.skip(f"{name} not installed")
    return path


@pytest.fixture
def age_vectors() -> Path:
    if not AGE_VECTORS.is_dir():
        pytest.fail(f"age test vectors missing at {AGE_VECTORS}")
    return AGE_VECTORS


@pytest.fixture
def age_bin() -> str:
    return require_binary("age")


@pytest.fixture
def age_keygen_bin() -> str:
    return require_binary("age-keygen")


@pytest.fixture
def ssh_keygen_bin() -> str:
    return require_binary("ssh-keygen")


@pytest.fixture
def dutch() -> Iterator[None]:
    """Messages in Dutch for the test's duration (the CLI's own choice and catalog)."""
    from securexchange import i18n
    from securexchange.cli.language import activate_for

    activate_for(["--lang", "nl"], {})
    try:
        yield
    finally:
        i18n.activate("en")


@pytest.fixture
def chromium_profile(tmp_path: Path) -> Path:
    """The browser's profile, kept after the browser quits so a test can search it."""
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    return profile


@pytest.fixture
def chromium(chromium_profile: Path) -> Iterator[WebDriver]:
    """Debian's headless Chromium (tests/browser.py), quit at the end of the test; a test
    that searches the profile quits it first (quitting twice is harmless)."""
    from browser import chromium_driver

    driver = chromium_driver(chromium_profile)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """$SECUREXCHANGE_SCREENSHOTS (to refresh the guide's pictures), else a temporary one."""
    from browser import screenshots_dir

    return screenshots_dir(tmp_path_factory.mktemp("screenshots"))
