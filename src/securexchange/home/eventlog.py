"""The home's log: append-only, hash-chained JSON lines in ``HOME/log.jsonl``.

Each line is one entry; ``hash`` is SHA-256 over the entry's canonical JSON without the
``hash`` field, and ``prev`` is the previous entry's hash (64 zeros for the first), so
editing, removing or reordering a line breaks the chain. The head (entry count, last
hash and the file's length up to it) is mirrored in the state database, so cutting lines
off the end is detected too.

A line is appended (and fsynced) inside the transaction of the change it records, before
that transaction commits; the head moves in the same transaction. So a line past the
committed head belongs to a change that never committed (a kill, a rollback):
:meth:`EventLog.settle` cuts such lines when a home is opened and appends a
``log-repair`` entry that says how many were cut and gives their SHA-256, so an entry
exists if and only if its change committed and the sequence numbers never fork.

The log holds no personal data: :meth:`EventLog.record` accepts only an action from a
closed list, artifact ids (whose shape excludes record ids), a key fingerprint, an error
name and named counts. Anything else is refused as a programming error.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from securexchange import strictjson
from securexchange.clock import format_instant, parse_instant
from securexchange.errors import InternalError, LogBroken, Malformed, all_error_classes
from securexchange.fingerprint import is_display
from securexchange.home.statedb import get_setting, set_setting, transaction
from securexchange.ids import is_artifact_id

GENESIS = "0" * 64
_COUNT_NAME = re.compile(r"^[a-z][a-z_]{0,31}$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
MAX_LINE = 64 * 1024
# A log-repair entry names at most this many cut lines (a kill leaves one or two); the
# count says how many there were in all.
MAX_CUT_HASHES = 64

_HEAD_COUNT = "log_head_count"
_HEAD_HASH = "log_head_hash"
_HEAD_SIZE = "log_head_size"
# Hashes of uncommitted lines already cut from the file whose log-repair entry has not
# committed yet (kept across a kill during the repair itself).
_CUT_PENDING = "log_cut_pending"
# An entry for a change made outside the database (a file replaced), committed before
# the change: see EventLog.intend.
_INTENT = "log_intent"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class Action(StrEnum):
    """Everything a log entry may say happened."""

    INIT = "init"
    KEY_ROTATE = "key-rotate"
    KEY_PASSWD = "key-passwd"  # noqa: S105 - an action name, not a secret
    KEY_EXPORT = "key-export"
    KEYRING_CHANGE = "keyring-change"
    KEYRING_PUBLISH = "keyring-publish"
    KEYRING_IMPORT = "keyring-import"
    EXPORT = "export"
    IMPORT = "import"
    OPEN = "open"
    SET_STATUS = "set-status"
    LOOKUP = "record-id"
    REPORT_QUALITY = "report-quality"
    RETURN = "return"
    IMPORT_RETURN = "import-return"
    SKIP_GAP = "skip-gap"  # a return declared lost: its signer's later ones may apply
    REPORT = "report"
    QUALITY_RESOLVE = "quality-resolve"
    TERMINATE = "terminate"
    SHRED = "shred"
    SUBKEY_DESTROY = "subkey-destroy"
    CHECKPOINT = "checkpoint"
    REFUSAL = "refusal"
    LOG_REPAIR = "log-repair"
    VAULT_UPGRADE = "vault-upgrade"  # live packages of an older home listed as legacy


class Outcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"


class LogValueRefused(InternalError):
    """A caller tried to log something that is not an id or a count (a bug)."""


@dataclass(frozen=True)
class LogEntry:
    seq: int
    time: str
    action: Action
    outcome: Outcome
    error: str | None
    actor: str | None
    artifacts: tuple[str, ...]
    counts: Mapping[str, int] = field(default_factory=dict)
    prev: str = GENESIS
    signature: str | None = None
    cut: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "signature": self.signature,
            "seq": self.seq,
            "time": self.time,
            "action": self.action.value,
            "outcome": self.outcome.value,
            "error": self.error,
            "actor": self.actor,
            "artifacts": list(self.artifacts),
            "counts": dict(self.counts),
            "prev": self.prev,
        }
        # Only log-repair entries carry the field, so every other line (and its hash)
        # is what it was before log-repair existed.
        if self.action is Action.LOG_REPAIR:
            body["cut"] = list(self.cut)
        return body

    @property
    def hash(self) -> str:
        return hashlib.sha256(strictjson.dumps_line(self.to_json())).hexdigest()

    def line(self) -> bytes:
        body = self.to_json()
        body["hash"] = self.hash
        return strictjson.dumps_line(body) + b"\n"


def _stored_count(value: str, key: str) -> int:
    """A count the log keeps in the state database; an edited one is a broken log (a
    named error), not a crash of every command."""
    if value.isascii() and value.isdigit():
        return int(value)
    raise LogBroken(f"the state database's {key} was edited (not a count)")


@dataclass(frozen=True)
class LogHead:
    count: int
    hash: str


_KNOWN_ERRORS = frozenset(cls.name for cls in all_error_classes())


def _check_values(
    actor: str | None,
    artifacts: Sequence[str],
    counts: Mapping[str, int],
    error: str | None,
) -> None:
    if actor is not None and not is_display(actor):
        raise LogValueRefused("the log takes a key fingerprint as actor, nothing else")
    for artifact in artifacts:
        if not is_artifact_id(artifact):
            raise LogValueRefused("the log takes artifact ids only")
    for name, value in counts.items():
        if not _COUNT_NAME.fullmatch(name) or isinstance(value, bool) or not isinstance(value, int):
            raise LogValueRefused("the log takes named non-negative counts only")
        if value < 0:
            raise LogValueRefused("the log takes named non-negative counts only")
    if error is not None and error not in _KNOWN_ERRORS:
        raise LogValueRefused("the log takes known error names only")


def parse_entry(raw: bytes, number: int) -> tuple[LogEntry, str]:
    """One log line as an entry and the hash it claims. Raises Malformed."""
    value = strictjson.loads(raw, what=f"log line {number}", max_bytes=MAX_LINE)
    with strictjson.Fields(value, f"log line {number}") as f:
        claimed = f.text("hash")
        try:
            action = Action(f.text("action"))
            outcome = Outcome(f.text("outcome"))
        except ValueError:
            raise Malformed(f"log line {number} has an unknown action or outcome") from None
        counts = f.object("counts")
        cut: tuple[str, ...] = ()
        if action is Action.LOG_REPAIR:
            cut = tuple(str(h) for h in f.array("cut"))
        entry = LogEntry(
            seq=f.integer("seq"),
            time=f.text("time"),
            action=action,
            outcome=outcome,
            error=f.opt_text("error"),
            actor=f.opt_text("actor"),
            artifacts=tuple(str(a) for a in f.array("artifacts")),
            counts={str(k): int(v) for k, v in counts.items()},
            prev=f.text("prev"),
            signature=f.opt_text("signature"),
            cut=cut,
        )
    return entry, claimed


def checkpoint_message(count: int, head_hash: str) -> bytes:
    """What a checkpoint signs: the number of entries before it and the last one's hash."""
    return f"securexchange-log-checkpoint/v1\n{count}\n{head_hash}\n".encode("ascii")


