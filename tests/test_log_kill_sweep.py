"""A SIGKILL at every fsync point of every command that writes, and the log afterwards.

One story (built once per module) runs every writing command once, through the real CLI,
on an agency home, a municipal staff home (demo homes, so keys open at once) and a real
home for ``keys passwd``. For each command, a probe run counts its durability points:
every ``fsync`` (of files and directories) and every SQLite commit. Then, for each point
N, the homes as they were before the command are restored and the command is run in a
forked child that SIGKILLs itself right after point N completed. After each kill:

- ``audit log --verify`` passes on every home (the fork of the log was the defect);
- the log says only what really happened: the command's entry is there if and only if
  its change is there (for changes to files, such as a key file, via the committed
  intent of ``EventLog.intend``);
- a rerun of the command ends with a named outcome (never exit 3), and the two checks
  above still hold.

The kill points need no hook in the product: the forked child wraps ``os.fsync`` and
gives SQLite a connection class that counts commits. Forking a process that has
imported everything already keeps the ~500 runs affordable.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import signal
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import TERMINATION_GROUND
from keys_helpers import STAFF_PASS, make_agency, make_staff, passphrase_file

pytestmark = pytest.mark.slow

NIS = "11002"
# Imported before forking, so that a child does not pay for them at each kill point.
PRELOAD = (
    "securexchange.cli.main",
    "securexchange.cli.agency",
    "securexchange.cli.municipality",
    "securexchange.cli.keys",
    "securexchange.cli.audit",
    "securexchange.agency.export",
    "securexchange.agency.returns",
    "securexchange.agency.terminate",
    "securexchange.municipality.importer",
    "securexchange.municipality.opening",
    "securexchange.municipality.returns",
    "securexchange.municipality.retention",
    "securexchange.audit.logcheck",
    "securexchange.sheets.workbook",
    "securexchange.sheets.workbook_read",
    "securexchange.intake.master",
    "securexchange.intake.sample",
    "openpyxl",
)

KILL_EXIT = -int(signal.SIGKILL)


# --- running the CLI in a forked child, killed at durability point N -------------------


def _install_kill_points(kill_at: int) -> list[int]:
    """In the child: count fsyncs and SQLite commits; SIGKILL right after number N."""
    seen = [0]

    def point() -> None:
        seen[0] += 1
        if seen[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    real_fsync = os.fsync

    def fsync(fd: Any) -> None:
        real_fsync(fd)
        point()

    os.fsync = fsync

    class Counting(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
            was_in = self.in_transaction
            cursor = super().execute(sql, *args)
            word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
            committed = word in {"COMMIT", "END"} or (
                not was_in and not self.in_transaction and word not in {"SELECT", "PRAGMA"}
            )
            if committed:
                point()
            return cursor

    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", Counting)
        return real_connect(*args, **kwargs)

    sqlite3.connect = connect  # type: ignore[assignment]
    return seen


@dataclass(frozen=True)
class Run:
    code: int  # exit status, or -9 when killed
    points: int  # durability points passed (-1 when killed)
    stderr: str


def run_forked(
    home: Path, args: list[str], env: dict[str, str], log: Path, kill_at: int = 0
) -> Run:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 98
        seen = [0]
        try:
            os.close(read_end)
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(out, 2)
            # pytest replaced the Python streams; the child writes to its own fds.
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            seen = _install_kill_points(kill_at)
            os.environ.clear()
            os.environ.update(env)
            from securexchange.cli.main import main

            try:
                main(["--home", str(home), *args])
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # reported as exit 98
            import traceback

            traceback.print_exc()
        finally:
            os.write(write_end, str(seen[0]).encode())
            os._exit(code)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 64):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    points = int(b"".join(chunks)) if chunks else -1
    return Run(code, points, log.read_text(errors="replace") if log.exists() else "")


# --- the story ----------------------------------------------------------------------


@dataclass
class World:
    root: Path
    base_env: dict[str, str]
    now: dict[str, str] = field(default_factory=dict)  # SECUREXCHANGE_NOW per home

    @property
    def agency(self) -> Path:
        return self.root / "agency"

    @property
    def staff(self) -> Path:
        return self.root / "staff"

    @property
    def real(self) -> Path:
        return self.root / "real"

    def path(self, name: str) -> Path:
        return self.root / name

    def env(self, home: Path) -> dict[str, str]:
        env = dict(self.base_env)
        when = self.now.get(home.name)
        if when:
            env["SECUREXCHANGE_NOW"] = when
        return env


def _db(home: Path, query: str, *params: object) -> list[tuple[Any, ...]]:
    path = home / "state.sqlite3"
    if not path.exists():
        return []
    conn = sqlite3.connect(path)
    try:
        return [tuple(r) for r in conn.execute(query, params)]
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return []  # the table does not exist yet
    finally:
        conn.close()


def _file(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _first_record(world: World) -> str:
    import openpyxl

    from securexchange.schema import HEADER_RECORD_ID
    from securexchange.sheets.layout import DATA_SHEET, FIRST_DATA_ROW, HEADERS

    # By header: the staff layout has the record id in its last column.
    column = HEADERS.index(HEADER_RECORD_ID)
    (book_path,) = sorted((world.staff / "workbooks").glob("*.xlsx"))
    book = openpyxl.load_workbook(book_path, read_only=True)
    try:
        for row in book[DATA_SHEET].iter_rows(min_row=FIRST_DATA_ROW, values_only=True):
            if isinstance(row[column], str) and row[column]:
                return row[column]
    finally:
        book.close()
    raise AssertionError("the workbook holds no record")


def _card_fingerprint(card: Path) -> str:
    from securexchange.keys.card import read_card

    return read_card(card.read_bytes()).fingerprint.display


@dataclass(frozen=True)
class Step:
    name: str
    home: str  # agency | staff | real
    args: Callable[[World], list[str]]
    action: str  # the log action the change earns
    observe: Callable[[World], object]  # the change, as the homes show it
    sweep: bool = True
    later: tuple[str, str] | None = None  # (home, SECUREXCHANGE_NOW) from this step on


def _steps() -> list[Step]:
    def agency_keyrings(w: World) -> object:
        return _db(w.agency, "SELECT id FROM agency_keyrings WHERE scope = 'full' ORDER BY 1")

    def recipients(w: World) -> object:
        return _db(w.agency, "SELECT fingerprint FROM agency_recipients ORDER BY 1")

    def edits(kind: str) -> Callable[[World], object]:
        return lambda w: _db(w.staff, "SELECT id FROM vault_edits WHERE kind = ?", kind)

    return [
        Step(
            "agency init",
            "agency",
            lambda w: ["agency", "init", "--name", "Agentschap", "--demo"],
            "init",
            lambda w: _db(w.agency, "SELECT value FROM settings WHERE key = 'agency_keys'"),
        ),
        Step(
            "agency municipality add",
            "agency",
            lambda w: [
                "agency",
                "municipality",
                "add",
                "--nis",
                NIS,
                "--name",
                "Antwerpen",
                "--protocol-until",
                "2035-12-31",
            ],
            "keyring-change",
            agency_keyrings,
        ),
        Step(
            "municipality init",
            "staff",
            lambda w: [
                "municipality",
                "init",
                "--nis",
                NIS,
                "--name",
                "An Peeters",
                "--role",
                "integratiebeambte",
                "--agency-key",
                str(w.agency / "keys" / "root.card.json"),
                "--demo",
            ],
            "init",
            lambda w: _db(w.staff, "SELECT value FROM settings WHERE key = 'municipality_nis'"),
        ),
        Step(
            "agency recipient add",
            "agency",
            lambda w: [
                "agency",
                "recipient",
                "add",
                "--nis",
                NIS,
                "--fingerprint",
                _card_fingerprint(w.staff / "keys" / "identity.card.json"),
                str(w.staff / "keys" / "identity.card.json"),
            ],
            "keyring-change",
            recipients,
        ),
        Step(
            "agency keyring publish",
            "agency",
            lambda w: ["agency", "keyring", "publish", "--out", str(w.path("published"))],
            "keyring-publish",
            lambda w: _file(w.path("published") / "keyring-full.json"),
        ),
        Step(
            "agency export",
            "agency",
            lambda w: ["agency", "export", str(w.path("master.xlsx")), "--out", str(w.path("out"))],
            "export",
            lambda w: _db(w.agency, "SELECT id FROM agency_packages ORDER BY 1"),
        ),
        Step(
            "municipality import",
            "staff",
            lambda w: ["municipality", "import", *map(str, sorted(w.path("out").iterdir()))],
            "import",
            lambda w: _db(w.staff, "SELECT package_id FROM vault_packages ORDER BY 1"),
        ),
        Step(
            "municipality open",
            "staff",
            lambda w: ["municipality", "open"],
            "open",
            lambda w: _db(w.staff, "SELECT workbook_id FROM vault_workbooks ORDER BY 1"),
        ),
        Step(
            "municipality set-status",
            "staff",
            lambda w: ["municipality", "set-status", _first_record(w), "toegeleid"],
            "set-status",
            edits("status"),
        ),
        Step(
            "municipality report-quality",
            "staff",
            lambda w: ["municipality", "report-quality", _first_record(w), "Telefoon", "verouderd"],
            "report-quality",
            edits("quality"),
        ),
        Step(
            "municipality return",
            "staff",
            lambda w: ["municipality", "return", "--out", str(w.path("returns"))],
            "return",
            # A return is made when its signed file exists (its edits are marked sent
            # in the commit after; a kill between sends them again in the next one).
            lambda w: sorted(p.name for p in w.path("returns").glob("*.sxr")),
        ),
        Step(
            "agency import-return",
            "agency",
            lambda w: ["agency", "import-return", *map(str, sorted(w.path("returns").iterdir()))],
            "import-return",
            lambda w: _db(w.agency, "SELECT delta_id FROM ledger_deltas ORDER BY 1"),
        ),
        Step(
            "municipality keys rotate",
            "staff",
            lambda w: ["keys", "rotate"],
            "key-rotate",
            lambda w: _file(w.staff / "keys" / "identity.key"),
            later=("staff", "+100"),
        ),
        Step(
            "agency keys rotate",
            "agency",
            lambda w: ["keys", "rotate"],
            "key-rotate",
            lambda w: _file(w.agency / "keys" / "export.key"),
            later=("agency", "+100"),
        ),
        Step(
            "agency recipient remove",
            "agency",
            lambda w: [
                "agency",
                "recipient",
                "remove",
                "--nis",
                NIS,
                _card_fingerprint(w.staff / "keys" / "identity.card.json"),
            ],
            "keyring-change",
            recipients,
        ),
        Step(
            "agency terminate",
            "agency",
            lambda w: [
                "agency",
                "terminate",
                *TERMINATION_GROUND,
                "--nis",
                NIS,
                "--effective",
                w.now["agency"][:10],
                "--out",
                str(w.path("notices")),
            ],
            "terminate",
            lambda w: _db(w.agency, "SELECT terminated_on FROM agency_municipalities"),
        ),
        Step(
            "municipality shred",
            "staff",
            lambda w: ["municipality", "shred"],
            "shred",
            lambda w: (
                _db(w.staff, "SELECT COUNT(*) FROM vault_records"),
                _db(w.staff, "SELECT recipient, state FROM vault_subkeys ORDER BY 1"),
            ),
            # Past every retention deadline (the protocol ends in 2035) and every subkey.
            later=("staff", "+3700"),
        ),
        Step(
            "keys passwd",
            "real",
            lambda w: [
                "keys",
                "passwd",
                "--passphrase-file",
                str(w.path("old.pass")),
                "--new-passphrase-file",
                str(w.path("new.pass")),
            ],
            "key-passwd",
            lambda w: _file(w.real / "keys" / "identity.key"),
        ),
    ]


# --- checks -------------------------------------------------------------------------


def _entries(home: Path) -> list[dict[str, Any]]:
    path = home / "log.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def _logged(home: Path, action: str, before: int) -> int:
    return sum(1 for e in _entries(home)[before:] if e["action"] == action and e["outcome"] == "ok")


def _verify_all(world: World, scratch: Path, where: str) -> None:
    for home in (world.agency, world.staff, world.real):
        if not (home / "home.json").exists():
            continue
        run = run_forked(
            home, ["audit", "log", "--verify"], world.env(home), scratch / "verify.err"
        )
        assert run.code == 0, (where, home.name, run.code, run.stderr)


def _check_log_says_what_happened(
    world: World, step: Step, before: object, entries_before: int, where: str
) -> None:
    home = getattr(world, step.home)
    changed = step.observe(world) != before
    logged = _logged(home, step.action, entries_before)
    assert logged <= 1 or not changed or step.action == "shred", (where, logged)
    assert changed == (logged > 0), (where, "changed" if changed else "unchanged", logged)


def _restore(snapshot: Path, root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(snapshot, root, symlinks=True)


def _advance(world: World, step: Step, start: datetime) -> None:
    if step.later is not None:
        home, days = step.later
        world.now[home] = (start + timedelta(days=int(days))).strftime("%Y-%m-%dT%H:%M:%SZ")


def _build(tmp_path: Path) -> tuple[World, list[tuple[Step, Path, dict[str, str]]]]:
    """Run the story once; keep a copy of the homes before each swept step."""
    for module in PRELOAD:
        importlib.import_module(module)
    from cli_helpers import cli_env
    from securexchange.intake import sample

    world = World(tmp_path / "world", cli_env())
    world.root.mkdir()
    for name in ("published", "out", "returns", "notices"):
        world.path(name).mkdir()
    sample.write_master(sample.generate_master(12, nis=[NIS], seed=7), world.path("master.xlsx"))
    # The real (not demo) home for keys passwd, at a low work factor (tests only).
    make_agency(tmp_path / "real-agency")
    make_staff(world.real, tmp_path / "real-agency")
    passphrase_file(world.root, "old.pass", STAFF_PASS)
    passphrase_file(world.root, "new.pass", b"an entirely new passphrase")

    start = datetime.now(UTC)
    snapshots: list[tuple[Step, Path, dict[str, str]]] = []
    for number, step in enumerate(_steps()):
        _advance(world, step, start)
        snapshot = tmp_path / f"before-{number:02d}"
        shutil.copytree(world.root, snapshot, symlinks=True)
        snapshots.append((step, snapshot, dict(world.now)))
        home = getattr(world, step.home)
        run = run_forked(home, step.args(world), world.env(home), tmp_path / "story.err")
        assert run.code == 0, (step.name, run.stderr)
    return world, snapshots


@dataclass(frozen=True)
class Story:
    world: World
    snapshots: dict[str, tuple[Step, Path, dict[str, str]]]
    scratch: Path


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    root = tmp_path_factory.mktemp("sweep")
    world, snapshots = _build(root)
    scratch = root / "scratch"
    scratch.mkdir()
    return Story(world, {step.name: (step, path, now) for step, path, now in snapshots}, scratch)


@pytest.mark.parametrize("command", [s.name for s in _steps() if s.sweep])
def test_a_kill_at_every_fsync_point_leaves_a_log_that_verifies_and_says_only_what_happened(
    story: Story, command: str
) -> None:
    step, snapshot, now = story.snapshots[command]
    scratch = story.scratch
    # The same world as in the story before this command (the clock included).
    base = World(story.world.root, story.world.base_env, now)
    home = getattr(base, step.home)
    _restore(snapshot, base.root)
    args = step.args(base)
    before = step.observe(base)
    entries_before = len(_entries(home))
    probe = run_forked(home, args, base.env(home), scratch / "probe.err")
    assert probe.code == 0 and probe.points > 0, (step.name, probe)
    for kill_at in range(1, probe.points + 1):
        where = f"{step.name} killed at point {kill_at}/{probe.points}"
        _restore(snapshot, base.root)
        killed = run_forked(home, args, base.env(home), scratch / "kill.err", kill_at)
        if killed.code == 0 and 0 <= killed.points < kill_at:
            continue  # this run had fewer points than the probe (nothing to kill)
        assert killed.code == KILL_EXIT, (where, killed.code, killed.stderr)
        _verify_all(base, scratch, where)
        _check_log_says_what_happened(base, step, before, entries_before, where)
        rerun = run_forked(home, args, base.env(home), scratch / "rerun.err")
        assert rerun.code in (0, 1, 2), (where, "rerun", rerun.code, rerun.stderr)
        assert "Traceback" not in rerun.stderr, (where, rerun.stderr)
        _verify_all(base, scratch, where + ", rerun")
        if rerun.code == 0:
            changed = step.observe(base) != before
            assert changed or step.action == "key-rotate", (where, rerun.stderr)
