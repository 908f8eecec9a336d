"""The demo's homes at one of its steps, and the CLI run on them as a subprocess.

Tests of issue 20 start from copies of the demo's homes right after a step (its files
beside them) and drive ``python -m securexchange --lang en`` as a user would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from securexchange.demo.run import run_demo


def snapshot_after(base: Path, step_name: str) -> Path:
    """A copy of the demo's directory as it was right after the step ``step_name``."""
    snapshot = base / "snapshot"
    for step in run_demo(base / "demo"):
        if step.name == step_name:
            shutil.copytree(base / "demo", snapshot, symlinks=True)
            break
    else:
        raise AssertionError(f"the demo has no step {step_name!r}")
    return snapshot


def sx(
    *args: str, stdin: str | bytes | None = None, now: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The CLI in English, with no SECUREXCHANGE_* setting of the caller's; ``now``
    moves a demo home's clock (SECUREXCHANGE_NOW)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECUREXCHANGE")}
    if now is not None:
        env["SECUREXCHANGE_NOW"] = now
    return subprocess.run(
        [sys.executable, "-m", "securexchange", "--lang", "en", *args],
        input=stdin.encode() if isinstance(stdin, str) else stdin,
        capture_output=True,
        check=False,
        timeout=180,
        env=env,
    )


def ok(
    *args: str, stdin: str | bytes | None = None, now: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    done = sx(*args, stdin=stdin, now=now)
    assert done.returncode == 0, done.stderr.decode()
    return done


def copy_home(demo: Path, name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(demo / name, target, symlinks=True)
    return target
