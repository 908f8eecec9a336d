"""How a protocol ends or goes on, at the agency (protocol art. 5, 8, 12).

- ``agency notice give``: the agency's written notice (art. 5), signed with the export
  key and naming the decision behind it. Its three months run from the day the
  municipality takes it in; the municipality's signed receipt states that day.
- ``agency notice import``: a municipality's notice (received today, by this agency's
  clock) or its receipt of the agency's notice. Either fixes the effective day
  (receipt + 3 months), which a new root-signed keyring version records with the
  ground and the decision (``ending``).
- ``agency terminate`` (agency/terminate.py) records the ground of a unilateral
  termination (art. 8) or of the end by operation of law (art. 12) through
  :func:`record_ending`.
- ``agency municipality renew``: a new protocol that follows the old one, in a new
  keyring version; the people enrolled stay enrolled.

The end of a protocol is never moved later: a second ending takes effect only if it is
earlier than the one recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from securexchange import strictjson
from securexchange.agency.export_key import unlock_export
from securexchange.agency.registry import (
    LATEST_PROTOCOL_END,
    current_keyring,
    municipality_entry,
    new_protocol_id,
    sign_change,
    unlock_root,
)
from securexchange.agency.return_trust import StoredKeyrings
from securexchange.agency.signer_keyring import judge_by
from securexchange.artifacts.incident import Reporter
from securexchange.artifacts.keyring import MunicipalityEntry
from securexchange.artifacts.manifest import Manifest
from securexchange.artifacts.protocol_notice import (
    NoticeKind,
    ProtocolNoticeBody,
    protocol_notice_body,
)
from securexchange.artifacts.protocol_terms import (
    EndGround,
    Ending,
    check_reference,
    notice_effective,
)
from securexchange.ending import notices
from securexchange.errors import Equivocation, Malformed, NotFound, ProtocolInactive, UsageError
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.i18n import _
from securexchange.keys.keystore import KeySource


@dataclass(frozen=True)
class Given:
    notice_id: str
    path: Path
    protocol_id: str
    again: bool  # the notice given before for this protocol, written again


@dataclass(frozen=True)
class Imported:
    notice_id: str
    kind: NoticeKind
    nis: str
    received_on: date
    effective: date
    keyring_version: int | None  # the version that records the end; None: nothing new
    again: bool


def reference(text: str, what: str) -> str:
    try:
        return check_reference(text)
    except ValueError:
        raise UsageError(
            # TRANSLATORS: {what} is e.g. "--decision".
            _("{what} is 1-120 printable characters").format(what=what)
        ) from None


def give_notice(home: Home, export: KeySource, *, nis: str, decision: str, out_dir: Path) -> Given:
    """The agency's written notice to ``nis`` (art. 5), kept, logged and written."""
    decision = reference(decision, "--decision")
    entry = municipality_entry(home, nis.strip())
    if not entry.active_on(home.now.date()):
        raise ProtocolInactive(_("the municipality's protocol is not in force"))
    notices.prepare_out(out_dir)
    given = notices.find(home, protocol_id=entry.protocol_id, kind=NoticeKind.NOTICE.value, ours=1)
    if given:
        path = notices.write(
            out_dir, given[0].notice_id, notices.container(home, given[0].notice_id)
        )
        return Given(given[0].notice_id, path, entry.protocol_id, again=True)
    keyring = current_keyring(home).keyring
    signer = unlock_export(home, export)
    body = ProtocolNoticeBody(
        kind=NoticeKind.NOTICE,
        given_by=Reporter.AGENCY,
        nis=entry.nis,
        party_id=entry.party_id,
        protocol_id=entry.protocol_id,
        keyring_version=keyring.version,
        decision=decision,
        answers=None,
        received_on=None,
        demo=keyring.demo,
    )
    notice_id, data = notices.seal_notice(home, body, signer=signer, keyring=keyring)
    manifest = notices.verify(data, lambda _m: keyring)[0]
    with statedb.transaction(home.db):
        notices.record(home, manifest, body, data, ours=True, received_on=None, effective=None)
        home.record(Action.NOTICE_GIVE, actor=signer.fingerprint.display, artifacts=[notice_id])
    return Given(notice_id, notices.write(out_dir, notice_id, data), entry.protocol_id, again=False)


def _judge(home: Home, data: bytes) -> tuple[Manifest, ProtocolNoticeBody]:
    stored = StoredKeyrings(home)
    manifest, body = notices.verify(data, judge_by(stored, home.now, protocol_notice_body))
    if body.given_by is not Reporter.MUNICIPALITY:
        raise Malformed(_("the agency's own notice is not imported at the agency"))
    if stored.version(body.party_id, body.keyring_version) is None:
        raise Malformed(_("the notice names a keyring version this agency did not issue"))
    return manifest, body


