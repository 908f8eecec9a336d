"""Verifying a home's log: the chain, the head, and the signed checkpoints.

The public keys that may sign checkpoints are those of the home's own cards
(``HOME/keys/*.card.json``: a staff identity, or the agency's root and export keys).
A card that does not parse is ignored here; it cannot vouch for anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from securexchange import sshsig
from securexchange.errors import SxError
from securexchange.home.home import Home
from securexchange.home.log_entries import CheckpointVerifier, LogVerification, parse_entry
from securexchange.keys.card import read_card
from securexchange.keys.keystore import PINNED_AGENCY_CARD

# A municipal home keeps the agency's root card it pinned; that key never signs the
# municipality's own log, so it must not vouch for a checkpoint there.
_NOT_A_SIGNER_OF_THIS_LOG = frozenset({PINNED_AGENCY_CARD})


def home_signing_keys(home: Home) -> dict[str, bytes]:
    """Fingerprint display -> Ed25519 public key, for every card in the home."""
    keys: dict[str, bytes] = {}
    for path in sorted(home.paths.keys.glob("*.card.json")):
        if path.name in _NOT_A_SIGNER_OF_THIS_LOG:
            continue
        try:
            card = read_card(path.read_bytes())
        except (SxError, OSError):
            continue
        keys[card.fingerprint.display] = card.identity.signing_key
    return keys


def checkpoint_verifier(keys: dict[str, bytes]) -> CheckpointVerifier:
    def verify(actor: str, message: bytes, signature: str) -> bool | None:
        public_key = keys.get(actor)
        if public_key is None:
            return None
        try:
            sshsig.verify(signature, message, sshsig.NAMESPACE_LOG, public_key)
        except SxError:
            return False
        return True

    return verify


def verify_home_log(home: Home) -> LogVerification:
    """The whole log of ``home``, checkpoints verified against the home's own keys."""
    return home.log.verify(checkpoint_verifier(home_signing_keys(home)))


# --- telling the kinds of damage apart --------------------------------------------------


class LogIssue(StrEnum):
    """What happened to a log, as far as the file and the state database can tell."""

    EDITED = "edited"  # an entry's content no longer matches its own hash
    RELINKED = "chain broken"  # an entry was changed and its hash recomputed (next link)
    REMOVED = "removed"  # entries are missing in the middle
    REORDERED = "reordered"  # entries are all there, in another order
    TRUNCATED = "truncated"  # entries are missing at the end (head or checkpoint)
    REWRITTEN = "rewritten"  # the entry recorded as head or checkpoint differs
    UNREADABLE = "unreadable"  # a line that is no log entry at all
    CHECKPOINT = "checkpoint"  # a checkpoint without a valid signature


@dataclass(frozen=True)
class LogFinding:
    line: int
    issue: LogIssue
    what: str

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "issue": self.issue.value, "what": self.what}


_TRUNCATED_RE = re.compile(r"truncated: ([0-9]+) entries expected")


def _issue_of(what: str) -> LogIssue:
    if "edited" in what:
        return LogIssue.EDITED
    if "truncated" in what:
        return LogIssue.TRUNCATED
    if "recorded as" in what:
        return LogIssue.REWRITTEN
    if "chain is broken" in what:
        return LogIssue.RELINKED
    if "not a valid log entry" in what or "incomplete" in what:
        return LogIssue.UNREADABLE
    return LogIssue.CHECKPOINT


def classify(data: bytes, result: LogVerification) -> tuple[LogFinding, ...]:
    """One finding per damaged place in the log ``data``, naming the kind of damage.

    :func:`log_entries.verify_log` says where the chain breaks; this says how. An entry
    whose number jumps past numbers found nowhere in the file follows *removed* entries;
    a number found elsewhere, or one going back, is *reordered*; a broken link after an
    intact entry means that entry was rewritten with a recomputed hash. Consequences
    (every later line of a removal, the link after a reordering) are not reported again.
    """
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    seq_at: dict[int, int] = {}
    for number, raw in enumerate(lines, start=1):
        try:
            entry, _ = parse_entry(raw, number)
        except SxError:
            continue
        seq_at[number] = entry.seq
    present = set(seq_at.values())
    findings: list[LogFinding] = []
    order_lines: set[int] = set()
    for number in sorted(seq_at):
        seq = seq_at[number]
        before = seq_at.get(number - 1, 0 if number == 1 else None)
        if before is None or seq == before + 1 or seq == number:
            continue
        order_lines.add(number)
        skipped = [k for k in range(before + 1, seq) if k not in present]
        if seq > before and skipped and len(skipped) == seq - before - 1:
            findings.append(
                LogFinding(
                    number,
                    LogIssue.REMOVED,
                    f"{len(skipped)} entries before this one were removed",
                )
            )
        else:
            findings.append(
                LogFinding(number, LogIssue.REORDERED, "this entry is out of order (reordered)")
            )
    for problem in result.problems:
        if problem.what.startswith("entries were removed"):
            continue  # judged above from the numbers
        issue = _issue_of(problem.what)
        expected = _TRUNCATED_RE.search(problem.what)
        if expected and max(present, default=0) >= int(expected.group(1)):
            continue  # fewer lines because entries were removed inside, reported above
        if issue is LogIssue.RELINKED:
            if problem.line in order_lines or problem.line - 1 in order_lines:
                continue
            what = f"entry {problem.line - 1} was changed and its hash recomputed"
        else:
            what = problem.what
        findings.append(LogFinding(problem.line, issue, what))
    return tuple(sorted(findings, key=lambda f: (f.line, f.issue.value)))


def log_findings(home: Home) -> tuple[LogVerification, tuple[LogFinding, ...]]:
    """Verify ``home``'s log and classify what is wrong with it (empty when intact)."""
    result = verify_home_log(home)
    if result.ok:
        return result, ()
    path = home.paths.log
    data = path.read_bytes() if path.exists() else b""
    return result, classify(data, result)
