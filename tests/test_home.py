"""The home: creation, kinds, the lock, atomic writes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cli_helpers import assert_single_error, run_cli
from securexchange.errors import AlreadyExists, Locked, NotFound, WrongHome
from securexchange.home.atomicio import TEMP_PREFIX, atomic_write
from securexchange.home.home import HomeKind, create_home, open_home


def test_new_home_is_private_and_has_its_layout(tmp_path: Path) -> None:
    home = tmp_path / "h"
    create_home(home, HomeKind.MUNICIPALITY, demo=False, env={})
    assert (home.stat().st_mode & 0o777) == 0o700
    assert (home / "keys").is_dir() and (home / "state.sqlite3").is_file()
    assert ((home / "home.json").stat().st_mode & 0o777) == 0o600


def test_creating_a_home_twice_is_refused(tmp_path: Path) -> None:
    create_home(tmp_path / "h", HomeKind.AGENCY, demo=False, env={})
    with pytest.raises(AlreadyExists):
        create_home(tmp_path / "h", HomeKind.AGENCY, demo=False, env={})


def test_opening_a_missing_home_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound), open_home(tmp_path / "none", env={}):
        pass
    assert_single_error(run_cli(["audit", "log"], home=tmp_path / "none"), "SX-NOT-FOUND", 2)


def test_a_command_for_the_other_kind_of_home_is_refused(tmp_path: Path) -> None:
    create_home(tmp_path / "h", HomeKind.AGENCY, demo=False, env={})
    with pytest.raises(WrongHome), open_home(tmp_path / "h", env={}, expect=HomeKind.MUNICIPALITY):
        pass


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f"
    atomic_write(target, b"one")
    atomic_write(target, b"two", mode=0o644)
    assert target.read_bytes() == b"two"
    assert (target.stat().st_mode & 0o777) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_exclusive_atomic_write_never_replaces(tmp_path: Path) -> None:
    target = tmp_path / "f"
    atomic_write(target, b"one", exclusive=True)
    with pytest.raises(FileExistsError):
        atomic_write(target, b"two", exclusive=True)
    assert target.read_bytes() == b"one"
    assert not any(p.name.startswith(TEMP_PREFIX) for p in tmp_path.iterdir())


_HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from securexchange.home.home import open_home
    with open_home(Path(sys.argv[1]), env={}):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def test_second_command_waits_briefly_then_refuses_with_locked(tmp_path: Path) -> None:
    home = tmp_path / "h"
    create_home(home, HomeKind.AGENCY, demo=False, env={})
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(home), "6"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(Locked), open_home(home, env={}, lock_timeout=0.5):
            pass
        result = run_cli(["audit", "log"], home=home, env={"SECUREXCHANGE_LOCK_TIMEOUT": "0.5"})
        assert_single_error(result, "SX-LOCKED", 2)
    finally:
        holder.kill()
        holder.wait()


_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from securexchange.home.log_entries import Action
    from securexchange.home.home import open_home
    from securexchange.ids import ArtifactKind, new_artifact_id
    for _ in range(int(sys.argv[2])):
        with open_home(Path(sys.argv[1]), env={}, lock_timeout=60) as home:
            for _ in range(3):
                home.log.record(Action.IMPORT, now=home.now,
                                artifacts=[new_artifact_id(ArtifactKind.PACKAGE)])
                time.sleep(0.001)
    """
)


def test_two_processes_on_one_home_never_interleave_writes(tmp_path: Path) -> None:
    home = tmp_path / "h"
    create_home(home, HomeKind.AGENCY, demo=False, env={})
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(home), "15"]) for _ in range(3)]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    with open_home(home, env={}) as opened:
        result = opened.log.verify()
    assert result.ok, result.problems
    assert len(result.entries) == 3 * 15 * 3


def test_state_database_has_no_journal_left_after_a_command(tmp_path: Path) -> None:
    home = tmp_path / "h"
    create_home(home, HomeKind.AGENCY, demo=False, env={})
    with open_home(home, env={}):
        pass
    time.sleep(0.05)
    leftovers = [p.name for p in home.iterdir() if p.name.startswith("state.sqlite3-")]
    assert leftovers == []
    assert os.environ.get("SECUREXCHANGE_NOW") is None


def _table_names(home_dir: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(home_dir / "state.sqlite3") as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(name) for (name,) in rows} - {"sqlite_sequence"}


def _declared(kind: HomeKind) -> set[str]:
    from securexchange.home.tables import TABLES, declared

    return set(declared(TABLES[kind.value]))


@pytest.mark.parametrize("kind", list(HomeKind))
def test_a_new_home_holds_exactly_the_tables_its_kind_declares(
    tmp_path: Path, kind: HomeKind
) -> None:
    create_home(tmp_path / "h", kind, demo=False, env={})
    assert _table_names(tmp_path / "h") == _declared(kind)
    other = HomeKind.AGENCY if kind is HomeKind.MUNICIPALITY else HomeKind.MUNICIPALITY
    # Both kinds keep settings, the incident register and written notices (issue 20).
    shared = {"settings", "incident_register", "incident_notices", "protocol_notices"}
    assert not (_declared(other) - shared) & _table_names(tmp_path / "h")


def test_opening_a_home_creates_a_table_an_older_home_lacks(tmp_path: Path) -> None:
    import sqlite3

    create_home(tmp_path / "h", HomeKind.MUNICIPALITY, demo=False, env={})
    with sqlite3.connect(tmp_path / "h" / "state.sqlite3") as conn:
        conn.execute("DROP TABLE vault_signed_notices")
    assert "vault_signed_notices" not in _table_names(tmp_path / "h")
    with open_home(tmp_path / "h", env={}) as home:
        assert home.db.execute("SELECT COUNT(*) FROM vault_signed_notices").fetchone() == (0,)
