"""A home: the directory that holds one party's keys, state database and log.

Where it is: ``--home``, else ``SECUREXCHANGE_HOME``, else the platform's user data
directory (platformdirs; the only user of it). Layout::

    HOME/home.json      kind (agency | municipality), demo flag, creation time
    HOME/keys/          private key files (0600), public cards
    HOME/state.sqlite3  the state database (settings, clock mark, log head, ...)
    HOME/log.jsonl      the hash-chained log
    HOME/workbooks/     workbooks ``municipality open`` wrote (registered)
    HOME/.lock          one lock per home

Every command that touches a home runs inside :func:`open_home`, which takes the lock
(waiting briefly, then refusing with SX-LOCKED), reads the clock, and records a refusal
in the log when the command fails with a user-facing error.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from securexchange import strictjson
from securexchange.clock import (
    OVERRIDE_ENV,
    ClockReading,
    format_instant,
    parse_instant,
    read_clock,
)
from securexchange.errors import (
    AlreadyExists,
    Locked,
    Malformed,
    NotFound,
    SxError,
    UnsafeHome,
    UsageError,
    WrongHome,
)
from securexchange.home import homeguard, legacy_upgrade, safefs, statedb, tables
from securexchange.home.atomicio import atomic_write, make_private_dir, remove_temp_leftovers
from securexchange.home.eventlog import EventLog
from securexchange.home.log_entries import Action, Outcome
from securexchange.i18n import N_, _

if TYPE_CHECKING:
    from filelock import BaseFileLock

HOME_ENV = "SECUREXCHANGE_HOME"
LOCK_TIMEOUT_ENV = "SECUREXCHANGE_LOCK_TIMEOUT"
LOCK_TIMEOUT_SECONDS = 5.0
HOME_FORMAT = "securexchange-home/1"
CLOCK_MARK = "clock_mark"
# Settings holding times the home has seen; the clock is never behind any of them.
SEEN_SETTINGS = ("last_shred",)
LOG_TAIL_BYTES = 64 << 10


class HomeKind(StrEnum):
    AGENCY = "agency"
    MUNICIPALITY = "municipality"


# How a kind of home is named in a sentence (the kind's value stays English in home.json).
_KIND_WORDS = {HomeKind.AGENCY: N_("agency"), HomeKind.MUNICIPALITY: N_("municipality")}


@dataclass(frozen=True)
class HomePaths:
    root: Path

    @property
    def marker(self) -> Path:
        return self.root / "home.json"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def state_db(self) -> Path:
        return self.root / "state.sqlite3"

    @property
    def log(self) -> Path:
        return self.root / "log.jsonl"

    @property
    def workbooks(self) -> Path:
        return self.root / "workbooks"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"


@dataclass(frozen=True)
class HomeInfo:
    kind: HomeKind
    demo: bool
    created_at: str

    def to_json(self) -> dict[str, object]:
        return {
            "format": HOME_FORMAT,
            "kind": self.kind.value,
            "demo": self.demo,
            "created_at": self.created_at,
        }

    @classmethod
    def from_json(cls, value: object) -> HomeInfo:
        with strictjson.Fields(value, "home.json") as f:
            if f.text("format") != HOME_FORMAT:
                raise Malformed(_("home.json has an unknown format"))
            try:
                kind = HomeKind(f.text("kind"))
            except ValueError:
                raise Malformed(_("home.json names an unknown kind of home")) from None
            return cls(kind=kind, demo=f.boolean("demo"), created_at=f.text("created_at"))


def resolve_home(explicit: Path | None, env: Mapping[str, str]) -> Path:
    """The home directory for this invocation."""
    if explicit is not None:
        return explicit
    from_env = env.get(HOME_ENV)
    if from_env:
        return Path(from_env)
    import platformdirs

    return Path(platformdirs.user_data_dir("securexchange", appauthor=False))


def read_info(paths: HomePaths) -> HomeInfo:
    try:
        raw = paths.marker.read_bytes()
    except FileNotFoundError:
        raise NotFound(
            _("no securexchange home at {path}").format(path=paths.root),
            hint=_(
                "create one with 'securexchange agency init' or 'securexchange municipality init'"
            ),
        ) from None
    return HomeInfo.from_json(strictjson.loads(raw, what="home.json", max_bytes=4096))


@dataclass
class Home:
    """An open, locked home for the duration of one command."""

    paths: HomePaths
    info: HomeInfo
    db: sqlite3.Connection
    clock: ClockReading
    log: EventLog
    read_only: bool = False
    _signer: tuple[bytes, str] | None = None
    # What a workflow did on its own that its user must hear of (subkeys topped up):
    # library code never prints; the CLI shows these when the command ends.
    _notices: list[str] = field(default_factory=list)

    def tell(self, text: str) -> None:
        """Leave ``text`` (already translated) for the user, shown when the command ends."""
        self._notices.append(text)

    @property
    def notices(self) -> tuple[str, ...]:
        return tuple(self._notices)

    def note_signer(self, seed: bytes, actor: str) -> None:
        """Remember an unlocked signing key: the command ends with a signed checkpoint.

        Workflows call this when they unlock a key; the seed stays in memory only and
        is used once, to sign the log checkpoint when the command succeeds.
        """
        self._signer = (seed, actor)

    def write_checkpoint(self) -> None:
        """Seal the log with the noted key (no-op when no key was unlocked)."""
        if self._signer is None:
            return
        from securexchange import sshsig

        seed, actor = self._signer
        self._signer = None
        self.log.checkpoint(
            now=self.log_time,
            actor=actor,
            sign=lambda message: sshsig.sign(seed, message, sshsig.NAMESPACE_LOG),
        )

    @property
    def now(self) -> datetime:
        return self.clock.now

    @property
    def demo(self) -> bool:
        return self.info.demo

    @property
    def holds_still(self) -> bool:
        """A read-only command in a demo home under ``SECUREXCHANGE_NOW``: it shows
        the future and changes nothing (no mark stored, no shredding, no log entry
        dated in the future), so a later command is not stuck in that future."""
        return self.read_only and self.info.demo and self.clock.override is not None

    @property
    def log_time(self) -> datetime:
        """The time this command's log entries carry (the log's newest time is part of
        the home's mark, so a command that holds still logs at the real time)."""
        return self.clock.real_now if self.holds_still else self.clock.now

    def advance_clock(self, floor: datetime) -> bool:
        """Move this command's time forward to ``floor``, a time the home's own records
        prove it has seen (its clock mark was edited or restored from a backup), and
        store it as the mark. Returns False when the clock was there already."""
        if floor <= self.clock.now:
            return False
        self.clock = ClockReading(
            now=floor, system=self.clock.system, previous_mark=floor, override=self.clock.override
        )
        if self.holds_still:
            return True  # the floor is a time the home has seen: it stays in its records
        with statedb.transaction(self.db):
            statedb.set_setting(self.db, CLOCK_MARK, format_instant(floor))
        return True

    def record(
        self,
        action: Action,
        *,
        actor: str | None = None,
        artifacts: tuple[str, ...] | list[str] = (),
        counts: Mapping[str, int] | None = None,
    ) -> None:
        """Log a successful action (ids and counts only)."""
        self.log.record(action, now=self.log_time, actor=actor, artifacts=artifacts, counts=counts)


