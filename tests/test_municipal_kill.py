"""Crashes and concurrency: a killed import leaves the vault before or after, never in
between; a shred next to a running import waits or refuses, never corrupts.

The kill points are deterministic without any hook in the product: a wrapper installs
``sys.addaudithook``, counts the file-system audit events (open, rename, replace,
link, unlink, chmod, mkdir, sqlite3.connect) on paths inside the home, and SIGKILLs its
own process at event N. Every N from the first to the last event of an import is a
distinct point in the sequence of file operations.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

from cli_helpers import assert_single_error, cli_env, run_cli
from municipal_flows import World, make_package, make_world, person
from securexchange.home.home import HomeKind, open_home

LATER = date(2027, 3, 1)

KILLER = r"""
import atexit, os, runpy, signal, sys

target = int(sys.argv[1])
home = os.path.abspath(sys.argv[2])
count_file = sys.argv[3]
args = sys.argv[4:]
EVENTS = {"open", "os.rename", "os.replace", "os.remove", "os.unlink", "os.link",
          "os.chmod", "os.mkdir", "os.truncate", "os.listdir", "os.scandir",
          "sqlite3.connect"}
seen = 0
touched = False

def hook(event, hook_args):
    # Counted: file operations on paths inside the home, and, once the command has
    # touched the home, every file opened (the lazy imports of crypto and workbook
    # code happen between, and inside, the command's transactions).
    global seen, touched
    if event not in EVENTS or not hook_args:
        return
    path = hook_args[0]
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        return
    inside = os.path.abspath(path).startswith(home + os.sep)
    if not inside and not (touched and event == "open"):
        return
    touched = True
    seen += 1
    if seen == target:
        os.kill(os.getpid(), signal.SIGKILL)

def write_count():
    with open(count_file, "w") as handle:
        handle.write(str(seen))

# At exit: the CLI leaves through os._exit once the exit handlers ran (cli/leaving.py).
atexit.register(write_count)
sys.addaudithook(hook)
sys.argv = ["securexchange", "--home", home, *args]
runpy.run_module("securexchange", run_name="__main__")
"""


def _state(home: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(home / "state.sqlite3")
    try:

        def count(table: str) -> int:
            try:
                return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            except sqlite3.OperationalError:
                return 0

        return count("vault_packages"), count("vault_data_keys"), count("vault_records")
    finally:
        conn.close()


def _kill_run(tmp: Path, home: Path, target: int, args: list[str]) -> tuple[int, int]:
    script = tmp / "killer.py"
    if not script.exists():
        script.write_text(KILLER)
    count_file = tmp / f"count-{target}"
    proc = subprocess.run(
        [sys.executable, str(script), str(target), str(home), str(count_file), *args],
        capture_output=True,
        env=cli_env(),
        timeout=120,
        check=False,
    )
    seen = int(count_file.read_text()) if count_file.exists() else -1
    return proc.returncode, seen


def test_import_killed_at_every_file_operation_is_before_or_after_and_reruns(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    rows = [person(1, LATER), person(2, LATER)]
    first = make_package(world, rows, sequence=1)
    second = make_package(world, rows, sequence=2, supersedes=first)
    pristine = tmp_path / "pristine"
    shutil.copytree(world.staff, pristine)
    # Two packages in one command: the second supersedes (and shreds) the first.
    args = ["municipality", "import", str(first.path), str(second.path)]
    before, after_first, after = (0, 0, 0), (1, 1, 2), (2, 1, 2)

    # A run that is never killed counts the events of a whole import.
    probe = tmp_path / "probe"
    shutil.copytree(pristine, probe)
    code, total = _kill_run(tmp_path, probe, 10**9, args)
    assert code == 0 and total >= 30, total
    assert _state(probe) == after

    points = sorted({1 + (i * (total - 1)) // 31 for i in range(32)})
    assert len(points) >= 30
    outcomes = set()
    for n in points:
        home = tmp_path / f"kill-{n}"
        shutil.copytree(pristine, home)
        code, _ = _kill_run(tmp_path, home, n, args)
        assert code == -signal.SIGKILL, (n, code)
        state = _state(home)
        assert state in (before, after_first, after), (n, state)  # never in between
        outcomes.add(state)
        rerun = run_cli(args, home=home)
        assert rerun.code == 0, (n, rerun.stderr)
        assert _state(home) == after, n
        if n in points[::8]:
            opened = run_cli(["municipality", "open"], home=home)
            assert opened.code == 0, (n, opened.stderr)
        shutil.rmtree(home)
    assert outcomes == {before, after_first, after}  # every side of both commits was hit


def test_shred_next_to_a_running_import_waits_or_refuses_and_never_corrupts(
    tmp_path: Path,
) -> None:
    world: World = make_world(tmp_path)
    made = make_package(world, [person(i, LATER) for i in range(200)])
    env = cli_env({"SECUREXCHANGE_LOCK_TIMEOUT": "60"})
    base = [sys.executable, "-m", "securexchange", "--home", str(world.staff), "municipality"]
    importing = subprocess.Popen([*base, "import", str(made.path)], env=env, stderr=subprocess.PIPE)
    shredding = subprocess.Popen([*base, "shred"], env=env, stderr=subprocess.PIPE)
    assert importing.wait(timeout=120) == 0
    assert shredding.wait(timeout=120) == 0  # it waited for the lock
    assert _state(world.staff) == (1, 1, 200)

    # While a command holds the lock, a shred that may not wait is refused, harmlessly.
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY):
            held.set()
            release.wait(timeout=60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(timeout=30)
        refused = run_cli(
            ["municipality", "shred"], home=world.staff, env={"SECUREXCHANGE_LOCK_TIMEOUT": "0"}
        )
    finally:
        release.set()
        holder.join()
    assert_single_error(refused, "SX-LOCKED", 2)
    assert _state(world.staff) == (1, 1, 200)
    assert run_cli(["municipality", "open"], home=world.staff).code == 0
    assert os.path.exists(world.staff / "state.sqlite3")
