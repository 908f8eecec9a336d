"""The agency's export key, unlocked for a command: checked, and topped up (issue 19).

The export key signs packages and notices, and its subkeys receive the municipalities'
returns. Like a staff member's home, every command that unlocks it makes sure the
current period and :data:`AGENCY_HORIZON` coming ones have subkeys, each fresh random
key material certified by the export key. The root key is not needed: the packages
carry the new public halves to the municipalities (``PackageBody.agency_subkeys``), and
the root key vouches for the export key that certified them (the keyring).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from securexchange.agency.registry import agency_keys
from securexchange.artifacts.package import DEFAULT_IMPORT_DAYS
from securexchange.clock import format_instant, read_instant
from securexchange.errors import Malformed, NotAuthorised
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.i18n import ngettext
from securexchange.keys.identity import AGENCY_HORIZON, Identity
from securexchange.keys.keystore import KeySource, KeyUse, rotate_unlocked

# When the last subkey the export key holds ends (for the reminders, which run without
# the key): written by every command that unlocks it.
KEYS_UNTIL_SETTING = "export_subkeys_until"
# As a municipal home's subkeys (municipality/subkeys.py): a period's end plus the
# import deadline of a package, or the time a return, made on its last day has.
DESTROY_GRACE = timedelta(days=DEFAULT_IMPORT_DAYS)


def unlock_export(home: Home, export: KeySource) -> Identity:
    """Unlock the export key, refuse another key (NotAuthorised), top it up; returns it
    as stored."""
    identity = export.unlock()
    if identity.signing_key != agency_keys(home).export.signing_key:
        raise NotAuthorised(f"the key file {export.path.name} is not this agency's export key")
    home.note_signer(identity.seed, identity.fingerprint.display)
    identity = _destroy_expired(home, export, identity)
    stored, rotation = rotate_unlocked(
        home, export, identity, horizon=AGENCY_HORIZON, use=KeyUse.EXPORT
    )
    if rotation.added:
        home.tell(
            ngettext(
                "added {n} subkey for returns to the export key; the next packages carry it "
                "to the municipalities",
                "added {n} subkeys for returns to the export key; the next packages carry "
                "them to the municipalities",
                rotation.added,
            ).format(n=rotation.added)
        )
    live = stored.public.live_subkeys(home.now)
    if live:
        until = format_instant(max(s.valid_until for s in live))
        if statedb.get_setting(home.db, KEYS_UNTIL_SETTING) != until:
            with statedb.transaction(home.db):
                statedb.set_setting(home.db, KEYS_UNTIL_SETTING, until)
    return stored


def _destroy_expired(home: Home, export: KeySource, identity: Identity) -> Identity:
    """Destroy the subkeys whose period ended more than :data:`DESTROY_GRACE` ago (the
    time a return made on a period's last day has to arrive): copies of older returns
    become unreadable, and the key never reaches its subkey cap. The key file is
    replaced atomically; the entry waits as an intent until it is (EventLog.intend)."""
    gone = [
        s.public.recipient
        for s in identity.subkeys
        if s.public.valid_until + DESTROY_GRACE <= home.now
    ]
    if not gone:
        return identity
    kept = identity.without_subkeys(gone)
    counts = {"subkeys": len(gone)}
    actor = identity.fingerprint.display
    home.log.intend(
        Action.SUBKEY_DESTROY, now=home.now, witness=export.path, actor=actor, counts=counts
    )
    export.store(kept)
    home.record(Action.SUBKEY_DESTROY, actor=actor, counts=counts)
    return kept


def export_keys_until(home: Home) -> datetime | None:
    """When the export key's last subkey ends, as the last command that unlocked it saw."""
    raw = statedb.get_setting(home.db, KEYS_UNTIL_SETTING)
    if raw is None:
        return None
    try:
        return read_instant(raw, KEYS_UNTIL_SETTING)
    except Malformed:
        return None  # an edited setting: the keyring's word stands
