"""The one signed container: sealing, and opening with every check in a fixed order.

A container is a strict ZIP (:mod:`securexchange.artifacts.zipstrict`) holding ``manifest.json``,
``manifest.sig`` (the SSHSIG over the exact manifest bytes, in the namespace of the
manifest's type), ``payload.age`` for packages and returns, and ``keyring.json`` +
``keyring.sig`` in a package. The manifest commits to the size and SHA-256 of every
other member, so the one signature covers every byte.

Opening runs, in this order, and returns nothing unless all passed:

1. the ZIP structure, and exactly the member set of the manifest's type;
2. the signature, with the key a **trust policy** (passed in) vouches for;
3. size and SHA-256 of ``payload.age`` and the attachments against the manifest;
4. (key holders only) decryption in memory, all or nothing, with a size cap;
5. the binding fields inside the payload against the manifest.

:func:`open_without_decryption` stops after step 3 (and checks that ``payload.age`` is
an age file with public-key recipients only): that is what an auditor without keys does.
Freshness, rollback, addressee and authorisation rules are the workflows' business, on
the :class:`VerifiedArtifact` this returns.

No file I/O: callers read files (after checking the size against ``ContainerLimits``)
and write the sealed bytes atomically (``securexchange.home.home``).
"""

from __future__ import annotations

import hashlib
import hmac
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Protocol

from securexchange import age, sshsig
from securexchange.artifacts import zipstrict
from securexchange.artifacts.manifest import (
    DEFAULT_BODIES,
    FORMAT_FAMILY,
    FORMAT_VERSION,
    KEYRING,
    KEYRING_SIGNATURE,
    MANIFEST,
    MAX_MANIFEST_SIZE,
    MEMBER_ORDER,
    PAYLOAD,
    SIGNATURE,
    ArtifactType,
    Body,
    BodyRegistry,
    Manifest,
    MemberDigest,
)
from securexchange.artifacts.zipstrict import DEFAULT_LIMITS, ContainerLimits
from securexchange.errors import InternalError, Malformed, NotAuthorised, Tampered, WrongKind
from securexchange.fingerprint import Fingerprint
from securexchange.formatversion import refuse_newer
from securexchange.i18n import _

ALL_TYPES: frozenset[ArtifactType] = frozenset(ArtifactType)
AGE_MAGIC = b"age-encryption.org/v1\n"
# Small members are capped from the ZIP directory, before their bytes are copied out.
MEMBER_LIMITS: Mapping[str, int] = MappingProxyType(
    {
        MANIFEST: MAX_MANIFEST_SIZE,
        SIGNATURE: sshsig.MAX_ARMORED_SIZE,
        KEYRING: 32 << 20,  # as keyring.MAX_KEYRING_BYTES
        KEYRING_SIGNATURE: sshsig.MAX_ARMORED_SIZE,
    }
)


# --- trust ------------------------------------------------------------------------------


class TrustPolicy(Protocol):
    """Decides which public key may have signed an artifact.

    ``signer_key`` gets the parsed (not yet verified) manifest and the key embedded in
    ``manifest.sig``. The embedded key is a hint for lookup only: anyone can put any key
    there. Return the trusted 32-byte Ed25519 public key for ``manifest.signer`` and
    ``manifest.artifact_type``, or raise :class:`NotAuthorised`. The container then
    checks that the returned key has the manifest's ``signer`` fingerprint and that the
    signature verifies with it. No I/O: a keyring-backed policy is built beforehand.
    """

    def signer_key(self, manifest: Manifest, embedded_key: bytes) -> bytes: ...


@dataclass(frozen=True)
class PinnedSigner:
    """Trust exactly one key (for example the agency key an auditor was given)."""

    public_key: bytes
    types: frozenset[ArtifactType] = ALL_TYPES

    def __post_init__(self) -> None:
        if not isinstance(self.public_key, bytes) or len(self.public_key) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")

    def signer_key(self, manifest: Manifest, embedded_key: bytes) -> bytes:
        if manifest.artifact_type not in self.types:
            raise NotAuthorised(_("the pinned key is not trusted for this kind of artifact"))
        return self.public_key


@dataclass(frozen=True)
class JudgedSigner:
    """Trust the key ``key_for(manifest)`` names: a keyring chosen for that manifest (its
    party, the version it names, when it was made) judges who may have signed it."""

    key_for: Callable[[Manifest], bytes]

    def signer_key(self, manifest: Manifest, embedded_key: bytes) -> bytes:
        return self.key_for(manifest)


