"""Private copies of checked-in demo homes (tests/fixtures/...), ready to run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

DEMO_PASSPHRASE = b"securexchange-demo"  # what the fixtures' demo homes were made with


def private_copy(fixtures: Path, copy: Path) -> Path:
    """``fixtures`` copied to ``copy`` with the modes a home has (git keeps none of
    them) and the directories git drops, and a passphrase file beside it (``pass``)."""
    shutil.copytree(fixtures, copy, symlinks=True)
    for home in copy.glob("*/home.json"):  # git keeps no empty directory
        (home.parent / "workbooks").mkdir(exist_ok=True)
    (copy / "agency" / "outbox").mkdir(exist_ok=True)
    for path in [copy, *copy.rglob("*")]:
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    (copy.parent / "pass").write_bytes(DEMO_PASSPHRASE)
    os.chmod(copy.parent / "pass", 0o600)
    return copy
