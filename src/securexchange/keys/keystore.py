"""A home's keys: which key files a home holds (``HOME/keys/``), where, and what the
``keys`` commands do with them (rotate, change the passphrase, export a card, an SSH
line or an age identity). The key-file format and its sealing are
:mod:`securexchange.keys.keyfile`.

Passphrases are bytes handed in by the caller (the CLI asks for them); they are never
logged, echoed or kept beyond the call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from securexchange import sshsig
from securexchange.errors import (
    InternalError,
    NotFound,
    SxError,
    UsageError,
)
from securexchange.home.atomicio import atomic_write
from securexchange.home.home import Home, HomeKind
from securexchange.home.log_entries import Action
from securexchange.i18n import N_, _
from securexchange.keys.card import Card, make_card, read_card
from securexchange.keys.identity import Identity
from securexchange.keys.keyfile import (
    WORK_FACTOR,
    WORK_FACTOR_ENV,
    read_key_file,
    sealed_work_factor,
    work_factor_for,
    write_key_file,
)
from securexchange.keys.passphrase_policy import check_new_passphrase

# File names inside HOME/keys/.
ROOT_KEY = "root.key"
EXPORT_KEY = "export.key"
DPO_KEY = "dpo.key"
DPO_CARD = "dpo.card.json"
IDENTITY_KEY = "identity.key"
ROOT_CARD = "root.card.json"
EXPORT_CARD = "export.card.json"
IDENTITY_CARD = "identity.card.json"
PINNED_AGENCY_CARD = "agency-root.card.json"


@dataclass(frozen=True)
class KeySource:
    """Where a private key is and how to get its passphrase, opened only when needed.

    ``passphrase`` is called when first needed, after every check that needs no key has
    passed, so a refused request never asks for a passphrase (the CLI's callable asks
    at most once). ``work_factor`` is for re-sealing: None keeps the factor the file was
    made with (chosen when the key was created: 18 in real homes).
    """

    path: Path
    passphrase: Callable[[], bytes]
    work_factor: int | None = None

    def unlock(self) -> Identity:
        return read_key_file(self.path, self.passphrase())

    def store(self, identity: Identity, passphrase: bytes | None = None) -> None:
        """Write ``identity`` back (with ``passphrase``, or the same one again)."""
        factor = self.work_factor
        if factor is None:
            try:
                factor = sealed_work_factor(self.path.read_bytes())
            except FileNotFoundError:
                factor = None
        write_key_file(
            self.path,
            identity,
            passphrase if passphrase is not None else self.passphrase(),
            work_factor=factor if factor is not None else WORK_FACTOR,
        )


# --- a home's keys (the ``keys`` commands) --------------------------------------------


class KeyUse(StrEnum):
    """Which of a home's keys: a municipal staff identity, or the agency's two keys."""

    IDENTITY = "identity"
    ROOT = "root"
    EXPORT = "export"
    DPO = "dpo"  # the agency's DPO key (issue 20), made by `agency dpo init`


_KEY_FILES = {
    KeyUse.IDENTITY: IDENTITY_KEY,
    KeyUse.ROOT: ROOT_KEY,
    KeyUse.EXPORT: EXPORT_KEY,
    KeyUse.DPO: DPO_KEY,
}
_CARD_FILES = {
    KeyUse.IDENTITY: IDENTITY_CARD,
    KeyUse.ROOT: ROOT_CARD,
    KeyUse.EXPORT: EXPORT_CARD,
    KeyUse.DPO: DPO_CARD,
}


def home_uses(home: Home) -> tuple[KeyUse, ...]:
    """The keys a home holds, the one whose fingerprint identifies the home first."""
    if home.info.kind is HomeKind.AGENCY:
        return (KeyUse.ROOT, KeyUse.EXPORT)
    return (KeyUse.IDENTITY,)


def main_use(home: Home) -> KeyUse:
    return home_uses(home)[0]


# The key a kind of home lacks, for each key it does not hold (see home_uses).
_NO_SUCH_KEY = {
    (HomeKind.AGENCY, KeyUse.IDENTITY): N_("a agency home has no identity key"),
    (HomeKind.MUNICIPALITY, KeyUse.ROOT): N_("a municipality home has no root key"),
    (HomeKind.MUNICIPALITY, KeyUse.EXPORT): N_("a municipality home has no export key"),
    (HomeKind.MUNICIPALITY, KeyUse.DPO): N_("a municipality home has no agency DPO key"),
}


def check_use(home: Home, use: KeyUse) -> None:
    # The agency's DPO key is optional (not every command of the home needs it), so it
    # is not among home_uses, which the keys commands walk.
    if use is KeyUse.DPO and home.info.kind is HomeKind.AGENCY:
        return
    if use not in home_uses(home):
        raise UsageError(_(_NO_SUCH_KEY[home.info.kind, use]))


def key_path(home: Home, use: KeyUse, explicit: Path | None = None) -> Path:
    """The private key file; ``explicit`` (``--root-key``) only for the root key."""
    check_use(home, use)
    if explicit is not None and use is KeyUse.ROOT:
        return explicit
    return home.paths.keys / _KEY_FILES[use]


def card_path(home: Home, use: KeyUse) -> Path:
    check_use(home, use)
    return home.paths.keys / _CARD_FILES[use]


def rewrite_work_factor(home: Home, env: Mapping[str, str]) -> int | None:
    """The work factor for re-sealing a home's key file: the environment's, if set
    (validated as for new keys), else None (keep the file's own)."""
    if not env.get(WORK_FACTOR_ENV):
        return None
    return work_factor_for(demo=home.demo, env=env)


def home_card(home: Home, use: KeyUse) -> Card:
    """The verified public card of one of this home's keys."""
    path = card_path(home, use)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(_("no key card at {path}").format(path=path)) from None
    return read_card(data)


def pinned_agency_card(home: Home) -> Card | None:
    """The agency root card a municipal home pinned at ``init`` (None elsewhere)."""
    path = home.paths.keys / PINNED_AGENCY_CARD
    if home.info.kind is not HomeKind.MUNICIPALITY or not path.exists():
        return None
    return read_card(path.read_bytes())


# What the user hears when a rotation added nothing but found the card stale.
CARD_REWRITTEN = N_(
    "your subkeys exist already, but your card did not list them all: it was written again"
)


@dataclass(frozen=True)
class Rotation:
    """What ``keys rotate`` did to a municipal identity."""

    added: int  # subkeys added
    card_rewritten: bool  # the card was written (always when subkeys were added)


def rotate_identity(home: Home, source: KeySource, *, horizon: int = 1) -> Rotation:
    """Add the subkeys of the current period and of ``horizon`` coming ones that are
    missing from a municipal identity, and rewrite its card. With none to add, the card
    is still rewritten if it lacks a live subkey.

    Subkeys split out into their own files (municipal homes) count by their public
    records in the key file: rotation adds only the periods that are missing, and the
    card keeps listing the current split-out subkey. ``keys rotate`` splits a new
    subkey out at once (:func:`securexchange.municipality.subkeys.rotate`)."""
    check_use(home, KeyUse.IDENTITY)
    identity = source.unlock()
    home.note_signer(identity.seed, identity.fingerprint.display)
    return rotate_unlocked(home, source, identity, horizon=horizon)[1]


def rotate_unlocked(
    home: Home,
    source: KeySource,
    identity: Identity,
    *,
    horizon: int,
    use: KeyUse = KeyUse.IDENTITY,
) -> tuple[Identity, Rotation]:
    """:func:`rotate_identity` with the identity unlocked already (one passphrase
    derivation less for a command that unlocks it anyway); returns it as stored.
    ``use`` names the key (and so its card): a staff identity, or the agency's export
    key, which tops up the same way (issue 19)."""
    rotated, added = identity.rotated(home.now, horizon=horizon)
    if added == 0:
        if not _card_lists_live_subkeys(home, rotated, use):
            # A rotation killed after the key file was replaced and before the card was
            # written: the card would otherwise lack the new subkeys for good (and an
            # agency keep this person classic-only while 'keys rotate' did nothing).
            atomic_write(card_path(home, use), make_card(rotated, now=home.now), mode=0o644)
            return identity, Rotation(0, card_rewritten=True)
        return identity, Rotation(0, card_rewritten=False)
    actor, counts = rotated.fingerprint.display, {"subkeys_added": added}
    # The key file's replacement cannot commit with the log: the entry waits as an
    # intent, logged by the next command if a kill comes between (EventLog.intend).
    home.log.intend(
        Action.KEY_ROTATE, now=home.now, witness=source.path, actor=actor, counts=counts
    )
    source.store(rotated)
    atomic_write(card_path(home, use), make_card(rotated, now=home.now), mode=0o644)
    home.record(Action.KEY_ROTATE, actor=actor, counts=counts)
    return rotated, Rotation(added, card_rewritten=True)


def _card_lists_live_subkeys(home: Home, identity: Identity, use: KeyUse) -> bool:
    """The home's card is this identity's and lists each of its live subkeys."""
    try:
        card = home_card(home, use)
    except (SxError, OSError):
        return False
    live = identity.public.with_live_subkeys(home.now)
    return (
        card.identity.signing_key == live.signing_key
        and card.identity.owner == live.owner
        and set(live.subkeys) <= set(card.identity.subkeys)
    )


def change_passphrase(
    home: Home,
    source: KeySource,
    new_passphrase: Callable[[], bytes],
    *,
    reseal_also: Callable[[bytes, bytes, int], None] | None = None,
) -> Identity:
    """Re-seal a key file under a new passphrase (same keys); the old one is checked
    before the new one is asked for.

    ``reseal_also(old, new, work_factor)`` re-seals the files sealed with the same
    passphrase first (a municipal home's subkey files: call
    :func:`securexchange.municipality.subkeys.change_passphrase`, which passes it)."""
    if home.demo:
        raise UsageError(_("keys in a demo home have no passphrase to change"))
    if home.info.kind is HomeKind.MUNICIPALITY and reseal_also is None:
        # Its subkey files would stay sealed under the old passphrase.
        raise InternalError(_("a municipal home changes its passphrase through its subkeys"))
    identity = source.unlock()
    home.note_signer(identity.seed, identity.fingerprint.display)
    new = new_passphrase()
    check_new_passphrase(new, (identity.owner.name, identity.owner.role))
    # The key file's replacement cannot commit with the log: the entry waits as an
    # intent, logged by the next command if a kill comes between (EventLog.intend).
    actor = identity.fingerprint.display
    home.log.intend(Action.KEY_PASSWD, now=home.now, witness=source.path, actor=actor)
    if reseal_also is not None:
        # First the other files, then the key file, so a kill between leaves a state the
        # same command (old passphrase) finishes.
        factor = source.work_factor
        if factor is None:
            factor = sealed_work_factor(source.path.read_bytes()) or WORK_FACTOR
        reseal_also(source.passphrase(), new, factor)
    source.store(identity, new)
    home.record(Action.KEY_PASSWD, actor=actor)
    return identity


def export_card(home: Home, use: KeyUse) -> bytes:
    """The card file of one of this home's keys, verified, as it should be sent."""
    card = home_card(home, use)
    data = card_path(home, use).read_bytes()
    home.record(Action.KEY_EXPORT, actor=card.fingerprint.display, counts={"cards": 1})
    return data


def export_ssh_line(home: Home, use: KeyUse) -> str:
    card = home_card(home, use)
    home.record(Action.KEY_EXPORT, actor=card.fingerprint.display, counts={"ssh_keys": 1})
    return sshsig.ssh_public_key_line(card.identity.signing_key, f"securexchange-{use.value}")


def export_age_identity(
    home: Home, source: KeySource, *, split_out: Callable[[], str | None] | None = None
) -> str:
    """The current subkey as an age identity: the hybrid post-quantum one
    (``AGE-SECRET-KEY-PQ-1...``) when the period has one, else the classic one.

    A secret: the caller prints it on stdout only, and warns that an exported copy is
    out of reach of shredding (it still opens every package made for that subkey).
    ``split_out`` finds a current subkey kept in its own file (a municipal home:
    :func:`securexchange.municipality.subkeys.export_age_identity` passes it).
    """
    identity = source.unlock()
    home.note_signer(identity.seed, identity.fingerprint.display)
    subkey = identity.secret_subkey_at(home.now)
    secret = subkey.identity if subkey is not None else split_out() if split_out else None
    if secret is None:
        raise NotFound(
            _("this key has no subkey valid now"),
            hint=_("run 'securexchange keys rotate' first"),
        )
    home.record(Action.KEY_EXPORT, actor=identity.fingerprint.display, counts={"age_identities": 1})
    return secret
