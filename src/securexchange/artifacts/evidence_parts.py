"""The parts of a report of measures (``evidence``, protocol art. 6): what a municipal
home observed of itself, and what the person running the command declares.

Each part is a small frozen dataclass that checks its own shape and bounds and
round-trips through strict JSON; :mod:`securexchange.artifacts.evidence` puts them
together in the manifest body. No part holds a name, an e-mail address, a record id or
any other personal data: keys are named by fingerprint, people by fingerprint and role.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from typing import Any, Self

from securexchange import strictjson
from securexchange.clock import format_instant, read_instant
from securexchange.errors import Malformed
from securexchange.fingerprint import is_display
from securexchange.i18n import _

OBSERVED = "observed"  # what the tool read from the home itself
DECLARATION = "declaration"  # what the person running the command states
MAX_COUNT = 1_000_000_000
MAX_ROLE = 64  # as keys.identity.MAX_ROLE
MAX_COUNT_NAMES = 12  # named counts of one log entry
# Lists are capped (the newest kept) so the manifest stays far below its 256 KiB cap;
# each list's ``total`` says how many there were in all.
MAX_SUBKEYS = 100
MAX_PEOPLE = 100
MAX_SHRED_EVENTS = 200
MAX_CHECKPOINTS = 50
SHRED_ACTIONS = ("shred", "subkey-destroy")  # the log's actions that destroy something
# The states a package of the vault can be in (municipality/vault.py), and ``other``
# for a state the vault never writes (an edited row).
PACKAGE_STATES = ("live", "superseded", "terminated", "expired", "tampered", "lost", "other")

_SUBKEY_ID = re.compile(r"^sk-[0-9a-f]{16}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COUNT_NAME = re.compile(r"^[a-z][a-z_]{0,31}$")


class Statement(StrEnum):
    """The closed list of measures the tool cannot observe: the person running the
    command declares each one (docs/formats.md, "evidence body")."""

    DISK_ENCRYPTION = "disk-encryption"
    SCREEN_LOCK = "screen-lock"
    PHYSICAL_ACCESS = "physical-access"
    STAFF_INSTRUCTED = "staff-instructed"
    BACKUPS_EXCLUDED = "backups-excluded"
    SYSTEM_UPDATES = "system-updates"


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"
    NOT_DECLARED = "not-declared"  # the default: nobody answered


def _bad(what: str, problem: str) -> Malformed:
    # TRANSLATORS: {what} names a part of a file, {problem} what is wrong with it.
    return Malformed(_("{what}: {problem}").format(what=what, problem=problem))


def check_count(value: object) -> int:
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        raise ValueError("a count is an integer from 0 to 1,000,000,000")
    return value


def _kind(f: strictjson.Fields, expected: str, what: str) -> None:
    if f.text("kind") != expected:
        raise _bad(what, _("its field 'kind' is not '{kind}'").format(kind=expected))


def _instant(value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.microsecond:
        raise ValueError("a time is a whole-second UTC time")
    return value


@dataclass(frozen=True)
class KeyPeriod:
    """One encryption subkey of the home: its validity and when it was destroyed. Named
    ``sk-`` + the first 16 hex digits of SHA-256 over its age recipient, which anyone
    holding the keyring can compute (a hybrid recipient is ~1,960 characters)."""

    subkey: str
    post_quantum: bool
    valid_from: datetime
    valid_until: datetime
    destroyed_at: datetime | None  # None: still held

    def __post_init__(self) -> None:
        if not isinstance(self.subkey, str) or not _SUBKEY_ID.fullmatch(self.subkey):
            raise ValueError("a subkey is named sk- and 16 hex digits")
        if not isinstance(self.post_quantum, bool):
            raise ValueError("post_quantum is not a boolean")
        if _instant(self.valid_from) >= _instant(self.valid_until):
            raise ValueError("a subkey's validity ends after it begins")
        if self.destroyed_at is not None:
            _instant(self.destroyed_at)

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.valid_from, self.subkey)

    def to_json(self) -> dict[str, Any]:
        return {
            "subkey": self.subkey,
            "post_quantum": self.post_quantum,
            "valid_from": format_instant(self.valid_from),
            "valid_until": format_instant(self.valid_until),
            "destroyed_at": None
            if self.destroyed_at is None
            else format_instant(self.destroyed_at),
        }

    @classmethod
    def from_json(cls, value: Any) -> Self:
        what = _("a key period")
        with strictjson.Fields(value, what) as f:
            subkey, post_quantum = f.text("subkey"), f.boolean("post_quantum")
            valid_from = read_instant(f.text("valid_from"), what)
            valid_until = read_instant(f.text("valid_until"), what)
            destroyed = f.opt_text("destroyed_at")
        return cls(
            subkey,
            post_quantum,
            valid_from,
            valid_until,
            None if destroyed is None else read_instant(destroyed, what),
        )


@dataclass(frozen=True)
class Person:
    """Someone who holds access by the keyring in force: a fingerprint and a role."""

    fingerprint: str
    role: str

    def __post_init__(self) -> None:
        if not isinstance(self.fingerprint, str) or not is_display(self.fingerprint):
            raise ValueError("fingerprint is not a fingerprint")
        role = self.role
        if (
            not isinstance(role, str)
            or not 0 < len(role) <= MAX_ROLE
            or not role.isprintable()
            or role != role.strip()
        ):
            raise ValueError("a role is 1-64 printable characters")

    def to_json(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "role": self.role}

    @classmethod
    def from_json(cls, value: Any) -> Self:
        with strictjson.Fields(value, _("a person with access")) as f:
            return cls(f.text("fingerprint"), f.text("role"))


@dataclass(frozen=True)
class ShredEvent:
    """A log entry that destroyed something: its place in the log, time and counts."""

    seq: int
    time: datetime
    action: str  # one of SHRED_ACTIONS
    counts: tuple[tuple[str, int], ...]  # sorted by name

    def __post_init__(self) -> None:
        if type(self.seq) is not int or self.seq < 1:
            raise ValueError("seq is a log entry's number")
        _instant(self.time)
        if self.action not in SHRED_ACTIONS:
            raise ValueError("action is not one that destroys")
        names = [name for name, _n in self.counts]
        if len(names) > MAX_COUNT_NAMES or names != sorted(set(names)):
            raise ValueError("counts are at most 12, sorted by name, each once")
        for name, count in self.counts:
            if not isinstance(name, str) or not _COUNT_NAME.fullmatch(name):
                raise ValueError("a count's name is a log count name")
            check_count(count)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": format_instant(self.time),
            "action": self.action,
            "counts": dict(self.counts),
        }

    @classmethod
    def from_json(cls, value: Any) -> Self:
        what = _("a shred event")
        with strictjson.Fields(value, what) as f:
            seq, time, action = f.integer("seq"), f.text("time"), f.text("action")
            counts = f.object("counts")
        return cls(seq, read_instant(time, what), action, tuple(sorted(counts.items())))


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint of the home's log: its number, time, hash and signer."""

    seq: int
    time: datetime
    hash: str
    signer: str

    def __post_init__(self) -> None:
        if type(self.seq) is not int or self.seq < 1:
            raise ValueError("seq is a log entry's number")
        _instant(self.time)
        if not isinstance(self.hash, str) or not _SHA256.fullmatch(self.hash):
            raise ValueError("hash is 64 lower-case hex digits")
        if not isinstance(self.signer, str) or not is_display(self.signer):
            raise ValueError("signer is not a fingerprint")

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": format_instant(self.time),
            "hash": self.hash,
            "signer": self.signer,
        }

    @classmethod
    def from_json(cls, value: Any) -> Self:
        what = _("a log checkpoint")
        with strictjson.Fields(value, what) as f:
            seq, time = f.integer("seq"), f.text("time")
            return cls(seq, read_instant(time, what), f.text("hash"), f.text("signer"))


