"""Making and taking in incident notices: what both sides do alike.

Each side's workflow (``agency/incidents.py``, ``municipality/incidents.py``) says who
signs, which keyring it trusts and whom to encrypt to; this module seals the notice,
records it in the register, verifies a received one before anything is written, and
decrypts one for ``incident show``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from securexchange import age
from securexchange.artifacts.container import (
    JudgedSigner,
    PinnedSigner,
    VerifiedArtifact,
    decrypt_payload,
    open_without_decryption,
    seal,
)
from securexchange.artifacts.incident import (
    IncidentBody,
    IncidentDetails,
    Phase,
    Reporter,
    check_incident,
    other_party_dpos,
    signer_key,
)
from securexchange.artifacts.keyring import Keyring, MunicipalityEntry
from securexchange.artifacts.manifest import PAYLOAD, ArtifactType, Manifest
from securexchange.artifacts.package import PackageRecipient
from securexchange.clock import utc
from securexchange.errors import Equivocation, Malformed, NoRecipient, NotRecipient, UsageError
from securexchange.home.home import Home
from securexchange.i18n import _
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.incidents import register
from securexchange.keys.identity import Identity, PublicIdentity
from securexchange.keys.reach import reach

FILE_SUFFIX = ".sxi"
MAX_INCIDENT_BYTES = 1 << 20


@dataclass(frozen=True)
class Sent:
    notice_id: str
    incident_id: str
    phase: Phase
    data: bytes
    incident: register.Incident


@dataclass(frozen=True)
class Draft:
    """What a party states in a notice; who signs and to whom come from the side."""

    phase: Phase
    details: IncidentDetails
    incident_id: str | None = None  # None to open one
    discovered_at: datetime | None = None  # only to open one


def next_place(home: Home, draft: Draft, reporter: Reporter) -> tuple[int, datetime, str | None]:
    """(sequence, discovery time, incident id) of the notice ``draft`` becomes; refuses
    a note or close of an incident this home did not report, or one already closed."""
    if draft.phase is Phase.OPEN:
        if draft.discovered_at is None:
            raise UsageError(_("opening an incident needs the moment of discovery"))
        if draft.discovered_at > home.now:
            raise UsageError(_("the moment of discovery lies in the future"))
        if draft.details.nature is None:
            raise UsageError(
                _("the incident form must say at least what happened ('aard' or 'nature')")
            )
        # Manifests carry whole seconds in UTC.
        return 1, utc(draft.discovered_at).replace(microsecond=0), None
    if draft.incident_id is None:
        raise UsageError(_("name the incident"))
    known = register.incident(home, draft.incident_id)
    if not known.ours or known.reporter is not reporter:
        raise UsageError(
            _("only the party that reported an incident adds notes to it or closes it"),
            hint=_("open an incident of your own to report what you found"),
        )
    if known.closed_at is not None:
        raise UsageError(_("the incident is closed already"))
    if draft.phase is Phase.NOTE and draft.details.empty:
        raise UsageError(_("the incident form is empty: a note adds information"))
    return known.last_sequence + 1, known.discovered_at, draft.incident_id


def send(
    home: Home,
    draft: Draft,
    *,
    signer: Identity,
    reporter: Reporter,
    keyring: Keyring,
    entry: MunicipalityEntry,
    people: Sequence[PublicIdentity],
) -> Sent:
    """Seal, register and log one notice, encrypted to ``people`` (as the keyring lists
    them, or with subkeys their holders vouched for since); the file is the caller's."""
    sequence, discovered_at, incident_id = next_place(home, draft, reporter)
    now = home.now
    reached = reach(people, now)
    receivers = {p.fingerprint for p in other_party_dpos(keyring, entry, reporter)}
    if not any(person.fingerprint in receivers for person, _s in reached.chosen):
        raise NoRecipient(
            _("the other party's data protection officer holds no key valid now"),
            hint=_("tell them by phone or mail at once; ask the agency for a current keyring"),
        )
    # Each subkey with its holder's certification: the reader may hold an older keyring
    # version than the one the sender took the people from.
    recipients = tuple(
        sorted(
            (
                PackageRecipient.of(p.fingerprint.display, p.owner.role, s)
                for p, s in reached.chosen
            ),
            key=lambda r: r.fingerprint,
        )
    )
    notice_id = new_artifact_id(ArtifactKind.INCIDENT)
    body = IncidentBody(
        incident=incident_id or notice_id,
        phase=draft.phase,
        sequence=sequence,
        reporter=reporter,
        party_id=entry.party_id,
        discovered_at=discovered_at,
        keyring_version=keyring.version,
        recipients=recipients,
        demo=keyring.demo,
    )
    data = seal(
        artifact_type=ArtifactType.INCIDENT,
        artifact_id=notice_id,
        created_at=now,
        municipality=entry.nis,
        body=body,
        signing_seed=signer.seed,
        content=draft.details.to_bytes(body.incident, body.phase),
        recipients=[age.parse_recipient(r.subkey) for r in recipients],
    )
    verified = open_without_decryption(
        data, trust=PinnedSigner(signer.signing_key), accept=(ArtifactType.INCIDENT,)
    )
    check_incident(verified.manifest, keyring)  # the keyring lists the signer and readers
    register.record(
        home, verified.manifest, body, data, ours=True, sent=True, actor=signer.fingerprint.display
    )
    return Sent(notice_id, body.incident, body.phase, data, register.incident(home, body.incident))


