"""The NIS municipality code's shape, written once (securexchange.ids)."""

from __future__ import annotations

import pytest

from securexchange.ids import is_nis_code


@pytest.mark.parametrize("value", ["11002", "44021", "99999", "10000"])
def test_five_ascii_digits_not_starting_with_zero_are_a_nis_code(value: str) -> None:
    assert is_nis_code(value)


@pytest.mark.parametrize(
    "value",
    ["01002", "1100", "110022", " 11002", "11002\n", "١١٠٠٢", "11 02", "", 11002, None],
)
def test_anything_else_is_not_a_nis_code(value: object) -> None:
    assert not is_nis_code(value)
