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

:mod:`securexchange.artifacts.package_open` verifies a package against a pinned agency
root key: the embedded keyring view (root signature, the root's certification of the
export key), the manifest signature by that export key, every digest, and for a key
holder the payload's binding and the body's agreement with the keyring. Pure: bytes in,
values out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from securexchange import age, strictjson
from securexchange.artifacts import container, erasure_frame
from securexchange.artifacts.erasure_frame import MAX_ERASURES
from securexchange.artifacts.keyring import PARTY_ID_RE, PROTOCOL_ID_RE
from securexchange.artifacts.manifest import (
    KEYRING,
    KEYRING_SIGNATURE,
    ArtifactType,
    register_body,
)
from securexchange.clock import format_instant, read_instant
from securexchange.errors import (
    Malformed,
)
from securexchange.fingerprint import is_display
from securexchange.i18n import _
from securexchange.ids import is_artifact_id, is_nis_code
from securexchange.keys.card import subkey_from_json, subkey_to_json
from securexchange.keys.identity import MAX_SUBKEYS, Subkey

DEFAULT_IMPORT_DAYS = 30
DEFAULT_VALID_DAYS = 60
MAX_RECIPIENTS = age.MAX_RECIPIENTS  # what one age file is encrypted to (was 256)
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
        raise Malformed(
            _("{what} is not a date of the form YYYY-MM-DD").format(what=what)
        ) from None
    if day.isoformat() != text:
        raise Malformed(_("{what} is not a date of the form YYYY-MM-DD").format(what=what))
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
    # The subkey's validity and its holder's certification (issue 19): a subkey made
    # after enrolment is vouched for by its holder's signing key, not by the keyring.
    # Absent in packages made before (format 1), whose subkeys the keyring lists.
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    certification: str | None = None

    @classmethod
    def of(cls, fingerprint: str, role: str, subkey: Subkey) -> PackageRecipient:
        return cls(
            fingerprint,
            role,
            subkey.recipient,
            subkey.valid_from,
            subkey.valid_until,
            subkey.certification,
        )

    @property
    def certified(self) -> Subkey | None:
        """The subkey with its certification, when the body carries one."""
        if self.valid_from is None or self.valid_until is None or self.certification is None:
            return None
        return Subkey(self.subkey, self.valid_from, self.valid_until, self.certification)

    def __post_init__(self) -> None:
        carried = (self.valid_from, self.valid_until, self.certification)
        if any(v is None for v in carried) and any(v is not None for v in carried):
            raise ValueError("a recipient's subkey validity and certification come together")
        if self.valid_from is not None and not (
            _whole_second_utc(self.valid_from)
            and self.valid_until is not None
            and _whole_second_utc(self.valid_until)
            and self.valid_from < self.valid_until
        ):
            raise ValueError("a recipient's subkey validity is not a span of UTC seconds")
        if self.certification is not None and (
            not isinstance(self.certification, str) or not self.certification
        ):
            raise ValueError("a recipient's subkey certification is empty")
        if not isinstance(self.fingerprint, str) or not is_display(self.fingerprint):
            raise ValueError("a recipient fingerprint is not a fingerprint")
        if not isinstance(self.role, str) or not _ROLE_RE.fullmatch(self.role):
            raise ValueError("a recipient role is not a role")
        if self.role != " ".join(self.role.split()).lower():
            raise ValueError("a recipient role is not in normal form")
        if not isinstance(self.subkey, str) or not age.is_recipient_string(self.subkey):
            raise ValueError("a recipient subkey is not an age recipient")

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "fingerprint": self.fingerprint,
            "role": self.role,
            "subkey": self.subkey,
        }
        if self.valid_from is not None and self.valid_until is not None:
            value["valid_from"] = format_instant(self.valid_from)
            value["valid_until"] = format_instant(self.valid_until)
            value["certification"] = self.certification
        return value

    @classmethod
    def from_json(cls, value: Any) -> PackageRecipient:
        what = _("a package recipient")
        with strictjson.Fields(value, what) as f:
            fingerprint, role, subkey = f.text("fingerprint"), f.text("role"), f.text("subkey")
            valid_from = f.opt_text("valid_from")
            valid_until = f.opt_text("valid_until")
            certification = f.opt_text("certification")
        return cls(
            fingerprint,
            role,
            subkey,
            None if valid_from is None else read_instant(valid_from, what),
            None if valid_until is None else read_instant(valid_until, what),
            certification,
        )


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
        with strictjson.Fields(value, _("the superseded package")) as f:
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
    # The agency's live return subkeys, each certified by the export key (issue 19): the
    # ones it pre-issued after the keyring version was signed reach the municipalities
    # this way, without the root key. Empty in packages made before (format 1).
    agency_subkeys: tuple[Subkey, ...] = ()
    # How many erasure instructions the encrypted content carries (issue 20, art. 17):
    # the ids themselves are encrypted (artifacts/erasure_frame.py).
    erasures: int = 0

    @property
    def format_version(self) -> int:
        """The envelope format this body needs: 4 when it carries erasure instructions
        (a client that cannot carry them out must refuse the package, not ignore them),
        2 when it carries vouched subkeys."""
        if self.erasures:
            return 4
        if self.agency_subkeys or any(r.certification is not None for r in self.recipients):
            return 2
        return 1

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
        for name in ("sequence", "keyring_version", "recipient_stanzas", "records", "erasures"):
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
            raise ValueError(f"recipients are 1 to {MAX_RECIPIENTS} package recipients")
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
        if not 0 <= self.erasures <= MAX_ERASURES:
            raise ValueError("erasures is out of range")
        if self.supersedes is not None and not isinstance(self.supersedes, Superseded):
            raise ValueError("supersedes is not a superseded package")
        if (self.sequence == 1) != (self.supersedes is None):
            raise ValueError("exactly the first package supersedes nothing")
        if not isinstance(self.demo, bool):
            raise ValueError("demo is not a boolean")
        if len(self.agency_subkeys) > MAX_SUBKEYS or not all(
            isinstance(s, Subkey) for s in self.agency_subkeys
        ):
            raise ValueError(f"agency_subkeys are at most {MAX_SUBKEYS} subkeys")
        if len({s.recipient for s in self.agency_subkeys}) != len(self.agency_subkeys):
            raise ValueError("an agency subkey is listed twice")

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
            **(
                {"agency_subkeys": [subkey_to_json(s) for s in self.agency_subkeys]}
                if self.agency_subkeys
                else {}
            ),
            **({"erasures": self.erasures} if self.erasures else {}),
        }

    @classmethod
    def from_json(cls, value: Any) -> PackageBody:
        # TRANSLATORS: the body is the descriptive part of the package's manifest.
        with strictjson.Fields(value, _("the package body")) as f:
            schema_version = f.text("schema_version")
            with strictjson.Fields(f.object("municipality"), _("the package municipality")) as m:
                nis, name, party_id = m.text("nis"), m.text("name"), m.text("party_id")
            with strictjson.Fields(f.object("protocol"), _("the package protocol")) as p:
                protocol_id = p.text("id")
                protocol_until = _parse_date(p.text("until"), _("the protocol's end"))
            sequence = f.integer("sequence")
            import_deadline = read_instant(f.text("import_deadline"), "import_deadline")
            valid_until = read_instant(f.text("valid_until"), "valid_until")
            keyring_version = f.integer("keyring_version")
            recipients = tuple(f.each("recipients", PackageRecipient.from_json))
            stanzas = f.integer("recipient_stanzas")
            records = f.integer("records")
            with strictjson.Fields(f.object("retention"), _("the package retention")) as r:
                earliest = _parse_date(r.opt_text("earliest"), _("the earliest retention"))
                latest = _parse_date(r.opt_text("latest"), _("the latest retention"))
            supersedes_json = f.opt_object("supersedes")
            demo = f.boolean("demo")
            # TRANSLATORS: names the n-th agency key for returns listed in a package.
            agency_what = _("the package's agency subkey {number}")
            agency_subkeys = tuple(
                subkey_from_json(item, agency_what.format(number=i))
                for i, item in enumerate(f.opt_array("agency_subkeys") or (), 1)
            )
            erasures = f.opt_integer("erasures")
        if erasures == 0:
            raise Malformed(_("the package body states zero erasures instead of leaving them out"))
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
            agency_subkeys=agency_subkeys,
            erasures=erasures or 0,
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
    erase: Sequence[str] = (),
) -> bytes:
    """The container bytes of one package, signed with the export key's seed.

    ``erase``: the record ids the municipality is to erase, as many as the body states.

    ``recipients`` are the age recipients of exactly the subkeys the body lists, in the
    body's order; ``keyring_data``/``keyring_signature`` the municipality's signed view.
    Raises ``ValueError`` for parts that do not fit together; writes nothing.
    """
    if [r.to_string() for r in recipients] != [r.subkey for r in body.recipients]:
        raise ValueError("the age recipients are not the body's subkeys")
    if len(erase) != body.erasures:
        raise ValueError("the erasures are not as many as the body states")
    return container.seal(
        artifact_type=ArtifactType.PACKAGE,
        artifact_id=package_id,
        created_at=created_at,
        municipality=body.nis,
        body=body,
        signing_seed=signing_seed,
        content=erasure_frame.frame(erase, workbook),
        recipients=list(recipients),
        attachments={KEYRING: keyring_data, KEYRING_SIGNATURE: keyring_signature.encode("ascii")},
    )


# --- opening ----------------------------------------------------------------------------
