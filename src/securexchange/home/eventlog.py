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
import sqlite3
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from securexchange import strictjson
from securexchange.clock import format_instant, parse_instant
from securexchange.errors import InternalError, LogBroken, Malformed
from securexchange.home.log_entries import (
    BINARY,
    CLOEXEC,
    GENESIS,
    MAX_CUT_HASHES,
    NOFOLLOW,
    Action,
    CheckpointVerifier,
    LogEntry,
    LogHead,
    LogValueRefused,
    LogVerification,
    Outcome,
    check_values,
    checkpoint_message,
    file_digest,
    parse_entry,
    stored_count,
    verify_log,
)
from securexchange.home.statedb import get_setting, set_setting, transaction
from securexchange.i18n import _

_HEAD_COUNT = "log_head_count"
_HEAD_HASH = "log_head_hash"
_HEAD_SIZE = "log_head_size"
# Hashes of uncommitted lines already cut from the file whose log-repair entry has not
# committed yet (kept across a kill during the repair itself).
_CUT_PENDING = "log_cut_pending"
# An entry for a change made outside the database (a file replaced), committed before
# the change: see EventLog.intend.
_INTENT = "log_intent"


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
        return LogHead(stored_count(count, _HEAD_COUNT), digest)

    def last_checkpoint(self) -> LogHead | None:
        count = get_setting(self._conn, "log_checkpoint_count")
        digest = get_setting(self._conn, "log_checkpoint_hash")
        if count is None or digest is None:
            return None
        return LogHead(stored_count(count, "log_checkpoint_count"), digest)

    # --- the file up to the committed head ------------------------------------------

    def _read(self) -> bytes:
        self._size()  # refuses anything but a regular file before opening it
        try:
            fd = os.open(self._path, os.O_RDONLY | NOFOLLOW | CLOEXEC | BINARY)
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
            raise LogBroken(_("log.jsonl is not a regular file (a link, a pipe or a directory)"))
        return status.st_size

    def _committed_end(self, head: LogHead, data: bytes | None = None) -> int | None:
        """The length of the file up to and including the head line; None if unknown."""
        if head.count == 0:
            return 0
        recorded = get_setting(self._conn, _HEAD_SIZE)
        if recorded is not None:
            return stored_count(recorded, _HEAD_SIZE)
        # A home written before the length was kept: find the head's line.
        if data is None:
            data = self._read()
        offset = 0
        for _line in range(head.count):
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
        fd = os.open(self._path, os.O_WRONLY | NOFOLLOW | CLOEXEC | BINARY)
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
        return stored_count(total, _CUT_PENDING), hashes

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
            raise InternalError(_("the log is settled outside transactions only"))
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
        check_values(actor, artifacts, counts, None)
        intent = {
            "action": action.value,
            "time": format_instant(now),
            "actor": actor,
            "artifacts": list(artifacts),
            "counts": counts,
            "witness": str(witness),
            "before": file_digest(witness),
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
            if file_digest(witness) == before:
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
            raise LogValueRefused(_("checkpoints and repairs are written by the log itself"))
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
        check_values(actor, artifacts, counts, error)
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
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | NOFOLLOW | CLOEXEC | BINARY
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
