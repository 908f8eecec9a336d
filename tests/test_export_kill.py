"""SIGKILL of `agency export` at every file-system event it causes.

The CLI runs in a subprocess through a small wrapper that installs ``sys.addaudithook``,
counts the file-system events of the process (opens for writing, renames, links,
removals, chmod, mkdir, SQLite connections) and SIGKILLs itself at event N. No test hook
exists in the production code. After each kill: the output directory holds no new
package or only complete ones, each of which verifies and is known to the database;
the database is consistent (every committed package is either published or staged for
roll-forward; sequence numbers contiguous); and a rerun succeeds and publishes exactly
what the database holds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import flows
from cli_helpers import cli_env
from keys_helpers import EXPORT_PASS, passphrase_file
from securexchange.artifacts.package_open import PackageTrust, open_package

NIS = ("11002", "44021", "24062")
MIN_POINTS = 30
MAX_POINTS = 60

WRAPPER = r"""
import os, signal, sys

KILL_AT = int(os.environ["SX_KILL_AT"])
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
EVENTS = {"os.rename", "os.link", "os.remove", "os.chmod", "os.mkdir", "os.rmdir",
          "os.truncate", "sqlite3.connect", "shutil.move", "shutil.copyfile"}
count = 0

def hook(event, args):
    global count
    if event == "open":
        mode, flags = args[1], args[2]
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(
            isinstance(flags, int) and flags & WRITE_FLAGS)
        if not writes:
            return
    elif event not in EVENTS:
        return
    count += 1
    if count == KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)

def report():
    os.write(2, f"\nSX-AUDIT-EVENTS {count}\n".encode())

