"""Subkeys that travel without the root key, seen from a municipal home (issue 19).

Three things:

- **The agency's return subkeys.** Each package names the export key's live subkeys the
  keyring version it carries does not list, each certified by the export key
  (``PackageBody.agency_subkeys``, verified by ``open_package``). The latest are kept in
  a setting and verified again before a return is encrypted to one of them.
- **This person's subkeys the agency has not seen.** A home pre-issues and tops up its
  subkeys by itself; every return carries the live ones the held keyring does not list,
  and when nothing else is pending, ``municipality return`` still makes a return if one
  of them was never sent, so one command brings an idle person back.
- **The alarm.** A keyring view or a package that names a live subkey for this person
  that this home never made means someone else holds, or forged, a key the agency
  encrypts to for them: the import is refused (SX-EQUIVOCATION) and the hint says to
  report it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime

from securexchange import strictjson
from securexchange.artifacts.keyring import Keyring
from securexchange.artifacts.package import PackageRecipient
from securexchange.errors import Equivocation, Malformed, SxError
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.i18n import _
from securexchange.keys.card import read_card, subkey_from_json, subkey_to_json
from securexchange.keys.identity import Identity, PublicIdentity, Subkey
from securexchange.keys.keystore import IDENTITY_CARD
from securexchange.keys.vouching import REPORT_HINT, with_vouched

AGENCY_SUBKEYS_SETTING = "agency_subkeys"
SENT_SETTING = "subkeys_sent"


def keep_agency_subkeys(home: Home, subkeys: Sequence[Subkey]) -> None:
    """Keep the agency subkeys of the package just imported (verified by open_package);
    inside the caller's transaction."""
    text = strictjson.dumps([subkey_to_json(s) for s in subkeys]).decode("utf-8")
    statedb.set_setting(home.db, AGENCY_SUBKEYS_SETTING, text)


def _agency_subkeys(home: Home) -> list[Subkey]:
    raw = statedb.get_setting(home.db, AGENCY_SUBKEYS_SETTING)
    if raw is None:
        return []
    what = _("the agency's keys for returns kept in this home")
    items = strictjson.loads(raw.encode("utf-8"), what=what, max_bytes=1 << 20)
    if not isinstance(items, list):
        raise Malformed(_("{what} is not a list").format(what=what))
    return [subkey_from_json(item, what) for item in items]


def agency_export(home: Home, keyring: Keyring, now: datetime) -> PublicIdentity:
    """The agency's export identity as the held keyring lists it, with the return
    subkeys the latest package carried, each verified again against the export key the
    keyring certifies (an edited setting is refused, never used)."""
    return with_vouched(keyring.agency.export, _agency_subkeys(home), now)


def unsent(home: Home, identity: Identity, keyring: Keyring) -> tuple[Subkey, ...]:
    """This person's live subkeys the held keyring does not list (what a return
    carries)."""
    entry = keyring.municipalities[0]
    person = entry.recipient(identity.fingerprint)
    listed = {s.recipient for s in person.subkeys} if person is not None else set()
    return tuple(s for s in identity.public.live_subkeys(home.now) if s.recipient not in listed)


def _digest(subkey: Subkey) -> str:
    # A hybrid recipient is ~2 KB: the setting keeps a short digest of each.
    return hashlib.sha256(subkey.recipient.encode("ascii")).hexdigest()[:32]


def never_sent(home: Home, subkeys: Iterable[Subkey]) -> bool:
    """Whether one of ``subkeys`` reached the agency neither on the enrolment card nor
    in the last return."""
    raw = statedb.get_setting(home.db, SENT_SETTING) or ""
    sent = set(raw.split())
    return any(_digest(s) not in sent for s in subkeys)


def mark_sent(home: Home, subkeys: Iterable[Subkey]) -> None:
    """Remember the subkeys a return or the enrolment card carried: every return carries
    all of them (inside the caller's transaction)."""
    statedb.set_setting(home.db, SENT_SETTING, " ".join(sorted({_digest(s) for s in subkeys})))


def own_identity(home: Home) -> PublicIdentity | None:
    """This person's public identity, from the home's card (None without one)."""
    try:
        data = (home.paths.keys / IDENTITY_CARD).read_bytes()
        return read_card(data, recipients_checked=True).identity
    except (OSError, SxError):
        return None  # no card (yet): the commands that need one say so


def own_fingerprint(home: Home, card: PublicIdentity | None = None) -> str | None:
    """This person's fingerprint (display form): as kept at init and every unlock, else
    from the card (``card``: :func:`own_identity` read already). None when neither says,
    or when the two disagree (one was edited)."""
    from securexchange.municipality.subkey_certs import IDENTITY_SETTING

    card = card or own_identity(home)
    kept = statedb.get_setting(home.db, IDENTITY_SETTING)
    if kept is None:
        return None if card is None else card.fingerprint.display
    if card is not None and card.fingerprint.display != kept:
        return None
    return kept


def _made_here(home: Home, card: PublicIdentity | None) -> frozenset[str]:
    """Every subkey this home made: those split out into files (destroyed ones too)
    and those its card lists (made, not split out yet)."""
    rows = home.db.execute("SELECT recipient FROM vault_subkeys").fetchall()
    made = {str(r[0]) for r in rows}
    if card is not None:
        made |= {s.recipient for s in card.subkeys}
    return frozenset(made)


def refuse_foreign_in_package(
    home: Home, keyring: Keyring, recipients: Sequence[PackageRecipient]
) -> None:
    """The alarm for a package, before anything is kept: its keyring view, or a subkey
    it names with a certification, for this person (see :func:`_refuse_foreign`)."""
    card = own_identity(home)
    ours = own_fingerprint(home, card)
    if ours is None:
        return  # whom this home serves cannot be told: shredding destroys its subkeys
    named = [item.certified for item in recipients if item.fingerprint == ours]
    _refuse_foreign(home, card, [s for s in named if s is not None], None)
    _refuse_foreign_in_view(home, card, ours, keyring)


def refuse_foreign_in_keyring(home: Home, keyring: Keyring) -> None:
    """The alarm for a keyring view, before it is kept: see :func:`_refuse_foreign`."""
    card = own_identity(home)
    ours = own_fingerprint(home, card)
    if ours is not None:
        _refuse_foreign_in_view(home, card, ours, keyring)


def _refuse_foreign_in_view(
    home: Home, card: PublicIdentity | None, ours: str, keyring: Keyring
) -> None:
    entry = keyring.municipalities[0] if keyring.municipalities else None
    me = (
        next((p for p in entry.recipients if p.fingerprint.display == ours), None)
        if entry
        else None
    )
    if me is not None:
        _refuse_foreign(home, card, me.subkeys, home.now)


def _refuse_foreign(
    home: Home, card: PublicIdentity | None, subkeys: Iterable[Subkey], now: datetime | None
) -> None:
    """Raise Equivocation if one of ``subkeys`` (named for this person by the agency's
    files) is not one this home made: every one (a package's, whatever its validity: a
    stolen key's short-lived subkey must not pass as "destroyed"), or with ``now``, the
    ones still live then (a keyring view's, which may list long-expired ones)."""
    live = [s for s in subkeys if now is None or s.valid_until > now]
    if not live:
        return
    made = _made_here(home, card)
    if any(s.recipient not in made for s in live):
        raise Equivocation(
            _("the agency's files name a key for packages for you that this home never made"),
            hint=_(REPORT_HINT),
        )
