"""The suite reads nothing outside the repository (a bare clone runs it as it is)."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import AGE_VECTORS, REPO

TESTS = REPO / "tests"
# Ways a test has reached past the checkout: a sibling folder by relative path, a
# parent of the repository, or an environment override pointing elsewhere.
ESCAPES = re.compile(
    r"\.\./shared|SECUREXCHANGE_" + r"SHARED|REPO\.parent\b|parents\[[2-9]\]"
    r"|\.parent\.parent\.parent"
)


def test_a_bare_clone_without_a_sibling_shared_folder_still_finds_the_age_vectors() -> None:
    assert AGE_VECTORS.is_dir()
    assert AGE_VECTORS.resolve().is_relative_to(REPO.resolve())
    vectors = [p for p in AGE_VECTORS.iterdir() if p.is_file() and p.suffix != ".md"]
    assert len(vectors) > 100
    # The licence note travels with the files (0BSD / CC0 / Unlicense, no attribution
    # required, but we say where they come from).
    note = (AGE_VECTORS / "SOURCE.md").read_text(encoding="utf-8")
    assert "0BSD" in note and "CC0" in note and "C2SP/CCTV" in note


def test_no_test_reaches_outside_the_repository() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == Path(__file__).name:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ESCAPES.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []
