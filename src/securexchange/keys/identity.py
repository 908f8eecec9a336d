"""Identities: a long-term Ed25519 signing key and short-lived encryption subkeys.

Every person (and each of the agency's two keys) has one *signing key* (Ed25519, the
fingerprint is computed from it) and zero or more *subkeys* (age identities). Each
subkey is valid for one period (by default one calendar quarter, UTC) and is
*certified* by the signing key: an SSHSIG signature in the card namespace over a short
text that names the signer's fingerprint, the subkey's age recipient and its validity.
The agency encrypts to the subkey valid at export time; a municipal client destroys a
subkey once its validity has ended and no live data needs it, which makes every copy of
old packages undecryptable.

**Post-quantum transition** (issue 18, docs/architecture.md): each new period gets two
subkeys with the same validity, both certified: a hybrid post-quantum one
(``mlkem768x25519``, ``age1pq1...``) and a classic X25519 *companion* (``age1...``).
age never mixes the two kinds in one file and a hybrid recipient cannot read a classic
stanza, so a file for several people is hybrid only when all of them hold a hybrid
subkey, and classic otherwise; the companion keeps a hybrid holder able to read the
classic files of a municipality whose staff are not all hybrid yet. Identities made
before hold classic subkeys only and keep working; their next period is a pair.
:attr:`Subkey.post_quantum` tells the kinds apart (from the age registry), and
:meth:`PublicIdentity.subkey_at` picks one kind or prefers the hybrid one.

Rotation adds the *next* subkey ahead of time, so the card a person sends to the agency
lists the current subkey and the next one, and packages made across the quarter
boundary can be read.

A municipal client moves each subkey's *secret* into a file of its own (so shredding can
destroy it without the passphrase); the identity keeps the subkey's public record
(recipient, validity, certification) in ``split_subkeys``, so rotation and the card
still see it.

This module is pure: no files, no prompts, time passed in. Secrets (the signing seed and
the subkeys' age identities) are never part of a ``repr``, an exception or a log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from securexchange import sshsig
from securexchange.clock import format_instant, utc
from securexchange.errors import BadSignature, InternalError, Malformed, UsageError
from securexchange.fingerprint import Fingerprint
from securexchange.i18n import _
from securexchange.ids import is_nis_code

ORGANISATION_AGENCY = "agency"
ROLE_ROOT = "agency-root"
ROLE_EXPORT = "agency-export"
# The data protection officers (issue 20): incident notices are encrypted to them, and
# packages never are. A municipality's DPO is enrolled like its staff with this role;
# the agency's DPO key is a third key of the agency home, listed in the keyring.
ROLE_DPO = "dpo"
ROLE_AGENCY_DPO = "agency-dpo"
PERIOD_MONTHS = 3  # one subkey per calendar quarter
MAX_NAME = 200
MAX_ROLE = 64
# Two subkeys per period since the post-quantum transition (a hybrid one and its classic
# companion): 32 keeps the 16 periods one kind per period allowed.
MAX_SUBKEYS = 32
# Pre-issued periods after the current one (issue 19): a home holds subkeys for the
# current quarter and DEFAULT_HORIZON coming ones, so the agency can encrypt to a person
# for that long without any action by them. At most MAX_HORIZON: (1 + 8) periods x 2
# subkeys = 18 live, within MAX_SUBKEYS with room for the expiring ones.
DEFAULT_HORIZON = 2
MAX_HORIZON = 8
# The agency's export key pre-issues its return subkeys for the longest horizon: a
# municipal home learns them only from packages, and one whose person was idle for
# months (no package, since the agency could no longer encrypt to them) must still hold
# a valid one for the return that brings them back (docs/architecture.md, issue 19).
AGENCY_HORIZON = MAX_HORIZON

_CERT_TAG = "securexchange-subkey-certification/1"


# --- metadata ---------------------------------------------------------------------------


def _printable(value: str, limit: int) -> bool:
    return 0 < len(value) <= limit and value.isprintable() and value == value.strip()


def normalise_role(value: str) -> str:
    """A role (function profile) as stored: trimmed, lower case, no commas.

    Raises UsageError (the value is never echoed).
    """
    role = " ".join(value.split()).lower()
    if not _printable(role, MAX_ROLE) or "," in role:
        raise UsageError(_("a role is 1-64 printable characters without commas"))
    return role


def check_name(value: str) -> str:
    """A person's or organisation's display name, trimmed. Raises UsageError."""
    name = " ".join(value.split())
    if not _printable(name, MAX_NAME):
        raise UsageError(_("a name is 1-200 printable characters"))
    return name


def check_nis(nis: str) -> str:
    """A NIS code of a current Flemish or Brussels municipality; UsageError otherwise."""
    from securexchange import municipalities

    code = nis.strip()
    if not municipalities.is_known(code):
        raise UsageError(
            _("the NIS code is not that of a current Flemish or Brussels municipality"),
            hint=_("NIS codes have 5 digits; the 2025 mergers changed some of them"),
        )
    return code


def is_organisation(value: str) -> bool:
    return value == ORGANISATION_AGENCY or is_nis_code(value)


@dataclass(frozen=True)
class Owner:
    """Who a key belongs to: a name, a role (function profile) and an organisation.

    ``organisation`` is ``"agency"`` or a municipality's 5-digit NIS code.
    """

    name: str
    role: str
    organisation: str

    def __post_init__(self) -> None:
        if not _printable(self.name, MAX_NAME):
            raise ValueError("an owner's name is 1-200 printable characters")
        if (
            not _printable(self.role, MAX_ROLE)
            or "," in self.role
            or self.role != self.role.lower()
        ):
            raise ValueError("a role is 1-64 printable lower-case characters without commas")
        if not is_organisation(self.organisation):
            raise ValueError("an organisation is 'agency' or a NIS code")

    @property
    def is_agency(self) -> bool:
        return self.organisation == ORGANISATION_AGENCY


# --- periods ----------------------------------------------------------------------------


def period_start(moment: datetime) -> datetime:
    """The first instant (UTC) of the calendar quarter holding ``moment``."""
    moment = utc(moment)
    month = ((moment.month - 1) // PERIOD_MONTHS) * PERIOD_MONTHS + 1
    return datetime(moment.year, month, 1, tzinfo=UTC)


def period_end(moment: datetime) -> datetime:
    """The first instant (UTC) of the quarter after the one holding ``moment``."""
    start = period_start(moment)
    month = start.month + PERIOD_MONTHS
    year = start.year + (month - 1) // 12
    return datetime(year, (month - 1) % 12 + 1, 1, tzinfo=UTC)


# --- subkeys ----------------------------------------------------------------------------


def certification_message(
    signing_key: bytes, recipient: str, valid_from: datetime, valid_until: datetime
) -> bytes:
    """The exact bytes a signing key signs (card namespace) to certify a subkey."""
    fingerprint = Fingerprint.of_public_key(signing_key)
    return (
        f"{_CERT_TAG}\n"
        f"signer {fingerprint.digest.hex()}\n"
        f"recipient {recipient}\n"
        f"valid-from {format_instant(valid_from)}\n"
        f"valid-until {format_instant(valid_until)}\n"
    ).encode("ascii")


@dataclass(frozen=True)
class Subkey:
    """The public part of an encryption subkey and its certification."""

    recipient: str  # "age1pq1..." (hybrid post-quantum) or "age1..." (classic)
    valid_from: datetime
    valid_until: datetime  # exclusive
    certification: str  # armored SSHSIG by the owner's signing key, card namespace

    def __post_init__(self) -> None:
        from securexchange import age

        # The shape only (a keyring lists thousands of subkeys, and parsing a hybrid
        # recipient costs milliseconds); encrypting to it parses it in full.
        if not age.has_recipient_shape(self.recipient):
            raise ValueError("a subkey recipient is an age public-key recipient")
        if self.valid_from.tzinfo is None or self.valid_until.tzinfo is None:
            raise ValueError("subkey validity is in aware UTC time")
        if self.valid_from >= self.valid_until:
            raise ValueError("a subkey's validity must not be empty")
        if not self.certification:
            raise ValueError("a subkey needs its certification")

    @property
    def post_quantum(self) -> bool:
        """A hybrid post-quantum subkey (else a classic one), as age's registry says."""
        from securexchange import age

        return age.is_post_quantum_recipient(self.recipient)

    def valid_at(self, moment: datetime) -> bool:
        return self.valid_from <= utc(moment) < self.valid_until

    def verify(self, signing_key: bytes) -> None:
        """Raise BadSignature unless ``signing_key`` certified this subkey."""
        message = certification_message(
            signing_key, self.recipient, self.valid_from, self.valid_until
        )
        try:
            sshsig.verify(self.certification, message, sshsig.NAMESPACE_CARD, signing_key)
        except (BadSignature, Malformed):
            raise BadSignature(_("a subkey's certification does not verify")) from None


