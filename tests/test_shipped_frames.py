"""The frames the package ships are the ones openpyxl builds now, and only a
well-formed frame of what was asked is taken from a file."""

from __future__ import annotations

import json
from typing import Any

import pytest

from securexchange.schema import SCHEMA_VERSION
from securexchange.sheets.layout import STAFF_LAYOUT, STAFF_LAYOUT_2, Layout
from securexchange.sheets.shipped_frames import SHIPPED_LAYOUTS, shipped_frame
from securexchange.sheets.workbook_frame import FrameKey, frame_document, frame_from_document
from securexchange.sheets.workbook_openpyxl import built_frame


@pytest.mark.parametrize("layout", SHIPPED_LAYOUTS, ids=lambda layout: f"layout{layout.version}")
@pytest.mark.parametrize("demo", [False, True])
def test_each_shipped_frame_is_the_one_openpyxl_builds_and_proves_now(
    layout: Layout, demo: bool
) -> None:
    key = FrameKey(layout.version, demo, SCHEMA_VERSION)
    shipped = shipped_frame(layout, demo, SCHEMA_VERSION)
    assert shipped is not None, "run python scripts/frames.py"
    built = built_frame(layout, demo, SCHEMA_VERSION)
    assert shipped == built, "run python scripts/frames.py"
    assert frame_document(shipped, key) == frame_document(built, key)


def test_no_frame_is_shipped_for_another_schema_version_or_layout() -> None:
    assert shipped_frame(STAFF_LAYOUT, False, "1999.1") is None
    assert shipped_frame(STAFF_LAYOUT_2, False, SCHEMA_VERSION) is None


def _document() -> tuple[dict[str, Any], FrameKey]:
    key = FrameKey(STAFF_LAYOUT.version, False, SCHEMA_VERSION)
    return json.loads(frame_document(built_frame(STAFF_LAYOUT, False, SCHEMA_VERSION), key)), key


def _read(document: dict[str, Any], key: FrameKey) -> object:
    return frame_from_document(json.dumps(document).encode(), key, len(STAFF_LAYOUT.headers))


def test_a_frame_document_reads_back_as_the_frame_it_was() -> None:
    document, key = _document()
    assert _read(document, key) == built_frame(STAFF_LAYOUT, False, SCHEMA_VERSION)


def _unknown_hole(d: dict[str, Any]) -> None:
    d["parts"][4]["segments"][0][1] = "x"


def _second_rows_hole(d: dict[str, Any]) -> None:
    d["parts"][1]["segments"][0][1] = "rows"


def _rows_hole_elsewhere(d: dict[str, Any]) -> None:
    first = d["parts"][0]["segments"]
    d["parts"][0]["segments"] = [[s[0], None if s[1] == "rows" else s[1]] for s in first]
    d["parts"][1]["segments"][0][1] = "rows"


def _ends_with_a_hole(d: dict[str, Any]) -> None:
    d["parts"][3]["segments"][-1][1] = "m"


def _twice_the_same_part(d: dict[str, Any]) -> None:
    d["parts"][2]["name"] = d["parts"][3]["name"]


def _without_a_value(hole: str) -> Any:
    """The frame with every ``hole`` left out (the text around it joined)."""

    def spoil(d: dict[str, Any]) -> None:
        for part in d["parts"]:
            joined: list[list[Any]] = []
            for literal, found in part["segments"]:
                if joined and joined[-1][1] == hole:
                    joined[-1] = [joined[-1][0] + literal, found]
                else:
                    joined.append([literal, found])
            part["segments"] = joined

    spoil.__name__ = f"without_{hole}"
    return spoil


def _segment_as_text(d: dict[str, Any]) -> None:
    d["parts"][4]["segments"][0] = "<m"  # two characters: a literal and a hole


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d.update(format="securexchange-workbook-frame/2"),
        lambda d: d.update(layout=1),
        lambda d: d.update(demo=True),
        lambda d: d.update(schema_version="1999.1"),
        lambda d: d.update(styles=d["styles"][:-1]),
        lambda d: d["styles"].__setitem__(0, -1),
        lambda d: d["styles"].__setitem__(0, "4"),
        lambda d: d["parts"][0].update(name=7),
        lambda d: d["parts"][0]["segments"][0].__setitem__(0, 7),
        lambda d: d["parts"][0]["segments"].append(["a", None, None]),
        lambda d: d.pop("parts"),
        _unknown_hole,
        _second_rows_hole,
        _rows_hole_elsewhere,
        _ends_with_a_hole,
        _twice_the_same_part,
        _without_a_value("d"),  # the destroy-by date
        _without_a_value("m"),
        _without_a_value("w"),
        _segment_as_text,
    ],
)
def test_a_frame_document_that_is_not_a_well_formed_frame_of_what_was_asked_is_not_taken(
    spoil: Any,
) -> None:
    document, key = _document()
    spoil(document)
    assert _read(document, key) is None


@pytest.mark.parametrize(
    "data", [b"", b"\xff\xfe", b"[]", b"null", b'{"format": 1}', b"[" * 100_000 + b"]" * 100_000]
)
def test_bytes_that_are_no_frame_document_are_not_taken(data: bytes) -> None:
    key = FrameKey(STAFF_LAYOUT.version, False, SCHEMA_VERSION)
    assert frame_from_document(data, key, len(STAFF_LAYOUT.headers)) is None
