"""A quality report's label ("Telefoon: foutief") is made and read in one place."""

from __future__ import annotations

import pytest

from securexchange.sheets.layout import (
    QUALITY_REPORTS,
    QualityReport,
    join_labels,
    label_field,
    label_parts,
    reports_from_labels,
)


def test_every_drop_down_label_reads_back_as_its_report() -> None:
    for report in QUALITY_REPORTS:
        assert QualityReport.from_label(report.label) == report


@pytest.mark.parametrize(
    "text", ["Telefoon", "Telefoon:foutief", "Telefoon: kapot", "Onbekend: foutief"]
)
def test_a_label_outside_the_lists_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        QualityReport.from_label(text)


def test_joined_labels_read_back_in_field_order_whatever_order_they_were_given() -> None:
    phone, mail = QualityReport("Telefoon", "foutief"), QualityReport("E-mail", "onvolledig")
    text = join_labels([mail, phone])
    assert text == join_labels([phone, mail])
    assert reports_from_labels(text) == tuple(sorted([phone, mail], key=QUALITY_REPORTS.index))
    assert [label_field(part) for part in label_parts(text)] == [
        r.field for r in reports_from_labels(text)
    ]
    assert reports_from_labels("") == () and label_parts("") == ()


def test_a_joined_text_with_one_bad_label_is_refused() -> None:
    with pytest.raises(ValueError):
        reports_from_labels("Telefoon: foutief; Telefoon")
