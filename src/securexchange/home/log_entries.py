"""The home's log as data: the actions and outcomes, one entry's strict form, the
hash chain, and its verification (what ``audit log`` checks). Writing it is
:mod:`securexchange.home.eventlog`."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from securexchange import strictjson
from securexchange.errors import InternalError, LogBroken, Malformed, all_error_classes
from securexchange.fingerprint import is_display
from securexchange.home.safefs import is_link_or_special
from securexchange.i18n import _
from securexchange.ids import is_artifact_id

GENESIS = "0" * 64


_COUNT_NAME = re.compile(r"^[a-z][a-z_]{0,31}$")


_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


MAX_LINE = 64 * 1024


# A log-repair entry names at most this many cut lines (a kill leaves one or two); the
# count says how many there were in all.
MAX_CUT_HASHES = 64


NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


CLOEXEC = getattr(os, "O_CLOEXEC", 0)


# Windows opens a descriptor in text mode unless told otherwise: its reads would stop at
# a Ctrl-Z byte and turn CR LF into LF, its writes LF into CR LF, and the log's hashes
# and recorded length would no longer match its bytes. 0 on POSIX.
BINARY = getattr(os, "O_BINARY", 0)


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
    VIEW = "view"  # the current records read into the app's people page
    REPORT_QUALITY = "report-quality"
    RETURN = "return"
    IMPORT_RETURN = "import-return"
    SKIP_GAP = "skip-gap"  # a return declared lost: its signer's later ones may apply
    REPORT = "report"
    QUALITY_RESOLVE = "quality-resolve"
    TERMINATE = "terminate"
    INCIDENT_SEND = "incident-send"
    INCIDENT_IMPORT = "incident-import"
    NOTICE_GIVE = "notice-give"
    NOTICE_IMPORT = "notice-import"
    ERASE = "erase"  # a data subject erased (agency) or an erasure carried out (municipality)
    SUBJECT_ACCESS = "subject-access"  # what was shared about one person, answered
    EVIDENCE = "evidence"  # a report of the measures taken (art. 6), made and signed
    EVIDENCE_IMPORT = "evidence-import"
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


def stored_count(value: str, key: str) -> int:
    """A count the log keeps in the state database; an edited one is a broken log (a
    named error), not a crash of every command."""
    if value.isascii() and value.isdigit():
        return int(value)
    # TRANSLATORS: {key} is the internal name of a setting in the database ("log_head_size").
    raise LogBroken(_("the state database's {key} was edited (not a count)").format(key=key))


@dataclass(frozen=True)
class LogHead:
    count: int
    hash: str


_KNOWN_ERRORS = frozenset(cls.name for cls in all_error_classes())


def check_values(
    actor: str | None,
    artifacts: Sequence[str],
    counts: Mapping[str, int],
    error: str | None,
) -> None:
    if actor is not None and not is_display(actor):
        raise LogValueRefused(_("the log takes a key fingerprint as actor, nothing else"))
    for artifact in artifacts:
        if not is_artifact_id(artifact):
            raise LogValueRefused(_("the log takes artifact ids only"))
    for name, value in counts.items():
        if not _COUNT_NAME.fullmatch(name) or isinstance(value, bool) or not isinstance(value, int):
            raise LogValueRefused(_("the log takes named non-negative counts only"))
        if value < 0:
            raise LogValueRefused(_("the log takes named non-negative counts only"))
    if error is not None and error not in _KNOWN_ERRORS:
        raise LogValueRefused(_("the log takes known error names only"))


def parse_entry(raw: bytes, number: int) -> tuple[LogEntry, str]:
    """One log line as an entry and the hash it claims. Raises Malformed."""
    # TRANSLATORS: names a line of the log in messages ("log line 7 is not valid JSON").
    what = _("log line {number}").format(number=number)
    value = strictjson.loads(raw, what=what, max_bytes=MAX_LINE)
    with strictjson.Fields(value, what) as f:
        claimed = f.text("hash")
        try:
            action = Action(f.text("action"))
            outcome = Outcome(f.text("outcome"))
        except ValueError:
            raise Malformed(
                _("log line {number} has an unknown action or outcome").format(number=number)
            ) from None
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


def file_digest(path: Path) -> str | None:
    """SHA-256 of the file at ``path`` (not following a final link); None when absent."""
    if not NOFOLLOW and is_link_or_special(path):  # pragma: no cover - Windows: look first
        return "not a regular file"
    # Non-blocking: a FIFO planted at the witness path must not hang the command.
    flags = os.O_RDONLY | NOFOLLOW | CLOEXEC | BINARY | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
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
