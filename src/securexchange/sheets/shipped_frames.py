"""The workbook frames the package ships: the staff workbook's and the package
workbook's, demo and not, for the current schema version.

A frame is built with openpyxl and proven against it (:mod:`securexchange.sheets.
workbook_frame`): about 0.1 s with openpyxl's import, in every ``municipality open``
and in every export worker. The frames do not depend on anything a user has or types,
so they are built once, by ``scripts/frames.py``, and shipped beside the code
(``data/frames/``). ``tests/test_shipped_frames.py`` builds each one again with the
openpyxl the tests run with and fails when a shipped frame differs; the workbook tests
hold every workbook written from them to openpyxl's own, part for part.

A frame that is not shipped (another schema version), or a file that is not a
well-formed frame of what was asked, is built as before.
"""

from __future__ import annotations

from importlib import resources

from securexchange.sheets.layout import PACKAGE_LAYOUT, STAFF_LAYOUT, Layout
from securexchange.sheets.workbook_frame import FrameKey, WorkbookFrame, frame_from_document

SHIPPED_LAYOUTS: tuple[Layout, ...] = (STAFF_LAYOUT, PACKAGE_LAYOUT)
FRAMES_DIR = ("data", "frames")


def file_name(key: FrameKey) -> str:
    return f"layout-{key.layout}{'-demo' if key.demo else ''}.json"


def shipped_frame(layout: Layout, demo: bool, schema_version: str) -> WorkbookFrame | None:
    """The shipped frame of ``layout``, or None when there is none for these values."""
    if layout not in SHIPPED_LAYOUTS:
        return None
    key = FrameKey(layout.version, demo, schema_version)
    resource = resources.files("securexchange").joinpath(*FRAMES_DIR, file_name(key))
    try:
        data = resource.read_bytes()
    except OSError:
        return None
    return frame_from_document(data, key, len(layout.headers))
