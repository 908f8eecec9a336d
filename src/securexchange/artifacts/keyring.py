"""The keyring: the agency's root-signed, versioned list of who may read what.

It names every municipality with an agreement (NIS code, name, stable party id,
protocol id, protocol period, retention months, the function profiles allowed in), the
people each municipality authorised (art. 4, 6: named people whose function needs it),
and the agency's own public keys: the root key, which signs the keyring, and the export
key, which signs packages and notices and is certified by the root.

The document is strict JSON (see docs/formats.md, "Keyring"); its signature is an SSHSIG
by the root key in the keyring namespace over the exact bytes. A municipality receives a
*view*: the same version with the agency's keys and its own entry only. Every change
increments the version; :func:`verify_keyring` refuses a version below the one held
(:class:`Rollback`) and anything not signed by the pinned root key
(:class:`BadSignature`, including a keyring signed by the export key).

Pure: no I/O; time and ids passed in.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from securexchange import sshsig, strictjson
from securexchange.artifacts.agency_keys import AgencyKeys
from securexchange.artifacts.protocol_terms import Ending, check_stored_reference, parse_day
from securexchange.clock import format_instant, read_instant
from securexchange.errors import BadSignature, InternalError, Malformed, Rollback
from securexchange.fingerprint import Fingerprint
from securexchange.formatversion import newer_format_error, refuse_newer
from securexchange.i18n import _
from securexchange.ids import is_artifact_id, is_nis_code
from securexchange.keys.card import identity_from_fields, identity_to_json
from securexchange.keys.identity import (
    ROLE_DPO,
    Identity,
    PublicIdentity,
    check_name,
)

# The keyring's format is one integer, in the `format` string (docs/formats.md, "Keyring
# format versions"): a writer uses the lowest number that expresses the document (so a
# keyring without newer features stays readable by older clients), a reader refuses a
# number above the one it knows with a message that says to update. Each later feature
# (pre-issued subkeys, post-quantum subkeys, notices in the keyring) takes the next one.
KEYRING_FORMAT_NAME = "securexchange-keyring"
KEYRING_FORMAT_VERSION = 3  # the newest format this version of securexchange reads
# Format 2: a subkey may be hybrid post-quantum ("age1pq1..."; issue 18). Same fields.
FORMAT_POST_QUANTUM = 2
# Format 3 (issue 20): data protection officers (the agency's DPO key ``agency.dpo``
# and a municipality's people with the DPO role, who receive incident notices and never
# a package) and the protocol's terms (its reference, the protocol it renews, why it
# ends: artifacts/protocol_terms.py).
FORMAT_DPO = 3
_FORMAT_RE = re.compile(r"^securexchange-keyring/([1-9][0-9]{0,5})$")
SCOPE_FULL = "full"
# 300 municipalities x 5 recipients x 3 periods x 2 subkeys (a hybrid post-quantum one,
# ~1,960 characters, and its classic companion) is ~13 MiB; 32 MiB leaves room. It was
# 4 MiB while subkeys were classic only (docs/formats.md, "Keyring").
MAX_KEYRING_BYTES = 32 << 20
MAX_RETENTION_MONTHS = 24

PARTY_ID_RE = re.compile(r"^party-[a-z2-7]{26}$")
PROTOCOL_ID_RE = re.compile(r"^protocol-[a-z2-7]{26}$")

# Which namespaces each kind of key may sign in (allowed_signers).
# The root key signs the log checkpoint of a command that unlocked it (keys passwd).
ROOT_NAMESPACES = (sshsig.NAMESPACE_KEYRING, sshsig.NAMESPACE_LOG)
# The export key also signs the agency log's checkpoints (it is the agency home's key
# for everyday commands), so those can be checked by hand too.
EXPORT_NAMESPACES = (
    sshsig.NAMESPACE_PACKAGE,
    sshsig.NAMESPACE_NOTICE,
    sshsig.NAMESPACE_INCIDENT,
    sshsig.NAMESPACE_PROTOCOL_NOTICE,
    sshsig.NAMESPACE_LOG,
)
STAFF_NAMESPACES = (
    sshsig.NAMESPACE_RETURN,
    sshsig.NAMESPACE_INCIDENT,
    sshsig.NAMESPACE_PROTOCOL_NOTICE,
    sshsig.NAMESPACE_EVIDENCE,
    sshsig.NAMESPACE_LOG,
)


@dataclass(frozen=True)
class MunicipalityEntry:
    """One municipality with an agreement, and the people it authorised."""

    nis: str
    name: str
    party_id: str
    protocol_id: str
    protocol_from: date
    protocol_until: date  # inclusive: the last day data may be shared
    retention_months: int
    profiles: tuple[str, ...]  # empty: any role
    terminated_on: date | None = None
    recipients: tuple[PublicIdentity, ...] = ()
    # Format 3 (issue 20): the protocol document's reference, the protocol this one
    # renews, and why it ends on ``terminated_on`` (artifacts/protocol_terms.py).
    protocol_ref: str | None = None
    renews: str | None = None
    ending: Ending | None = None

    def __post_init__(self) -> None:
        if not is_nis_code(self.nis):
            raise ValueError("a NIS code has 5 digits")
        check_name(self.name)
        if not PARTY_ID_RE.fullmatch(self.party_id):
            raise ValueError("bad party id")
        if not PROTOCOL_ID_RE.fullmatch(self.protocol_id):
            raise ValueError("bad protocol id")
        if self.protocol_from > self.protocol_until:
            raise ValueError("a protocol ends after it starts")
        if not 1 <= self.retention_months <= MAX_RETENTION_MONTHS:
            raise ValueError("retention months out of range")
        if list(self.profiles) != sorted(set(self.profiles)):
            raise ValueError("profiles are sorted and unique")
        prints = [r.fingerprint.digest for r in self.recipients]
        if prints != sorted(set(prints)):
            raise ValueError("recipients are sorted by fingerprint and unique")
        for recipient in self.recipients:
            if recipient.owner.organisation != self.nis:
                raise ValueError("a recipient belongs to the municipality")
        if self.protocol_ref is not None:
            check_stored_reference(self.protocol_ref)
        if self.renews is not None and (
            not PROTOCOL_ID_RE.fullmatch(self.renews) or self.renews == self.protocol_id
        ):
            raise ValueError("a protocol renews another protocol")
        if self.ending is not None:
            if self.terminated_on is None:
                raise ValueError("an ending has a day")
            self.ending.check_effective(self.terminated_on)

    @property
    def uses_protocol_terms(self) -> bool:
        """Whether the entry needs format 3 for its protocol reference or ending."""
        return any(v is not None for v in (self.protocol_ref, self.renews, self.ending))

    def active_on(self, day: date) -> bool:
        """Whether the protocol allows sharing on ``day`` (start and end inclusive)."""
        if self.terminated_on is not None and day >= self.terminated_on:
            return False
        return self.protocol_from <= day <= self.protocol_until

    def allows_role(self, role: str) -> bool:
        """Whether a person of ``role`` may be listed: a function profile the protocol
        names (art. 4), or the data protection officer, who reads no package."""
        return role == ROLE_DPO or not self.profiles or role in self.profiles

    @property
    def readers(self) -> tuple[PublicIdentity, ...]:
        """The people packages are encrypted to: everyone listed but the DPOs."""
        return tuple(r for r in self.recipients if r.owner.role != ROLE_DPO)

    @property
    def dpos(self) -> tuple[PublicIdentity, ...]:
        """The municipality's data protection officers (incident notices)."""
        return tuple(r for r in self.recipients if r.owner.role == ROLE_DPO)

    def recipient(self, fingerprint: Fingerprint) -> PublicIdentity | None:
        for item in self.recipients:
            if item.fingerprint == fingerprint:
                return item
        return None

    def to_json(self) -> dict[str, object]:
        return {
            "nis": self.nis,
            "name": self.name,
            "party_id": self.party_id,
            "protocol_id": self.protocol_id,
            "protocol_from": self.protocol_from.isoformat(),
            "protocol_until": self.protocol_until.isoformat(),
            "retention_months": self.retention_months,
            "profiles": list(self.profiles),
            "terminated_on": None if self.terminated_on is None else self.terminated_on.isoformat(),
            "recipients": [identity_to_json(r) for r in self.recipients],
            **self._terms_json(),
        }

    def _terms_json(self) -> dict[str, object]:
        """The format-3 fields, written only when present (older documents unchanged)."""
        if not self.uses_protocol_terms:
            return {}
        return {
            "protocol_ref": self.protocol_ref,
            "renews": self.renews,
            "ending": None if self.ending is None else self.ending.to_json(),
        }

    @classmethod
    def from_json(cls, value: object, number: int) -> MunicipalityEntry:
        # TRANSLATORS: the {number}th municipality listed in a keyring; fills {what}.
        what = _("the keyring's municipality {number}").format(number=number)
        with strictjson.Fields(value, what) as f:
            terminated = f.opt_text("terminated_on")
            protocol_ref, renews = f.opt_text("protocol_ref"), f.opt_text("renews")
            ending_fields = f.opt_object("ending")
            # TRANSLATORS: {what} is "the keyring's municipality 3".
            ending_what = _("{what}'s ending").format(what=what)
            ending = None if ending_fields is None else Ending.from_json(ending_fields, ending_what)
            profiles = f.array("profiles")
            if not all(isinstance(p, str) for p in profiles):
                raise Malformed(_("{what} lists a profile that is not text").format(what=what))
            recipients = []
            for i, item in enumerate(f.array("recipients"), 1):
                # TRANSLATORS: {what} is "the keyring's municipality 3"; {number} counts
                # the people it authorised.
                person = _("{what} recipient {number}").format(what=what, number=i)
                with strictjson.Fields(item, person) as r:
                    recipients.append(identity_from_fields(r, person))
            try:
                return cls(
                    nis=f.text("nis"),
                    name=f.text("name"),
                    party_id=f.text("party_id"),
                    protocol_id=f.text("protocol_id"),
                    protocol_from=parse_day(f.text("protocol_from"), what),
                    protocol_until=parse_day(f.text("protocol_until"), what),
                    retention_months=f.integer("retention_months"),
                    profiles=tuple(profiles),
                    terminated_on=None if terminated is None else parse_day(terminated, what),
                    recipients=tuple(recipients),
                    protocol_ref=protocol_ref,
                    renews=renews,
                    ending=ending,
                )
            except Exception as exc:
                if isinstance(exc, Malformed):
                    raise
                if isinstance(exc, ValueError):
                    raise Malformed(_("{what} is not a valid entry").format(what=what)) from None
                raise


