"""The package: one municipality's export, as a signed container.

A package is a container (:mod:`securexchange.artifacts.container`) of type ``package`` holding

* ``manifest.json`` / ``manifest.sig``: the common envelope with a :class:`PackageBody`,
  signed by the agency's export key in the package namespace;
* ``keyring.json`` / ``keyring.sig``: the municipality's view of the keyring, signed by
  the agency's root key; it certifies the export key and lists the recipients;
* ``payload.age``: the binding frame (:mod:`securexchange.artifacts.payload`) around the
  municipal workbook, encrypted to the current subkey of each recipient.

The body carries what the municipal client and an auditor need without the payload:
sequence number and what it supersedes, import deadline and valid-until (art. 5),
the earliest and latest retention deadline of its records (art. 3, 12), the keyring
version and the recipients (art. 4, 6). It holds no personal data: counts, dates,
public-key fingerprints and roles only.

:func:`open_package` verifies a package against a pinned agency root key: the embedded
keyring view (root signature, the root's certification of the export key), the manifest
signature by that export key, every digest, and for a key holder the payload's binding
and the body's agreement with the keyring. Pure: bytes in, values out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from securexchange import age, sshsig, strictjson
from securexchange.artifacts import container, zipstrict
from securexchange.artifacts.keyring import PARTY_ID_RE, PROTOCOL_ID_RE, Keyring, open_keyring
from securexchange.artifacts.manifest import (
    KEYRING,
    KEYRING_SIGNATURE,
    PAYLOAD,
    ArtifactType,
    Manifest,
    register_body,
)
from securexchange.clock import format_instant, read_instant
from securexchange.errors import (
    BadSignature,
    Malformed,
    NotAuthorised,
    ProtocolInactive,
    Rollback,
    Stale,
)
from securexchange.fingerprint import is_display
from securexchange.ids import is_artifact_id, is_nis_code

DEFAULT_IMPORT_DAYS = 30
DEFAULT_VALID_DAYS = 60
MAX_RECIPIENTS = 256
MAX_RECORDS = 1_000_000
DEFAULT_MAX_PAYLOAD = 64 << 20

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_ROLE_RE = re.compile(r"^[^\x00-\x1f\x7f,]{1,64}$")
_SCHEMA_RE = re.compile(r"^[0-9]{4}\.[0-9]{1,3}$")


def _parse_date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Malformed(f"{what} is not a date of the form YYYY-MM-DD") from None
    if day.isoformat() != text:
        raise Malformed(f"{what} is not a date of the form YYYY-MM-DD")
    return day


def _whole_second_utc(moment: datetime) -> bool:
    return (
        isinstance(moment, datetime)
        and moment.tzinfo is not None
        and moment.utcoffset() == timedelta(0)
        and moment.microsecond == 0
    )


@dataclass(frozen=True)
class PackageRecipient:
    """One person the payload is encrypted to: who, in which role, with which subkey."""

    fingerprint: str  # display form
    role: str
    subkey: str  # the age recipient ("age1...") of the subkey used

    def __post_init__(self) -> None:
        if not isinstance(self.fingerprint, str) or not is_display(self.fingerprint):
            raise ValueError("a recipient fingerprint is not a fingerprint")
        if not isinstance(self.role, str) or not _ROLE_RE.fullmatch(self.role):
            raise ValueError("a recipient role is not a role")
        if self.role != " ".join(self.role.split()).lower():
            raise ValueError("a recipient role is not in normal form")
        if not isinstance(self.subkey, str) or not age.is_recipient_string(self.subkey):
            raise ValueError("a recipient subkey is not an age recipient")

    def to_json(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "role": self.role, "subkey": self.subkey}

    @classmethod
    def from_json(cls, value: Any) -> PackageRecipient:
        with strictjson.Fields(value, "a package recipient") as f:
            return cls(f.text("fingerprint"), f.text("role"), f.text("subkey"))


@dataclass(frozen=True)
class Superseded:
    """The package this one replaces: its id and the SHA-256 of its whole container."""

    package_id: str
    sha256: str

    def __post_init__(self) -> None:
        if not isinstance(self.package_id, str) or not is_artifact_id(self.package_id):
            raise ValueError("supersedes names no artifact id")
        if not self.package_id.startswith("pkg-"):
            raise ValueError("supersedes names no package")
        if not isinstance(self.sha256, str) or not _SHA256_RE.fullmatch(self.sha256):
            raise ValueError("supersedes has no SHA-256")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.package_id, "sha256": self.sha256}

    @classmethod
    def from_json(cls, value: Any) -> Superseded:
        with strictjson.Fields(value, "the superseded package") as f:
            return cls(f.text("id"), f.text("sha256"))


@register_body(ArtifactType.PACKAGE)
@dataclass(frozen=True)
class PackageBody:
    """The package manifest's body (docs/formats.md, "package body")."""

    schema_version: str
    nis: str
    municipality_name: str
    party_id: str
    protocol_id: str
    protocol_until: date
    sequence: int
    import_deadline: datetime
    valid_until: datetime
    keyring_version: int
    recipients: tuple[PackageRecipient, ...]
    recipient_stanzas: int
    records: int
    earliest_retention: date | None
    latest_retention: date | None
    supersedes: Superseded | None
    demo: bool

    def __post_init__(self) -> None:
        if not isinstance(self.schema_version, str) or not _SCHEMA_RE.fullmatch(
            self.schema_version
        ):
            raise ValueError("schema_version is not a schema version")
        if not is_nis_code(self.nis):
            raise ValueError("nis is not a 5-digit NIS code")
        if (
            not isinstance(self.municipality_name, str)
            or not 1 <= len(self.municipality_name) <= 128
            or self.municipality_name != self.municipality_name.strip()
        ):
            raise ValueError("the municipality name is not a name")
        if not isinstance(self.party_id, str) or not PARTY_ID_RE.fullmatch(self.party_id):
            raise ValueError("party_id is not a party id")
        if not isinstance(self.protocol_id, str) or not PROTOCOL_ID_RE.fullmatch(self.protocol_id):
            raise ValueError("protocol_id is not a protocol id")
        if type(self.protocol_until) is not date:
            raise ValueError("protocol_until is not a date")
        for name in ("sequence", "keyring_version", "recipient_stanzas", "records"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} is not an integer")
        if self.sequence < 1 or self.keyring_version < 1:
            raise ValueError("sequence and keyring_version start at 1")
        if not _whole_second_utc(self.import_deadline) or not _whole_second_utc(self.valid_until):
            raise ValueError("import_deadline and valid_until are whole-second UTC times")
        if self.valid_until < self.import_deadline:
            raise ValueError("valid_until is before import_deadline")
        if not 1 <= len(self.recipients) <= MAX_RECIPIENTS or not all(
            isinstance(r, PackageRecipient) for r in self.recipients
        ):
            raise ValueError("recipients are 1 to 256 package recipients")
        prints = [r.fingerprint for r in self.recipients]
        if prints != sorted(set(prints)):
            raise ValueError("recipients are sorted by fingerprint and unique")
        if self.recipient_stanzas != len(self.recipients):
            raise ValueError("recipient_stanzas is not the number of recipients")
        if not 0 <= self.records <= MAX_RECORDS:
            raise ValueError("records is out of range")
        dates = (self.earliest_retention, self.latest_retention)
        if self.records == 0:
            if dates != (None, None):
                raise ValueError("an empty package has no retention deadlines")
        else:
            if any(type(d) is not date for d in dates):
                raise ValueError("a package with records has retention deadlines")
            assert self.earliest_retention is not None and self.latest_retention is not None
            if self.earliest_retention > self.latest_retention:
                raise ValueError("earliest_retention is after latest_retention")
            if self.latest_retention > self.protocol_until:
                raise ValueError("a retention deadline is after the protocol's end")
        if self.supersedes is not None and not isinstance(self.supersedes, Superseded):
            raise ValueError("supersedes is not a superseded package")
        if (self.sequence == 1) != (self.supersedes is None):
            raise ValueError("exactly the first package supersedes nothing")
        if not isinstance(self.demo, bool):
            raise ValueError("demo is not a boolean")

    def to_json(self) -> dict[str, Any]:
        def day(value: date | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "schema_version": self.schema_version,
            "municipality": {
                "nis": self.nis,
                "name": self.municipality_name,
                "party_id": self.party_id,
            },
            "protocol": {"id": self.protocol_id, "until": self.protocol_until.isoformat()},
            "sequence": self.sequence,
            "import_deadline": format_instant(self.import_deadline),
            "valid_until": format_instant(self.valid_until),
            "keyring_version": self.keyring_version,
            "recipients": [r.to_json() for r in self.recipients],
            "recipient_stanzas": self.recipient_stanzas,
            "records": self.records,
            "retention": {
                "earliest": day(self.earliest_retention),
                "latest": day(self.latest_retention),
            },
            "supersedes": None if self.supersedes is None else self.supersedes.to_json(),
            "demo": self.demo,
        }

    @classmethod
    def from_json(cls, value: Any) -> PackageBody:
        with strictjson.Fields(value, "the package body") as f:
            schema_version = f.text("schema_version")
            with strictjson.Fields(f.object("municipality"), "the package municipality") as m:
                nis, name, party_id = m.text("nis"), m.text("name"), m.text("party_id")
            with strictjson.Fields(f.object("protocol"), "the package protocol") as p:
                protocol_id = p.text("id")
                protocol_until = _parse_date(p.text("until"), "the protocol's end")
            sequence = f.integer("sequence")
            import_deadline = read_instant(f.text("import_deadline"), "import_deadline")
            valid_until = read_instant(f.text("valid_until"), "valid_until")
            keyring_version = f.integer("keyring_version")
            recipients = tuple(f.each("recipients", PackageRecipient.from_json))
            stanzas = f.integer("recipient_stanzas")
            records = f.integer("records")
            with strictjson.Fields(f.object("retention"), "the package retention") as r:
                earliest = _parse_date(r.opt_text("earliest"), "the earliest retention")
                latest = _parse_date(r.opt_text("latest"), "the latest retention")
            supersedes_json = f.opt_object("supersedes")
            demo = f.boolean("demo")
        assert protocol_until is not None
        return cls(
            schema_version=schema_version,
            nis=nis,
            municipality_name=name,
            party_id=party_id,
            protocol_id=protocol_id,
            protocol_until=protocol_until,
            sequence=sequence,
            import_deadline=import_deadline,
            valid_until=valid_until,
            keyring_version=keyring_version,
            recipients=recipients,
            recipient_stanzas=stanzas,
            records=records,
            earliest_retention=earliest,
            latest_retention=latest,
            supersedes=None if supersedes_json is None else Superseded.from_json(supersedes_json),
            demo=demo,
        )


