"""The home's log: append-only, hash-chained JSON lines in ``HOME/log.jsonl``.

Each line is one entry; ``hash`` is SHA-256 over the entry's canonical JSON without the
``hash`` field, and ``prev`` is the previous entry's hash (64 zeros for the first), so
editing, removing or reordering a line breaks the chain. The head (entry count and last
hash) is mirrored in the state database, so cutting lines off the end is detected too.

The log holds no personal data: :meth:`EventLog.record` accepts only an action from a
closed list, artifact ids (whose shape excludes record ids), a key fingerprint, an error
name and named counts. Anything else is refused as a programming error.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from securexchange import strictjson
from securexchange.clock import format_instant
from securexchange.errors import InternalError, LogBroken, Malformed, all_error_classes
from securexchange.fingerprint import is_display
from securexchange.ids import is_artifact_id
from securexchange.statedb import get_setting, set_setting

GENESIS = "0" * 64
_COUNT_NAME = re.compile(r"^[a-z][a-z_]{0,31}$")
MAX_LINE = 64 * 1024


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
    REPORT_QUALITY = "report-quality"
    RETURN = "return"
    IMPORT_RETURN = "import-return"
    REPORT = "report"
    QUALITY_RESOLVE = "quality-resolve"
    TERMINATE = "terminate"
    SHRED = "shred"
    SUBKEY_DESTROY = "subkey-destroy"
    CHECKPOINT = "checkpoint"
    REFUSAL = "refusal"


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

    def to_json(self) -> dict[str, object]:
        return {
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

    @property
    def hash(self) -> str:
        return hashlib.sha256(strictjson.dumps_line(self.to_json())).hexdigest()

    def line(self) -> bytes:
        body = self.to_json()
        body["hash"] = self.hash
        return strictjson.dumps_line(body) + b"\n"


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

    def head(self) -> LogHead:
        count = get_setting(self._conn, "log_head_count")
        digest = get_setting(self._conn, "log_head_hash")
        if count is None or digest is None:
            return LogHead(0, GENESIS)
        return LogHead(int(count), digest)

    def last_checkpoint(self) -> LogHead | None:
        count = get_setting(self._conn, "log_checkpoint_count")
        digest = get_setting(self._conn, "log_checkpoint_hash")
        if count is None or digest is None:
            return None
        return LogHead(int(count), digest)

    def checkpoint(self, *, now: datetime, actor: str, sign: Callable[[bytes], str]) -> LogEntry:
        """Append a checkpoint signed by ``sign`` (an SSHSIG signer, log namespace).

        It seals every entry before it, including those of key-less commands such as a
        scheduled ``shred``. Its number and hash are kept in the state database too, so a
        log cut back to before it is detected even when the head was rewritten.
        """
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
        """Append one entry. Only ids, counts, a fingerprint and an error name pass."""
        if action is Action.CHECKPOINT:
            raise LogValueRefused("checkpoints are written with EventLog.checkpoint")
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
    ) -> LogEntry:
        counts = dict(counts or {})
        _check_values(actor, artifacts, counts, error)
        head = self.head()
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
        )
        line = entry.line()
        # Never append through a link planted at the log's name (homeguard refuses one
        # before the command; this closes the window after the check).
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self._path, flags, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        # The file is written first: a crash here leaves the head one behind, which
        # verification accepts (the head is a lower bound), never ahead of the file.
        set_setting(self._conn, "log_head_count", str(entry.seq))
        set_setting(self._conn, "log_head_hash", entry.hash)
        return entry

    def verify(self, verify_checkpoint: CheckpointVerifier | None = None) -> LogVerification:
        data = self._path.read_bytes() if self._path.exists() else b""
        return verify_log(
            data,
            self.head(),
            checkpoint=self.last_checkpoint(),
            verify_checkpoint=verify_checkpoint,
        )

    def require_intact(self) -> LogVerification:
        result = self.verify()
        if not result.ok:
            first = result.problems[0]
            raise LogBroken(f"log.jsonl line {first.line}: {first.what}")
        return result
