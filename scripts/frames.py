"""The workbook frames the package ships (src/securexchange/data/frames/).

    python scripts/frames.py           # build every shipped frame with openpyxl, write it
    python scripts/frames.py --check   # exit 1 when a shipped frame is not the one built

Run it after a change to the workbook's layout, styles, side sheets or document parts,
or to openpyxl; ``tests/test_shipped_frames.py`` fails until it is run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from securexchange.schema import SCHEMA_VERSION
from securexchange.sheets.shipped_frames import FRAMES_DIR, SHIPPED_LAYOUTS, file_name
from securexchange.sheets.workbook_frame import FrameKey, frame_document
from securexchange.sheets.workbook_openpyxl import built_frame

ROOT = Path(__file__).resolve().parents[1]
DIRECTORY = ROOT.joinpath("src", "securexchange", *FRAMES_DIR)


def expected() -> dict[Path, bytes]:
    """Each shipped frame's file and the bytes it should hold."""
    found = {}
    for layout in SHIPPED_LAYOUTS:
        for demo in (False, True):
            key = FrameKey(layout.version, demo, SCHEMA_VERSION)
            frame = built_frame(layout, demo, SCHEMA_VERSION)
            found[DIRECTORY / file_name(key)] = frame_document(frame, key)
    return found


def main(argv: list[str]) -> int:
    wanted = expected()
    if "--check" in argv:
        stale = [p.name for p, data in wanted.items() if not p.exists() or p.read_bytes() != data]
        for name in stale:
            print(f"stale: {name} (run python scripts/frames.py)")
        return 1 if stale else 0
    DIRECTORY.mkdir(parents=True, exist_ok=True)
    for path, data in wanted.items():
        path.write_bytes(data)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
