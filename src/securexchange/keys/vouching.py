"""Who vouches for a subkey after enrolment (issue 19): its holder's signing key.

The root-signed keyring authorises identities; the subkeys a person adds later (each
home pre-issues its coming periods and tops them up) never pass the root key again.
Each is certified by its holder's signing key (:meth:`Subkey.verify`) and travels in a
document that key or the export key signs: the person's returns, the agency's packages.
A reader accepts such a subkey only for an identity the root-signed keyring it holds
lists, and only when that identity's signing key certified it.

*One subkey per identity and slot*: a slot is one kind (hybrid post-quantum or classic)
over a span of time. Two different subkeys of one kind whose validities overlap, for one
identity, are equivocation: a home never makes them (``Identity.rotated`` only adds
periods that have no subkey), so a second one was made by someone else who holds, or
held, the signing key (or by a forger who got past a signature check), and whoever
encrypts to it may be encrypting to them.

Pure: no I/O; time passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from securexchange.clock import utc
from securexchange.errors import BadSignature, Equivocation, Malformed
from securexchange.i18n import N_, _
from securexchange.keys.identity import MAX_HORIZON, MAX_SUBKEYS, PublicIdentity, Subkey, period_end

# What the refusal says to do (protocol art. 6: an unauthorised access is reported).
REPORT_HINT = N_(
    "report this within 48 hours (protocol art. 6): a municipality with 'municipality "
    "incident open', the agency with 'agency incident open'"
)


def same_slot(a: Subkey, b: Subkey) -> bool:
    """Whether ``a`` and ``b`` claim one slot: the same kind, overlapping validity."""
    return (
        a.post_quantum == b.post_quantum
        and a.valid_from < b.valid_until
        and b.valid_from < a.valid_until
    )


def conflict(known: Iterable[Subkey], subkey: Subkey) -> Subkey | None:
    """A subkey of ``known`` that is another key for ``subkey``'s slot, if any."""
    for item in known:
        if item.recipient != subkey.recipient and same_slot(item, subkey):
            return item
    return None


def refuse_equivocation(known: Iterable[Subkey], subkeys: Iterable[Subkey]) -> None:
    """Raise Equivocation if two of ``known`` and ``subkeys`` together share a slot."""
    seen = list(known)
    for subkey in subkeys:
        if conflict(seen, subkey) is not None:
            raise Equivocation(
                _("two different keys for packages claim the same person and period"),
                hint=_(REPORT_HINT),
            )
        seen.append(subkey)


def within_one_period(subkey: Subkey) -> bool:
    """A subkey as homes make them: it ends where the quarter it starts in ends (a
    longer one would outlive every destruction and claim the person's later slots)."""
    return subkey.valid_until == period_end(subkey.valid_from)


def latest_start(now: datetime, horizon: int = MAX_HORIZON) -> datetime:
    """The latest start a pre-issued subkey can have at ``now``: the start of the
    ``horizon``-th quarter after the current one."""
    start = period_end(now)
    for _period in range(horizon - 1):
        start = period_end(start)
    return start


def vouch(
    identity: PublicIdentity, subkeys: Iterable[Subkey], *, now: datetime | None = None
) -> tuple[Subkey, ...]:
    """The subkeys of ``subkeys`` that ``identity`` does not list yet, each one period
    long (Malformed otherwise), starting no later than :func:`latest_start` of ``now``
    when given (Malformed), certified by its signing key (BadSignature) and none
    another key for a slot of the identity's or of each other (Equivocation).
    Duplicates count once."""
    known = {s.recipient for s in identity.subkeys}
    new: dict[str, Subkey] = {}
    for subkey in subkeys:
        if subkey.recipient in known or subkey.recipient in new:
            continue
        if not within_one_period(subkey) or (
            now is not None and subkey.valid_from > latest_start(now)
        ):
            raise Malformed(
                _("a key for packages is not valid for one coming quarter"),
                hint=_(REPORT_HINT),
            )
        try:
            subkey.verify(identity.signing_key)
        except BadSignature:
            raise BadSignature(
                _("a key for packages is not certified by the person it is listed for"),
                hint=_(REPORT_HINT),
            ) from None
        new[subkey.recipient] = subkey
    refuse_equivocation(identity.subkeys, new.values())
    return tuple(new.values())


def with_vouched(
    identity: PublicIdentity, subkeys: Iterable[Subkey], now: datetime
) -> PublicIdentity:
    """``identity`` with the vouched ``subkeys`` added (see :func:`vouch`), keeping the
    subkeys whose validity has not ended at ``now`` (a live identity never holds more
    than MAX_SUBKEYS; an expired one is no use to anyone encrypting now)."""
    added = vouch(identity, subkeys, now=now)
    moment = utc(now)
    live = [s for s in (*identity.subkeys, *added) if s.valid_until > moment]
    live.sort(key=lambda s: (s.valid_from, s.valid_until, s.recipient))
    return replace(identity, subkeys=tuple(live[-MAX_SUBKEYS:]))
