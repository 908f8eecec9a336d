"""The notice: the agency's signed termination of a municipality's protocol.

A notice is a container of type ``notice`` (no payload, no attachments) signed by the
agency's export key in the notice namespace. From its ``effective`` day on, the
municipal client destroys everything it holds under that protocol (protocol art. 5, 12)
and refuses packages for it. This module defines and registers the manifest body only;
issuing (``agency terminate``) and acting on it (``municipality import``) live in the
workflows. The body holds no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from securexchange import strictjson
from securexchange.artifacts.keyring import PARTY_ID_RE, PROTOCOL_ID_RE
from securexchange.artifacts.manifest import ArtifactType, register_body
from securexchange.errors import Malformed
from securexchange.i18n import _
from securexchange.ids import is_nis_code


@register_body(ArtifactType.NOTICE)
@dataclass(frozen=True)
class NoticeBody:
    """The notice manifest's body (docs/formats.md, "notice body")."""

    nis: str  # equals the envelope's ``municipality``
    party_id: str
    protocol_id: str
    effective: date  # the first day on which the protocol no longer applies
    demo: bool

    def __post_init__(self) -> None:
        if not is_nis_code(self.nis):
            raise ValueError("nis is not a 5-digit NIS code")
        if not isinstance(self.party_id, str) or not PARTY_ID_RE.fullmatch(self.party_id):
            raise ValueError("party_id is not a party id")
        if not isinstance(self.protocol_id, str) or not PROTOCOL_ID_RE.fullmatch(self.protocol_id):
            raise ValueError("protocol_id is not a protocol id")
        if type(self.effective) is not date:
            raise ValueError("effective is not a date")
        if not isinstance(self.demo, bool):
            raise ValueError("demo is not a boolean")

    def to_json(self) -> dict[str, Any]:
        return {
            "municipality": {"nis": self.nis, "party_id": self.party_id},
            "protocol_id": self.protocol_id,
            "effective": self.effective.isoformat(),
            "demo": self.demo,
        }

    @classmethod
    def from_json(cls, value: Any) -> NoticeBody:
        # TRANSLATORS: the body is the descriptive part of the notice's manifest.
        with strictjson.Fields(value, _("the notice body")) as f:
            with strictjson.Fields(f.object("municipality"), _("the notice municipality")) as m:
                nis, party_id = m.text("nis"), m.text("party_id")
            protocol_id = f.text("protocol_id")
            text = f.text("effective")
            demo = f.boolean("demo")
        try:
            effective = date.fromisoformat(text)
        except ValueError:
            raise Malformed(_("the notice's effective date is not YYYY-MM-DD")) from None
        if effective.isoformat() != text:
            raise Malformed(_("the notice's effective date is not YYYY-MM-DD"))
        return cls(nis, party_id, protocol_id, effective, demo)