# Verifies one checkpoint: (actor fingerprint, message, armored signature) -> valid?
# Returns None when the actor's public key is not known to the verifier.
CheckpointVerifier = Callable[[str, bytes, str], bool | None]


@dataclass(frozen=True)
class LogProblem:
    line: int
    what: str


@dataclass(frozen=True)
class LogVerification:
    entries: tuple[LogEntry, ...]
    problems: tuple[LogProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_log(
    data: bytes,
    head: LogHead | None,
    *,
    checkpoint: LogHead | None = None,
    verify_checkpoint: CheckpointVerifier | None = None,
) -> LogVerification:
    """Check the chain of ``data`` and that it reaches ``head``. Pure.

    ``checkpoint`` is the last signed checkpoint the state database recorded (its entry
    number and hash): the log must still contain it. ``verify_checkpoint`` checks the
    signature of every checkpoint entry against the actor's public key.
    """
    entries: list[LogEntry] = []
    problems: list[LogProblem] = []
    prev = GENESIS
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif data:
        problems.append(LogProblem(len(lines), "the last line is incomplete"))
    for number, raw in enumerate(lines, start=1):
        try:
            entry, claimed = parse_entry(raw, number)
        except Malformed:
            problems.append(LogProblem(number, "the line is not a valid log entry"))
            # Continue from the claimed hash is impossible: the chain is broken here.
            prev = ""
            continue
        if entry.hash != claimed:
            problems.append(LogProblem(number, "the entry was edited (its hash does not match)"))
        if entry.seq != number:
            problems.append(LogProblem(number, "entries were removed, added or reordered"))
        if entry.prev != prev:
            problems.append(LogProblem(number, "the chain is broken (previous hash differs)"))
        if entry.action is Action.CHECKPOINT:
            problems.extend(_checkpoint_problems(entry, number, verify_checkpoint))
        elif entry.signature is not None:
            problems.append(LogProblem(number, "a signature on an entry that is no checkpoint"))
        if entry.action is Action.LOG_REPAIR and not _repair_well_formed(entry):
            problems.append(LogProblem(number, "a log-repair entry that is not well formed"))
        prev = claimed
        entries.append(entry)
    for mark, what in ((checkpoint, "signed checkpoint"), (head, "head")):
        if mark is None or mark.count == 0:
            continue
        if len(lines) < mark.count:
            problems.append(
                LogProblem(len(lines), f"the log was truncated: {mark.count} entries expected")
            )
            continue
        matching = [e for e in entries if e.seq == mark.count]
        if not matching or matching[0].hash != mark.hash:
            problems.append(LogProblem(mark.count, f"the entry recorded as {what} differs"))
    return LogVerification(tuple(entries), tuple(problems))


def _file_digest(path: Path) -> str | None:
    """SHA-256 of the file at ``path`` (not following a final link); None when absent."""
    try:
        # Non-blocking: a FIFO planted at the witness path must not hang the command.
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return "unreadable"
    digest = hashlib.sha256()
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "not a regular file"
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()


def _repair_well_formed(entry: LogEntry) -> bool:
    lines = entry.counts.get("lines")
    return (
        lines is not None
        and len(entry.cut) == min(lines, MAX_CUT_HASHES)
        and all(_SHA256_HEX.fullmatch(h) for h in entry.cut)
    )


def _checkpoint_problems(
    entry: LogEntry, number: int, verify: CheckpointVerifier | None
) -> list[LogProblem]:
    if entry.signature is None or entry.actor is None:
        return [LogProblem(number, "a checkpoint without signature or signer")]
    if verify is None:
        return []
    valid = verify(entry.actor, checkpoint_message(entry.seq - 1, entry.prev), entry.signature)
    if valid is None:
        return [LogProblem(number, "the checkpoint's signer is not a key of this home")]
    if not valid:
        return [LogProblem(number, "the checkpoint's signature does not verify")]
    return []


class EventLog:
    """Appends entries to a home's log and keeps the head in the state database."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self._path = path
        self._conn = conn
        # Lines cut inside a transaction (after a rollback the workflow survived) whose
        # hashes wait for the next log-repair entry.
        self._unrecorded: list[str] = []
        self._unrecorded_count = 0

    def head(self) -> LogHead:
        count = get_setting(self._conn, _HEAD_COUNT)
        digest = get_setting(self._conn, _HEAD_HASH)
        if count is None or digest is None:
            return LogHead(0, GENESIS)
        return LogHead(_stored_count(count, _HEAD_COUNT), digest)

    def last_checkpoint(self) -> LogHead | None:
        count = get_setting(self._conn, "log_checkpoint_count")
        digest = get_setting(self._conn, "log_checkpoint_hash")
        if count is None or digest is None:
            return None
        return LogHead(_stored_count(count, "log_checkpoint_count"), digest)

    # --- the file up to the committed head ------------------------------------------

    def _read(self) -> bytes:
        self._size()  # refuses anything but a regular file before opening it
        try:
            fd = os.open(self._path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
        except FileNotFoundError:
            return b""
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def _size(self) -> int:
        try:
            status = os.lstat(self._path)
        except FileNotFoundError:
            return 0
        # A link would carry the appends elsewhere; a FIFO would block the command.
        if not stat.S_ISREG(status.st_mode):
            raise LogBroken("log.jsonl is not a regular file (a link, a pipe or a directory)")
        return status.st_size

    def _committed_end(self, head: LogHead, data: bytes | None = None) -> int | None:
        """The length of the file up to and including the head line; None if unknown."""
        if head.count == 0:
            return 0
        recorded = get_setting(self._conn, _HEAD_SIZE)
        if recorded is not None:
            return _stored_count(recorded, _HEAD_SIZE)
        # A home written before the length was kept: find the head's line.
        if data is None:
            data = self._read()
        offset = 0
        for _ in range(head.count):
            newline = data.find(b"\n", offset)
            if newline < 0:
                return None
            offset = newline + 1
        return offset

    def _head_line_matches(self, data: bytes, head: LogHead, end: int) -> bool:
        if head.count == 0:
            return end == 0
        if end > len(data) or end < 1 or data[end - 1 : end] != b"\n":
            return False
        start = data.rfind(b"\n", 0, end - 1) + 1
        try:
            entry, claimed = parse_entry(data[start : end - 1], head.count)
        except Malformed:
            return False
        return entry.seq == head.count and claimed == head.hash == entry.hash

    def _cut(self, end: int) -> None:
        fd = os.open(self._path, os.O_WRONLY | _NOFOLLOW | _CLOEXEC)
        try:
            os.ftruncate(fd, end)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _pending(self) -> tuple[int, list[str]]:
        value = get_setting(self._conn, _CUT_PENDING)
        if not value:
            return 0, []
        total, *hashes = value.split(" ")
        return _stored_count(total, _CUT_PENDING), hashes

    def settle(self, *, now: datetime, keep_intent_of: Action | None = None) -> int:
        """Cut lines past the committed head and record them in a log-repair entry.

        Runs outside any transaction (when a home is opened, and before an entry is
        appended outside one). The hashes are committed before the file is cut, so a
        kill during the repair loses nothing: the next open finishes it. A log whose
        committed part does not end with the recorded head is left alone: that is
        damage for ``audit log --verify`` to report, not a crash to repair.
        A pending :meth:`intend` is resolved, unless it is for ``keep_intent_of`` (the
        entry about to be recorded fulfils it).
        Returns the number of lines the repair entry reports (0: nothing to do).
        """
        if self._conn.in_transaction:
            raise InternalError("the log is settled outside transactions only")
        head = self.head()
        size = self._size()
        end = self._committed_end(head)
        total, hashes = self._pending()
        if end is not None and size > end:
            data = self._read()
            if not self._head_line_matches(data, head, end):
                return 0
            tail = data[end:]
            lines = tail.split(b"\n")
            if lines and lines[-1] == b"":
                lines.pop()
            total += len(lines)
            hashes.extend(hashlib.sha256(raw).hexdigest() for raw in lines)
        if self._unrecorded_count:
            total += self._unrecorded_count
            hashes.extend(self._unrecorded)
            self._unrecorded, self._unrecorded_count = [], 0
        if total == 0:
            self._resolve_intent(keep_intent_of)
            return 0
        hashes = hashes[:MAX_CUT_HASHES]
        with transaction(self._conn):
            set_setting(self._conn, _CUT_PENDING, " ".join([str(total), *hashes]))
        if end is not None and size > end:
            self._cut(end)
        with transaction(self._conn):
            self._append(
                Action.LOG_REPAIR,
                now=now,
                outcome=Outcome.OK,
                error=None,
                actor=None,
                artifacts=(),
                counts={"lines": total},
                signature=None,
                cut=tuple(hashes),
            )
            self._conn.execute("DELETE FROM settings WHERE key = ?", (_CUT_PENDING,))
        self._resolve_intent(keep_intent_of)
        return total

    # --- changes outside the database -----------------------------------------------

    def intend(
        self,
        action: Action,
        *,
        now: datetime,
        witness: Path,
        actor: str | None = None,
        artifacts: Sequence[str] = (),
        counts: Mapping[str, int] | None = None,
    ) -> None:
        """Commit the entry a file change will earn, before the change is made.

        A file's rename cannot commit with a database transaction, so either order
        leaves a window: the entry without the change, or the change without the entry.
        Instead the entry waits in the state database with the SHA-256 of ``witness``
        (the file the change replaces) as it is now. :meth:`record` of the entry clears
        it; if a kill comes first, :meth:`settle` logs the entry when ``witness``
        changed (the change happened) and drops it when not (it did not).
        """
        counts = dict(counts or {})
        _check_values(actor, artifacts, counts, None)
        intent = {
            "action": action.value,
            "time": format_instant(now),
            "actor": actor,
            "artifacts": list(artifacts),
            "counts": counts,
            "witness": str(witness),
            "before": _file_digest(witness),
        }
        with transaction(self._conn):
            set_setting(self._conn, _INTENT, strictjson.dumps(intent).decode("utf-8"))

    def _resolve_intent(self, keep_intent_of: Action | None) -> None:
        raw = get_setting(self._conn, _INTENT)
        if raw is None:
            return
        if keep_intent_of is not None and self._intended_action() is keep_intent_of:
            return
        with transaction(self._conn):
            self._conn.execute("DELETE FROM settings WHERE key = ?", (_INTENT,))
            try:
                intent = strictjson.loads(raw.encode("utf-8"), what="log intent")
                with strictjson.Fields(intent, "log intent") as f:
                    action = Action(f.text("action"))
                    time = f.text("time")
                    actor = f.opt_text("actor")
                    artifacts = tuple(str(a) for a in f.array("artifacts"))
                    counts = {str(k): int(v) for k, v in f.object("counts").items()}
                    witness = Path(f.text("witness"))
                    before = f.opt_text("before")
            except (Malformed, ValueError):
                return  # not written by this code: nothing can be said about it
            if _file_digest(witness) == before:
                return  # the change never happened
            self._append(
                action,
                now=parse_instant(time),
                outcome=Outcome.OK,
                error=None,
                actor=actor,
                artifacts=artifacts,
                counts=counts,
                signature=None,
            )

    def _cut_inside_transaction(self, end: int) -> None:
        """A line of a rolled-back change is still in the file: cut it before appending.

        Its hash is kept in memory for the next log-repair entry (the pending setting
        would roll back with this transaction).
        """
        data = self._read()
        if not self._head_line_matches(data, self.head(), end):
            return  # damage, not a rollback: left for verification to report
        lines = data[end:].split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        self._unrecorded.extend(hashlib.sha256(raw).hexdigest() for raw in lines)
        self._unrecorded_count += len(lines)
        self._cut(end)

    # --- appending ----------------------------------------------------------------

    def checkpoint(self, *, now: datetime, actor: str, sign: Callable[[bytes], str]) -> LogEntry:
        """Append a checkpoint signed by ``sign`` (an SSHSIG signer, log namespace).

        It seals every entry before it, including those of key-less commands such as a
        scheduled ``shred``. Its number and hash are kept in the state database too, so a
        log cut back to before it is detected even when the head was rewritten.
        """
        self._settle_if_needed(now)
        with self._transaction():
            head = self.head()
            signature = sign(checkpoint_message(head.count, head.hash))
            entry = self._append(
                Action.CHECKPOINT,
                now=now,
                outcome=Outcome.OK,
                error=None,
                actor=actor,
                artifacts=(),
                counts={"entries": head.count},
                signature=signature,
            )
            set_setting(self._conn, "log_checkpoint_count", str(entry.seq))
            set_setting(self._conn, "log_checkpoint_hash", entry.hash)
        return entry

    def record(
        self,
        action: Action,
        *,
        now: datetime,
        outcome: Outcome = Outcome.OK,
        error: str | None = None,
        actor: str | None = None,
        artifacts: Sequence[str] = (),
        counts: Mapping[str, int] | None = None,
    ) -> LogEntry:
        """Append one entry. Only ids, counts, a fingerprint and an error name pass.

        Called inside the transaction of the change it records, the entry commits with
        it or not at all. Called outside one, it is its own transaction.
        """
        if action in (Action.CHECKPOINT, Action.LOG_REPAIR):
            raise LogValueRefused("checkpoints and repairs are written by the log itself")
        self._settle_if_needed(now, keep_intent_of=action)
        with self._transaction():
            if self._intended_action() is action:
                self._conn.execute("DELETE FROM settings WHERE key = ?", (_INTENT,))
            return self._append(
                action,
                now=now,
                outcome=outcome,
                error=error,
                actor=actor,
                artifacts=artifacts,
                counts=counts,
                signature=None,
            )

    def _settle_if_needed(self, now: datetime, keep_intent_of: Action | None = None) -> None:
        if not self._conn.in_transaction:
            self.settle(now=now, keep_intent_of=keep_intent_of)

    def _intended_action(self) -> Action | None:
        raw = get_setting(self._conn, _INTENT)
        if raw is None:
            return None
        try:
            value = strictjson.loads(raw.encode("utf-8"), what="log intent")
            return Action(value["action"]) if isinstance(value, dict) else None
        except (Malformed, KeyError, ValueError):
            return None

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._conn.in_transaction:
            yield
            return
        with transaction(self._conn):
            yield

    def _append(
        self,
        action: Action,
        *,
        now: datetime,
        outcome: Outcome,
        error: str | None,
        actor: str | None,
        artifacts: Sequence[str],
        counts: Mapping[str, int] | None,
        signature: str | None,
        cut: tuple[str, ...] = (),
    ) -> LogEntry:
        counts = dict(counts or {})
        _check_values(actor, artifacts, counts, error)
        head = self.head()
        end = self._committed_end(head)
        if end is not None and self._size() > end:
            self._cut_inside_transaction(end)
        entry = LogEntry(
            seq=head.count + 1,
            time=format_instant(now),
            action=action,
            outcome=outcome,
            error=error,
            actor=actor,
            artifacts=tuple(artifacts),
            counts=counts,
            prev=head.hash,
            signature=signature,
            cut=cut,
        )
        line = entry.line()
        self._size()  # a regular file or none, never a link or a pipe
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC
        fd = os.open(self._path, flags, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        # Written before the head moves, in the caller's transaction: a kill before the
        # commit leaves a line past the committed head, which the next open cuts.
        set_setting(self._conn, _HEAD_COUNT, str(entry.seq))
        set_setting(self._conn, _HEAD_HASH, entry.hash)
        set_setting(self._conn, _HEAD_SIZE, str(size))
        return entry

    def verify(self, verify_checkpoint: CheckpointVerifier | None = None) -> LogVerification:
        data = self._read()
        return verify_log(
            data,
            self.head(),
            checkpoint=self.last_checkpoint(),
            verify_checkpoint=verify_checkpoint,
        )
