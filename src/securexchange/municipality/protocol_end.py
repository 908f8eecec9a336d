"""Written notice at the municipality (protocol art. 5).

- ``municipality notice give``: the municipality's notice to the agency, signed with the
  staff member's key and naming the college's decision. The agency takes it in and
  records the end (receipt + 3 months) in a root-signed keyring version.
- ``municipality notice import``: the agency's notice. The day it is taken in is the
  day of receipt, by this home's clock; the answer is a signed receipt stating that day,
  for the agency, which records the end the same way.

The client destroys the protocol's data on the day the root-signed keyring states
(``terminated_on``), as for any other end: the receipt's day is this home's own word,
which a user could change, so shredding never waits on it (docs/threat-model.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from securexchange.artifacts.incident import Reporter
from securexchange.artifacts.keyring import Keyring, MunicipalityEntry
from securexchange.artifacts.manifest import Manifest
from securexchange.artifacts.protocol_notice import NoticeKind, ProtocolNoticeBody
from securexchange.artifacts.protocol_terms import check_reference, notice_effective
from securexchange.ending import notices
from securexchange.errors import (
    Malformed,
    NotFound,
    ProtocolInactive,
    UsageError,
    WrongMunicipality,
)
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.i18n import _
from securexchange.keys.keystore import KeySource
from securexchange.municipality import subkeys
from securexchange.municipality.enrolment import held_keyring, home_nis


@dataclass(frozen=True)
class Given:
    notice_id: str
    path: Path
    keyring_version: int  # the version the notice names (its signer's listing)
    again: bool


@dataclass(frozen=True)
class Received:
    notice_id: str
    receipt_id: str
    receipt: Path
    received_on: date
    effective: date
    again: bool


def _current(home: Home) -> tuple[Keyring, MunicipalityEntry]:
    keyring = held_keyring(home)
    if keyring is None:
        raise NotFound(
            _("this home holds no keyring from the agency"),
            hint=_("import the agency's package or keyring first"),
        )
    return keyring, keyring.municipalities[0]


def give_notice(home: Home, source: KeySource, *, decision: str, out_dir: Path) -> Given:
    """The municipality's written notice to the agency, kept, logged and written."""
    try:
        decision = check_reference(decision)
    except ValueError:
        raise UsageError(_("--decision is 1-120 printable characters")) from None
    keyring, entry = _current(home)
    if not entry.active_on(home.now.date()):
        raise ProtocolInactive(_("the protocol is not in force"))
    notices.prepare_out(out_dir)
    given = notices.find(home, protocol_id=entry.protocol_id, kind=NoticeKind.NOTICE.value, ours=1)
    if given:
        notice_id = given[0].notice_id
        kept = notices.container(home, notice_id)
        version = notices.verify(kept, lambda _m: keyring)[1].keyring_version
        return Given(notice_id, notices.write(out_dir, notice_id, kept), version, True)
    signer = subkeys.split_out(home, source, keyring=keyring)
    body = ProtocolNoticeBody(
        kind=NoticeKind.NOTICE,
        given_by=Reporter.MUNICIPALITY,
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
    return Given(notice_id, notices.write(out_dir, notice_id, data), keyring.version, False)


def _verified(home: Home, data: bytes, keyring: Keyring) -> tuple[Manifest, ProtocolNoticeBody]:
    nis = home_nis(home)

    def keyring_for(manifest: Manifest) -> Keyring:
        if manifest.municipality != nis:
            raise WrongMunicipality(_("the protocol notice is for another municipality"))
        return keyring

    manifest, body = notices.verify(data, keyring_for)
    if body.given_by is not Reporter.AGENCY or body.kind is not NoticeKind.NOTICE:
        raise Malformed(
            _("only the agency's notice is taken in here"),
            hint=_("a notice of this municipality goes to the agency"),
        )
    return manifest, body


def import_notice(home: Home, source: KeySource, data: bytes, *, out_dir: Path) -> Received:
    """Verify the agency's notice (nothing is written before), keep it with today as
    the day of receipt, and write the signed receipt into ``out_dir``."""
    keyring, entry = _current(home)
    manifest, body = _verified(home, data, keyring)
    notices.prepare_out(out_dir)
    if notices.same_again(home, manifest, data):
        kept = notices.find(home, answers=manifest.artifact_id, ours=1)[0]
        path = notices.write(out_dir, kept.notice_id, notices.container(home, kept.notice_id))
        day = kept.received_on or home.now.date()
        return Received(
            manifest.artifact_id, kept.notice_id, path, day, notice_effective(day), True
        )
    if body.protocol_id != entry.protocol_id:
        raise ProtocolInactive(_("the notice is for a protocol that is no longer this home's"))
    signer = subkeys.split_out(home, source, keyring=keyring)
    received = home.now.date()
    effective = notice_effective(received)
    answer = ProtocolNoticeBody(
        kind=NoticeKind.RECEIPT,
        given_by=Reporter.MUNICIPALITY,
        nis=entry.nis,
        party_id=entry.party_id,
        protocol_id=entry.protocol_id,
        keyring_version=keyring.version,
        decision=None,
        answers=manifest.artifact_id,
        received_on=received,
        demo=keyring.demo,
    )
    receipt_id, receipt = notices.seal_notice(home, answer, signer=signer, keyring=keyring)
    receipt_manifest = notices.verify(receipt, lambda _m: keyring)[0]
    with statedb.transaction(home.db):
        notices.record(
            home, manifest, body, data, ours=False, received_on=received, effective=effective
        )
        notices.record(
            home,
            receipt_manifest,
            answer,
            receipt,
            ours=True,
            received_on=received,
            effective=effective,
        )
        home.record(
            Action.NOTICE_IMPORT,
            actor=signer.fingerprint.display,
            artifacts=[manifest.artifact_id, receipt_id],
        )
    path = notices.write(out_dir, receipt_id, receipt)
    return Received(manifest.artifact_id, receipt_id, path, received, effective, False)