class UnsafeTrustWarning(UserWarning):
    """A signature was checked against the key it carries, which proves nothing about who."""


@dataclass(frozen=True)
class UnsafeNoTrust:
    """Accept whichever key signed. Proves integrity, never authorship. Warns every time.

    For an auditor who has no trusted key yet and wants to see whether a file is intact;
    never for importing anything.
    """

    def signer_key(self, manifest: Manifest, embedded_key: bytes) -> bytes:
        warnings.warn(
            _(
                "the signature was checked against the key it carries; it proves the file "
                "is intact, not who made it"
            ),
            UnsafeTrustWarning,
            stacklevel=4,  # points at the caller of open_artifact / open_without_decryption
        )
        return embedded_key


# --- the result -------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedArtifact:
    """An artifact that passed every check that was run on it."""

    manifest: Manifest
    manifest_bytes: bytes
    signer_key: bytes
    members: Mapping[str, bytes]  # every member's exact bytes, read-only
    container_sha256: str  # of the whole container, for equivocation checks
    content: bytes | None = None  # the decrypted content, only from open_artifact

    @property
    def decrypted(self) -> bool:
        return self.content is not None


# --- sealing ----------------------------------------------------------------------------


def _digest(data: bytes) -> MemberDigest:
    return MemberDigest(len(data), hashlib.sha256(data).hexdigest())


def seal(
    *,
    artifact_type: ArtifactType,
    artifact_id: str,
    created_at: datetime,
    municipality: str,
    body: Body,
    signing_seed: bytes,
    content: bytes | None = None,
    recipients: Sequence[age.Recipient] = (),
    attachments: Mapping[str, bytes] | None = None,
) -> bytes:
    """The container bytes for one artifact, signed with ``signing_seed``.

    Packages and returns need ``content`` and at least one recipient: the content is
    framed with its binding fields and encrypted with age. Keyrings and notices take
    neither. ``attachments`` are exactly the type's extra members (a package's
    ``keyring.json`` and ``keyring.sig``). Raises ``ValueError`` for a call that does
    not fit the type; writes nothing.
    """
    attachments = dict(attachments or {})
    if set(attachments) != set(artifact_type.attachment_names):
        raise ValueError("attachments do not match the artifact type")
    signer = Fingerprint.of_public_key(sshsig.public_key_from_seed(signing_seed)).display
    payload_age: bytes | None = None
    if artifact_type.has_payload:
        if content is None or not recipients:
            raise ValueError("packages and returns need content and recipients")
        from securexchange.artifacts.payload import Binding, wrap_payload

        binding = Binding(artifact_id, artifact_type, municipality, signer)
        payload_age = age.encrypt(wrap_payload(binding, content), recipients)
    elif content is not None or recipients:
        raise ValueError("keyrings and notices carry no payload")
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    manifest = Manifest(
        artifact_type=artifact_type,
        artifact_id=artifact_id,
        # Manifests carry whole seconds in UTC; the clock's reading has microseconds.
        created_at=created_at.astimezone(UTC).replace(microsecond=0),
        municipality=municipality,
        signer=signer,
        body=body,
        payload=None if payload_age is None else _digest(payload_age),
        attachments=tuple(
            (name, _digest(attachments[name])) for name in artifact_type.attachment_names
        ),
    )
    manifest_bytes = manifest.to_json_bytes()
    signature = sshsig.sign(signing_seed, manifest_bytes, artifact_type.namespace)
    data = {MANIFEST: manifest_bytes, SIGNATURE: signature.encode("ascii"), **attachments}
    if payload_age is not None:
        data[PAYLOAD] = payload_age
    return zipstrict.write([zipstrict.Member(n, data[n]) for n in artifact_type.members])


# --- opening ----------------------------------------------------------------------------


def read_members(
    data: bytes, *, limits: ContainerLimits = DEFAULT_LIMITS, names: Collection[str] | None = None
) -> dict[str, bytes]:
    """The members of a strict container (``names``: only those), in order.

    Every reader of a container goes through here: a newer format may bring members
    or a layout format 1 does not allow, and that is "update securexchange"
    (UpdateNeeded), not "malformed"; everything else the strict reader refuses stays
    Malformed.
    """
    try:
        read = zipstrict.read(data, MEMBER_ORDER, limits=limits, member_limits=MEMBER_LIMITS)
    except Malformed:
        _refuse_newer_layout(data, limits)
        raise
    return {m.name: m.data for m in read if names is None or m.name in names}


