"""The written notice (protocol art. 5) and its receipt: one signed container each.

Either party may end the protocol by written notice with a three-month period; the
period runs from receipt, by the receiving side's clock. A notice is a container of type
``protocol-notice`` with no payload (it names a protocol, no person), signed in its own
namespace by the agency's export key or by a person the keyring lists for the
municipality, and it states the decision behind it (the reference of a college or board
decision). The side that receives it records the day of receipt; a municipality that
receives the agency's notice answers with a signed *receipt* stating that day, so the
agency can record the effective day (receipt + 3 months) in a root-signed keyring
version (``ending`` in artifacts/protocol_terms.py).

Pure: no I/O; the keyring is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Self

from securexchange import strictjson
from securexchange.artifacts.incident import Reporter
from securexchange.artifacts.keyring import PARTY_ID_RE, PROTOCOL_ID_RE, Keyring
from securexchange.artifacts.manifest import ArtifactType, Manifest, register_body
from securexchange.artifacts.protocol_terms import (
    check_stored_reference,
    notice_effective,
    parse_day,
)
from securexchange.errors import Malformed, NotAuthorised, WrongMunicipality
from securexchange.i18n import _
from securexchange.ids import is_artifact_id
from securexchange.keys.identity import PublicIdentity

FORMAT_PROTOCOL_NOTICE = 3  # the envelope format (the incident notice brought 3)


class NoticeKind(StrEnum):
    NOTICE = "notice"  # the written notice itself
    RECEIPT = "receipt"  # the municipality's statement of when the agency's notice arrived


@register_body(ArtifactType.PROTOCOL_NOTICE)
@dataclass(frozen=True)
class ProtocolNoticeBody:
    """The protocol notice's body (docs/formats.md, "protocol-notice body")."""

    kind: NoticeKind
    given_by: Reporter  # the party that signs this container
    nis: str  # equals the envelope's ``municipality``
    party_id: str
    protocol_id: str  # the protocol given notice of
    keyring_version: int  # the keyring version that lists the signer
    decision: str | None  # a notice: the decision's reference
    answers: str | None  # a receipt: the id of the notice received
    received_on: date | None  # a receipt: the day the notice arrived
    demo: bool

    format_version = FORMAT_PROTOCOL_NOTICE

    def __post_init__(self) -> None:
        if not isinstance(self.kind, NoticeKind) or not isinstance(self.given_by, Reporter):
            raise ValueError("unknown kind or party")
        if not isinstance(self.party_id, str) or not PARTY_ID_RE.fullmatch(self.party_id):
            raise ValueError("party_id is not a party id")
        if not isinstance(self.protocol_id, str) or not PROTOCOL_ID_RE.fullmatch(self.protocol_id):
            raise ValueError("protocol_id is not a protocol id")
        if type(self.keyring_version) is not int or self.keyring_version < 1:
            raise ValueError("keyring_version is not a version")
        if not isinstance(self.demo, bool):
            raise ValueError("demo is not a boolean")
        if self.kind is NoticeKind.NOTICE:
            if self.decision is None or self.answers is not None or self.received_on is not None:
                raise ValueError("a notice states its decision, and nothing received")
            check_stored_reference(self.decision)
            return
        if self.given_by is not Reporter.MUNICIPALITY:
            raise ValueError("a receipt is the municipality's")
        if self.decision is not None or self.answers is None or type(self.received_on) is not date:
            raise ValueError("a receipt names the notice and the day it arrived")
        if not is_artifact_id(self.answers) or not self.answers.startswith("pn-"):
            raise ValueError("a receipt answers a notice")

    @property
    def effective(self) -> date | None:
        """A receipt's consequence: the first day the protocol no longer applies."""
        return None if self.received_on is None else notice_effective(self.received_on)

    def to_json(self) -> dict[str, Any]:
        effective = self.effective
        return {
            "kind": self.kind.value,
            "given_by": self.given_by.value,
            "municipality": {"nis": self.nis, "party_id": self.party_id},
            "protocol_id": self.protocol_id,
            "keyring_version": self.keyring_version,
            "decision": self.decision,
            "answers": self.answers,
            "received_on": None if self.received_on is None else self.received_on.isoformat(),
            # Derived, written out for a reader without a calendar; checked on read.
            "effective": None if effective is None else effective.isoformat(),
            "demo": self.demo,
        }

    @classmethod
    def from_json(cls, value: Any) -> Self:
        what = _("the protocol notice body")
        with strictjson.Fields(value, what) as f:
            kind, given_by = f.text("kind"), f.text("given_by")
            with strictjson.Fields(f.object("municipality"), what) as m:
                nis, party_id = m.text("nis"), m.text("party_id")
            protocol_id, keyring_version = f.text("protocol_id"), f.integer("keyring_version")
            decision, answers = f.opt_text("decision"), f.opt_text("answers")
            received, effective = f.opt_text("received_on"), f.opt_text("effective")
            demo = f.boolean("demo")
        try:
            body = cls(
                kind=NoticeKind(kind),
                given_by=Reporter(given_by),
                nis=nis,
                party_id=party_id,
                protocol_id=protocol_id,
                keyring_version=keyring_version,
                decision=decision,
                answers=answers,
                received_on=None if received is None else parse_day(received, what),
                demo=demo,
            )
        except ValueError as exc:
            raise Malformed(_("{what}: {problem}").format(what=what, problem=exc)) from None
        if effective != body.to_json()["effective"]:
            raise Malformed(_("the notice's effective day is not three months after receipt"))
        return body


def protocol_notice_body(manifest: Manifest) -> ProtocolNoticeBody:
    """The manifest's body, refused unless it is a protocol notice's."""
    body = manifest.body
    if not isinstance(body, ProtocolNoticeBody):
        raise Malformed(_("the file is not a protocol notice"))
    return body


def notice_signer(keyring: Keyring, manifest: Manifest) -> PublicIdentity:
    """The key that must have signed a protocol notice, by ``keyring``: the export key
    for the agency, a person listed for the municipality otherwise. Also refuses a
    notice that does not agree with the keyring's entry (municipality, protocol, demo)."""
    body = protocol_notice_body(manifest)
    entry = keyring.by_party(body.party_id)
    if entry is None or entry.nis != manifest.municipality or entry.nis != body.nis:
        raise WrongMunicipality(
            _("the protocol notice is for a municipality the keyring does not list")
        )
    if body.demo != keyring.demo:
        raise Malformed(_("the protocol notice and the keyring disagree on demo"))
    if body.protocol_id != entry.protocol_id:
        # The keyring judging it is the one in force when it was made: a notice of
        # another protocol (an earlier one, or one renewed since) names the wrong one.
        raise WrongMunicipality(_("the protocol notice names another protocol than the keyring"))
    if body.given_by is Reporter.AGENCY:
        if keyring.agency.export.fingerprint.display == manifest.signer:
            return keyring.agency.export
    else:
        for person in entry.recipients:
            if person.fingerprint.display == manifest.signer:
                return person
    raise NotAuthorised(_("the protocol notice is signed by someone the keyring does not list"))
