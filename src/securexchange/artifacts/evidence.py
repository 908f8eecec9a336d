"""The report of measures (protocol art. 6: on request, the municipality proves its
measures): one signed container of type ``evidence``, without payload.

A municipal home states, for the agency it names, what it observed of itself: its
encryption subkeys' periods and when each was destroyed, who holds access by the
keyring in force (fingerprint and role), the log entries that shredded something, the
log's head and signed checkpoints, the packages it holds by state and the software's
version; and what the person running the command declares of what the tool cannot see
(disk encryption, screen lock, physical access, ...), each marked ``declaration``. It
holds no personal data, so it is signed but not encrypted: an auditor checks it without
any key. It is an attestation, not proof of everything (docs/threat-model.md).

Signed in its own namespace by a person the keyring lists for the municipality, while
the protocol is in force. Pure: no I/O; the keyring is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from securexchange import strictjson
from securexchange.artifacts.container import JudgedSigner, open_without_decryption, seal
from securexchange.artifacts.evidence_parts import (
    MAX_CHECKPOINTS,
    MAX_PEOPLE,
    MAX_SHRED_EVENTS,
    MAX_SUBKEYS,
    OBSERVED,
    PACKAGE_STATES,
    Checkpoint,
    Declaration,
    KeyPeriod,
    Person,
    ShredEvent,
    Statement,
    check_count,
    sorted_unique,
)
from securexchange.artifacts.keyring import PARTY_ID_RE, PROTOCOL_ID_RE, Keyring
from securexchange.artifacts.manifest import ArtifactType, Manifest, register_body
from securexchange.errors import (
    Malformed,
    NotAuthorised,
    NotRecipient,
    ProtocolInactive,
    WrongMunicipality,
)
from securexchange.fingerprint import is_display
from securexchange.i18n import _
from securexchange.ids import ArtifactKind, is_nis_code, new_artifact_id
from securexchange.keys.identity import Identity, PublicIdentity

FORMAT_EVIDENCE = 3  # the envelope format of issue 20's artifacts
FILE_SUFFIX = ".sxe"
MAX_EVIDENCE_BYTES = 1 << 20
# A release number (PEP 440, public part), not a place for free text.
SOFTWARE_RE = re.compile(r"^securexchange [0-9]{1,4}(\.[0-9]{1,4}){1,3}(\.?[a-z]{1,4}[0-9]{0,4})?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _observed(f: strictjson.Fields, what: str) -> None:
    if f.text("kind") != OBSERVED:
        raise Malformed(
            _("{what}: {problem}").format(
                # TRANSLATORS: 'kind' and 'observed' are a field and its value in the file.
                what=what,
                problem=_("its field 'kind' is not '{kind}'").format(kind=OBSERVED),
            )
        )


@dataclass(frozen=True)
class KeyPeriods:
    """The signer's encryption subkeys (the newest MAX_SUBKEYS; ``total`` in all)."""

    holder: str  # the fingerprint of the signing key they belong to: the signer
    subkeys: tuple[KeyPeriod, ...]
    total: int

    def __post_init__(self) -> None:
        if not isinstance(self.holder, str) or not is_display(self.holder):
            raise ValueError("holder is not a fingerprint")
        sorted_unique(self.subkeys, "order", MAX_SUBKEYS, "subkeys")
        if check_count(self.total) < len(self.subkeys):
            raise ValueError("total is less than the subkeys listed")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": OBSERVED,
            "holder": self.holder,
            "subkeys": [k.to_json() for k in self.subkeys],
            "total": self.total,
        }

    @classmethod
    def from_json(cls, value: Any) -> Self:
        with strictjson.Fields(value, "key_periods") as f:
            _observed(f, "key_periods")
            holder, total = f.text("holder"), f.integer("total")
            return cls(holder, tuple(f.each("subkeys", KeyPeriod.from_json)), total)


@dataclass(frozen=True)
class Shredding:
    """The log entries that destroyed records or keys (the newest MAX_SHRED_EVENTS)."""

    events: tuple[ShredEvent, ...]
    total: int

    def __post_init__(self) -> None:
        sorted_unique(self.events, "seq", MAX_SHRED_EVENTS, "shred events")
        if check_count(self.total) < len(self.events):
            raise ValueError("total is less than the events listed")

    def to_json(self) -> dict[str, Any]:
        return {"kind": OBSERVED, "events": [e.to_json() for e in self.events], "total": self.total}

    @classmethod
    def from_json(cls, value: Any) -> Self:
        with strictjson.Fields(value, "shredding") as f:
            _observed(f, "shredding")
            total = f.integer("total")
            return cls(tuple(f.each("events", ShredEvent.from_json)), total)


