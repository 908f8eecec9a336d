"""A vault row comes back from its sealed encoding as the checked row it was sealed from,
field for field (rows sealed by someone else: tests/test_vault_forged_rows.py)."""

from __future__ import annotations

import os
from dataclasses import fields

import pytest

from securexchange.municipality.sealing import NONCE_SIZE, RowCipher, decode_row, encode_row
from securexchange.sheets.layout import WorkbookRow
from test_workbook import make_rows


@pytest.mark.parametrize("row", make_rows(80), ids=lambda row: row.record_id)
def test_a_decoded_vault_row_is_the_row_that_was_sealed(row: WorkbookRow) -> None:
    decoded = decode_row(encode_row(row))
    assert decoded == row
    assert hash(decoded) == hash(row)
    for field in fields(WorkbookRow):
        assert type(getattr(decoded, field.name)) is type(getattr(row, field.name))
    assert decoded.record.values == row.record.values
    assert decoded.cells() == row.cells()


def test_a_decoded_row_is_as_immutable_as_a_checked_one() -> None:
    decoded = decode_row(encode_row(make_rows(1)[0]))
    with pytest.raises(AttributeError):
        decoded.status = "gestopt"  # type: ignore[misc]


def test_every_sealed_row_has_its_own_nonce_and_opens() -> None:
    """Nonces come from the CSPRNG a batch at a time: none is handed out twice, across
    batches and across ciphers."""
    key = os.urandom(32)
    first, second = RowCipher(key, "pkg-a"), RowCipher(key, "pkg-a")
    sealed = [first.seal(f"t{i}", b"row %d" % i) for i in range(2500)]
    sealed += [second.seal(f"u{i}", b"row %d" % i) for i in range(10)]
    nonces = [s[:NONCE_SIZE] for s in sealed]
    assert len(set(nonces)) == len(nonces)
    assert first.open("t2049", sealed[2049]) == b"row 2049"
    assert second.open("u3", sealed[2503]) == b"row 3"