@dataclass(frozen=True)
class SecretSubkey:
    """A subkey with its private age identity (``AGE-SECRET-KEY-1...``)."""

    identity: str = field(repr=False)
    public: Subkey

    def __post_init__(self) -> None:
        from securexchange import age

        if not age.is_identity_string_prefix(self.identity):
            raise ValueError("a secret subkey is an age public-key identity")


# --- identities -------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicIdentity:
    """What others know of an identity: owner, signing key, certified subkeys."""

    owner: Owner
    signing_key: bytes
    subkeys: tuple[Subkey, ...]

    def __post_init__(self) -> None:
        if len(self.signing_key) != sshsig.PUBLIC_KEY_SIZE:
            raise ValueError("a signing key is 32 bytes")
        if len(self.subkeys) > MAX_SUBKEYS:
            raise ValueError("too many subkeys")
        if len({s.recipient for s in self.subkeys}) != len(self.subkeys):
            raise ValueError("a subkey is listed twice")

    @property
    def fingerprint(self) -> Fingerprint:
        return Fingerprint.of_public_key(self.signing_key)

    def verify_subkeys(self) -> None:
        """Raise BadSignature unless every subkey is certified by the signing key."""
        for subkey in self.subkeys:
            subkey.verify(self.signing_key)

    def subkey_at(self, moment: datetime, *, post_quantum: bool | None = None) -> Subkey | None:
        """The subkey valid at ``moment``: the latest-starting one if several are, and of
        those the hybrid one. ``post_quantum`` True or False takes only that kind."""
        valid = [
            s
            for s in self.subkeys
            if s.valid_at(moment) and (post_quantum is None or s.post_quantum == post_quantum)
        ]
        return max(valid, key=_preference) if valid else None

    def live_subkeys(self, now: datetime) -> tuple[Subkey, ...]:
        """Subkeys whose validity has not ended (current and future), oldest first."""
        return tuple(
            sorted((s for s in self.subkeys if s.valid_until > utc(now)), key=_subkey_order)
        )

    def with_live_subkeys(self, now: datetime) -> PublicIdentity:
        return replace(self, subkeys=self.live_subkeys(now))