def default_deadlines(created_at: datetime) -> tuple[datetime, datetime]:
    """Import deadline (+30 days) and valid-until (+60 days) of a package made now."""
    base = created_at.astimezone(UTC).replace(microsecond=0)
    return base + timedelta(days=DEFAULT_IMPORT_DAYS), base + timedelta(days=DEFAULT_VALID_DAYS)


# --- building ---------------------------------------------------------------------------


def seal_package(
    *,
    package_id: str,
    created_at: datetime,
    body: PackageBody,
    workbook: bytes,
    recipients: Sequence[age.PublicRecipient],
    keyring_data: bytes,
    keyring_signature: str,
    signing_seed: bytes,
) -> bytes:
    """The container bytes of one package, signed with the export key's seed.

    ``recipients`` are the age recipients of exactly the subkeys the body lists, in the
    body's order; ``keyring_data``/``keyring_signature`` the municipality's signed view.
    Raises ``ValueError`` for parts that do not fit together; writes nothing.
    """
    if [r.to_string() for r in recipients] != [r.subkey for r in body.recipients]:
        raise ValueError("the age recipients are not the body's subkeys")
    return container.seal(
        artifact_type=ArtifactType.PACKAGE,
        artifact_id=package_id,
        created_at=created_at,
        municipality=body.nis,
        body=body,
        signing_seed=signing_seed,
        content=workbook,
        recipients=list(recipients),
        attachments={KEYRING: keyring_data, KEYRING_SIGNATURE: keyring_signature.encode("ascii")},
    )


