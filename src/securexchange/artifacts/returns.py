"""The return delta: what a municipality sends back (protocol intro C, art. 1 and 7).

The data flow is one-way "except for the status of the activity" (intro C), and a
municipality reports data-quality problems (art. 7). A return therefore carries two
kinds of entry and nothing else:

* a **status** entry: a record id, the new activity status, the status it replaced
  (its *base*, for conflict detection) and when it was changed;
* a **quality** entry: a record id, the art. 3 field (its shared Dutch header), one of
  the six problems of art. 7, and when it was reported.

No free text, no names, no values: every string is a record id, a time, or a label from
a closed vocabulary (:mod:`securexchange.schema`). Unknown keys are refused.

The container (:mod:`securexchange.artifacts.container`) carries a signed manifest whose body
(:class:`ReturnBody`, registered for :attr:`ArtifactType.RETURN`) holds only what an
auditor needs without a key: the municipality's party id, the signer's sequence number,
the entry counts and the keyring version the signer was authorised under. The record
ids are in the encrypted payload only (:class:`ReturnDocument`), which repeats the
delta id, municipality, signer and sequence so they can be checked after decryption.

:func:`open_return` is the one verification of a return: the agency's import and
``audit verify`` both call it, so they cannot disagree about what a valid return is.

Pure: no I/O; time passed in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, Protocol, Self

from securexchange import age, strictjson
from securexchange.artifacts import container
from securexchange.artifacts.keyring import PARTY_ID_RE, Keyring, MunicipalityEntry
from securexchange.artifacts.manifest import (
    PAYLOAD,
    ArtifactType,
    Manifest,
    register_body,
)
from securexchange.artifacts.zipstrict import DEFAULT_LIMITS
from securexchange.clock import format_instant, read_instant
from securexchange.errors import Malformed, NotAuthorised, ProtocolInactive, Tampered
from securexchange.fingerprint import is_display
from securexchange.formatversion import refuse_newer
from securexchange.ids import is_artifact_id, is_nis_code, is_record_id
from securexchange.schema import ACTIVITY_STATUSES, QUALITY_FIELDS, QUALITY_PROBLEMS

DOCUMENT_FAMILY = "securexchange-return"
DOCUMENT_VERSION = 1
DOCUMENT_FORMAT = f"{DOCUMENT_FAMILY}/{DOCUMENT_VERSION}"
# The software version a client states in its returns (PEP 440 characters only: it is
# shown to the agency as is).
CLIENT_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+!-]{0,39}$")
MAX_ENTRIES = 100_000
MAX_DOCUMENT_BYTES = 32 << 20
KIND_STATUS = "status"
KIND_QUALITY = "quality"


def _count(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ENTRIES:
        raise ValueError(f"{what} is not a count of entries")
    return value


# --- the manifest body ------------------------------------------------------------------


@register_body(ArtifactType.RETURN)
@dataclass(frozen=True)
class ReturnBody:
    """The return-specific part of the signed manifest. No personal data, no record ids.

    ``sequence`` counts the returns of one signer, from 1; ``keyring_version`` is the
    version of the keyring view the signer's home held (an old version proves nothing
    alone: :func:`open_return` also requires the newer versions the verifier knows).
    ``client_version`` is the securexchange version that made the return (absent in
    returns of versions before it was added: None, "unknown" to the agency).
    """

    party_id: str
    sequence: int
    statuses: int
    quality_reports: int
    keyring_version: int
    demo: bool
    client_version: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.party_id, str) or not PARTY_ID_RE.fullmatch(self.party_id):
            raise ValueError("party_id is not a party id")
        if (
            not isinstance(self.sequence, int)
            or isinstance(self.sequence, bool)
            or not 1 <= self.sequence < 1 << 53
        ):
            raise ValueError("sequence is not a positive integer")
        _count(self.statuses, "statuses")
        _count(self.quality_reports, "quality_reports")
        if (
            not isinstance(self.keyring_version, int)
            or isinstance(self.keyring_version, bool)
            or not 1 <= self.keyring_version < 1 << 53
        ):
            raise ValueError("keyring_version is not a positive integer")
        if not isinstance(self.demo, bool):
            raise ValueError("demo is not a boolean")
        if self.client_version is not None and (
            not isinstance(self.client_version, str)
            or not CLIENT_VERSION_RE.fullmatch(self.client_version)
        ):
            raise ValueError("client_version is not a version number")

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "party_id": self.party_id,
            "sequence": self.sequence,
            "statuses": self.statuses,
            "quality_reports": self.quality_reports,
            "keyring_version": self.keyring_version,
            "demo": self.demo,
        }
        if self.client_version is not None:
            value["client_version"] = self.client_version
        return value

    @classmethod
    def from_json(cls, value: Any) -> Self:
        with strictjson.Fields(value, "the return body") as f:
            return cls(
                party_id=f.text("party_id"),
                sequence=f.integer("sequence"),
                statuses=f.integer("statuses"),
                quality_reports=f.integer("quality_reports"),
                keyring_version=f.integer("keyring_version"),
                demo=f.boolean("demo"),
                client_version=f.opt_text("client_version"),
            )


# --- entries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusEntry:
    """A changed activity status: ``base`` is the status it replaced."""

    record: str
    status: str
    base: str
    changed_at: datetime

    def __post_init__(self) -> None:
        if not is_record_id(self.record):
            raise ValueError("record is not a record id")
        if self.status not in ACTIVITY_STATUSES.values:
            raise ValueError("status is not an activity status")
        if self.base not in ACTIVITY_STATUSES.values:
            raise ValueError("base is not an activity status")
        if self.changed_at.tzinfo is None or self.changed_at.microsecond:
            raise ValueError("changed_at is not a whole-second UTC time")

    @property
    def kind(self) -> str:
        return KIND_STATUS

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": KIND_STATUS,
            "record": self.record,
            "status": self.status,
            "base": self.base,
            "changed_at": format_instant(self.changed_at),
        }


@dataclass(frozen=True)
class QualityEntry:
    """A data-quality report (art. 7): which art. 3 field of a record, which problem."""

    record: str
    field: str  # a shared Dutch header, e.g. "Adres"
    problem: str
    reported_at: datetime

    def __post_init__(self) -> None:
        if not is_record_id(self.record):
            raise ValueError("record is not a record id")
        if self.field not in QUALITY_FIELDS:
            raise ValueError("field is not an art. 3 field")
        if self.problem not in QUALITY_PROBLEMS.values:
            raise ValueError("problem is not one of the six art. 7 problems")
        if self.reported_at.tzinfo is None or self.reported_at.microsecond:
            raise ValueError("reported_at is not a whole-second UTC time")

    @property
    def kind(self) -> str:
        return KIND_QUALITY

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": KIND_QUALITY,
            "record": self.record,
            "field": self.field,
            "problem": self.problem,
            "reported_at": format_instant(self.reported_at),
        }


Entry = StatusEntry | QualityEntry


def _entry_from_json(value: Any, number: int) -> Entry:
    what = f"return entry {number}"
    with strictjson.Fields(value, what) as f:
        kind = f.text("kind")
        record = f.text("record")
        if kind == KIND_STATUS:
            status, base = f.text("status"), f.text("base")
            moment = read_instant(f.text("changed_at"), what)
            try:
                return StatusEntry(record, status, base, moment)
            except ValueError as exc:
                raise Malformed(f"{what}: {exc}") from None
        if kind == KIND_QUALITY:
            field, problem = f.text("field"), f.text("problem")
            moment = read_instant(f.text("reported_at"), what)
            try:
                return QualityEntry(record, field, problem, moment)
            except ValueError as exc:
                raise Malformed(f"{what}: {exc}") from None
        raise Malformed(f"{what} is neither a status change nor a quality report")


# --- the payload document ---------------------------------------------------------------


@dataclass(frozen=True)
class ReturnDocument:
    """The encrypted content of a return: binding fields repeated, then the entries.

    At most one status entry per record, and no quality report twice (same record,
    field and problem): a municipality sends the latest status of each record.
    """

    delta_id: str
    municipality: str  # NIS code
    signer: str  # fingerprint, display form
    sequence: int
    entries: tuple[Entry, ...]

    def __post_init__(self) -> None:
        if not is_artifact_id(self.delta_id) or not self.delta_id.startswith("ret-"):
            raise ValueError("delta is not a return id")
        if not is_nis_code(self.municipality):
            raise ValueError("municipality is not a NIS code")
        if not is_display(self.signer):
            raise ValueError("signer is not a fingerprint")
        if isinstance(self.sequence, bool) or not 1 <= self.sequence < 1 << 53:
            raise ValueError("sequence is not a positive integer")
        if len(self.entries) > MAX_ENTRIES:
            raise ValueError("too many entries")
        seen: set[tuple[str, ...]] = set()
        for entry in self.entries:
            if not isinstance(entry, StatusEntry | QualityEntry):
                raise ValueError("an entry is neither a status change nor a quality report")
            key = (
                (KIND_STATUS, entry.record)
                if isinstance(entry, StatusEntry)
                else (KIND_QUALITY, entry.record, entry.field, entry.problem)
            )
            if key in seen:
                raise ValueError("an entry is repeated")
            seen.add(key)

    @property
    def statuses(self) -> tuple[StatusEntry, ...]:
        return tuple(e for e in self.entries if isinstance(e, StatusEntry))

    @property
    def quality_reports(self) -> tuple[QualityEntry, ...]:
        return tuple(e for e in self.entries if isinstance(e, QualityEntry))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": DOCUMENT_FORMAT,
            "delta": self.delta_id,
            "municipality": self.municipality,
            "signer": self.signer,
            "sequence": self.sequence,
            "entries": [e.to_json() for e in self.entries],
        }

    def to_bytes(self) -> bytes:
        return strictjson.dumps(self.to_json())

    @property
    def sha256(self) -> str:
        """The digest of the canonical bytes: what 'the same delta' means."""
        return hashlib.sha256(self.to_bytes()).hexdigest()

    @classmethod
    def from_bytes(cls, data: bytes) -> ReturnDocument:
        """Parse strictly: unknown keys, other kinds, values outside the vocabularies,
        repeated entries and non-canonical encodings are refused (Malformed)."""
        refuse_newer(
            data,
            family=DOCUMENT_FAMILY,
            known=DOCUMENT_VERSION,
            what="the return",
            max_bytes=MAX_DOCUMENT_BYTES,
        )
        value = strictjson.loads(data, what="the return", max_bytes=MAX_DOCUMENT_BYTES)
        with strictjson.Fields(value, "the return") as f:
            if f.text("format") != DOCUMENT_FORMAT:
                raise Malformed("the return has an unknown format")
            delta_id = f.text("delta")
            municipality = f.text("municipality")
            signer = f.text("signer")
            sequence = f.integer("sequence")
            raw_entries = f.array("entries")
        if len(raw_entries) > MAX_ENTRIES:
            raise Malformed("the return has too many entries")
        entries = tuple(_entry_from_json(item, i) for i, item in enumerate(raw_entries, 1))
        try:
            document = cls(delta_id, municipality, signer, sequence, entries)
        except ValueError as exc:
            raise Malformed(f"the return: {exc}") from None
        if document.to_bytes() != data:
            raise Malformed("the return is not in canonical form")
        return document


def check_binding(document: ReturnDocument, manifest: Manifest) -> None:
    """The document's repeated fields and counts must be what the signed manifest says.

    Raises Tampered: the encrypted content belongs to another return than its manifest.
    """
    body = manifest.body
    if not isinstance(body, ReturnBody):
        raise Malformed("the container is not a return")
    if (
        document.delta_id != manifest.artifact_id
        or document.municipality != manifest.municipality
        or document.signer != manifest.signer
        or document.sequence != body.sequence
        or len(document.statuses) != body.statuses
        or len(document.quality_reports) != body.quality_reports
    ):
        raise Tampered("the return's content does not match its signed manifest")


def make_document(
    *,
    delta_id: str,
    municipality: str,
    signer: str,
    sequence: int,
    entries: Sequence[Entry],
) -> ReturnDocument:
    """A document (raises ValueError for entries that do not fit the format)."""
    return ReturnDocument(delta_id, municipality, signer, sequence, tuple(entries))


# --- opening ----------------------------------------------------------------------------

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

    manifest: Manifest
    body: ReturnBody
    entry: MunicipalityEntry  # the municipality in the newest version consulted
    container_sha256: str
    document: ReturnDocument | None
    verified: container.VerifiedArtifact = field(repr=False, compare=False)

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
    opened = OpenedReturn(
        manifest=manifest,
        body=body,
        entry=policy.newest,
        container_sha256=verified.container_sha256,
        document=None,
        verified=verified,
    )
    return opened if identities is None else opened.decrypt(identities)