def _acquire_lock(paths: HomePaths, timeout: float) -> BaseFileLock:
    from filelock import FileLock, Timeout

    unsafe = UnsafeHome(
        _("the lock file {path} is a symbolic link or not a regular file").format(path=paths.lock),
        hint=_("no securexchange command is using it: move it aside ({path})").format(
            path=paths.lock
        ),
    )
    # The lock file is opened for writing: never through a link, never a FIFO.
    if safefs.is_link_or_special(paths.lock):
        raise unsafe
    lock = FileLock(str(paths.lock), timeout=timeout, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise Locked(
            _("another securexchange command is using the home {path}").format(path=paths.root)
        ) from None
    except OSError as exc:
        swapped = {getattr(errno, n, None) for n in ("ELOOP", "ENXIO", "EISDIR")} - {None}
        if exc.errno in swapped:  # a link or FIFO swapped in after the check
            raise unsafe from None
        raise
    return lock


@contextmanager
def holding_lock(root: Path, *, env: Mapping[str, str]) -> Iterator[HomePaths]:
    """Hold the lock of the home at ``root`` (as :func:`open_home` does) without opening
    its state database: for work on a home whose database cannot be opened."""
    paths = HomePaths(root)
    lock = _acquire_lock(paths, _lock_timeout(None, env))
    try:
        yield paths
    finally:
        lock.release()


def _lock_timeout(explicit: float | None, env: Mapping[str, str]) -> float:
    if explicit is not None:
        return explicit
    try:
        return max(0.0, float(env.get(LOCK_TIMEOUT_ENV, LOCK_TIMEOUT_SECONDS)))
    except ValueError:
        return LOCK_TIMEOUT_SECONDS


def _read_mark(conn: sqlite3.Connection, log: Path) -> datetime | None:
    """The highest time this home has seen: the clock mark, and never less than the
    last-shred mark or the newest log entry (the log is hash-chained and sealed by
    signed checkpoints), so that editing the mark back, or restoring only the state
    database from a backup, does not rewind the clock."""
    seen = [_last_logged_time(log)]
    for key in (CLOCK_MARK, *SEEN_SETTINGS):
        value = statedb.get_setting(conn, key)
        if value is not None:
            try:
                seen.append(parse_instant(value))
            except UsageError:
                continue  # an edited value: the others still hold
    found = [moment for moment in seen if moment is not None]
    return max(found) if found else None


def _last_logged_time(log: Path) -> datetime | None:
    """The time of the log's last complete entry; None when there is none to read.

    Opened without following a link and without blocking (a FIFO planted at the path
    must not hang every command); only a regular file is read, its last 64 KiB.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(log, flags | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        os.lseek(fd, max(0, info.st_size - LOG_TAIL_BYTES), os.SEEK_SET)
        tail = os.read(fd, LOG_TAIL_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    for line in reversed(tail.split(b"\n")):
        try:
            value = json.loads(line)
            if isinstance(value, dict) and isinstance(value.get("time"), str):
                return parse_instant(value["time"])
        except (ValueError, UsageError):
            continue
    return None


def system_time() -> datetime:
    """The system's wall clock: the one place securexchange reads it. A home's commands
    see it through :func:`open_home`'s clock (never earlier than the stored mark).
    ``audit verify`` has no home and reads no clock: it judges each artifact's deadlines
    against the times the signed artifacts themselves carry."""
    return datetime.now(UTC)


def create_home(
    root: Path,
    kind: HomeKind,
    *,
    demo: bool,
    env: Mapping[str, str],
    system_now: datetime | None = None,
) -> None:
    """Make a new, empty home. Refuses a directory that already holds one."""
    paths = HomePaths(root)
    if paths.marker.exists():
        raise AlreadyExists(_("{path} already holds a securexchange home").format(path=root))
    if env.get(OVERRIDE_ENV) and not demo:
        # Refuse before creating anything, as any other real home would.
        read_clock(system=system_time(), mark=None, override=env[OVERRIDE_ENV], demo=False)
    if root.exists():
        homeguard.check_owner(root)  # before make_private_dir tries to chmod it
    make_private_dir(root)
    homeguard.check_home(root)  # a directory left with links in it is refused before use
    make_private_dir(paths.keys)
    make_private_dir(paths.workbooks)
    now = system_now or system_time()
    info = HomeInfo(kind=kind, demo=demo, created_at=format_instant(now))
    conn = statedb.connect(paths.state_db)
    try:
        tables.apply(conn, kind.value)
    finally:
        conn.close()
    os.chmod(paths.state_db, 0o600)
    atomic_write(paths.marker, strictjson.dumps(info.to_json()), mode=0o600, exclusive=True)


def _upgrade(home: Home) -> None:
    """Bring an older home forward, logged (see :func:`legacy_upgrade.upgrade`)."""
    if not legacy_upgrade.upgrade_pending(home.db):  # the usual case: nothing to do
        return
    with statedb.transaction(home.db):
        touched = legacy_upgrade.upgrade(home.db, home.now)
        if touched:
            home.record(Action.VAULT_UPGRADE, artifacts=touched, counts={"legacy": len(touched)})


@contextmanager
def open_home(
    root: Path,
    *,
    env: Mapping[str, str],
    expect: HomeKind | None = None,
    system_now: datetime | None = None,
    lock_timeout: float | None = None,
    read_only: bool = False,
) -> Iterator[Home]:
    """Lock and open the home at ``root`` for one command.

    ``read_only`` declares a command that only shows (status, lists, the log). In a
    demo home under ``SECUREXCHANGE_NOW`` such a command does not store the clock mark
    (see :attr:`Home.holds_still`); anywhere else it stores it as every command does,
    so in a real home nothing about the clock changes.

    Raises NotFound for a missing home, WrongHome for the other kind, Locked when
    another command holds it, ClockOverride for ``SECUREXCHANGE_NOW`` in a real home.
    A user-facing error raised inside the block is recorded as one refusal entry.
    """
    paths = HomePaths(root)
    if os.path.lexists(paths.marker):
        # Before home.json is read: a FIFO or a link to /dev/zero there must not hang us.
        homeguard.check_home(root)
    info = read_info(paths)
    if expect is not None and info.kind is not expect:
        raise WrongHome(
            _("{path} is a {kind} home; this command needs a {expected} home").format(
                path=root, kind=_(_KIND_WORDS[info.kind]), expected=_(_KIND_WORDS[expect])
            )
        )
    lock = _acquire_lock(paths, _lock_timeout(lock_timeout, env))
    conn: sqlite3.Connection | None = None
    try:
        conn = statedb.connect(paths.state_db, create=False)
        tables.apply(conn, info.kind.value)
        for directory in (paths.root, paths.keys, paths.keys / "subkeys", paths.workbooks):
            remove_temp_leftovers(directory)
        clock = read_clock(
            system=system_now or system_time(),
            mark=_read_mark(conn, paths.log),
            override=env.get(OVERRIDE_ENV),
            demo=info.demo,
        )
        home = Home(
            paths=paths,
            info=info,
            db=conn,
            clock=clock,
            log=EventLog(paths.log, conn),
            read_only=read_only,
        )
        if not home.holds_still:
            # Store the mark before anything else: time never goes back for this home.
            with statedb.transaction(conn):
                statedb.set_setting(conn, CLOCK_MARK, format_instant(clock.now))
        # Lines a killed command left past the committed head are cut (and the cut is
        # logged) before anything else is logged, so sequence numbers never fork.
        home.log.settle(now=home.log_time)
        _upgrade(home)
        try:
            yield home
            home.log.settle(now=home.log_time)
            home.write_checkpoint()
        except SxError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            home.log.record(
                Action.REFUSAL, now=home.log_time, outcome=Outcome.REFUSED, error=exc.name
            )
            raise
    finally:
        if conn is not None:
            conn.close()
        lock.release()
