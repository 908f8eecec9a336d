"""``municipality incident``: report a breach to the agency within 48 hours (protocol
art. 6), keep the register (GDPR art. 33(5)), and take in the agency's notices.

A notice from this home is signed by the staff member's key and encrypted to the
agency's DPO key, the municipality's own DPOs, and the sender (so the home can show
what it sent while its subkey lives); all as the keyring this home holds lists them. A
notice taken in must be encrypted to this home (in practice: the DPO's home).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from securexchange.artifacts.incident import IncidentBody, IncidentDetails, Reporter
from securexchange.artifacts.keyring import Keyring
from securexchange.artifacts.manifest import Manifest
from securexchange.errors import NotFound, NotRecipient, WrongMunicipality
from securexchange.home.atomicio import atomic_write, output_dir, refuse_non_directory
from securexchange.home.home import Home
from securexchange.i18n import _
from securexchange.incidents import notices, register
from securexchange.keys.keystore import KeySource
from securexchange.municipality import subkeys
from securexchange.municipality.enrolment import held_keyring, home_nis
from securexchange.municipality.vouched import own_fingerprint


def _keyring(home: Home) -> Keyring:
    keyring = held_keyring(home)
    if keyring is None:
        raise NotFound(
            _("this home holds no keyring from the agency"),
            hint=_("import the agency's package or keyring first"),
        )
    return keyring


def _for_this_home(home: Home, keyring: Keyring) -> Callable[[Manifest], Keyring]:
    nis = home_nis(home)

    def keyring_for(manifest: Manifest) -> Keyring:
        if manifest.municipality != nis:
            raise WrongMunicipality(_("the incident notice is for another municipality"))
        return keyring

    return keyring_for


def send(home: Home, source: KeySource, draft: notices.Draft, out_dir: Path) -> notices.Sent:
    """Make the next notice of ``draft`` and write it into ``out_dir``."""
    keyring = _keyring(home)
    refuse_non_directory(out_dir)
    entry = keyring.municipalities[0]
    identity = subkeys.split_out(home, source, top_up=True, keyring=keyring)
    people = [*entry.dpos, identity.public]
    if keyring.agency.dpo is not None:
        people.append(keyring.agency.dpo)
    sent = notices.send(
        home,
        draft,
        signer=identity,
        reporter=Reporter.MUNICIPALITY,
        keyring=keyring,
        entry=entry,
        people=people,
    )
    write(out_dir, sent.notice_id, sent.data)
    return sent


def write(out_dir: Path, notice_id: str, data: bytes) -> Path:
    output_dir(out_dir, private=True)  # encrypted, but it names who reads it
    path = out_dir / f"{notice_id}{notices.FILE_SUFFIX}"
    atomic_write(path, data, mode=0o600)
    return path


def receive(home: Home, data: bytes) -> notices.Received:
    """Verify a notice (the agency's, or a colleague's) and add it to the register."""
    keyring = _keyring(home)
    keyring_for = _for_this_home(home, keyring)
    reader = own_fingerprint(home)
    if reader is None:
        raise NotFound(_("this home has no key card"), hint=_("run 'municipality init'"))
    return notices.receive(
        home,
        data,
        keyring_for=keyring_for,
        reader=reader,
        party_reports=Reporter.MUNICIPALITY,
        actor=reader,
    )


def show(
    home: Home, source: KeySource, incident_id: str
) -> list[tuple[str, IncidentBody, IncidentDetails | None]]:
    """Every notice of an incident, decrypted where this home still holds the subkey."""
    keyring = _keyring(home)
    register.incident(home, incident_id)
    keyring_for = _for_this_home(home, keyring)
    identities = list(subkeys.unlock(home, source.passphrase).values())
    shown = []
    for notice_id, _sequence, _phase, data in register.notices(home, incident_id):
        try:
            body, details = notices.read_details(data, keyring_for, identities)
        except NotRecipient:  # the subkey was destroyed with its period: the body shows
            body, details = notices.verify(data, keyring_for).body, None
        shown.append((notice_id, body, details))
    return shown