@dataclass(frozen=True)
class Received:
    notice_id: str
    incident_id: str
    phase: Phase
    again: bool  # the register held this very notice already: nothing changed
    incident: register.Incident


@dataclass(frozen=True)
class Checked:
    verified: VerifiedArtifact
    body: IncidentBody


def verify(data: bytes, keyring_for: Callable[[Manifest], Keyring]) -> Checked:
    """Verify a notice without a key: structure, signature by the signer that
    ``keyring_for(manifest)`` lists, digests, and the body against that keyring."""

    trust = JudgedSigner(lambda m: signer_key(keyring_for(m), m))
    verified = open_without_decryption(data, trust=trust, accept=(ArtifactType.INCIDENT,))
    body = check_incident(verified.manifest, keyring_for(verified.manifest))
    # One stanza per listed recipient, as for a package: a payload encrypted to someone
    # the body does not list would add a stanza (an X25519 stanza names no one, so the
    # count is what a reader without the key can hold it to).
    stanzas = age.parse_header(verified.members[PAYLOAD]).stanzas
    if len(stanzas) != len(body.recipients):
        raise Malformed(_("the incident notice is encrypted to others than the ones it lists"))
    return Checked(verified, body)


def receive(
    home: Home,
    data: bytes,
    *,
    keyring_for: Callable[[Manifest], Keyring],
    reader: str,
    party_reports: Reporter,
    actor: str,
) -> Received:
    """Verify a notice (nothing is written before) and add it to the register. It must
    be encrypted to ``reader`` (this home's reading key): a notice meant for someone else
    is NotRecipient; the same notice again changes nothing."""
    checked = verify(data, keyring_for)
    manifest, body = checked.verified.manifest, checked.body
    if reader not in {r.fingerprint for r in body.recipients}:
        raise NotRecipient(
            _("the incident notice is not encrypted to this home"),
            hint=_("incident notices go to the data protection officers; give it to yours"),
        )
    register.check_next(home, body, manifest.artifact_id)
    kept = register.held(home, manifest.artifact_id)
    if kept is not None and kept != data:
        raise Equivocation(_("the register holds another notice with the same id"))
    again = kept is not None
    if not again:
        register.record(
            home, manifest, body, data, ours=body.reporter is party_reports, sent=False, actor=actor
        )
    known = register.incident(home, body.incident)
    return Received(manifest.artifact_id, body.incident, body.phase, again, known)


def read_details(
    data: bytes, keyring_for: Callable[[Manifest], Keyring], identities: Sequence[age.Identity]
) -> tuple[IncidentBody, IncidentDetails]:
    """A registered notice, verified again and decrypted in memory."""
    checked = verify(data, keyring_for)
    content = decrypt_payload(checked.verified, identities, max_size=MAX_INCIDENT_BYTES)
    return checked.body, IncidentDetails.from_bytes(content, checked.body)