@dataclass(frozen=True)
class LogState:
    """The home's log when the report was made: entries, head hash, whether the home
    found its chain intact, and its signed checkpoints (the newest MAX_CHECKPOINTS)."""

    entries: int
    head: str
    intact: bool
    checkpoints: tuple[Checkpoint, ...]
    checkpoints_total: int

    def __post_init__(self) -> None:
        check_count(self.entries)
        if not isinstance(self.head, str) or not _SHA256.fullmatch(self.head):
            raise ValueError("head is 64 lower-case hex digits")
        if not isinstance(self.intact, bool):
            raise ValueError("intact is not a boolean")
        sorted_unique(self.checkpoints, "seq", MAX_CHECKPOINTS, "checkpoints")
        if check_count(self.checkpoints_total) < len(self.checkpoints):
            raise ValueError("checkpoints_total is less than the checkpoints listed")
        if any(c.seq > self.entries for c in self.checkpoints):
            raise ValueError("a checkpoint lies beyond the log's head")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": OBSERVED,
            "entries": self.entries,
            "head": self.head,
            "intact": self.intact,
            "checkpoints": [c.to_json() for c in self.checkpoints],
            "checkpoints_total": self.checkpoints_total,
        }

    @classmethod
    def from_json(cls, value: Any) -> Self:
        with strictjson.Fields(value, "log") as f:
            _observed(f, "log")
            entries, head, intact = f.integer("entries"), f.text("head"), f.boolean("intact")
            checkpoints = tuple(f.each("checkpoints", Checkpoint.from_json))
            return cls(entries, head, intact, checkpoints, f.integer("checkpoints_total"))


@dataclass(frozen=True)
class PackageCounts:
    """How many packages the vault lists in each state, and the records it holds."""

    states: tuple[tuple[str, int], ...]  # every state of PACKAGE_STATES, in its order
    records: int

    def __post_init__(self) -> None:
        if tuple(name for name, _n in self.states) != PACKAGE_STATES:
            raise ValueError("states are exactly the package states, in order")
        for _name, count in self.states:
            check_count(count)
        check_count(self.records)

    def to_json(self) -> dict[str, Any]:
        return {"kind": OBSERVED, "states": dict(self.states), "records": self.records}

    @classmethod
    def from_json(cls, value: Any) -> Self:
        with strictjson.Fields(value, "packages") as f:
            _observed(f, "packages")
            states = f.object("states")
            records = f.integer("records")
        if set(states) != set(PACKAGE_STATES):
            raise ValueError("states are exactly the package states")
        return cls(tuple((name, states[name]) for name in PACKAGE_STATES), records)


@register_body(ArtifactType.EVIDENCE)
@dataclass(frozen=True)
class EvidenceBody:
    """The report's body (docs/formats.md, "evidence body")."""

    nis: str  # equals the envelope's ``municipality``
    party_id: str
    protocol_id: str
    agency: str  # the fingerprint of the root key of the agency the report is for
    keyring_version: int  # the keyring version that lists the signer and ``access``
    software: str  # "securexchange <version>"
    key_periods: KeyPeriods
    access: tuple[Person, ...]  # everyone that keyring version lists for the municipality
    shredding: Shredding
    log: LogState
    packages: PackageCounts
    declarations: tuple[Declaration, ...]  # every Statement once, in its order
    demo: bool

    format_version = FORMAT_EVIDENCE

    def __post_init__(self) -> None:
        if not is_nis_code(self.nis):
            raise ValueError("nis is not a NIS code")
        if not isinstance(self.party_id, str) or not PARTY_ID_RE.fullmatch(self.party_id):
            raise ValueError("party_id is not a party id")
        if not isinstance(self.protocol_id, str) or not PROTOCOL_ID_RE.fullmatch(self.protocol_id):
            raise ValueError("protocol_id is not a protocol id")
        if not isinstance(self.agency, str) or not is_display(self.agency):
            raise ValueError("agency is not a fingerprint")
        if type(self.keyring_version) is not int or self.keyring_version < 1:
            raise ValueError("keyring_version is not a version")
        if not isinstance(self.software, str) or not SOFTWARE_RE.fullmatch(self.software):
            raise ValueError("software is not 'securexchange' and a version")
        sorted_unique(self.access, "fingerprint", MAX_PEOPLE, "people with access")
        if tuple(d.statement for d in self.declarations) != tuple(Statement):
            raise ValueError("declarations are every statement once, in order")
        if not isinstance(self.demo, bool):
            raise ValueError("demo is not a boolean")

    def to_json(self) -> dict[str, Any]:
        return {
            "municipality": {"nis": self.nis, "party_id": self.party_id},
            "protocol_id": self.protocol_id,
            "agency": self.agency,
            "keyring_version": self.keyring_version,
            "software": self.software,
            "key_periods": self.key_periods.to_json(),
            "access": {"kind": OBSERVED, "people": [p.to_json() for p in self.access]},
            "shredding": self.shredding.to_json(),
            "log": self.log.to_json(),
            "packages": self.packages.to_json(),
            "declarations": [d.to_json() for d in self.declarations],
            "demo": self.demo,
        }

    @classmethod
    def from_json(cls, value: Any) -> Self:
        what = _("the report of measures")
        try:
            with strictjson.Fields(value, what) as f:
                with strictjson.Fields(f.object("municipality"), what) as m:
                    nis, party_id = m.text("nis"), m.text("party_id")
                with strictjson.Fields(f.object("access"), "access") as a:
                    _observed(a, "access")
                    people = tuple(a.each("people", Person.from_json))
                return cls(
                    nis=nis,
                    party_id=party_id,
                    protocol_id=f.text("protocol_id"),
                    agency=f.text("agency"),
                    keyring_version=f.integer("keyring_version"),
                    software=f.text("software"),
                    key_periods=KeyPeriods.from_json(f.object("key_periods")),
                    access=people,
                    shredding=Shredding.from_json(f.object("shredding")),
                    log=LogState.from_json(f.object("log")),
                    packages=PackageCounts.from_json(f.object("packages")),
                    declarations=tuple(f.each("declarations", Declaration.from_json)),
                    demo=f.boolean("demo"),
                )
        except ValueError as exc:
            raise Malformed(_("{what}: {problem}").format(what=what, problem=exc)) from None