@dataclass(frozen=True)
class Keyring:
    """One version of the keyring (the full one, or a municipality's view)."""

    id: str
    version: int
    issued_at: datetime
    scope: str  # SCOPE_FULL or the party id of the municipality this view is for
    demo: bool
    agency: AgencyKeys
    municipalities: tuple[MunicipalityEntry, ...]

    def __post_init__(self) -> None:
        if not is_artifact_id(self.id) or not self.id.startswith("kr-"):
            raise ValueError("a keyring id is a 'kr-' artifact id")
        if self.version < 1:
            raise ValueError("keyring versions start at 1")
        if self.issued_at.tzinfo is None:
            raise ValueError("issued_at is aware UTC time")
        nis = [m.nis for m in self.municipalities]
        if nis != sorted(set(nis)):
            raise ValueError("municipalities are sorted by NIS code and unique")
        if len({m.party_id for m in self.municipalities}) != len(self.municipalities):
            raise ValueError("a party id is listed twice")
        if self.scope != SCOPE_FULL:
            if not PARTY_ID_RE.fullmatch(self.scope):
                raise ValueError("a view's scope is a party id")
            if [m.party_id for m in self.municipalities] != [self.scope]:
                raise ValueError("a view holds exactly its own municipality")

    @property
    def is_view(self) -> bool:
        return self.scope != SCOPE_FULL

    def municipality(self, nis: str) -> MunicipalityEntry | None:
        for item in self.municipalities:
            if item.nis == nis:
                return item
        return None

    def by_party(self, party_id: str) -> MunicipalityEntry | None:
        for item in self.municipalities:
            if item.party_id == party_id:
                return item
        return None

    def view(self, party_id: str, *, view_id: str) -> Keyring:
        """The same version with the agency's keys and one municipality only."""
        entry = self.by_party(party_id)
        if entry is None:
            raise InternalError(_("a view for a municipality the keyring does not hold"))
        return replace(self, id=view_id, scope=party_id, municipalities=(entry,))

    @property
    def format_version(self) -> int:
        """The lowest keyring format that expresses this document (1 until a later
        feature is used: each such feature raises it here). A hybrid post-quantum
        subkey anywhere (the export key's, a recipient's) takes format 2, so an older
        client says "update securexchange" instead of refusing the subkey as malformed."""
        people = (self.agency.export, *(r for m in self.municipalities for r in m.recipients))
        if self.agency.dpo is not None or any(
            m.dpos or m.uses_protocol_terms for m in self.municipalities
        ):
            return FORMAT_DPO
        if any(s.post_quantum for person in people for s in person.subkeys):
            return FORMAT_POST_QUANTUM
        return 1

    def to_json(self) -> dict[str, object]:
        return {
            "format": f"{KEYRING_FORMAT_NAME}/{self.format_version}",
            "id": self.id,
            "version": self.version,
            "issued_at": format_instant(self.issued_at),
            "scope": self.scope,
            "demo": self.demo,
            "agency": self.agency.to_json(),
            "municipalities": [m.to_json() for m in self.municipalities],
        }

    def to_bytes(self) -> bytes:
        return strictjson.dumps(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> Keyring:
        """Parse (no signature check: use :func:`open_keyring` for untrusted bytes)."""
        return _parsed(bytes(data))

    @classmethod
    def _parse(cls, data: bytes) -> Keyring:
        refuse_newer(
            data,
            family=KEYRING_FORMAT_NAME,
            known=KEYRING_FORMAT_VERSION,
            what=_("the keyring"),
            max_bytes=MAX_KEYRING_BYTES,
        )
        value = strictjson.loads(data, what=_("the keyring"), max_bytes=MAX_KEYRING_BYTES)
        with strictjson.Fields(value, _("the keyring")) as f:
            declared = parse_format(f.text("format"))
            municipalities = tuple(
                MunicipalityEntry.from_json(item, i)
                for i, item in enumerate(f.array("municipalities"), 1)
            )
            fields = {
                "id": f.text("id"),
                "version": f.integer("version"),
                "issued_at": read_instant(f.text("issued_at"), _("the keyring")),
                "scope": f.text("scope"),
                "demo": f.boolean("demo"),
                "agency": AgencyKeys.from_json(f.object("agency")),
            }
        try:
            keyring = cls(municipalities=municipalities, **fields)  # type: ignore[arg-type]
        except ValueError:
            raise Malformed(_("the keyring is not valid")) from None
        if declared != keyring.format_version:
            # One encoding per content: a document states exactly the format it needs.
            raise Malformed(_("the keyring states another format than its content needs"))
        return keyring


# Every command reads the held keyring and the copy each held package embeds (most often
# the same bytes) more than once: parsing and verifying one costs milliseconds. Kept per
# process for the exact bytes (and, verified, the signature and root key); a refusal
# raises and is not kept. A Keyring is immutable.
_KEPT_KEYRINGS = 8


@functools.lru_cache(maxsize=_KEPT_KEYRINGS)
def _parsed(data: bytes) -> Keyring:
    return Keyring._parse(data)


def parse_format(text: str) -> int:
    """The format number of a keyring's ``format`` string.

    Malformed for anything that is not a keyring format; UpdateNeeded for a number this
    version does not read yet (a newer agency wrote it).
    """
    match = _FORMAT_RE.fullmatch(text)
    if match is None:
        raise Malformed(_("the keyring has an unknown format"))
    number = int(match.group(1))
    if number > KEYRING_FORMAT_VERSION:
        raise newer_format_error(
            what=_("the keyring"),
            family=KEYRING_FORMAT_NAME,
            number=number,
            known=KEYRING_FORMAT_VERSION,
        )
    return number


def sign_keyring(keyring: Keyring, root: Identity) -> tuple[bytes, str]:
    """The keyring's bytes and the root key's signature over them."""
    if root.signing_key != keyring.agency.root_key:
        raise InternalError(_("the keyring is signed by the root key it names"))
    data = keyring.to_bytes()
    return data, root.sign(data, sshsig.NAMESPACE_KEYRING)


def open_keyring(
    data: bytes, signature: str | bytes, pinned_root_key: bytes, *, min_version: int
) -> Keyring:
    """Verify and parse a keyring; see :func:`verify_keyring` for what is refused."""
    keyring = _verified(bytes(data), signature, pinned_root_key)
    if keyring.version < min_version:
        raise Rollback(
            _("the keyring is older than the one already accepted"),
            hint=_("a newer keyring was imported before; use the latest one from the agency"),
        )
    return keyring


@functools.lru_cache(maxsize=_KEPT_KEYRINGS)
def _verified(data: bytes, signature: str | bytes, pinned_root_key: bytes) -> Keyring:
    try:
        sshsig.verify(signature, data, sshsig.NAMESPACE_KEYRING, pinned_root_key)
    except (BadSignature, Malformed):
        raise BadSignature(
            _("the keyring is not signed by the agency's root key"),
            hint=_("get the keyring again from the agency; report a forged one (art. 6)"),
        ) from None
    keyring = Keyring.from_bytes(data)
    if keyring.agency.root_key != pinned_root_key:
        raise BadSignature(_("the keyring names another root key than the pinned one"))
    keyring.agency.verify()
    for entry in keyring.municipalities:
        for recipient in entry.recipients:
            recipient.verify_subkeys()
    return keyring


def verify_keyring(
    data: bytes, signature: str | bytes, pinned_root_key: bytes, *, min_version: int
) -> None:
    """Raise unless ``data`` is a keyring signed by ``pinned_root_key`` (BadSignature;
    a keyring signed by the export key or any other key is refused too), well formed
    (Malformed), with valid certifications (BadSignature), and of version at least
    ``min_version`` (Rollback)."""
    open_keyring(data, signature, pinned_root_key, min_version=min_version)


def version_in_force(issued: Sequence[tuple[int, datetime]], moment: datetime) -> int | None:
    """Of (version, issued_at) pairs, the version in force at ``moment``.

    The newest issued strictly before it: times are whole seconds and within one second
    the order is unknown, so an artifact gets the benefit of the doubt against a
    same-second change; only when none was issued before, the oldest of that same
    second (the artifact may predate every later change of that second).
    """
    before = [v for v, at in issued if at < moment]
    if before:
        return max(before)
    same = [v for v, at in issued if at == moment]
    return min(same) if same else None
