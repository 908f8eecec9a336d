"""The incident notice: one signed, encrypted message about a personal-data breach.

Protocol art. 6 and 9 and GDPR art. 33: the municipality tells the agency within 48
hours of discovering an unlawful or unauthorised processing or access, the parties
inform each other through their data protection officers, and each party notifies its
supervisory authority within 72 hours (the tool shows that deadline; it files nothing).

A notice is a container of type ``incident``: the manifest body (this module) says,
without any key, which incident and phase it is, who reports, when the incident was
discovered, the deadlines that follow, and to whom the payload is encrypted; the
payload (:class:`IncidentDetails`) carries the fields of GDPR art. 33(3), which may
describe people, so only the DPOs (and the reporter) can read it. An incident is opened
once, may get notes (phased information, art. 33(4)) and is closed once; every notice
names the incident by the id of its opening notice and counts up ``sequence``.

Pure: no I/O; the keyring and time are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Self

from securexchange import strictjson
from securexchange.artifacts.keyring import PARTY_ID_RE, Keyring, MunicipalityEntry
from securexchange.artifacts.manifest import ArtifactType, Manifest, register_body
from securexchange.artifacts.package import PackageRecipient
from securexchange.clock import format_instant, read_instant
from securexchange.errors import Malformed, NotAuthorised, WrongMunicipality
from securexchange.i18n import _
from securexchange.ids import is_artifact_id
from securexchange.keys.identity import PublicIdentity
from securexchange.keys.vouching import vouch

FORMAT_INCIDENT = 3  # the envelope format that brought the incident notice
NOTIFY_AGENCY_WITHIN = timedelta(hours=48)  # protocol art. 6
NOTIFY_AUTHORITY_WITHIN = timedelta(hours=72)  # GDPR art. 33(1)
MAX_TEXT = 4000  # characters per free-text field
MAX_COUNT = 10_000_000
DETAILS_FORMAT = "securexchange-incident-details/1"


class Phase(StrEnum):
    OPEN = "open"
    NOTE = "note"
    CLOSE = "close"


class Reporter(StrEnum):
    """Which party sends the notice (and discovered what it reports)."""

    MUNICIPALITY = "municipality"
    AGENCY = "agency"

    @property
    def other(self) -> Reporter:
        return Reporter.AGENCY if self is Reporter.MUNICIPALITY else Reporter.MUNICIPALITY


def agency_due(reporter: Reporter, discovered_at: datetime) -> datetime | None:
    """When a municipality must have told the agency (art. 6); None for the agency."""
    return discovered_at + NOTIFY_AGENCY_WITHIN if reporter is Reporter.MUNICIPALITY else None


def authority_due(aware_at: datetime) -> datetime:
    """When a party that became aware at ``aware_at`` must notify its supervisory
    authority (GDPR art. 33(1); the tool shows it, it files nothing)."""
    return aware_at + NOTIFY_AUTHORITY_WITHIN


def _whole_utc(moment: datetime) -> bool:
    return (
        moment.tzinfo is not None and moment.utcoffset() == timedelta(0) and not moment.microsecond
    )


@register_body(ArtifactType.INCIDENT)
@dataclass(frozen=True)
class IncidentBody:
    """The incident manifest's body (docs/formats.md, "incident body")."""

    incident: str  # the id of the incident's opening notice
    phase: Phase
    sequence: int  # 1 for the opening notice, then one more for each later one
    reporter: Reporter
    party_id: str  # the municipality concerned (the envelope's ``municipality`` is its NIS)
    discovered_at: datetime  # when the reporter discovered the incident
    keyring_version: int  # the keyring the recipients were taken from
    recipients: tuple[PackageRecipient, ...]
    demo: bool

    format_version = FORMAT_INCIDENT

    def __post_init__(self) -> None:
        if not isinstance(self.incident, str) or not is_artifact_id(self.incident):
            raise ValueError("incident is not an artifact id")
        if not self.incident.startswith("inc-"):
            raise ValueError("incident is not the id of an incident notice")
        if not isinstance(self.phase, Phase) or not isinstance(self.reporter, Reporter):
            raise ValueError("unknown phase or reporter")
        if type(self.sequence) is not int or not 1 <= self.sequence <= 10_000:
            raise ValueError("sequence is not a number from 1")
        if (self.phase is Phase.OPEN) != (self.sequence == 1):
            raise ValueError("only the opening notice has sequence 1")
        if not isinstance(self.party_id, str) or not PARTY_ID_RE.fullmatch(self.party_id):
            raise ValueError("party_id is not a party id")
        if not isinstance(self.discovered_at, datetime) or not _whole_utc(self.discovered_at):
            raise ValueError("discovered_at is not a UTC instant")
        if type(self.keyring_version) is not int or self.keyring_version < 1:
            raise ValueError("keyring_version is not a version")
        prints = [r.fingerprint for r in self.recipients]
        if not prints or prints != sorted(set(prints)):
            raise ValueError("recipients are sorted by fingerprint and unique")
        if not isinstance(self.demo, bool):
            raise ValueError("demo is not a boolean")

    @property
    def agency_due(self) -> datetime | None:
        return agency_due(self.reporter, self.discovered_at)

    @property
    def authority_due(self) -> datetime:
        return authority_due(self.discovered_at)

    def to_json(self) -> dict[str, Any]:
        due = self.agency_due
        return {
            "incident": self.incident,
            "phase": self.phase.value,
            "sequence": self.sequence,
            "reporter": self.reporter.value,
            "party_id": self.party_id,
            "discovered_at": format_instant(self.discovered_at),
            # Derived, written out so an auditor reads the deadlines without arithmetic;
            # a reader refuses values that do not follow from discovered_at.
            "notify_agency_by": None if due is None else format_instant(due),
            "notify_authority_by": format_instant(self.authority_due),
            "keyring_version": self.keyring_version,
            "recipients": [r.to_json() for r in self.recipients],
            "demo": self.demo,
        }

    @classmethod
    def from_json(cls, value: Any) -> Self:
        what = _("the incident body")
        with strictjson.Fields(value, what) as f:
            incident, phase, sequence = f.text("incident"), f.text("phase"), f.integer("sequence")
            reporter, party_id = f.text("reporter"), f.text("party_id")
            discovered_at = read_instant(f.text("discovered_at"), what)
            keyring_version, demo = f.integer("keyring_version"), f.boolean("demo")
            agency_by = f.opt_text("notify_agency_by")
            authority_by = f.text("notify_authority_by")
            recipients = tuple(PackageRecipient.from_json(r) for r in f.array("recipients"))
        try:
            body = cls(
                incident=incident,
                phase=Phase(phase),
                sequence=sequence,
                reporter=Reporter(reporter),
                party_id=party_id,
                discovered_at=discovered_at,
                keyring_version=keyring_version,
                recipients=recipients,
                demo=demo,
            )
        except ValueError as exc:
            raise Malformed(_("{what}: {problem}").format(what=what, problem=exc)) from None
        written = body.to_json()
        if (agency_by, authority_by) != (
            written["notify_agency_by"],
            written["notify_authority_by"],
        ):
            raise Malformed(_("the incident's deadlines do not follow from its discovery time"))
        return body


