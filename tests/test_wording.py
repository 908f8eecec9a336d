"""Counts in messages agree with their nouns."""

from __future__ import annotations

import pytest

from securexchange.wording import counted


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 packages"), (1, "1 package"), (2, "2 packages"), (300, "300 packages")],
)
def test_a_regular_noun_takes_s_except_after_one(count: int, expected: str) -> None:
    assert counted(count, "package") == expected


def test_an_irregular_plural_is_given() -> None:
    assert counted(1, "status", "statuses") == "1 status"
    assert counted(3, "status", "statuses") == "3 statuses"
    assert counted(0, "entry", "entries") == "0 entries"
