"""Print one of the README's two commands (``demo`` or ``test``), as written there."""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def command(which: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(
        rf"<!-- {which}-command -->\s*```(?:bash|sh)?\n(.*?)\n```\s*<!-- /{which}-command -->",
        text,
        re.S,
    )
    if match is None:
        raise SystemExit(f"README.md has no {which} command block")
    return match.group(1).strip()


if __name__ == "__main__":
    print(command(sys.argv[1]))
