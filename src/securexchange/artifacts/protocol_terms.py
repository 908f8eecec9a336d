"""How a protocol begins and ends, as the keyring records it (format 3; protocol art. 5,
8, 12).

- ``protocol_ref``: the reference of the signed protocol document, so a renewal can
  name the one it follows (``renews``: the previous protocol id).
- ``ending``: why ``terminated_on`` is the end. The ground comes from a closed list:
  written notice by either party (art. 5: three months from receipt, the receiving
  side's clock), unilateral termination for a breach (art. 8) of the protocol, of the
  GDPR or of other data-protection law, or the end by operation of law (art. 12: the
  term passed, or the legal basis disappeared). A notice or a termination names the
  decision behind it (a college or board decision: its reference, never a person).

Pure: no I/O.
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass
from datetime import date
from typing import Any

from securexchange import strictjson
from securexchange.errors import Malformed
from securexchange.i18n import N_, _
from securexchange.ids import is_artifact_id
from securexchange.printable import is_unsafe

MAX_REFERENCE = 120
NOTICE_MONTHS = 3  # art. 5: the period of a written notice


class EndGround(enum.Enum):
    NOTICE_BY_AGENCY = "notice-by-agency"
    NOTICE_BY_MUNICIPALITY = "notice-by-municipality"
    BREACH_OF_PROTOCOL = "breach-of-protocol"
    BREACH_OF_GDPR = "breach-of-gdpr"
    BREACH_OF_DATA_PROTECTION_LAW = "breach-of-data-protection-law"
    TERM_PASSED = "term-passed"
    LEGAL_BASIS_GONE = "legal-basis-gone"

    @property
    def is_notice(self) -> bool:
        return self in (EndGround.NOTICE_BY_AGENCY, EndGround.NOTICE_BY_MUNICIPALITY)

    @property
    def by_law(self) -> bool:
        """Art. 12: nobody decides it, so no decision reference is required."""
        return self in (EndGround.TERM_PASSED, EndGround.LEGAL_BASIS_GONE)


# The grounds ``agency terminate`` takes: a notice ends the protocol through its own
# commands (``agency notice``, ``municipality notice``), never by a typed date.
TERMINATION_GROUNDS = tuple(g for g in EndGround if not g.is_notice)

GROUND_WORDS = {
    EndGround.NOTICE_BY_AGENCY: N_("written notice by the agency (art. 5)"),
    EndGround.NOTICE_BY_MUNICIPALITY: N_("written notice by the municipality (art. 5)"),
    EndGround.BREACH_OF_PROTOCOL: N_("breach of the protocol (art. 8)"),
    EndGround.BREACH_OF_GDPR: N_("breach of the GDPR (art. 8)"),
    EndGround.BREACH_OF_DATA_PROTECTION_LAW: N_("breach of other data-protection law (art. 8)"),
    EndGround.TERM_PASSED: N_("the protocol's term has passed (art. 12)"),
    EndGround.LEGAL_BASIS_GONE: N_("the legal basis has disappeared (art. 12)"),
}


def check_reference(value: str) -> str:
    """A decision or protocol reference: 1-120 visible characters, spaces folded.
    Raises ValueError."""
    text = " ".join(value.split())
    if not 1 <= len(text) <= MAX_REFERENCE or any(is_unsafe(c) for c in text):
        raise ValueError("a reference is 1-120 printable characters")
    return text


def check_stored_reference(value: str) -> None:
    """A reference in a document: exactly as :func:`check_reference` writes it."""
    if not isinstance(value, str) or check_reference(value) != value:
        raise ValueError("a reference is stored with its spaces folded")


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months; the 31st becomes the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def notice_effective(received_on: date) -> date:
    """The first day the protocol no longer applies after a notice received on
    ``received_on``: three months later (art. 5)."""
    return add_months(received_on, NOTICE_MONTHS)


@dataclass(frozen=True)
class Ending:
    """Why a protocol ends on its ``terminated_on`` day."""

    ground: EndGround
    decision: str | None = None  # the decision's reference; None only by law
    notice_id: str | None = None  # the written notice (``pn-``), for a notice
    notice_received_on: date | None = None  # the receiving side's day of receipt

    def __post_init__(self) -> None:
        if not isinstance(self.ground, EndGround):
            raise ValueError("the ground is from the closed list")
        if self.decision is not None:
            check_stored_reference(self.decision)
        elif not self.ground.by_law:
            raise ValueError("a notice or a termination names its decision")
        with_notice = self.notice_id is not None and self.notice_received_on is not None
        if self.ground.is_notice != with_notice:
            raise ValueError("a notice, and only a notice, names the notice and its receipt")
        if self.notice_id is not None and not is_artifact_id(self.notice_id):
            raise ValueError("bad notice id")

    def check_effective(self, terminated_on: date) -> None:
        """A notice ends the protocol three months after receipt, not earlier."""
        received = self.notice_received_on
        if received is not None and terminated_on < notice_effective(received):
            raise ValueError("a notice takes effect three months after receipt")

    def to_json(self) -> dict[str, Any]:
        received = self.notice_received_on
        notice = (
            None
            if self.notice_id is None or received is None
            else {"id": self.notice_id, "received_on": received.isoformat()}
        )
        return {"ground": self.ground.value, "decision": self.decision, "notice": notice}

    @classmethod
    def from_json(cls, value: Any, what: str) -> Ending:
        with strictjson.Fields(value, what) as f:
            ground_text = f.text("ground")
            decision = f.opt_text("decision")
            notice = f.opt_object("notice")
            notice_id, received = None, None
            if notice is not None:
                with strictjson.Fields(notice, what) as n:
                    notice_id = n.text("id")
                    received = parse_day(n.text("received_on"), what)
        try:
            return cls(EndGround(ground_text), decision, notice_id, received)
        except ValueError:
            raise Malformed(
                _("{what} states an ending that is not valid").format(what=what)
            ) from None


def parse_day(value: str, what: str) -> date:
    """A ``YYYY-MM-DD`` date in a document, exactly; Malformed naming ``what``."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Malformed(_("{what} holds a date that is not YYYY-MM-DD").format(what=what)) from None
    if day.isoformat() != value:
        raise Malformed(_("{what} holds a date that is not YYYY-MM-DD").format(what=what))
    return day