def import_notice(home: Home, root: KeySource, data: bytes) -> Imported:
    """Verify a municipality's notice or receipt (nothing is written before), keep it,
    and record the end it fixes in a new root-signed keyring version."""
    manifest, body = _judge(home, data)
    entry = municipality_entry(home, body.nis)
    if entry.party_id != body.party_id:
        raise Malformed(_("the notice names a party that is not the municipality's"))
    received_on, ground, decision = _receipt_terms(home, manifest, body)
    effective = notice_effective(received_on)
    if notices.same_again(home, manifest, data):
        return Imported(
            manifest.artifact_id, body.kind, entry.nis, received_on, effective, None, True
        )
    if body.protocol_id != entry.protocol_id:
        raise ProtocolInactive(
            _("the notice is for a protocol that is no longer the municipality's"),
        )
    if entry.terminated_on is not None and entry.terminated_on <= home.now.date():
        raise ProtocolInactive(_("the municipality's protocol has ended already"))
    if body.kind is NoticeKind.RECEIPT and notices.find(home, answers=body.answers or ""):
        raise Equivocation(_("a receipt of that notice is kept already"))
    identity = unlock_root(home, root)
    ending = Ending(ground, decision, body.answers or manifest.artifact_id, received_on)
    with statedb.transaction(home.db):
        notices.record(
            home, manifest, body, data, ours=False, received_on=received_on, effective=effective
        )
        ended = record_ending(home, entry, ending, effective)
        home.record(Action.NOTICE_IMPORT, actor=manifest.signer, artifacts=[manifest.artifact_id])
        # An earlier end recorded already stays; nothing for a keyring version to say.
        version = sign_change(home, identity, protocols_ended=1) if ended else None
    return Imported(
        manifest.artifact_id, body.kind, entry.nis, received_on, effective, version, False
    )


def _receipt_terms(
    home: Home, manifest: Manifest, body: ProtocolNoticeBody
) -> tuple[date, EndGround, str]:
    """(day of receipt, ground, decision) of a municipality's notice or receipt."""
    if body.kind is NoticeKind.NOTICE:
        kept = notices.held(home, manifest.artifact_id)
        received = kept.received_on if kept is not None else None
        decision = body.decision or ""  # a notice's body always names it
        return received or home.now.date(), EndGround.NOTICE_BY_MUNICIPALITY, decision
    ours = notices.held(home, body.answers or "")
    if ours is None or not ours.ours or ours.kind is not NoticeKind.NOTICE:
        raise NotFound(_("the receipt answers a notice this agency did not give"))
    if ours.protocol_id != body.protocol_id or body.received_on is None or ours.decision is None:
        raise Malformed(_("the receipt does not match the notice it answers"))
    given_on = date.fromisoformat(ours.created_at[:10])
    if not given_on <= body.received_on <= home.now.date() + timedelta(days=1):
        raise Malformed(_("the receipt states a day before the notice was given, or to come"))
    return body.received_on, EndGround.NOTICE_BY_AGENCY, ours.decision


def record_ending(home: Home, entry: MunicipalityEntry, ending: Ending, effective: date) -> bool:
    """Record that the protocol ends on ``effective`` for ``ending`` (inside the caller's
    transaction), unless it ends earlier already; True when this ending is recorded."""
    if entry.terminated_on is not None and entry.terminated_on <= effective:
        return False
    home.db.execute(
        "UPDATE agency_municipalities SET terminated_on = ? WHERE party_id = ?",
        (effective.isoformat(), entry.party_id),
    )
    home.db.execute(
        "INSERT INTO agency_protocol_terms (party_id, ending) VALUES (?, ?) "
        "ON CONFLICT(party_id) DO UPDATE SET ending = excluded.ending",
        (entry.party_id, strictjson.dumps(ending.to_json()).decode("utf-8")),
    )
    return True


def renew(
    home: Home, root: KeySource, *, nis: str, until: date, protocol_ref: str
) -> tuple[MunicipalityEntry, int]:
    """A new protocol for ``nis`` that follows its current one, to ``until``; the same
    party and people, a new protocol id, in a new keyring version."""
    protocol_ref = reference(protocol_ref, "--protocol-ref")
    old = municipality_entry(home, nis.strip())
    if old.terminated_on is not None:
        raise ProtocolInactive(
            _("the protocol was terminated; a new protocol is registered, not renewed"),
        )
    if notices.find(home, protocol_id=old.protocol_id, kind=NoticeKind.NOTICE.value):
        raise ProtocolInactive(
            _("notice was given of the protocol; a new protocol is registered, not renewed"),
        )
    if until <= old.protocol_until:
        raise UsageError(_("a renewal ends after the protocol it renews"))
    if until > LATEST_PROTOCOL_END:
        raise UsageError(
            _("a protocol ends by {day} at the latest").format(day=LATEST_PROTOCOL_END.isoformat())
        )
    identity = unlock_root(home, root)
    protocol_id = new_protocol_id()
    with statedb.transaction(home.db):
        home.db.execute(
            "UPDATE agency_municipalities SET protocol_id = ?, protocol_until = ? "
            "WHERE party_id = ?",
            (protocol_id, until.isoformat(), old.party_id),
        )
        home.db.execute(
            "INSERT INTO agency_protocol_terms (party_id, protocol_ref, renews) VALUES (?, ?, ?) "
            "ON CONFLICT(party_id) DO UPDATE SET protocol_ref = excluded.protocol_ref, "
            "renews = excluded.renews, ending = NULL",
            (old.party_id, protocol_ref, old.protocol_id),
        )
        version = sign_change(home, identity, protocols_renewed=1)
    return municipality_entry(home, old.nis), version
