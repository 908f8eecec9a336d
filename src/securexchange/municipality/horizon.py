"""Pre-issued subkeys: how many coming periods a municipal home holds ahead (issue 19).

A home holds subkeys for the current calendar quarter and for H coming ones (its
*horizon*, default 2, at most 8, chosen at ``municipality init``), so the agency can
encrypt to the person for that long without any action by them. Every command that
unlocks the person's key tops the subkeys up to the horizon, and never beyond the end of
the protocol this home holds a keyring for: subkeys for quarters no package can be made
in would only be key material to destroy. Each new subkey is fresh random key material
(``Identity.add_period``), destroyed at its period's end plus the import grace
(``subkeys.DESTROY_GRACE``) like every other.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from securexchange.artifacts.keyring import Keyring
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.i18n import _, ngettext
from securexchange.keys.identity import MAX_HORIZON, Identity, period_end
from securexchange.keys.keystore import CARD_REWRITTEN, KeySource

HORIZON_SETTING = "subkey_horizon"


def home_horizon(home: Home) -> int:
    """The horizon chosen at ``municipality init`` (homes made before issue 19: 1,
    the current and the next period, as 'keys rotate' kept them)."""
    value = statedb.get_setting(home.db, HORIZON_SETTING)
    if value is None or not value.isdigit() or not 1 <= int(value) <= MAX_HORIZON:
        return 1
    return int(value)


def periods_before(end: date, now: datetime) -> int:
    """How many quarters after the current one start before ``end`` (a protocol's
    last day): the most periods worth pre-issuing."""
    last = datetime(end.year, end.month, end.day, tzinfo=UTC)
    count, boundary = 0, period_end(now)
    while boundary <= last and count < MAX_HORIZON:
        count += 1
        boundary = period_end(boundary)
    return count


def access_ended(home: Home, keyring: Keyring | None, fingerprint: str) -> bool:
    """Whether the person with ``fingerprint`` may no longer receive anything under the
    newest verified view ``keyring``: removed from it, or its protocol over (past its
    last day, or terminated by the view or a verified notice, from the effective day).
    Such a home destroys every subkey at its next command and makes no new one (issue 19,
    "Removal and end")."""
    if keyring is None or not keyring.municipalities:
        return False
    entry = keyring.municipalities[0]
    if not any(p.fingerprint.display == fingerprint for p in entry.recipients):
        return True
    today = home.now.date()
    days = [entry.terminated_on] if entry.terminated_on is not None else []
    # A verified termination notice's day, as vault.terminated keeps it (read here
    # directly: the vault's module imports the subkeys', which imports this one).
    row = home.db.execute(
        "SELECT effective FROM vault_protocols WHERE protocol_id = ?", (entry.protocol_id,)
    ).fetchone()
    if row is not None:
        try:
            days.append(date.fromisoformat(str(row[0])))
        except ValueError:
            return True  # an edited day: the termination takes effect at once
    return today > entry.protocol_until or any(today >= day for day in days)


def effective_horizon(home: Home, keyring: Keyring | None) -> int:
    """The home's horizon, cut at the end of the protocol of ``keyring`` (the newest
    verified view: the one held, or one being imported; None before the first)."""
    horizon = home_horizon(home)
    if keyring is not None and keyring.municipalities:
        horizon = min(horizon, periods_before(keyring.municipalities[0].protocol_until, home.now))
    return horizon


def top_up(home: Home, source: KeySource, identity: Identity, keyring: Keyring | None) -> Identity:
    """Add the subkeys missing within the horizon to the unlocked ``identity`` (stored,
    card rewritten, logged) and tell the user: the next return takes them to the agency
    (municipality/vouched.py); returns the identity as stored."""
    from securexchange.keys.keystore import rotate_unlocked

    if access_ended(home, keyring, identity.fingerprint.display):
        return identity  # nothing is made for a person who may no longer receive
    horizon = effective_horizon(home, keyring)
    stored, rotation = rotate_unlocked(home, source, identity, horizon=horizon)
    if rotation.added:
        home.tell(
            ngettext(
                "added {n} subkey for the coming periods; your next return takes it to the agency",
                "added {n} subkeys for the coming periods; your next return takes them to "
                "the agency",
                rotation.added,
            ).format(n=rotation.added)
        )
    elif rotation.card_rewritten:
        home.tell(_(CARD_REWRITTEN))
    return stored
