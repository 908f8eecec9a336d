"""The log after a crash or a rollback: an entry exists if and only if its change committed.

A line past the committed head (a kill between the append and the commit, or a change
that rolled back) is cut when the home is next opened, and a ``log-repair`` entry says
how many lines were cut and gives their SHA-256; sequence numbers never fork.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli_helpers import cli_env, run_cli
from securexchange.errors import UsageError
from securexchange.home import statedb
from securexchange.home.home import HomeKind, create_home, open_home
from securexchange.home.log_entries import Action
from securexchange.ids import ArtifactKind, new_artifact_id

T0 = datetime(2026, 3, 1, tzinfo=UTC)

KILLED_IN_TRANSACTION = r"""
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from securexchange.home import statedb
from securexchange.home.log_entries import Action
from securexchange.home.home import open_home

with open_home(Path(sys.argv[1]), env={}) as home:
    with statedb.transaction(home.db):
        home.db.execute("INSERT INTO settings(key, value) VALUES ('killed_change', 'x')")
        home.log.record(Action.EXPORT, now=home.now, artifacts=[sys.argv[2]])
        os.kill(os.getpid(), signal.SIGKILL)
"""


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "h"
    create_home(home, HomeKind.AGENCY, demo=True, env={})
    with open_home(home, env={}) as opened:
        opened.log.record(Action.INIT, now=T0, counts={"keys": 0})
    return home


def _entries(home: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (home / "log.jsonl").read_bytes().splitlines()]


def _names(home: Path, artifact: str) -> list[str]:
    return [str(e["action"]) for e in _entries(home) if artifact in e["artifacts"]]  # type: ignore[operator]


def test_a_kill_between_the_log_line_and_its_commit_does_not_fork_the_log(
    tmp_path: Path,
) -> None:
    home = _home(tmp_path)
    package = new_artifact_id(ArtifactKind.PACKAGE)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_IN_TRANSACTION, str(home), package],
        env=cli_env(),
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    cut_line = (home / "log.jsonl").read_bytes().splitlines()[-1]
    assert package.encode() in cut_line  # the uncommitted line reached the file

    # The next command logs normally; the log verifies, now and forever after.
    later = new_artifact_id(ArtifactKind.PACKAGE)
    with open_home(home, env={}) as opened:
        assert statedb.get_setting(opened.db, "killed_change") is None  # rolled back
        opened.log.record(Action.EXPORT, now=T0, artifacts=[later])
    verified = run_cli(["audit", "log", "--verify"], home=home)
    assert verified.code == 0, verified.stderr
    entries = _entries(home)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert _names(home, package) == []  # the change never committed: never logged
    assert _names(home, later) == ["export"]
    repairs = [e for e in entries if e["action"] == "log-repair"]
    assert len(repairs) == 1
    assert repairs[0]["counts"] == {"lines": 1}
    assert repairs[0]["cut"] == [hashlib.sha256(cut_line).hexdigest()]


def test_a_rolled_back_operation_is_not_logged_as_done(tmp_path: Path) -> None:
    home = _home(tmp_path)
    package = new_artifact_id(ArtifactKind.PACKAGE)
    try:
        with open_home(home, env={}) as opened, statedb.transaction(opened.db):
            opened.log.record(Action.EXPORT, now=T0, artifacts=[package])
            raise UsageError("refused after the entry was appended")
    except UsageError:
        pass
    assert _names(home, package) == []
    actions = [e["action"] for e in _entries(home)]
    assert actions[-2:] == ["log-repair", "refusal"]
    assert run_cli(["audit", "log", "--verify"], home=home).code == 0


def test_a_log_repair_that_is_killed_itself_is_finished_by_the_next_open(
    tmp_path: Path,
) -> None:
    home = _home(tmp_path)
    package = new_artifact_id(ArtifactKind.PACKAGE)
    subprocess.run(
        [sys.executable, "-c", KILLED_IN_TRANSACTION, str(home), package],
        env=cli_env(),
        capture_output=True,
        check=False,
    )
    log = home / "log.jsonl"
    cut_line = log.read_bytes().splitlines()[-1]
    # As a kill leaves a repair after its first two steps: the hashes committed, the
    # file cut, no log-repair entry yet. The record of what was cut must survive.
    digest = hashlib.sha256(cut_line).hexdigest()
    conn = statedb.connect(home / "state.sqlite3")
    conn.execute("INSERT INTO settings(key, value) VALUES ('log_cut_pending', ?)", (f"1 {digest}",))
    conn.close()
    log.write_bytes(log.read_bytes()[: -len(cut_line) - 1])
    with open_home(home, env={}):
        pass
    entries = _entries(home)
    assert entries[-1]["action"] == "log-repair"
    assert entries[-1]["cut"] == [digest]
    with open_home(home, env={}) as opened:
        assert opened.log.verify().ok


def test_a_rolled_back_entry_inside_a_command_that_goes_on_is_cut_before_the_next_entry(
    tmp_path: Path,
) -> None:
    home = _home(tmp_path)
    dropped, kept = new_artifact_id(ArtifactKind.PACKAGE), new_artifact_id(ArtifactKind.PACKAGE)
    with open_home(home, env={}) as opened:
        try:
            with statedb.transaction(opened.db):
                opened.log.record(Action.EXPORT, now=T0, artifacts=[dropped])
                raise UsageError("this change rolls back; the command goes on")
        except UsageError:
            pass
        with statedb.transaction(opened.db):
            opened.log.record(Action.EXPORT, now=T0, artifacts=[kept])
    assert _names(home, dropped) == []
    assert _names(home, kept) == ["export"]
    entries = _entries(home)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert [e["counts"] for e in entries if e["action"] == "log-repair"] == [{"lines": 1}]
    assert run_cli(["audit", "log", "--verify"], home=home).code == 0


KILLED_AFTER_A_FILE_CHANGE = r"""
import os, signal, sys
from pathlib import Path
from securexchange.home.log_entries import Action
from securexchange.home.home import open_home

