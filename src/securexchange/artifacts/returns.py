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

Its verification is :mod:`securexchange.artifacts.return_open`.

Pure: no I/O; time passed in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from securexchange import strictjson
from securexchange.artifacts.keyring import PARTY_ID_RE
from securexchange.artifacts.manifest import (
    ArtifactType,
    Manifest,
    register_body,
)
from securexchange.clock import format_instant, read_instant
from securexchange.errors import Malformed, Tampered
from securexchange.fingerprint import is_display
from securexchange.formatversion import refuse_newer
from securexchange.i18n import _
from securexchange.ids import is_artifact_id, is_nis_code, is_record_id
from securexchange.keys.card import subkey_from_json, subkey_to_json
from securexchange.keys.identity import MAX_SUBKEYS, Subkey
from securexchange.schema import QUALITY_FIELDS
from securexchange.vocabularies import ACTIVITY_STATUSES, QUALITY_PROBLEMS

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
    # The signer's live subkeys, each certified by the signer's key (issue 19): how the
    # agency learns the periods a home pre-issued after enrolment, with no file to send
    # and no root key. Empty in returns made before (format 1).
    subkeys: tuple[Subkey, ...] = ()

    @property
    def format_version(self) -> int:
        """The envelope format this body needs: 2 when it carries subkeys."""
        return 2 if self.subkeys else 1

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
        if len(self.subkeys) > MAX_SUBKEYS or not all(isinstance(k, Subkey) for k in self.subkeys):
            raise ValueError(f"subkeys are at most {MAX_SUBKEYS} subkeys")
        if len({k.recipient for k in self.subkeys}) != len(self.subkeys):
            raise ValueError("a subkey is listed twice")

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
        if self.subkeys:
            value["subkeys"] = [subkey_to_json(k) for k in self.subkeys]
        return value

    @classmethod
    def from_json(cls, value: Any) -> Self:
        # TRANSLATORS: the body is the descriptive part of the return's manifest.
        with strictjson.Fields(value, _("the return body")) as f:
            # TRANSLATORS: names the n-th key for packages listed in a return.
            what = _("the return's subkey {number}")
            return cls(
                party_id=f.text("party_id"),
                sequence=f.integer("sequence"),
                statuses=f.integer("statuses"),
                quality_reports=f.integer("quality_reports"),
                keyring_version=f.integer("keyring_version"),
                demo=f.boolean("demo"),
                client_version=f.opt_text("client_version"),
                subkeys=tuple(
                    subkey_from_json(item, what.format(number=i))
                    for i, item in enumerate(f.opt_array("subkeys") or (), 1)
                ),
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
    # TRANSLATORS: the {number}th entry (status change or quality report) of a return.
    what = _("return entry {number}").format(number=number)
    with strictjson.Fields(value, what) as f:
        kind = f.text("kind")
        record = f.text("record")
        if kind == KIND_STATUS:
            status, base = f.text("status"), f.text("base")
            moment = read_instant(f.text("changed_at"), what)
            try:
                return StatusEntry(record, status, base, moment)
            except ValueError as exc:
                raise Malformed(_("{what}: {problem}").format(what=what, problem=exc)) from None
        if kind == KIND_QUALITY:
            field, problem = f.text("field"), f.text("problem")
            moment = read_instant(f.text("reported_at"), what)
            try:
                return QualityEntry(record, field, problem, moment)
            except ValueError as exc:
                raise Malformed(_("{what}: {problem}").format(what=what, problem=exc)) from None
        raise Malformed(
            _("{what} is neither a status change nor a quality report").format(what=what)
        )


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
            what=_("the return"),
            max_bytes=MAX_DOCUMENT_BYTES,
        )
        value = strictjson.loads(data, what=_("the return"), max_bytes=MAX_DOCUMENT_BYTES)
        with strictjson.Fields(value, _("the return")) as f:
            if f.text("format") != DOCUMENT_FORMAT:
                raise Malformed(_("the return has an unknown format"))
            delta_id = f.text("delta")
            municipality = f.text("municipality")
            signer = f.text("signer")
            sequence = f.integer("sequence")
            raw_entries = f.array("entries")
        if len(raw_entries) > MAX_ENTRIES:
            raise Malformed(_("the return has too many entries"))
        entries = tuple(_entry_from_json(item, i) for i, item in enumerate(raw_entries, 1))
        try:
            document = cls(delta_id, municipality, signer, sequence, entries)
        except ValueError as exc:
            # TRANSLATORS: {problem} says which field of the return is wrong.
            raise Malformed(_("the return: {problem}").format(problem=exc)) from None
        if document.to_bytes() != data:
            raise Malformed(_("the return is not in canonical form"))
        return document


def check_binding(document: ReturnDocument, manifest: Manifest) -> None:
    """The document's repeated fields and counts must be what the signed manifest says.

    Raises Tampered: the encrypted content belongs to another return than its manifest.
    """
    body = manifest.body
    if not isinstance(body, ReturnBody):
        raise Malformed(_("the container is not a return"))
    if (
        document.delta_id != manifest.artifact_id
        or document.municipality != manifest.municipality
        or document.signer != manifest.signer
        or document.sequence != body.sequence
        or len(document.statuses) != body.statuses
        or len(document.quality_reports) != body.quality_reports
    ):
        raise Tampered(_("the return's content does not match its signed manifest"))


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