@dataclass(frozen=True)
class IncidentDetails:
    """The encrypted part: the fields of GDPR art. 33(3), each optional (art. 33(4):
    what is not known yet follows in a note)."""

    nature: str | None = None
    categories: str | None = None  # categories of people and of records concerned
    people: int | None = None  # approximate number of people concerned
    records: int | None = None  # approximate number of records concerned
    dpo_contact: str | None = None
    consequences: str | None = None  # the likely consequences
    measures: str | None = None  # taken or proposed, including mitigation

    TEXT_FIELDS = ("nature", "categories", "dpo_contact", "consequences", "measures")
    COUNT_FIELDS = ("people", "records")

    def __post_init__(self) -> None:
        for name in self.TEXT_FIELDS:
            text = getattr(self, name)
            if text is not None and (not isinstance(text, str) or not 0 < len(text) <= MAX_TEXT):
                raise ValueError(f"{name} is 1-{MAX_TEXT} characters")
        for name in self.COUNT_FIELDS:
            count = getattr(self, name)
            if count is not None and (type(count) is not int or not 0 <= count <= MAX_COUNT):
                raise ValueError(f"{name} is a number from 0")

    @property
    def empty(self) -> bool:
        return all(getattr(self, n) is None for n in (*self.TEXT_FIELDS, *self.COUNT_FIELDS))

    def to_bytes(self, incident: str, phase: Phase) -> bytes:
        fields = {n: getattr(self, n) for n in (*self.TEXT_FIELDS, *self.COUNT_FIELDS)}
        return strictjson.dumps(
            {"format": DETAILS_FORMAT, "incident": incident, "phase": phase.value, **fields}
        )

    @classmethod
    def from_bytes(cls, data: bytes, body: IncidentBody) -> IncidentDetails:
        what = _("the incident details")
        value = strictjson.loads(data, what=what, max_bytes=64 << 10)
        with strictjson.Fields(value, what) as f:
            if f.text("format") != DETAILS_FORMAT:
                raise Malformed(_("the incident details have an unknown format"))
            if (f.text("incident"), f.text("phase")) != (body.incident, body.phase.value):
                raise Malformed(_("the incident details belong to another notice"))
            details = {n: f.opt_text(n) for n in cls.TEXT_FIELDS}
            counts = {n: f.opt_integer(n) for n in cls.COUNT_FIELDS}
        try:
            return cls(**details, **counts)  # type: ignore[arg-type]
        except ValueError as exc:
            raise Malformed(_("{what}: {problem}").format(what=what, problem=exc)) from None