# --- opening ----------------------------------------------------------------------------


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
            raise Malformed("the container is not a package")
        try:
            signature = self._signature.decode("ascii")
        except UnicodeDecodeError:
            raise Malformed("keyring.sig is not an armored signature") from None
        # Version 1 here: a rollback is judged after every digest, so that a keyring
        # swapped in from another package reads as tampering, not as a rollback.
        keyring = open_keyring(self._data, signature, self._root_key, min_version=1)
        if not keyring.is_view or keyring.municipalities[0].nis != manifest.municipality:
            raise Malformed("the package's keyring is not the view of its municipality")
        export = keyring.agency.export
        if export.fingerprint.display != manifest.signer:
            # The signer field is covered by the signature: a package naming another
            # signer is either altered or signed by a key the keyring does not certify.
            raise BadSignature("the package is not signed by the agency's certified export key")
        self.keyring = keyring
        return export.signing_key


@dataclass(frozen=True)
class OpenedPackage:
    """A package that passed every check; ``workbook`` only once it was decrypted
    (:meth:`decrypt`, on the members already verified: no second parse)."""

    manifest: Manifest
    body: PackageBody
    keyring: Keyring  # the municipality's view, verified against the pinned root key
    keyring_data: bytes
    keyring_signature: str
    container_sha256: str
    manifest_bytes: bytes
    workbook: bytes | None
    verified: container.VerifiedArtifact = field(repr=False, compare=False)
    max_payload: int = field(default=DEFAULT_MAX_PAYLOAD, repr=False, compare=False)

    @property
    def package_id(self) -> str:
        return self.manifest.artifact_id

    def decrypt(self, identities: Sequence[age.Identity]) -> OpenedPackage:
        """This package with its workbook: decryption (NotRecipient/Tampered) and the
        binding fields (Tampered), after every other check already passed."""
        workbook = container.decrypt_payload(self.verified, identities, max_size=self.max_payload)
        return replace(self, workbook=workbook)


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
        raise Malformed("the package body does not agree with its keyring")
    for item in body.recipients:
        person = next(
            (r for r in entry.recipients if r.fingerprint.display == item.fingerprint), None
        )
        if person is None or person.owner.role != item.role:
            raise NotAuthorised("the package is encrypted to someone its keyring does not list")
        subkey = next((s for s in person.subkeys if s.recipient == item.subkey), None)
        if subkey is None or not subkey.valid_at(manifest.created_at):
            raise NotAuthorised("the package is encrypted to a subkey its keyring does not list")


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
            "the municipality's protocol was not active when the package was made",
            hint="the protocol was terminated or had not begun; no packages are accepted",
        )
    if body.import_deadline <= manifest.created_at or body.valid_until <= manifest.created_at:
        raise Malformed("a deadline of the package is not after its creation")
    if body.earliest_retention is not None and body.earliest_retention <= made:
        raise Stale("the package holds a record whose retention deadline had passed")


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
        raise Malformed("the container is not a package")
    policy = _EmbeddedKeyringSigner(trust.root_key, members[KEYRING], members[KEYRING_SIGNATURE])
    accept = (ArtifactType.PACKAGE,)
    verified = container.open_without_decryption(read, trust=policy, limits=limits, accept=accept)
    keyring = policy.keyring
    body = verified.manifest.body
    if keyring is None or not isinstance(body, PackageBody):
        raise Malformed("the container is not a package")
    stanzas = age.parse_header(verified.members[PAYLOAD]).stanzas
    if len(stanzas) != body.recipient_stanzas:
        raise Malformed("payload.age has another number of recipients than the manifest")
    _check_against_keyring(verified.manifest, body, keyring)
    _check_dates(verified.manifest, body, keyring, trust)
    if keyring.version < trust.min_keyring_version:
        raise Rollback(
            "the package carries a keyring older than the one already accepted",
            hint="a newer package or keyring was imported before; ask for a new export",
        )
    opened = OpenedPackage(
        manifest=verified.manifest,
        body=body,
        keyring=keyring,
        keyring_data=verified.members[KEYRING],
        keyring_signature=verified.members[KEYRING_SIGNATURE].decode("ascii"),
        container_sha256=verified.container_sha256,
        manifest_bytes=verified.manifest_bytes,
        workbook=None,
        verified=verified,
        max_payload=max_payload,
    )
    return opened if identities is None else opened.decrypt(identities)