_READ = object()  # only read_container makes a ReadContainer


@dataclass(frozen=True)
class ReadContainer:
    """A strict container's members, read once: every later step (the type a manifest
    claims, verification, decryption) works on these, never on a second parse. Made
    only by :func:`read_container`, so ``members`` are always ``data``'s own."""

    data: bytes
    members: Mapping[str, bytes]  # every member's exact bytes, read-only, in order
    limits: ContainerLimits
    made_by: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.made_by is not _READ or type(self.data) is not bytes:
            raise InternalError(_("a ReadContainer is made by read_container only"))

    def within(self, limits: ContainerLimits) -> bool:
        """Whether it was read with caps no looser than ``limits``."""
        mine = self.limits
        return (
            mine.max_members <= limits.max_members
            and mine.max_member_size <= limits.max_member_size
            and mine.max_total_size <= limits.max_total_size
        )


def read_container(data: bytes, *, limits: ContainerLimits = DEFAULT_LIMITS) -> ReadContainer:
    """Read a strict container once (what :func:`read_members` refuses, this refuses)."""
    data = bytes(data)  # immutable: the bytes verified are the bytes kept
    members = MappingProxyType(read_members(data, limits=limits))
    return ReadContainer(data, members, limits, made_by=_READ)


def _refuse_newer_layout(data: bytes, limits: ContainerLimits) -> None:
    """UpdateNeeded when a container the strict reader refused holds a manifest in a
    newer format. Read with the standard library's lenient ZIP reader, the manifest
    member only and capped; any trouble reading it means "not a newer container"."""
    import io
    import zipfile

    if len(data) > limits.max_total_size:
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(MANIFEST) as member:
            manifest_bytes = member.read(MAX_MANIFEST_SIZE + 1)
    except Exception:  # a diagnostic on hostile bytes only: the caller re-raises
        return
    refuse_newer(
        manifest_bytes,
        family=FORMAT_FAMILY,
        known=FORMAT_VERSION,
        # TRANSLATORS: fills {what} in the message that asks to update securexchange.
        what=_("the file"),
        max_bytes=MAX_MANIFEST_SIZE,
    )


def _verified_structure_and_signature(
    source: bytes | ReadContainer,
    *,
    trust: TrustPolicy,
    bodies: BodyRegistry,
    limits: ContainerLimits,
    accept: Collection[ArtifactType],
) -> VerifiedArtifact:
    """Steps 1-3: structure, signature, member digests."""
    # (1) structure. The manifest is parsed (strictly, size-capped) before the signature
    # is checked because its type says which members and namespace apply.
    read = source if isinstance(source, ReadContainer) else read_container(source, limits=limits)
    if not read.within(limits):  # read once, but with the caller's caps at the most
        raise InternalError(_("a container was read with looser caps than its verification's"))
    members = dict(read.members)
    if MANIFEST not in members or SIGNATURE not in members:
        raise Malformed(_("the container has no manifest or no signature"))
    manifest_bytes = members[MANIFEST]
    manifest = Manifest.from_json_bytes(manifest_bytes, bodies=bodies, accept=accept)
    if tuple(members) != manifest.artifact_type.members:
        raise Malformed(_("the container's members do not match its artifact type"))
    if manifest.artifact_type not in accept:
        raise WrongKind(_("the container is not an artifact of the expected kind"))

    # (2) signature, with the key the caller's policy trusts for this signer and type.
    signature = members[SIGNATURE]
    embedded = sshsig.signer_public_key(signature)
    key = trust.signer_key(manifest, embedded)
    expected = Fingerprint.of_public_key(key).display
    if not hmac.compare_digest(expected.encode("ascii"), manifest.signer.encode("ascii")):
        raise NotAuthorised(_("the manifest names a signer other than the trusted key"))
    sshsig.verify(signature, manifest_bytes, manifest.artifact_type.namespace, key)

    # (3) every other member against the digests the signed manifest commits to.
    committed = list(manifest.attachments)
    if manifest.payload is not None:
        committed.append((PAYLOAD, manifest.payload))
    for name, digest in committed:
        actual = _digest(members[name])
        if actual.size != digest.size:
            raise Tampered(_("{name} does not have the size the manifest states").format(name=name))
        if not hmac.compare_digest(actual.sha256, digest.sha256):
            raise Tampered(
                _("{name} does not have the SHA-256 the manifest states").format(name=name)
            )
    if PAYLOAD in members:
        # Binary age with public-key recipients only (no armor, no passphrase stanza can
        # be in an artifact); checked without any key, so auditors see it too.
        if not members[PAYLOAD].startswith(AGE_MAGIC):
            raise Malformed(_("payload.age is not a binary age file"))
        header = age.parse_header(members[PAYLOAD])
        known = age.public_stanza_types()
        if not header.stanzas or any(s.type not in known for s in header.stanzas):
            raise Malformed(
                # TRANSLATORS: {types} is one or more age recipient types, e.g. "X25519".
                _("payload.age is not encrypted to {types} recipients only").format(
                    types=_names(known)
                )
            )
        # Each stanza well formed, as far as it can be told without its key: a reader
        # stops at its own stanza, so a malformed one after it would pass a key holder
        # and fail another; judged here, every verifier sees the same.
        if not all(age.well_formed_stanza(s) for s in header.stanzas):
            raise Malformed(_("payload.age has a recipient stanza that is not well formed"))

    return VerifiedArtifact(
        manifest=manifest,
        manifest_bytes=manifest_bytes,
        signer_key=key,
        members=MappingProxyType(members),
        container_sha256=hashlib.sha256(read.data).hexdigest(),
    )