# --- who may send and read ---------------------------------------------------------------


def other_party_dpos(
    keyring: Keyring, entry: MunicipalityEntry, reporter: Reporter
) -> tuple[PublicIdentity, ...]:
    """The DPOs of the party that receives a notice from ``reporter``."""
    if reporter is Reporter.MUNICIPALITY:
        return () if keyring.agency.dpo is None else (keyring.agency.dpo,)
    return entry.dpos


def incident_body(manifest: Manifest) -> IncidentBody:
    """The manifest's body, refused unless it is an incident notice's."""
    body = manifest.body
    if not isinstance(body, IncidentBody):
        raise Malformed(_("the file is not an incident notice"))
    return body


def check_incident(manifest: Manifest, keyring: Keyring) -> IncidentBody:
    """Refuse an incident notice whose body does not agree with its envelope, or whose
    signer or recipients ``keyring`` (the version the reader trusts for the signer)
    does not authorise: signed by a person listed for the municipality or by the
    agency's export key, encrypted to DPOs (of either party) and the signer only, and
    to at least one DPO of the receiving party."""
    body = incident_body(manifest)
    if body.phase is Phase.OPEN and body.incident != manifest.artifact_id:
        raise Malformed(_("an opening incident notice names another incident"))
    if body.demo != keyring.demo:
        raise Malformed(_("the incident notice and the keyring disagree on demo"))
    entry = keyring.by_party(body.party_id)
    if entry is None or entry.nis != manifest.municipality:
        raise WrongMunicipality(
            _("the incident notice is for a municipality the keyring does not list")
        )
    signer = _signer(keyring, entry, body.reporter, manifest.signer)
    allowed = {p.fingerprint.display: p for p in (*entry.dpos, signer)}
    if keyring.agency.dpo is not None:
        allowed[keyring.agency.dpo.fingerprint.display] = keyring.agency.dpo
    for item in body.recipients:
        person = allowed.get(item.fingerprint)
        if person is None or person.owner.role != item.role:
            raise NotAuthorised(
                _("the incident notice is encrypted to someone who is not a DPO or its sender")
            )
        if not any(s.recipient == item.subkey for s in person.subkeys):
            carried = item.certified
            if carried is None:
                raise NotAuthorised(_("the incident notice uses a subkey nobody vouches for"))
            vouch(person, (carried,))
    receivers = {p.fingerprint.display for p in other_party_dpos(keyring, entry, body.reporter)}
    if not receivers & {r.fingerprint for r in body.recipients}:
        raise NotAuthorised(_("the incident notice is not encrypted to the other party's DPO"))
    return body


def _signer(
    keyring: Keyring, entry: MunicipalityEntry, reporter: Reporter, signer: str
) -> PublicIdentity:
    if reporter is Reporter.AGENCY:
        if keyring.agency.export.fingerprint.display == signer:
            return keyring.agency.export
    else:
        for person in entry.recipients:
            if person.fingerprint.display == signer:
                return person
    raise NotAuthorised(_("the incident notice is signed by someone the keyring does not list"))


def signer_key(keyring: Keyring, manifest: Manifest) -> bytes:
    """The signing key the keyring gives the notice's named signer (for the container's
    trust policy); NotAuthorised when it gives none."""
    body = manifest.body
    if not isinstance(body, IncidentBody):
        raise Malformed(_("the file is not an incident notice"))
    entry = keyring.by_party(body.party_id)
    if entry is None:
        raise WrongMunicipality(
            _("the incident notice is for a municipality the keyring does not list")
        )
    return _signer(keyring, entry, body.reporter, manifest.signer).signing_key
