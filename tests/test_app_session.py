"""The app's secrets have short lives: the launch token, the unlocked key, the session.

Clocks are injected (the token's two minutes, the key's 15 idle minutes); the key and
the shredding pass are real, on a real home.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from app_world import AppWorld, make_app_world
from flows import STAFF_PASS
from securexchange.age.scrypt import DerivedKeys, remembering
from securexchange.app.homes import note_shredding, visit
from securexchange.app.launch import LAUNCH_VALID, LaunchToken
from securexchange.app.session import IDLE_LIMIT, Session
from securexchange.municipality.retention import ShredReport


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_launch_token_is_spent_once_and_expires_after_two_minutes() -> None:
    clock = Clock()
    token = LaunchToken(clock)
    assert not token.spend("wrong")
    clock.now += LAUNCH_VALID + 1
    assert not token.spend(token.value)  # too late, even the right one
    fresh = LaunchToken(clock)
    clock.now += LAUNCH_VALID - 1
    assert fresh.spend(fresh.value)
    assert not fresh.spend(fresh.value)


def test_the_key_is_dropped_after_fifteen_idle_minutes_and_kept_while_used() -> None:
    clock = Clock()
    session = Session("nl", clock)
    derived = DerivedKeys()
    session.unlock(b"secret", derived)
    for _ in range(4):  # used every ten minutes: kept
        clock.now += 600
        assert not session.expire_idle()
        session.touch()
    clock.now += IDLE_LIMIT + 1
    assert session.expire_idle()
    assert not session.unlocked
    with pytest.raises(LookupError):
        session.passphrase()


def test_a_destroyed_subkey_drops_the_key_and_what_it_derived_and_decrypted() -> None:
    session = Session("nl")
    derived = DerivedKeys()
    derived.derive(b"secret", b"\0" * 16, 2)
    session.unlock(b"secret", derived)
    opened = session.opened_edits()
    assert opened is not None
    opened._bodies[b"sealed"] = object()  # type: ignore[assignment]
    note_shredding(session, ShredReport())
    assert session.unlocked
    note_shredding(session, ShredReport(destroyed_subkeys=["age1..."]))
    assert not session.unlocked and session.opened_edits() is None
    assert derived._keys == {} and opened._bodies == {}


def test_remembered_keys_open_the_key_file_without_scrypt_again(tmp_path: Path) -> None:
    from securexchange.keys.keyfile import read_key_file

    world: AppWorld = make_app_world(tmp_path)
    key_file = world.staff.home / "keys" / "identity.key"
    derived = DerivedKeys()
    with remembering(derived):
        first = read_key_file(key_file, STAFF_PASS)
    assert len(derived._keys) == 1
    with remembering(derived):
        assert read_key_file(key_file, STAFF_PASS) == first
    assert len(derived._keys) == 1
    read_key_file(key_file, STAFF_PASS)  # outside the block: nothing remembered
    assert len(derived._keys) == 1


def test_the_app_takes_the_homes_lock_per_visit_and_shreds_on_each(tmp_path: Path) -> None:
    from securexchange.errors import Locked

    world = make_app_world(tmp_path)
    session = Session("nl")
    with visit(world.staff.home, session) as found:
        last = found.home.db.execute(
            "SELECT value FROM settings WHERE key = 'last_shred'"
        ).fetchone()
        assert last is not None  # the pass ran first
        with pytest.raises(Locked), _opened(world):
            pass
    with _opened(world):
        pass  # free again between visits


def _opened(world: AppWorld) -> Any:
    from securexchange.home.home import HomeKind, open_home

    return open_home(world.staff.home, env={}, expect=HomeKind.MUNICIPALITY, lock_timeout=0.1)


def test_the_minute_loop_runs_the_pass_and_the_idle_check(tmp_path: Path) -> None:
    from securexchange.app.context import AppContext
    from securexchange.app.server import shred_every

    world = make_app_world(tmp_path)
    _set_last_shred(world, "2000-01-01T00:00:00Z")
    clock = Clock()
    session = Session("nl", clock)
    session.unlock(STAFF_PASS, DerivedKeys())
    clock.now += IDLE_LIMIT + 1
    context = AppContext(
        world.staff.home, 0, "/p", session, LaunchToken(), lambda _language: None, threading.Lock()
    )
    ended = threading.Event()
    loop = threading.Thread(target=shred_every, args=(context, ended, 0.05))
    loop.start()
    try:
        assert _eventually(lambda: not session.unlocked)
        assert _eventually(lambda: _last_shred(world) != "2000-01-01T00:00:00Z")
    finally:
        ended.set()
        loop.join()


def _set_last_shred(world: AppWorld, value: str) -> None:
    import sqlite3

    with sqlite3.connect(world.staff.home / "state.sqlite3") as db:
        db.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES ('last_shred', ?)", (value,)
        )


def _last_shred(world: AppWorld) -> str:
    import sqlite3

    with sqlite3.connect(world.staff.home / "state.sqlite3") as db:
        row = db.execute("SELECT value FROM settings WHERE key = 'last_shred'").fetchone()
    return str(row[0])


def _eventually(predicate: object, seconds: float = 10.0) -> bool:
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_subkey_destroyed_by_another_command_between_requests_drops_the_key(
    tmp_path: Path,
) -> None:
    from securexchange.municipality import subkeys

    world = make_app_world(tmp_path)
    session = Session("nl")
    session.unlock(STAFF_PASS, DerivedKeys())
    with visit(world.staff.home, session):
        pass
    assert session.unlocked and session.held_subkeys
    with visit(world.staff.home, session):
        pass
    assert session.unlocked  # nothing changed: kept
    with _opened(world) as home:  # a `municipality shred` beside the app
        gone = sorted(session.held_subkeys)[0]
        subkeys.destroy(home, gone)
    with visit(world.staff.home, session):
        assert not session.unlocked  # dropped before the request's own work
    assert session.held_subkeys == frozenset()


def test_unlocking_again_forgets_what_the_earlier_unlock_held() -> None:
    session = Session("nl")
    first = DerivedKeys()
    first.derive(b"secret", b"\0" * 16, 2)
    session.unlock(b"secret", first)
    session.unlock(b"secret", DerivedKeys())
    assert first._keys == {} and session.unlocked