witness = Path(sys.argv[2])
with open_home(Path(sys.argv[1]), env={}) as home:
    home.log.intend(Action.KEY_PASSWD, now=home.now, witness=witness)
    if sys.argv[3] == "change":
        witness.write_bytes(b"the key file, re-sealed")
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("change", ["change", "none"])
def test_a_key_file_replaced_just_before_a_kill_is_logged_and_one_left_alone_is_not(
    tmp_path: Path, change: str
) -> None:
    home = _home(tmp_path)
    witness = home / "keys" / "identity.key"
    witness.write_bytes(b"the key file")
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_A_FILE_CHANGE, str(home), str(witness), change],
        env=cli_env(),
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with open_home(home, env={}):
        pass
    actions = [e["action"] for e in _entries(home)]
    assert actions.count("key-passwd") == (1 if change == "change" else 0)
    assert run_cli(["audit", "log", "--verify"], home=home).code == 0


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_a_log_replaced_by_a_symlink_or_a_fifo_is_refused_by_name_and_never_written_through(
    tmp_path: Path, kind: str
) -> None:
    home = _home(tmp_path)
    log = home / "log.jsonl"
    target = tmp_path / "elsewhere.txt"
    target.write_bytes(b"")
    log.unlink()
    if kind == "symlink":
        log.symlink_to(target)
    else:
        os.mkfifo(log)
    # A command that fails is logged as a refusal: the log is written, never through
    # a link and never blocked on a pipe.
    missing = tmp_path / "missing.xlsx"
    result = run_cli(["agency", "export", str(missing), "--out", str(tmp_path)], home=home)
    assert result.code in (1, 2), result.stderr
    # The home guard refuses the planted file before the command; the log's own check
    # (SX-LOG-BROKEN) stands behind it for a swap after the guard.
    assert "Traceback" not in result.stderr
    assert "error: SX-UNSAFE-HOME" in result.stderr or "error: SX-LOG-BROKEN" in result.stderr
    assert target.read_bytes() == b""
