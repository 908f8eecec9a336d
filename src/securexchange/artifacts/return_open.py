"""The one verification of a return (:func:`open_return`): the agency's import and ``audit verify``
both call it, so they cannot disagree about what a valid return is. Pure: no I/O; time
passed in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Protocol

from securexchange import age
from securexchange.artifacts import container
from securexchange.artifacts.keyring import Keyring, MunicipalityEntry
from securexchange.artifacts.manifest import (
    PAYLOAD,
    ArtifactType,
    Manifest,
)
from securexchange.artifacts.returns import ReturnBody, ReturnDocument, check_binding
from securexchange.artifacts.zipstrict import DEFAULT_LIMITS
from securexchange.errors import Malformed, NotAuthorised, ProtocolInactive
from securexchange.fingerprint import Fingerprint
from securexchange.keys.vouching import vouch

# A return made before its protocol ended may still be on its way (mail, a USB stick);
# after this grace nothing of that protocol is accepted any more (issue 14, item 8).
RECEIPT_GRACE = timedelta(days=7)


class KnownKeyrings(Protocol):
    """The root-verified keyring versions a verifier holds (full keyrings or views)."""

    def version(self, party_id: str, version: int) -> Keyring | None:
        """Keyring ``version`` if it is held and lists the municipality ``party_id``."""
        ...

    def in_force(self, party_id: str, moment: datetime) -> Keyring | None:
        """The newest version listing ``party_id`` that was in force at ``moment``."""
        ...

    def newest_version(self) -> int:
        """The highest version held (0: none)."""
        ...


@dataclass(frozen=True)
class ReturnTrust:
    """What a return is verified against.

    ``keyrings``: the verified versions held; ``terminations``: protocol id -> first day
    the protocol no longer applies, from verified termination notices (a keyring's own
    ``terminated_on`` counts too; the earliest day wins); ``received_at``: when the
    verifier received the return (the agency: now), or None for an auditor, who cannot
    know it and judges the newest version in force when the return was made instead;
    ``every_version``: the keyrings are every version ever issued (the agency's own), so
    a version above the newest was never issued rather than not given.
    """

    keyrings: KnownKeyrings
    terminations: Mapping[str, date] = field(default_factory=lambda: MappingProxyType({}))
    received_at: datetime | None = None
    every_version: bool = False


@dataclass(frozen=True)
class OpenedReturn:
    """A return that passed every check; ``document`` only once it was decrypted
    (:meth:`decrypt`, on the members already verified: no second parse)."""

    verified: container.VerifiedArtifact = field(repr=False)
    body: ReturnBody
    entry: MunicipalityEntry  # the municipality in the newest version consulted
    document: ReturnDocument | None

    @property
    def manifest(self) -> Manifest:
        return self.verified.manifest

    @property
    def container_sha256(self) -> str:
        return self.verified.container_sha256

    def decrypt(self, identities: Sequence[age.Identity]) -> OpenedReturn:
        """This return with its document: decryption (NotRecipient/Tampered), the
        binding fields (Tampered) and the document (Malformed/Tampered)."""
        content = container.decrypt_payload(
            self.verified, identities, max_size=DEFAULT_LIMITS.max_member_size
        )
        document = ReturnDocument.from_bytes(content)
        check_binding(document, self.manifest)
        return replace(self, document=document)


def _authorised_in(keyring: Keyring, manifest: Manifest, body: ReturnBody) -> MunicipalityEntry:
    entry = keyring.by_party(body.party_id)
    if entry is None:
        raise NotAuthorised(
            f"keyring version {keyring.version} holds no agreement with the return's municipality"
        )
    if entry.nis != manifest.municipality:
        raise NotAuthorised("the return's municipality is not its party's")
    person = next((r for r in entry.recipients if r.fingerprint.display == manifest.signer), None)
    if person is None:
        raise NotAuthorised(
            "the return's signer is not an authorised person of that municipality in "
            f"keyring version {keyring.version}"
        )
    if not entry.allows_role(person.owner.role):
        raise NotAuthorised(
            f"the signer's role is not an allowed profile in keyring version {keyring.version}"
        )
    return entry


class _ReturnSigner:
    """The trust policy: the signer must be authorised in the version the return names,
    and in any newer version in force when it was made or when it was received (the
    verifier's newest): every one of them, so the strictest rule wins."""

    def __init__(self, trust: ReturnTrust) -> None:
        self._trust = trust
        self.entries: list[MunicipalityEntry] = []
        self.newest: MunicipalityEntry | None = None

    def signer_key(self, manifest: Manifest, embedded_key: bytes) -> bytes:
        body = manifest.body
        if manifest.artifact_type is not ArtifactType.RETURN or not isinstance(body, ReturnBody):
            raise Malformed("the container is not a return")
        keyrings = self._trust.keyrings
        named = keyrings.version(body.party_id, body.keyring_version)
        if named is None:
            if self._trust.every_version and body.keyring_version > keyrings.newest_version():
                raise Malformed("the return claims a keyring version that was never issued")
            raise NotAuthorised(
                f"keyring version {body.keyring_version} that the return names is not known "
                "to the verifier (give the published keyring of that version)"
            )
        consulted = [named]
        moments = [manifest.created_at]
        if self._trust.received_at is not None:
            moments.append(self._trust.received_at)
        for moment in moments:
            # Only a newer version adds knowledge (a removal the signer's home had not
            # seen); an older one "in force" is only the clock's one-second granularity.
            keyring = keyrings.in_force(body.party_id, moment)
            if keyring is not None and keyring.version > max(k.version for k in consulted):
                consulted.append(keyring)
        self.entries = [_authorised_in(k, manifest, body) for k in consulted]
        self.newest = self.entries[max(range(len(consulted)), key=lambda i: consulted[i].version)]
        people = self.entries[0].recipients
        return next(r.signing_key for r in people if r.fingerprint.display == manifest.signer)


def _ended_on(entries: Sequence[MunicipalityEntry], trust: ReturnTrust) -> date | None:
    """The first day the protocol no longer applies: the day after its last, or an
    earlier termination (by a keyring or a notice), whichever comes first."""
    # date.max has no day after it: such a protocol never ends by itself.
    days = [e.protocol_until + timedelta(days=1) for e in entries if e.protocol_until < date.max]
    days += [e.terminated_on for e in entries if e.terminated_on is not None]
    days += [
        trust.terminations[e.protocol_id] for e in entries if e.protocol_id in trust.terminations
    ]
    return min(days) if days else None


def _check_active(
    manifest: Manifest, entries: Sequence[MunicipalityEntry], trust: ReturnTrust
) -> None:
    made = manifest.created_at.date()
    if not all(e.active_on(made) for e in entries):
        raise ProtocolInactive("the protocol was not active when the return was made")
    ended = _ended_on(entries, trust)
    if ended is None:
        return
    if made >= ended:
        raise ProtocolInactive("the return was made on or after its protocol's termination")
    received = trust.received_at
    # (Subtracting from the receipt: a far effective day has no 7 days after it.)
    if received is not None and received - RECEIPT_GRACE >= datetime.combine(ended, time(), UTC):
        # A natural end is treated as a termination on the day after the last.
        raise ProtocolInactive("the return arrived more than 7 days after its protocol ended")


def open_return(
    data: bytes | container.ReadContainer,
    *,
    trust: ReturnTrust,
    identities: Sequence[age.Identity] | None,
) -> OpenedReturn:
    """Verify a return; decrypt and parse its document when ``identities`` are given.

    Checks, in order: the ZIP structure (Malformed); the signer's authority in every
    keyring version :class:`_ReturnSigner` consults (NotAuthorised; a version above the
    newest held is Malformed); the signature (BadSignature); every member digest
    (Tampered); the protocol active on the day it was made, not terminated then, and
    received within :data:`RECEIPT_GRACE` of a termination (ProtocolInactive); the
    payload encrypted to exactly one public-key recipient, the agency (NotAuthorised: a
    second stanza, well formed or not, would let a third party read the return); for a
    key holder the decryption (NotRecipient/Tampered), the binding fields (Tampered) and
    the document (Malformed/Tampered). Freshness against a home's clock, demo homes,
    known records and sequence numbers are the importer's.
    """
    policy = _ReturnSigner(trust)
    accept = (ArtifactType.RETURN,)
    verified = container.open_without_decryption(data, trust=policy, accept=accept)
    manifest = verified.manifest
    body = manifest.body
    if not isinstance(body, ReturnBody) or policy.newest is None:
        raise Malformed("the container is not a return")  # pragma: no cover
    _check_active(manifest, policy.entries, trust)
    stanzas = age.parse_header(verified.members[PAYLOAD]).stanzas
    if len(stanzas) != 1:
        raise NotAuthorised(
            "a return is encrypted to the agency alone, but payload.age has "
            f"{len(stanzas)} recipient stanzas"
        )
    # The signer's subkeys (issue 19): each certified by the signer, none another key for
    # a slot the newest keyring consulted gives the signer.
    signer = policy.newest.recipient(Fingerprint.of_public_key(verified.signer_key))
    if signer is None:  # pragma: no cover - _authorised_in found the signer there
        raise NotAuthorised("the return's signer is not in the newest keyring consulted")
    vouch(signer, body.subkeys)
    opened = OpenedReturn(verified=verified, body=body, entry=policy.newest, document=None)
    return opened if identities is None else opened.decrypt(identities)
