"""A vault row comes back from its sealed encoding as the checked row it was sealed from,
field for field, though the decoding does not check it again (issue 22)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from securexchange.municipality.sealing import decode_row, encode_row
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
