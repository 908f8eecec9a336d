"""The one verification of a package (:func:`open_package`): the municipal import and
``audit verify`` both call it, so they judge a package alike. Pure: no I/O; time passed in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from securexchange import age, sshsig
from securexchange.artifacts import container, erasure_frame, zipstrict
from securexchange.artifacts.keyring import Keyring, open_keyring
from securexchange.artifacts.manifest import (
    KEYRING,
    KEYRING_SIGNATURE,
    PAYLOAD,
    ArtifactType,
    Manifest,
)
from securexchange.artifacts.package import DEFAULT_MAX_PAYLOAD, PackageBody
from securexchange.errors import (
    BadSignature,
    Malformed,
    NotAuthorised,
    ProtocolInactive,
    Rollback,
    Stale,
)
from securexchange.i18n import _
from securexchange.keys.vouching import vouch


@dataclass(frozen=True)
class PackageTrust:
    """What a package is verified against: the agency root key pinned out of band, and
    the lowest keyring version still acceptable (the one already held)."""

    root_key: bytes
    min_keyring_version: int = 1
    # (protocol id, first day it no longer applies) from verified termination notices:
    # a notice is authoritative before any keyring version records it.
    terminations: tuple[tuple[str, date], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.root_key, bytes) or len(self.root_key) != sshsig.PUBLIC_KEY_SIZE:
            raise ValueError("the root key is a 32-byte Ed25519 public key")
        if self.min_keyring_version < 1:
            raise ValueError("keyring versions start at 1")

    def terminated_on(self, protocol_id: str) -> date | None:
        days = [day for protocol, day in self.terminations if protocol == protocol_id]
        return min(days) if days else None


class _EmbeddedKeyringSigner:
    """A trust policy: the export key certified by the package's own keyring view,
    which must be signed by the pinned root key."""

    def __init__(self, root_key: bytes, data: bytes, signature: bytes) -> None:
        self._root_key = root_key
        self._data = data
        self._signature = signature
        self.keyring: Keyring | None = None

    def signer_key(self, manifest: Manifest, embedded_key: bytes) -> bytes:
        if manifest.artifact_type is not ArtifactType.PACKAGE:
            raise Malformed(_("the container is not a package"))
        try:
            signature = self._signature.decode("ascii")
        except UnicodeDecodeError:
            raise Malformed(_("keyring.sig is not an armored signature")) from None
        # Version 1 here: a rollback is judged after every digest, so that a keyring
        # swapped in from another package reads as tampering, not as a rollback.
        keyring = open_keyring(self._data, signature, self._root_key, min_version=1)
        if not keyring.is_view or keyring.municipalities[0].nis != manifest.municipality:
            raise Malformed(_("the package's keyring is not the view of its municipality"))
        export = keyring.agency.export
        if export.fingerprint.display != manifest.signer:
            # The signer field is covered by the signature: a package naming another
            # signer is either altered or signed by a key the keyring does not certify.
            raise BadSignature(_("the package is not signed by the agency's certified export key"))
        self.keyring = keyring
        return export.signing_key


@dataclass(frozen=True)
class OpenedPackage:
    """A package that passed every check; ``workbook`` only once it was decrypted
    (:meth:`decrypt`, on the members already verified: no second parse)."""

    verified: container.VerifiedArtifact = field(repr=False)
    body: PackageBody
    keyring: Keyring  # the municipality's view, verified against the pinned root key
    workbook: bytes | None
    max_payload: int = field(default=DEFAULT_MAX_PAYLOAD, repr=False, compare=False)
    # The record ids the agency asks to erase (issue 20), once decrypted.
    erased: tuple[str, ...] = field(default=(), repr=False)

    @property
    def manifest(self) -> Manifest:
        return self.verified.manifest

    @property
    def manifest_bytes(self) -> bytes:
        return self.verified.manifest_bytes

    @property
    def container_sha256(self) -> str:
        return self.verified.container_sha256

    @property
    def keyring_data(self) -> bytes:
        return self.verified.members[KEYRING]

    @property
    def keyring_signature(self) -> str:
        return self.verified.members[KEYRING_SIGNATURE].decode("ascii")

    @property
    def package_id(self) -> str:
        return self.manifest.artifact_id

    def decrypt(self, identities: Sequence[age.Identity]) -> OpenedPackage:
        """This package with its workbook: decryption (NotRecipient/Tampered) and the
        binding fields (Tampered), after every other check already passed."""
        content = container.decrypt_payload(self.verified, identities, max_size=self.max_payload)
        erased, workbook = erasure_frame.unframe(content, expected=self.body.erasures)
        return replace(self, workbook=workbook, erased=erased)


def package_limits(max_payload: int = DEFAULT_MAX_PAYLOAD) -> zipstrict.ContainerLimits:
    """The caps a package is read with: its payload, and room for the rest."""
    if max_payload < 1:
        raise ValueError("max_payload is positive")
    return zipstrict.ContainerLimits(
        max_member_size=max_payload, max_total_size=max_payload + (8 << 20)
    )


def _check_against_keyring(manifest: Manifest, body: PackageBody, keyring: Keyring) -> None:
    entry = keyring.municipalities[0]
    if (
        body.nis != manifest.municipality
        or body.party_id != keyring.scope
        or body.protocol_id != entry.protocol_id
        or body.protocol_until != entry.protocol_until
        or body.keyring_version != keyring.version
        or body.demo != keyring.demo
    ):
        raise Malformed(_("the package body does not agree with its keyring"))
    for item in body.recipients:
        person = next((r for r in entry.readers if r.fingerprint.display == item.fingerprint), None)
        if person is None or person.owner.role != item.role:
            raise NotAuthorised(_("the package is encrypted to someone its keyring does not list"))
        subkey = next((s for s in person.subkeys if s.recipient == item.subkey), None)
        carried = item.certified
        if subkey is None and carried is not None:
            # A subkey pre-issued after this keyring version: its holder vouches for it
            # (issue 19), and it claims no slot the keyring gives another key.
            vouch(person, (carried,))
            subkey = carried
        elif subkey is not None and carried is not None and carried != subkey:
            raise Malformed(_("the package states another validity for a subkey than its keyring"))
        if subkey is None or not subkey.valid_at(manifest.created_at):
            raise NotAuthorised(_("the package is encrypted to a subkey its keyring does not list"))
    # The agency's return subkeys: certified by the export key the root key certified.
    vouch(keyring.agency.export, body.agency_subkeys)


def _check_dates(
    manifest: Manifest, body: PackageBody, keyring: Keyring, trust: PackageTrust
) -> None:
    """The protocol was active the day the package was made (and not terminated, by the
    keyring or a notice); its deadlines come after it; no record was already due."""
    entry = keyring.municipalities[0]
    made = manifest.created_at.date()
    ended = trust.terminated_on(body.protocol_id)
    if not entry.active_on(made) or (ended is not None and made >= ended):
        raise ProtocolInactive(
            _("the municipality's protocol was not active when the package was made"),
            hint=_("the protocol was terminated or had not begun; no packages are accepted"),
        )
    if body.import_deadline <= manifest.created_at or body.valid_until <= manifest.created_at:
        raise Malformed(_("a deadline of the package is not after its creation"))
    if body.earliest_retention is not None and body.earliest_retention <= made:
        raise Stale(_("the package holds a record whose retention deadline had passed"))


def open_package(
    data: bytes | container.ReadContainer,
    *,
    trust: PackageTrust,
    identities: Sequence[age.Identity] | None,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
) -> OpenedPackage:
    """Verify a package; decrypt its workbook when ``identities`` are given.

    Checks, in order: the ZIP structure (Malformed/Tampered); the keyring view's root
    signature (BadSignature) and that it is this municipality's view; the manifest's
    signature by the export key that keyring certifies (BadSignature/NotAuthorised);
    every member digest (Tampered); the payload is age to public-key recipients with as many
    stanzas as the body states (Malformed); the body agrees with the keyring
    (Malformed) and lists only its recipients and subkeys (NotAuthorised); the protocol
    was active on the day it was made, by its keyring and ``trust.terminations``
    (ProtocolInactive), its deadlines are after that day (Malformed) and no record was
    due then (Stale); the keyring is not older than ``trust.min_keyring_version``
    (Rollback); for a key holder the decryption (NotRecipient/Tampered) and the binding
    fields (Tampered), as :meth:`OpenedPackage.decrypt` does later for a caller that
    first needs the verified package (to know which subkey to unlock). ``data`` read
    once (:func:`container.read_container` with :func:`package_limits`) is not read
    again. Returns nothing unless every check passed. The municipal import
    and ``audit verify`` both call this, so they judge a package alike; freshness
    against a clock, sequence and addressee rules are the importer's.
    """
    limits = package_limits(max_payload)
    if isinstance(data, container.ReadContainer):
        read = data
    else:
        read = container.read_container(data, limits=limits)
    members = read.members
    if KEYRING not in members or KEYRING_SIGNATURE not in members or PAYLOAD not in members:
        raise Malformed(_("the container is not a package"))
    policy = _EmbeddedKeyringSigner(trust.root_key, members[KEYRING], members[KEYRING_SIGNATURE])
    accept = (ArtifactType.PACKAGE,)
    verified = container.open_without_decryption(read, trust=policy, limits=limits, accept=accept)
    keyring = policy.keyring
    body = verified.manifest.body
    if keyring is None or not isinstance(body, PackageBody):
        raise Malformed(_("the container is not a package"))
    stanzas = age.parse_header(verified.members[PAYLOAD]).stanzas
    if len(stanzas) != body.recipient_stanzas:
        raise Malformed(_("payload.age has another number of recipients than the manifest"))
    _check_against_keyring(verified.manifest, body, keyring)
    _check_dates(verified.manifest, body, keyring, trust)
    if keyring.version < trust.min_keyring_version:
        raise Rollback(
            _("the package carries a keyring older than the one already accepted"),
            hint=_("a newer package or keyring was imported before; ask for a new export"),
        )
    opened = OpenedPackage(
        verified=verified, body=body, keyring=keyring, workbook=None, max_payload=max_payload
    )
    return opened if identities is None else opened.decrypt(identities)
