"""The agency's DPO key (issue 20): the key incident notices from municipalities are
encrypted to (protocol art. 9: the parties inform each other through their DPOs).

A third key of the agency home (``keys/dpo.key``, its own passphrase: the DPO's), made
by ``agency dpo init``. The root-signed keyring lists it (keyring format 3), and that
listing is its certification; it certifies its own subkeys, pre-issued for
:data:`AGENCY_HORIZON` periods as the export key's are. They reach the municipalities
only in a keyring, so ``agency dpo refresh`` (root key) tops them up and signs a new
version; ``agency incident list`` says when the last one ends.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from securexchange import strictjson
from securexchange.agency.registry import (
    AGENCY_KEYS_SETTING,
    agency_keys,
    new_version,
    unlock_root,
)
from securexchange.errors import AlreadyExists, NotAuthorised, NotFound
from securexchange.home import statedb
from securexchange.home.atomicio import atomic_write
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.i18n import _
from securexchange.keys.card import make_card
from securexchange.keys.identity import (
    AGENCY_HORIZON,
    ORGANISATION_AGENCY,
    ROLE_AGENCY_DPO,
    Identity,
    Owner,
    check_name,
    generate_identity,
)
from securexchange.keys.keyfile import write_key_file
from securexchange.keys.keystore import KeySource, KeyUse, card_path, key_path, rotate_unlocked
from securexchange.keys.passphrase_policy import check_new_passphrase


@dataclass(frozen=True)
class DpoKey:
    fingerprint: str
    subkeys_until: datetime | None
    keyring_version: int


def _publish(home: Home, root: KeySource, dpo: Identity, *, made: bool) -> int:
    root_identity = unlock_root(home, root)
    keys = replace(agency_keys(home), dpo=dpo.public)
    with statedb.transaction(home.db):
        statedb.set_setting(
            home.db, AGENCY_KEYS_SETTING, strictjson.dumps(keys.to_json()).decode("utf-8")
        )
        keyring_id, version = new_version(home, root_identity, keys)
        if made:
            home.record(Action.INIT, actor=dpo.fingerprint.display, counts={"keys": 1})
        home.record(
            Action.KEYRING_CHANGE,
            actor=root_identity.fingerprint.display,
            artifacts=[keyring_id],
            counts={"version": version},
        )
    return version


def _until(identity: Identity, now: datetime) -> datetime | None:
    live = identity.public.live_subkeys(now)
    return max((s.valid_until for s in live), default=None)


def init_dpo(
    home: Home, root: KeySource, *, name: str, passphrase: bytes, work_factor: int
) -> DpoKey:
    """Make the DPO key, its card, and a keyring version that lists it."""
    name = check_name(name)
    path = key_path(home, KeyUse.DPO)
    if path.exists():
        raise AlreadyExists(
            _("this agency home has a DPO key already"),
            hint=_("'agency dpo refresh' tops its subkeys up"),
        )
    if not home.demo:
        check_new_passphrase(passphrase, (name,))
    unlock_root(home, root)  # refuse another root key before anything is written
    dpo = generate_identity(
        Owner(name, ROLE_AGENCY_DPO, ORGANISATION_AGENCY),
        now=home.now,
        subkeys=True,
        demo=home.demo,
        horizon=AGENCY_HORIZON,
    )
    write_key_file(path, dpo, passphrase, work_factor=work_factor, exclusive=True)
    atomic_write(card_path(home, KeyUse.DPO), make_card(dpo, now=home.now), mode=0o644)
    version = _publish(home, root, dpo, made=True)
    return DpoKey(dpo.fingerprint.display, _until(dpo, home.now), version)


def unlock_dpo(home: Home, source: KeySource) -> Identity:
    """The DPO key, refused unless it is the one the keyring lists."""
    listed = agency_keys(home).dpo
    if listed is None:
        raise NotFound(_("this agency has no DPO key"), hint=_("make one with 'agency dpo init'"))
    identity = source.unlock()
    if identity.signing_key != listed.signing_key:
        raise NotAuthorised(_("the key file is not the DPO key the keyring lists"))
    return identity


def refresh_dpo(home: Home, root: KeySource, dpo: KeySource) -> DpoKey:
    """Top the DPO key's subkeys up and sign a keyring version that lists them."""
    identity = unlock_dpo(home, dpo)
    stored, _rotation = rotate_unlocked(home, dpo, identity, horizon=AGENCY_HORIZON, use=KeyUse.DPO)
    version = _publish(home, root, stored, made=False)
    return DpoKey(stored.fingerprint.display, _until(stored, home.now), version)
