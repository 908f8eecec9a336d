"""A municipal home's keys and trust: ``municipality init`` and keyring import.

``init`` pins the agency's root key from the card the agency handed out (its
fingerprint is shown so staff can check it with the agency by phone), creates the staff
member's identity and writes the card they send to the agency. From then on the only
keyring this home accepts is one signed by that root key, for this municipality, and
never older than the one it holds (:class:`Rollback`); the same version with other
content is equivocation.

Tables and settings::

    settings            municipality_nis, agency_root_key (ssh-ed25519 line),
                        keyring_version, keyring_sha256
    municipal_keyrings  version -> id, sha256, document, signature, imported_at
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from securexchange import sshsig
from securexchange.artifacts.keyring import Keyring, open_keyring
from securexchange.artifacts.package_open import OpenedPackage
from securexchange.clock import format_instant
from securexchange.errors import (
    AlreadyExists,
    Equivocation,
    InternalError,
    NotAuthorised,
    NotFound,
    UsageError,
    WrongMunicipality,
)
from securexchange.fingerprint import Fingerprint
from securexchange.home import statedb
from securexchange.home.atomicio import atomic_write
from securexchange.home.home import Home, HomeKind, create_home, open_home
from securexchange.home.log_entries import Action
from securexchange.i18n import _
from securexchange.keys.card import Card, make_card, read_card, verify_card_fingerprint
from securexchange.keys.identity import (
    DEFAULT_HORIZON,
    MAX_HORIZON,
    ORGANISATION_AGENCY,
    ROLE_ROOT,
    Owner,
    check_name,
    check_nis,
    generate_identity,
    normalise_role,
)
from securexchange.keys.keyfile import write_key_file
from securexchange.keys.keystore import IDENTITY_CARD, IDENTITY_KEY, PINNED_AGENCY_CARD, KeySource
from securexchange.keys.passphrase_policy import check_new_passphrase
from securexchange.municipality import vouched
from securexchange.municipality.horizon import HORIZON_SETTING
from securexchange.municipality.subkey_certs import IDENTITY_SETTING


def read_agency_card(data: bytes) -> Card:
    """A verified card of an agency root key; NotAuthorised for any other card."""
    card = read_card(data)
    if card.owner.organisation != ORGANISATION_AGENCY or card.owner.role != ROLE_ROOT:
        raise NotAuthorised(
            _("the card is not the agency's root key card"),
            hint=_("ask the agency for the card written by 'keys export --card' in its home"),
        )
    return card


@dataclass(frozen=True)
class MunicipalInit:
    fingerprint: Fingerprint
    agency_fingerprint: Fingerprint
    card: Path


def init_municipality(
    root_dir: Path,
    *,
    env: Mapping[str, str],
    nis: str,
    name: str,
    role: str,
    agency_card: bytes,
    passphrase: Callable[[], bytes],
    demo: bool,
    work_factor: int,
    agency_fingerprint: str | None = None,
    horizon: int = DEFAULT_HORIZON,
) -> MunicipalInit:
    """Create a municipal home: pin the agency root key, make the identity (the current
    period's subkeys and ``horizon`` pre-issued coming ones) and card.

    ``passphrase`` is asked for only after the agency card and the fingerprint passed.
    """
    if not 1 <= horizon <= MAX_HORIZON:
        raise UsageError(_("the horizon is 1 to 8 quarters"))
    nis = check_nis(nis)
    owner = Owner(check_name(name), normalise_role(role), nis)
    pinned = read_agency_card(agency_card)
    if agency_fingerprint is not None:
        verify_card_fingerprint(pinned, agency_fingerprint)
    if pinned.demo and not demo:
        raise NotAuthorised(
            _("the agency key card was made in a demo home"),
            hint=_("a real home pins only a real agency's root key"),
        )
    if (root_dir / "home.json").exists():
        raise AlreadyExists(
            _("{folder} already holds a securexchange home").format(folder=root_dir)
        )
    secret = passphrase()
    if not demo:
        check_new_passphrase(secret, (owner.name, owner.role, nis))
    create_home(root_dir, HomeKind.MUNICIPALITY, demo=demo, env=env)
    with open_home(root_dir, env=env, expect=HomeKind.MUNICIPALITY) as home:
        identity = generate_identity(owner, now=home.now, demo=demo, horizon=horizon)
        write_key_file(
            home.paths.keys / IDENTITY_KEY,
            identity,
            secret,
            work_factor=work_factor,
            exclusive=True,
        )
        card_path = home.paths.keys / IDENTITY_CARD
        atomic_write(card_path, make_card(identity, now=home.now), mode=0o644)
        atomic_write(home.paths.keys / PINNED_AGENCY_CARD, agency_card, mode=0o644)
        with statedb.transaction(home.db):
            statedb.set_setting(home.db, "municipality_nis", nis)
            statedb.set_setting(home.db, HORIZON_SETTING, str(horizon))
            # The enrolment card takes these subkeys to the agency (no return needed).
            vouched.mark_sent(home, identity.public.subkeys)
            statedb.set_setting(home.db, IDENTITY_SETTING, identity.fingerprint.display)
            statedb.set_setting(
                home.db, "agency_root_key", sshsig.ssh_public_key_line(pinned.identity.signing_key)
            )
            home.record(Action.INIT, actor=identity.fingerprint.display, counts={"keys": 1})
        home.note_signer(identity.seed, identity.fingerprint.display)
        # Split the subkeys out at once, as 'keys rotate' does: a subkey left inside
        # identity.key until the first import could never be destroyed without the
        # passphrase, and packages mailed for it would stay decryptable.
        from securexchange.municipality import subkeys

        subkeys.split_out(
            home,
            KeySource(home.paths.keys / IDENTITY_KEY, lambda: secret, work_factor=work_factor),
        )
        return MunicipalInit(identity.fingerprint, pinned.fingerprint, card_path)


def pinned_root_key(home: Home) -> bytes:
    line = statedb.get_setting(home.db, "agency_root_key")
    if line is None:
        raise NotFound(_("this home has no pinned agency key"), hint=_("run 'municipality init'"))
    return sshsig.parse_ssh_public_key_line(line)


def home_nis(home: Home) -> str:
    nis = statedb.get_setting(home.db, "municipality_nis")
    if nis is None:
        raise NotFound(_("this home has no municipality"), hint=_("run 'municipality init'"))
    return nis


def held_keyring_version(home: Home) -> int:
    value = statedb.get_setting(home.db, "keyring_version")
    return 0 if value is None else int(value)


@dataclass(frozen=True)
class KeyringImport:
    keyring: Keyring
    changed: bool


def import_keyring(home: Home, data: bytes, signature: str | bytes) -> KeyringImport:
    """Verify and keep a keyring view for this municipality.

    Refuses: a signature not by the pinned root key (BadSignature), a version below the
    one held (Rollback), the held version with other content (Equivocation), a keyring
    that is not this municipality's view (WrongMunicipality). The same file again is
    harmless (``changed`` is False).
    """
    held = held_keyring_version(home)
    keyring = open_keyring(data, signature, pinned_root_key(home), min_version=held)
    return _keep(home, keyring, data, signature)


def import_package_keyring(home: Home, opened: OpenedPackage) -> KeyringImport:
    """Keep the keyring view a package carries, as :func:`import_keyring` keeps a file.

    :func:`open_package` verified it against this home's pinned root key (the importer's
    ``PackageTrust``) and refused a version below the one held, so it is not verified a
    second time here; every other refusal of :func:`import_keyring` applies."""
    if opened.keyring.version < held_keyring_version(home):  # open_package refused it
        raise InternalError(_("a package's keyring older than the held one reached the vault"))
    # open_keyring refuses a keyring naming another root than the key it verified with:
    # naming this home's pinned root is naming the key it was verified with.
    if opened.keyring.agency.root_key != pinned_root_key(home):
        raise InternalError(_("a package verified against another root key reached the vault"))
    return _keep(home, opened.keyring, opened.keyring_data, opened.keyring_signature)


def _keep(home: Home, keyring: Keyring, data: bytes, signature: str | bytes) -> KeyringImport:
    held = held_keyring_version(home)
    nis = home_nis(home)
    if not keyring.is_view or keyring.municipalities[0].nis != nis:
        raise WrongMunicipality(_("the keyring is not addressed to this municipality"))
    digest = hashlib.sha256(data).hexdigest()
    if keyring.version == held:
        if statedb.get_setting(home.db, "keyring_sha256") == digest:
            return KeyringImport(keyring, changed=False)
        raise Equivocation(
            _("a keyring of the same version with other content was accepted before")
        )
    # The alarm (issue 19): a view naming a subkey for this person that this home
    # never made is refused before it is kept.
    vouched.refuse_foreign_in_keyring(home, keyring)
    sig_text = signature if isinstance(signature, str) else signature.decode("ascii")
    with statedb.transaction(home.db):
        home.db.execute(
            "INSERT INTO municipal_keyrings (version, id, sha256, document, signature, "
            "imported_at) VALUES (?, ?, ?, ?, ?, ?)",
            (keyring.version, keyring.id, digest, data, sig_text, format_instant(home.now)),
        )
        statedb.set_setting(home.db, "keyring_version", str(keyring.version))
        statedb.set_setting(home.db, "keyring_sha256", digest)
        home.record(
            Action.KEYRING_IMPORT,
            artifacts=[keyring.id],
            counts={
                "version": keyring.version,
                "recipients": len(keyring.municipalities[0].recipients),
            },
        )
    return KeyringImport(keyring, changed=True)


def held_keyring(home: Home) -> Keyring | None:
    """The newest accepted keyring view (already verified at import), if any."""
    row = home.db.execute(
        "SELECT document FROM municipal_keyrings ORDER BY version DESC LIMIT 1"
    ).fetchone()
    return None if row is None else Keyring.from_bytes(bytes(row[0]))
