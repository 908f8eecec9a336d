"""The workbook digests (municipality/digests.py) computed the short way are the ones
the format defines: each field's tag from its own label (docs/formats.md)."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from securexchange.municipality import digests
from securexchange.schema import QUALITY_FIELDS
from securexchange.sheets.layout import QualityReport, join_labels
from securexchange.vocabularies import QUALITY_PROBLEMS


def _by_the_format(key: bytes, salt: bytes, record_id: str, label: str) -> bytes:
    """Every field's 8-byte tag, HMAC-SHA256 over its own label, one by one."""
    by_field = {part.split(":", 1)[0]: part for part in label.split("; ") if part}
    message = b"sx-wb-field\0" + salt + record_id.encode() + b"\0"
    return b"".join(
        hmac.new(key, message + by_field.get(f, "").encode(), hashlib.sha256).digest()[:8]
        for f in QUALITY_FIELDS
    )


@given(
    key=st.binary(min_size=32, max_size=32),
    salt=st.binary(min_size=16, max_size=16),
    reports=st.dictionaries(
        st.sampled_from(QUALITY_FIELDS), st.sampled_from(QUALITY_PROBLEMS.values), max_size=4
    ),
)
def test_quality_tags_are_each_fields_own_hmac(
    key: bytes, salt: bytes, reports: dict[str, str]
) -> None:
    label = join_labels(QualityReport(f, p) for f, p in reports.items())
    record_id = "R-ABCDEFGHIJKLMNOPQRST"
    shown = digests._quality_tags(digests._Keyed(key), salt, record_id, label)
    assert shown == _by_the_format(key, salt, record_id, label)