def evidence_body(manifest: Manifest) -> EvidenceBody:
    """The manifest's body, refused unless it is a report of measures."""
    body = manifest.body
    if not isinstance(body, EvidenceBody):
        raise Malformed(_("the file is not a report of measures"))
    return body


def check_access(named: Keyring, body: EvidenceBody) -> None:
    """Refuse a report whose people with access are not those of ``named``, the keyring
    version it names (a reader judged by a newer version checks this one too)."""
    entry = named.by_party(body.party_id)
    if entry is None or named.version != body.keyring_version:
        raise WrongMunicipality(_("the report is for a municipality the keyring does not list"))
    listed = sorted(
        (Person(p.fingerprint.display, p.owner.role) for p in entry.recipients),
        key=lambda p: p.fingerprint,
    )
    if tuple(listed[:MAX_PEOPLE]) != body.access:
        raise Malformed(_("the report's people with access are not the keyring's"))


def check_consistent(body: EvidenceBody, created_at: datetime) -> None:
    """Refuse a report that contradicts itself: nothing it observed happens after it was
    made, a key is destroyed only after its validity began, and no shredding or
    checkpoint lies beyond the log's head."""
    for period in body.key_periods.subkeys:
        gone = period.destroyed_at
        if gone is not None and not period.valid_from <= gone <= created_at:
            raise Malformed(_("the report contradicts itself: a key destroyed out of time"))
    moments = [e.time for e in body.shredding.events] + [c.time for c in body.log.checkpoints]
    if any(moment > created_at for moment in moments):
        raise Malformed(_("the report contradicts itself: an event after the report"))
    if any(e.seq > body.log.entries for e in body.shredding.events):
        raise Malformed(_("the report contradicts itself: an event beyond the log's head"))


def evidence_signer(keyring: Keyring, manifest: Manifest) -> PublicIdentity:
    """The person ``keyring`` lists for the municipality who signed the report. Also
    refuses a report for another agency (another root key), municipality or protocol, one
    made while the protocol was not in force, and (``keyring`` being the version it
    names) one whose list of people with access is not that version's."""
    body = evidence_body(manifest)
    entry = keyring.by_party(body.party_id)
    if entry is None or entry.nis != manifest.municipality or entry.nis != body.nis:
        raise WrongMunicipality(_("the report is for a municipality the keyring does not list"))
    if body.agency != keyring.agency.root_fingerprint.display:
        raise NotRecipient(_("the report is addressed to another agency"))
    if body.protocol_id != entry.protocol_id:
        raise WrongMunicipality(_("the report names another protocol than the keyring"))
    if body.demo != keyring.demo:
        raise Malformed(_("the report and the keyring disagree on demo"))
    if not entry.active_on(manifest.created_at.date()):
        raise ProtocolInactive(_("the report was made while the protocol was not in force"))
    if body.key_periods.holder != manifest.signer:
        raise Malformed(_("the report's key periods are not its signer's"))
    check_consistent(body, manifest.created_at)
    if keyring.version == body.keyring_version:
        check_access(keyring, body)
    for person in entry.recipients:
        if person.fingerprint.display == manifest.signer:
            return person
    raise NotAuthorised(_("the report is signed by someone the keyring does not list"))


def seal_evidence(
    body: EvidenceBody, *, created_at: datetime, signer: Identity, keyring: Keyring
) -> tuple[str, bytes]:
    """The signed container of ``body``; refused unless ``keyring`` lists ``signer``
    for it (so nothing is written that the agency would refuse)."""
    evidence_id = new_artifact_id(ArtifactKind.EVIDENCE)
    data = seal(
        artifact_type=ArtifactType.EVIDENCE,
        artifact_id=evidence_id,
        created_at=created_at,
        municipality=body.nis,
        body=body,
        signing_seed=signer.seed,
    )
    verify_evidence(data, lambda _m: keyring)
    return evidence_id, data


def verify_evidence(
    data: bytes, keyring_for: Callable[[Manifest], Keyring]
) -> tuple[Manifest, EvidenceBody]:
    """Verify a report without any key: structure, the signature by the person
    ``keyring_for(manifest)`` lists for that municipality, and the body against it."""

    trust = JudgedSigner(lambda m: evidence_signer(keyring_for(m), m).signing_key)
    verified = open_without_decryption(data, trust=trust, accept=(ArtifactType.EVIDENCE,))
    return verified.manifest, evidence_body(verified.manifest)