@dataclass(frozen=True)
class Declaration:
    statement: Statement
    answer: Answer

    def __post_init__(self) -> None:
        if not isinstance(self.statement, Statement) or not isinstance(self.answer, Answer):
            raise ValueError("unknown statement or answer")

    def to_json(self) -> dict[str, Any]:
        return {"kind": DECLARATION, "statement": self.statement.value, "answer": self.answer.value}

    @classmethod
    def from_json(cls, value: Any) -> Self:
        what = _("a declaration")
        with strictjson.Fields(value, what) as f:
            _kind(f, DECLARATION, what)
            statement, answer = f.text("statement"), f.text("answer")
        try:
            return cls(Statement(statement), Answer(answer))
        except ValueError:
            raise _bad(what, _("an unknown statement or answer")) from None


def declarations(answers: dict[Statement, Answer]) -> tuple[Declaration, ...]:
    """Every statement of the closed list, in its order; unanswered: not declared."""
    return tuple(Declaration(s, answers.get(s, Answer.NOT_DECLARED)) for s in Statement)


def sorted_unique(items: Sequence[Any], key: str, limit: int, what: str) -> None:
    """Refuse more than ``limit`` items, or items not in strictly ascending ``key``."""
    if len(items) > limit:
        raise ValueError(f"{what} lists more than {limit}")
    keys = [getattr(item, key) for item in items]
    if any(a >= b for a, b in pairwise(keys)):
        raise ValueError(f"{what} are not in ascending order, each once")