def _names(stanza_types: tuple[str, ...]) -> str:
    # TRANSLATORS: joins age recipient types ("X25519 or ..."); keep the spaces.
    return _(" or ").join(stanza_types)


def open_without_decryption(
    data: bytes | ReadContainer,
    *,
    trust: TrustPolicy,
    bodies: BodyRegistry = DEFAULT_BODIES,
    limits: ContainerLimits = DEFAULT_LIMITS,
    accept: Collection[ArtifactType] = ALL_TYPES,
) -> VerifiedArtifact:
    """Verify structure, signature and digests without any decryption key (auditors).

    Raises :class:`Malformed`, :class:`BadSignature`, :class:`NotAuthorised` or
    :class:`Tampered`; the result's ``content`` is None.
    """
    return _verified_structure_and_signature(
        data, trust=trust, bodies=bodies, limits=limits, accept=accept
    )


def open_artifact(
    data: bytes | ReadContainer,
    *,
    trust: TrustPolicy,
    identities: Sequence[age.Identity],
    bodies: BodyRegistry = DEFAULT_BODIES,
    limits: ContainerLimits = DEFAULT_LIMITS,
    accept: Collection[ArtifactType] = ALL_TYPES,
) -> VerifiedArtifact:
    """Verify everything and decrypt the payload in memory (key holders).

    For packages and returns the result carries the content; keyrings and notices have
    none and need no identity. Raises what :func:`open_without_decryption` raises, and
    what :func:`decrypt_payload` raises.
    """
    verified = _verified_structure_and_signature(
        data, trust=trust, bodies=bodies, limits=limits, accept=accept
    )
    if not verified.manifest.artifact_type.has_payload:
        return verified
    content = decrypt_payload(verified, identities, max_size=limits.max_member_size)
    return replace(verified, content=content)


def decrypt_payload(
    verified: VerifiedArtifact, identities: Sequence[age.Identity], *, max_size: int
) -> bytes:
    """Steps 4-5 on an artifact already verified: decrypt its payload in memory and check
    the binding fields. Raises :class:`NotRecipient` (none of ``identities`` opens the
    payload), :class:`Tampered` (the payload fails authentication, or its binding fields
    differ from the manifest) or :class:`Malformed` (the payload is not framed)."""
    from securexchange.artifacts.payload import Binding, unwrap_payload

    manifest = verified.manifest
    if not manifest.artifact_type.has_payload:
        raise Malformed(_("the artifact carries no payload"))
    # (4) all or nothing: age.decrypt returns only after every chunk authenticated.
    plaintext = age.decrypt(verified.members[PAYLOAD], list(identities), max_size=max_size)
    # (5) what the payload says about itself must be what the signed manifest says.
    binding, content = unwrap_payload(plaintext)
    expected = Binding(
        manifest.artifact_id, manifest.artifact_type, manifest.municipality, manifest.signer
    )
    if binding != expected:
        raise Tampered(_("the payload belongs to another artifact than its manifest"))
    return content
