"""``municipality evidence``: the report of measures for the agency (protocol art. 6).

The home states what it observes of itself (artifacts/evidence.py): its subkeys'
periods and destruction, who holds access by the keyring it holds, the shredding its
log records, the log's head and checkpoints, its packages by state, the software's
version; and the person running the command answers the closed list of declarations
(``--declare STATEMENT=ANSWER``, or a file of such lines). It is signed with that
person's key, logged, and written to one file for the agency; nothing else is kept.

Only while the protocol is in force: a report signed after its end would be signed by
someone the keyring no longer allows to sign for it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from securexchange import __version__
from securexchange.artifacts.evidence import (
    EvidenceBody,
    KeyPeriods,
    LogState,
    PackageCounts,
    Shredding,
    seal_evidence,
)
from securexchange.artifacts.evidence_parts import (
    MAX_CHECKPOINTS,
    MAX_COUNT,
    MAX_COUNT_NAMES,
    MAX_PEOPLE,
    MAX_SHRED_EVENTS,
    MAX_SUBKEYS,
    PACKAGE_STATES,
    Answer,
    Checkpoint,
    KeyPeriod,
    Person,
    ShredEvent,
    Statement,
    declarations,
)
from securexchange.artifacts.keyring import Keyring, MunicipalityEntry
from securexchange.clock import read_instant
from securexchange.errors import LogBroken, Malformed, NotFound, ProtocolInactive, UsageError
from securexchange.fingerprint import is_display
from securexchange.home import statedb
from securexchange.home.atomicio import atomic_write, output_dir, refuse_non_directory
from securexchange.home.home import Home
from securexchange.home.log_entries import Action, LogEntry, Outcome
from securexchange.i18n import _
from securexchange.keys.keystore import KeySource
from securexchange.municipality import subkeys, vault
from securexchange.municipality.enrolment import held_keyring

MAX_DECLARATION_LINES = 100
_HEX64 = frozenset("0123456789abcdef")
_COUNT = re.compile(r"^[a-z][a-z_]{0,31}$")  # a log count's name (home/log_entries.py)


@dataclass(frozen=True)
class Made:
    evidence_id: str
    path: Path
    body: EvidenceBody


def parse_declarations(items: Iterable[str]) -> dict[Statement, Answer]:
    """``STATEMENT=ANSWER`` items (options, or the lines of a file without blank lines
    and ``#`` comments) as answers. UsageError for anything else; the value is never
    echoed, only the names the closed lists allow."""
    known = ", ".join(s.value for s in Statement)
    answers: dict[Statement, Answer] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            statement, answer = Statement(name.strip()), Answer(value.strip())
        except ValueError:
            raise UsageError(
                _("a declaration is STATEMENT=yes|no|unknown"),
                hint=_("the statements: {known}").format(known=known),
            ) from None
        if not sep or answer is Answer.NOT_DECLARED:
            raise UsageError(_("a declaration is STATEMENT=yes|no|unknown"))
        if answers.setdefault(statement, answer) is not answer:
            raise UsageError(
                _("the statement {statement} is answered twice").format(statement=statement.value)
            )
    return answers


def declaration_lines(text: str) -> list[str]:
    """The declarations in a file's text: one per line, blank lines and ``#`` comments
    skipped."""
    lines = [line.strip() for line in text.splitlines()]
    kept = [line for line in lines if line and not line.startswith("#")]
    if len(kept) > MAX_DECLARATION_LINES:
        raise UsageError(_("the declarations file has more lines than there are statements"))
    return kept


def make_evidence(
    home: Home, source: KeySource, *, answers: Mapping[Statement, Answer], out: Path
) -> Made:
    """Observe, sign with the key of ``source``, log, and write the report to ``out``."""
    keyring = held_keyring(home)
    if keyring is None:
        raise NotFound(
            _("this home holds no keyring from the agency"),
            hint=_("import the agency's package or keyring first"),
        )
    entry = keyring.municipalities[0]
    if not entry.active_on(home.now.date()):
        raise ProtocolInactive(_("the protocol is not in force"))
    _refuse_target(home, out)
    signer = subkeys.split_out(home, source, keyring=keyring)
    body = observe(home, keyring, entry, signer.fingerprint.display, answers)
    evidence_id, data = seal_evidence(body, created_at=home.now, signer=signer, keyring=keyring)
    output_dir(out.parent, private=False)  # fingerprints, roles, counts and dates only
    actor = signer.fingerprint.display
    # The file cannot commit with the log: the entry waits as an intent until it exists.
    home.log.intend(
        Action.EVIDENCE, now=home.now, witness=out, actor=actor, artifacts=[evidence_id]
    )
    try:
        atomic_write(out, data, mode=0o644, exclusive=True)
    except FileExistsError:
        raise UsageError(_("{path} exists already: choose a new name").format(path=out)) from None
    except OSError:
        raise UsageError(_("{path} cannot be written").format(path=out)) from None
    with statedb.transaction(home.db):
        home.record(Action.EVIDENCE, actor=actor, artifacts=[evidence_id])
    return Made(evidence_id, out, body)


def _refuse_target(home: Home, out: Path) -> None:
    """A new regular file outside the home: never a path that exists (a report replaces
    nothing, least of all the home's state or a device), nor one inside the home."""
    refuse_non_directory(out.parent)
    if os.path.lexists(out):
        raise UsageError(_("{path} exists already: choose a new name").format(path=out))
    root = home.paths.root.resolve()
    if out.parent.resolve() == root or root in out.parent.resolve().parents:
        raise UsageError(_("the report goes outside the home folder"))


def observe(
    home: Home,
    keyring: Keyring,
    entry: MunicipalityEntry,
    holder: str,
    answers: Mapping[Statement, Answer],
) -> EvidenceBody:
    """What the report states, read from the home (nothing written)."""
    people = sorted(
        (Person(p.fingerprint.display, p.owner.role) for p in entry.recipients),
        key=lambda p: p.fingerprint,
    )
    verification = home.log.verify()
    return EvidenceBody(
        nis=entry.nis,
        party_id=entry.party_id,
        protocol_id=entry.protocol_id,
        agency=keyring.agency.root_fingerprint.display,
        keyring_version=keyring.version,
        software=f"securexchange {__version__}",
        key_periods=_key_periods(home, holder),
        access=tuple(people[:MAX_PEOPLE]),
        shredding=_shredding(verification.entries, home.log.head().count),
        log=_log_state(home, verification.entries, intact=verification.ok),
        packages=_packages(home),
        declarations=declarations(dict(answers)),
        demo=keyring.demo,
    )


def _key_periods(home: Home, holder: str) -> KeyPeriods:
    listed = subkeys.listed(home)
    # An edited row (a validity that does not parse reads as 1970) is left out; the
    # total still counts it.
    periods = sorted(
        (
            KeyPeriod(
                subkeys.file_name(s.recipient).removesuffix(".key"),
                subkeys.post_quantum(s.recipient),
                s.valid_from,
                s.valid_until,
                s.destroyed_at,
            )
            for s in listed
            if s.valid_from < s.valid_until
        ),
        key=lambda k: k.order,
    )
    unique = [k for i, k in enumerate(periods) if i == 0 or periods[i - 1].order != k.order]
    return KeyPeriods(holder, tuple(unique[-MAX_SUBKEYS:]), len(listed))


def _time_of(entry: LogEntry) -> datetime | None:
    try:
        return read_instant(entry.time, "log")
    except Malformed:
        return None  # an edited line: the log is not intact, and the report says so


def _shredding(entries: tuple[LogEntry, ...], head_count: int) -> Shredding:
    events: list[ShredEvent] = []
    for entry in entries:
        if entry.action not in (Action.SHRED, Action.SUBKEY_DESTROY):
            continue
        if entry.outcome is not Outcome.OK:
            continue
        time = _time_of(entry)
        if time is None or entry.seq > head_count or (events and events[-1].seq >= entry.seq):
            continue
        # Only what the log itself writes (an edited line may hold anything else).
        counts = sorted(
            (k, min(max(v, 0), MAX_COUNT)) for k, v in entry.counts.items() if _COUNT.fullmatch(k)
        )
        events.append(
            ShredEvent(entry.seq, time, entry.action.value, tuple(counts[:MAX_COUNT_NAMES]))
        )
    return Shredding(tuple(events[-MAX_SHRED_EVENTS:]), len(events))


def _log_state(home: Home, entries: tuple[LogEntry, ...], *, intact: bool) -> LogState:
    head = home.log.head()
    if len(head.hash) != 64 or not set(head.hash) <= _HEX64:
        raise LogBroken(_("the log's head in the state database was edited"))
    checkpoints: list[Checkpoint] = []
    for entry in entries:
        if entry.action is not Action.CHECKPOINT or not is_display(entry.actor or ""):
            continue
        time = _time_of(entry)
        if time is None or entry.seq > head.count:
            continue
        if checkpoints and checkpoints[-1].seq >= entry.seq:
            continue
        checkpoints.append(Checkpoint(entry.seq, time, entry.hash, entry.actor or ""))
    return LogState(
        entries=head.count,
        head=head.hash,
        intact=intact,
        checkpoints=tuple(checkpoints[-MAX_CHECKPOINTS:]),
        checkpoints_total=len(checkpoints),
    )


def _packages(home: Home) -> PackageCounts:
    counts = dict.fromkeys(PACKAGE_STATES, 0)
    for package in vault.packages(home):
        state = package.state if package.state in counts else "other"
        counts[state] += 1
    (records,) = home.db.execute("SELECT COUNT(*) FROM vault_records").fetchone()
    return PackageCounts(tuple(counts.items()), int(records))