def _subkey_order(subkey: Subkey) -> tuple[datetime, datetime, str]:
    return (subkey.valid_from, subkey.valid_until, subkey.recipient)


def _preference(subkey: Subkey) -> tuple[datetime, bool, str]:
    """Which of the subkeys valid at one moment is picked: the latest-starting, then the
    hybrid one (the recipient string breaks any tie that is left)."""
    return (subkey.valid_from, subkey.post_quantum, subkey.recipient)


@dataclass(frozen=True)
class Identity:
    """A private identity: the signing seed, the secret subkeys and the owner."""

    owner: Owner
    seed: bytes = field(repr=False)
    created_at: datetime
    subkeys: tuple[SecretSubkey, ...] = ()
    demo: bool = False
    # Subkeys whose secret was moved into its own file (a municipal home): public only.
    split_subkeys: tuple[Subkey, ...] = ()

    def __post_init__(self) -> None:
        if len(self.seed) != sshsig.SEED_SIZE:
            raise ValueError("a signing seed is 32 bytes")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at is aware UTC time")
        recipients = [s.public.recipient for s in self.subkeys]
        recipients += [s.recipient for s in self.split_subkeys]
        if len(recipients) > MAX_SUBKEYS:
            raise ValueError("too many subkeys")
        if len(set(recipients)) != len(recipients):
            raise ValueError("a subkey is listed twice")

    @property
    def signing_key(self) -> bytes:
        return sshsig.public_key_from_seed(self.seed)

    @property
    def fingerprint(self) -> Fingerprint:
        return Fingerprint.of_public_key(self.signing_key)

    @property
    def public(self) -> PublicIdentity:
        return PublicIdentity(
            owner=self.owner,
            signing_key=self.signing_key,
            subkeys=tuple(
                sorted((*(s.public for s in self.subkeys), *self.split_subkeys), key=_subkey_order)
            ),
        )

    def sign(self, message: bytes, namespace: str) -> str:
        """An armored SSHSIG signature of ``message`` in ``namespace``."""
        return sshsig.sign(self.seed, message, namespace)

    def secret_subkey_at(
        self, moment: datetime, *, post_quantum: bool | None = None
    ) -> SecretSubkey | None:
        """As :meth:`PublicIdentity.subkey_at`, among the subkeys whose secret is here."""
        valid = [
            s
            for s in self.subkeys
            if s.public.valid_at(moment)
            and (post_quantum is None or s.public.post_quantum == post_quantum)
        ]
        return max(valid, key=lambda s: _preference(s.public)) if valid else None

    def add_period(self, valid_from: datetime, valid_until: datetime) -> Identity:
        """A copy with a new period: a hybrid post-quantum subkey and its classic
        companion, both for ``[valid_from, valid_until)`` and certified."""
        return self.add_subkey(valid_from, valid_until, post_quantum=True).add_subkey(
            valid_from, valid_until, post_quantum=False
        )

    def add_subkey(
        self, valid_from: datetime, valid_until: datetime, *, post_quantum: bool
    ) -> Identity:
        """A copy with one new subkey for ``[valid_from, valid_until)``, certified: a
        hybrid post-quantum one or a classic one (new periods take both: add_period)."""
        from securexchange import age

        secret: age.SecretIdentity = (
            age.MLKEM768X25519Identity.generate() if post_quantum else age.X25519Identity.generate()
        )
        recipient = secret.recipient.to_string()
        valid_from, valid_until = utc(valid_from), utc(valid_until)
        certification = self.sign(
            certification_message(self.signing_key, recipient, valid_from, valid_until),
            sshsig.NAMESPACE_CARD,
        )
        subkey = SecretSubkey(
            identity=secret.to_string(),
            public=Subkey(recipient, valid_from, valid_until, certification),
        )
        return replace(self, subkeys=(*self.subkeys, subkey))

    def rotated(self, now: datetime, *, horizon: int = 1) -> tuple[Identity, int]:
        """Make sure the current period and ``horizon`` coming ones exist; returns the
        copy and how many subkeys were added (0 when all exist already).

        Split-out subkeys count: their secrets are held elsewhere, their public records
        are here. The current period runs from ``now`` to the end of the quarter; each
        coming one is the next calendar quarter. A missing period gets a hybrid subkey
        and its classic companion (:meth:`add_period`), each fresh random key material
        (nothing that outlives a period can derive another's). A period with a classic
        subkey only (an identity made before the post-quantum transition) gets a hybrid
        subkey with the same validity, the classic one becoming its companion: one
        ``keys rotate`` makes an old identity post-quantum.
        """
        if not 0 <= horizon <= MAX_HORIZON:
            raise InternalError(_("a subkey horizon outside 0 to 8 periods"))
        now = utc(now)
        result = self
        added = 0
        current = result.public.subkey_at(now)
        if current is None:
            result = result.add_period(now, period_end(now))
            added += 2
            current = result.public.subkey_at(now)
            if current is None:  # pragma: no cover - add_subkey just made it
                raise InternalError(_("no current subkey after adding one"))
        result, more = result._with_hybrid(current)
        added += more
        boundary = current.valid_until
        for _period in range(horizon):
            following = [s for s in result.public.subkeys if s.valid_from >= boundary]
            if not following:
                result = result.add_period(boundary, period_end(boundary))
                added += 2
                boundary = period_end(boundary)
                continue
            nxt = min(following, key=_subkey_order)
            result, more = result._with_hybrid(nxt)
            added += more
            boundary = nxt.valid_until
        return result, added

    def _with_hybrid(self, period: Subkey) -> tuple[Identity, int]:
        """A hybrid subkey for ``period``'s validity unless a subkey valid over it is
        hybrid already; returns the copy and how many were added (0 or 1)."""
        if any(
            s.post_quantum
            and s.valid_from <= period.valid_from
            and s.valid_until >= period.valid_until
            for s in self.public.subkeys
        ):
            return self, 0
        return self.add_subkey(period.valid_from, period.valid_until, post_quantum=True), 1

    def without_subkeys(self, recipients: Iterable[str]) -> Identity:
        """A copy without the given subkeys, secret and public record (destruction
        happens when it is stored)."""
        gone = set(recipients)
        return replace(
            self,
            subkeys=tuple(s for s in self.subkeys if s.public.recipient not in gone),
            split_subkeys=tuple(s for s in self.split_subkeys if s.recipient not in gone),
        )

    def split(self, recipients: Iterable[str]) -> Identity:
        """A copy in which the given subkeys keep only their public record (their
        secrets were moved elsewhere; they leave the key file when it is stored)."""
        moved = set(recipients)
        return replace(
            self,
            subkeys=tuple(s for s in self.subkeys if s.public.recipient not in moved),
            split_subkeys=tuple(
                sorted(
                    (
                        *self.split_subkeys,
                        *(s.public for s in self.subkeys if s.public.recipient in moved),
                    ),
                    key=_subkey_order,
                )
            ),
        )

    def without_expired_split(self, now: datetime) -> Identity:
        """A copy without the public records of split-out subkeys whose validity has
        ended (their secrets are destroyed, or soon will be; no card lists them)."""
        return replace(
            self,
            split_subkeys=tuple(s for s in self.split_subkeys if s.valid_until > utc(now)),
        )


def generate_identity(
    owner: Owner,
    *,
    now: datetime,
    subkeys: bool = True,
    demo: bool = False,
    horizon: int = 0,
) -> Identity:
    """A fresh identity; with ``subkeys``, the current period (a hybrid subkey and its
    classic companion, valid from now to the quarter's end) and ``horizon`` pre-issued
    coming ones (0: the current period only; homes pass their horizon)."""
    identity = Identity(
        owner=owner, seed=sshsig.generate_signing_seed(), created_at=utc(now), demo=demo
    )
    if subkeys:
        identity = identity.add_period(utc(now), period_end(now))
        if horizon:
            identity, _added = identity.rotated(now, horizon=horizon)
    return identity
