"""``agency incident``: the agency's side of the incident notices (protocol art. 6, 9).

The agency reports an incident it discovered to a municipality: signed by the export key
(as packages and notices are), encrypted to that municipality's DPOs and to the agency's
own DPO key. It takes in a municipality's notices without any key (signature, digests,
recipients checked against the keyring version in force when the notice was made) and
keeps them in its register; reading one (``incident show``) needs the DPO key.
"""

from __future__ import annotations

from pathlib import Path

from securexchange import age
from securexchange.agency import vouched
from securexchange.agency.dpo_key import unlock_dpo
from securexchange.agency.export_key import unlock_export
from securexchange.agency.registry import agency_keys, current_keyring
from securexchange.agency.return_trust import StoredKeyrings
from securexchange.agency.signer_keyring import judge_by
from securexchange.artifacts.incident import (
    IncidentBody,
    IncidentDetails,
    Reporter,
    incident_body,
)
from securexchange.errors import BadSignature, Equivocation, Malformed, NotFound
from securexchange.home.atomicio import atomic_write, output_dir, refuse_non_directory
from securexchange.home.home import Home
from securexchange.i18n import _
from securexchange.incidents import notices, register
from securexchange.keys.keystore import KeySource


def send(
    home: Home, export: KeySource, draft: notices.Draft, *, nis: str, out_dir: Path
) -> notices.Sent:
    """Make the next notice of ``draft`` about municipality ``nis`` into ``out_dir``."""
    keyring = current_keyring(home).keyring
    if draft.incident_id is not None:
        nis = register.incident(home, draft.incident_id).nis
    entry = keyring.municipality(nis.strip())
    if entry is None:
        raise NotFound(
            _("no registered municipality has that NIS code"),
            hint=_("see 'agency municipality list'"),
        )
    refuse_non_directory(out_dir)
    signer = unlock_export(home, export)
    now = home.now
    try:
        # The DPOs' subkeys pre-issued since the keyring version, vouched for by them.
        people = [vouched.effective(home, p, now) for p in entry.dpos]
    except (BadSignature, Equivocation, Malformed):
        people = list(entry.dpos)
    if keyring.agency.dpo is not None:
        people.append(keyring.agency.dpo)
    sent = notices.send(
        home,
        draft,
        signer=signer,
        reporter=Reporter.AGENCY,
        keyring=keyring,
        entry=entry,
        people=people,
    )
    output_dir(out_dir, private=True)
    atomic_write(out_dir / f"{sent.notice_id}{notices.FILE_SUFFIX}", sent.data, mode=0o600)
    return sent


def _keyring_for(home: Home) -> StoredKeyrings:
    return StoredKeyrings(home)


def receive(home: Home, data: bytes) -> notices.Received:
    """Verify a municipality's notice and add it to the register (no key needed)."""
    dpo = agency_keys(home).dpo
    if dpo is None:
        raise NotFound(_("this agency has no DPO key"), hint=_("make one with 'agency dpo init'"))
    return notices.receive(
        home,
        data,
        keyring_for=judge_by(_keyring_for(home), home.now, incident_body),
        reader=dpo.fingerprint.display,
        party_reports=Reporter.AGENCY,
        actor=dpo.fingerprint.display,
    )


def show(
    home: Home, dpo: KeySource, incident_id: str
) -> list[tuple[str, IncidentBody, IncidentDetails | None]]:
    """Every notice of an incident, decrypted with the DPO key."""
    register.incident(home, incident_id)
    identity = unlock_dpo(home, dpo)
    identities = [age.parse_identity(s.identity) for s in identity.subkeys]
    keyring_for = judge_by(_keyring_for(home), None, incident_body)
    shown: list[tuple[str, IncidentBody, IncidentDetails | None]] = []
    for notice_id, _sequence, _phase, data in register.notices(home, incident_id):
        body, details = notices.read_details(data, keyring_for, identities)
        shown.append((notice_id, body, details))
    return shown