import atexit
atexit.register(report)
sys.addaudithook(hook)
from securexchange.cli.main import main
main(sys.argv[1:])
"""


@dataclass(frozen=True)
class Pristine:
    root: Path
    agency: Path
    out: Path
    master: Path
    passfile: Path
    staff: tuple[flows.Staff, ...]
    root_key: bytes
    wrapper: Path


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    root = tmp_path_factory.mktemp("kill")
    agency = root / "agency"
    flows.make_agency(agency)
    staff = []
    for i, nis in enumerate(NIS):
        flows.register(agency, nis, f"Gemeente {i}")
        staff.append(flows.add_staff(agency, root / f"staff{i}", nis))
    master = flows.write_master(root / "master.xlsx", 60, list(NIS))
    flows.export(agency, master, root / "out")  # sequence 1 everywhere: the kill makes 2
    wrapper = root / "kill_wrapper.py"
    wrapper.write_text(WRAPPER)
    return Pristine(
        root=root,
        agency=agency,
        out=root / "out",
        master=master,
        passfile=passphrase_file(root, "export.pass", EXPORT_PASS),
        staff=tuple(staff),
        root_key=flows.root_public_key(agency),
        wrapper=wrapper,
    )


def _run(p: Pristine, agency: Path, out: Path, kill_at: int) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(p.wrapper), "--home", str(agency), "agency", "export"]
    argv += [str(p.master), "--out", str(out), "--passphrase-file", str(p.passfile)]
    return subprocess.run(
        argv,
        env=cli_env({"SX_KILL_AT": str(kill_at)}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _events(result: subprocess.CompletedProcess[str]) -> int:
    for line in result.stderr.splitlines():
        if line.startswith("SX-AUDIT-EVENTS "):
            return int(line.split()[1])
    raise AssertionError(result.stderr)


def _copy(p: Pristine, into: Path) -> tuple[Path, Path]:
    agency, out = into / "agency", into / "out"
    shutil.copytree(p.agency, agency)
    shutil.copytree(p.out, out)
    return agency, out


def _rows(agency: Path) -> list[tuple[str, str, int, str, str, int]]:
    conn = sqlite3.connect(agency / "state.sqlite3")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = conn.execute(
            "SELECT id, party_id, sequence, sha256, file_name, published FROM agency_packages "
            "ORDER BY party_id, sequence"
        ).fetchall()
        for package_id, *_ in rows:
            (records,) = conn.execute(
                "SELECT records FROM agency_packages WHERE id = ?", (package_id,)
            ).fetchone()
            (stored,) = conn.execute(
                "SELECT COUNT(*) FROM agency_package_records WHERE package_id = ?", (package_id,)
            ).fetchone()
            assert records == stored
    finally:
        conn.close()
    return [(str(a), str(b), int(c), str(d), str(e), int(f)) for a, b, c, d, e, f in rows]


def _check_consistent(p: Pristine, agency: Path, out: Path, before: set[str]) -> None:
    rows = _rows(agency)
    known = {name: sha for _, _, _, sha, name, _ in rows}
    by_party: dict[str, list[int]] = {}
    for _, party, seq, sha, name, published in rows:
        by_party.setdefault(party, []).append(seq)
        if published:
            assert hashlib.sha256((out / name).read_bytes()).hexdigest() == sha
        else:
            staged = [f for f in (agency / "outbox").iterdir() if f.read_bytes()]
            assert any(hashlib.sha256(f.read_bytes()).hexdigest() == sha for f in staged)
    for seqs in by_party.values():
        assert seqs == list(range(1, len(seqs) + 1))
    staff = {s.nis: s for s in p.staff}
    for path in out.glob("*.sxpkg"):
        if path.name in before:
            continue
        # A new package in the output directory is complete, verifies, and is committed.
        assert path.name in known, "a package the database does not know was published"
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == known[path.name]
        nis = path.name.split("-")[0]
        opened = open_package(
            data,
            trust=PackageTrust(p.root_key),
            identities=flows.staff_identities(staff[nis]),
        )
        assert opened.workbook is not None


def _points(total: int) -> list[int]:
    if total <= MAX_POINTS:
        return list(range(1, total + 1))
    step = total / MAX_POINTS
    return sorted({1 + int(i * step) for i in range(MAX_POINTS)} | {total})


@pytest.mark.slow
def test_sigkill_at_every_file_system_event_leaves_complete_packages_and_a_rerun_succeeds(
    pristine: Pristine, tmp_path: Path
) -> None:
    agency, out = _copy(pristine, tmp_path / "count")
    full = _run(pristine, agency, out, kill_at=0)
    assert full.returncode == 0, full.stderr
    total = _events(full)
    points = _points(total)
    assert len(points) >= MIN_POINTS, total
    before = {f.name for f in pristine.out.glob("*.sxpkg")}
    killed = 0
    for n in points:
        agency, out = _copy(pristine, tmp_path / f"n{n}")
        result = _run(pristine, agency, out, kill_at=n)
        assert result.returncode == -9, (n, result.returncode, result.stderr)
        killed += 1
        _check_consistent(pristine, agency, out, before)
        rerun = _run(pristine, agency, out, kill_at=0)
        assert rerun.returncode == 0, (n, rerun.stderr)
        _check_consistent(pristine, agency, out, before)
        rows = _rows(agency)
        assert all(published for *_, published in rows), n
        assert {name for *_, name, _ in rows} == {f.name for f in out.glob("*.sxpkg")}
        assert not any((agency / "outbox").iterdir())
        assert not [f for f in out.iterdir() if f.name.startswith(".sx-tmp-")]
        shutil.rmtree(tmp_path / f"n{n}")
    assert killed >= MIN_POINTS


def test_the_wrapper_counts_events_without_changing_the_outcome(
    pristine: Pristine, tmp_path: Path
) -> None:
    agency, out = _copy(pristine, tmp_path / "plain")
    result = _run(pristine, agency, out, kill_at=0)
    assert result.returncode == 0, result.stderr
    assert _events(result) > 0
    assert len(list(out.glob("*.sxpkg"))) == 2 * len(NIS)
    assert os.stat(out).st_mode
