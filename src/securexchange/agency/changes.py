"""Every change to the registry signs a new keyring version with the root key: the
agency created, a municipality registered, a recipient added or removed, the export key
rotated."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from securexchange import age, strictjson
from securexchange.agency.registry import (
    AGENCY_KEYS_SETTING,
    DEFAULT_RETENTION_MONTHS,
    FUTURE_TOLERANCE,
    LATEST_PROTOCOL_END,
    MAX_RETENTION_MONTHS,
    MUNICIPALITY_COLUMNS,
    RecipientChange,
    agency_keys,
    cards_of,
    export_key_path,
    municipality_entry,
    new_party_id,
    new_protocol_id,
    new_version,
    normalise_profiles,
    root_key_path,
    sign_change,
    unlock_root,
)
from securexchange.artifacts.agency_keys import AgencyKeys, certify_export_key
from securexchange.artifacts.keyring import MunicipalityEntry
from securexchange.clock import format_instant
from securexchange.errors import (
    AlreadyExists,
    Future,
    NotAuthorised,
    NotFound,
    ProtocolInactive,
    Rollback,
    UsageError,
    WrongMunicipality,
)
from securexchange.fingerprint import Fingerprint, parse_display
from securexchange.home import statedb
from securexchange.home.atomicio import atomic_write
from securexchange.home.home import Home, HomeKind, create_home, open_home
from securexchange.home.log_entries import Action
from securexchange.keys.card import Card, make_card, read_card, verify_card_fingerprint
from securexchange.keys.identity import (
    AGENCY_HORIZON,
    ORGANISATION_AGENCY,
    ROLE_EXPORT,
    ROLE_ROOT,
    Owner,
    check_name,
    check_nis,
    generate_identity,
)
from securexchange.keys.keyfile import write_key_file
from securexchange.keys.keystore import EXPORT_CARD, ROOT_CARD, KeySource
from securexchange.keys.passphrase_policy import check_new_passphrase


@dataclass(frozen=True)
class AgencyInit:
    root_fingerprint: Fingerprint
    root_key: Path
    root_card: Path
    keyring_version: int


def init_agency(
    root_dir: Path,
    *,
    env: Mapping[str, str],
    name: str,
    demo: bool,
    root_passphrase: bytes,
    export_passphrase: bytes,
    work_factor: int,
    root_key: Path | None = None,
) -> AgencyInit:
    """Create an agency home: root and export keys, their cards, keyring version 1."""
    name = check_name(name)
    if root_key is not None and root_key.exists():
        raise AlreadyExists(f"a file exists already at {root_key}")
    if not demo:
        # Both before the home exists, so a refused passphrase leaves nothing behind.
        check_new_passphrase(root_passphrase, (name,))
        check_new_passphrase(export_passphrase, (name,))
    create_home(root_dir, HomeKind.AGENCY, demo=demo, env=env)
    with open_home(root_dir, env=env, expect=HomeKind.AGENCY) as home:
        now = home.now
        root = generate_identity(
            Owner(name, ROLE_ROOT, ORGANISATION_AGENCY), now=now, subkeys=False, demo=demo
        )
        # The return key is pre-issued for the longest horizon (AGENCY_HORIZON, issue 19).
        export = generate_identity(
            Owner(name, ROLE_EXPORT, ORGANISATION_AGENCY),
            now=now,
            subkeys=True,
            demo=demo,
            horizon=AGENCY_HORIZON,
        )
        keys = AgencyKeys(
            name=name,
            root_key=root.signing_key,
            export=export.public,
            export_certification=certify_export_key(root, export.signing_key, now),
            export_certified_from=now,
        )
        root_path = root_key_path(home, root_key)
        write_key_file(root_path, root, root_passphrase, work_factor=work_factor, exclusive=True)
        write_key_file(
            export_key_path(home),
            export,
            export_passphrase,
            work_factor=work_factor,
            exclusive=True,
        )
        root_card = home.paths.keys / ROOT_CARD
        atomic_write(root_card, make_card(root, now=now), mode=0o644)
        atomic_write(home.paths.keys / EXPORT_CARD, make_card(export, now=now), mode=0o644)
        with statedb.transaction(home.db):
            statedb.set_setting(
                home.db, AGENCY_KEYS_SETTING, strictjson.dumps(keys.to_json()).decode("utf-8")
            )
            keyring_id, version = new_version(home, root, keys)
            home.record(Action.INIT, actor=root.fingerprint.display, counts={"keys": 2})
            home.record(
                Action.KEYRING_CHANGE,
                actor=root.fingerprint.display,
                artifacts=[keyring_id],
                counts={"version": version, "municipalities": 0, "recipients": 0},
            )
        # The log is sealed with the export key; the root key signs keyrings only.
        home.note_signer(export.seed, export.fingerprint.display)
        return AgencyInit(root.fingerprint, root_path, root_card, version)


def add_municipality(
    home: Home,
    root: KeySource,
    *,
    nis: str,
    name: str,
    protocol_until: date,
    protocol_from: date | None = None,
    retention_months: int = DEFAULT_RETENTION_MONTHS,
    profiles: Sequence[str] | None = None,
) -> tuple[MunicipalityEntry, int]:
    """Register a municipality with an agreement; returns it and the keyring version."""
    nis = check_nis(nis)
    name = check_name(name)
    start = protocol_from if protocol_from is not None else home.now.date()
    if protocol_until < start:
        raise UsageError("the protocol ends before it starts")
    if protocol_until < home.now.date():
        raise UsageError("the protocol has ended already")
    if protocol_until > LATEST_PROTOCOL_END:
        # Every verifier computes "the day after the last": the calendar must have one.
        raise UsageError(f"a protocol ends by {LATEST_PROTOCOL_END.isoformat()} at the latest")
    if not 1 <= retention_months <= MAX_RETENTION_MONTHS:
        raise UsageError(f"retention months must be between 1 and {MAX_RETENTION_MONTHS}")
    exists = home.db.execute("SELECT 1 FROM agency_municipalities WHERE nis = ?", (nis,)).fetchone()
    if exists is not None:
        raise AlreadyExists("a municipality with that NIS code is registered already")
    entry = MunicipalityEntry(
        nis=nis,
        name=name,
        party_id=new_party_id(),
        protocol_id=new_protocol_id(),
        protocol_from=start,
        protocol_until=protocol_until,
        retention_months=retention_months,
        profiles=normalise_profiles(profiles),
    )
    identity = unlock_root(home, root)
    with statedb.transaction(home.db):
        home.db.execute(
            f"INSERT INTO agency_municipalities ({MUNICIPALITY_COLUMNS}, added_at) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.party_id,
                entry.nis,
                entry.name,
                entry.protocol_id,
                entry.protocol_from.isoformat(),
                entry.protocol_until.isoformat(),
                entry.retention_months,
                json.dumps(list(entry.profiles)),
                None,
                format_instant(home.now),
            ),
        )
        version = sign_change(home, identity, municipalities_added=1)
    return entry, version


def _check_card_for(home: Home, card: Card, entry: MunicipalityEntry) -> None:
    """The card may be authorised for ``entry``: its organisation, a demo card only in a
    demo home, not dated ahead, an active protocol, one of the allowed profiles."""
    if card.owner.organisation != entry.nis:
        raise WrongMunicipality("the key card belongs to another organisation than that NIS code")
    if card.demo and not home.demo:
        raise NotAuthorised("the key card was made in a demo home")
    if card.created_at > home.now + FUTURE_TOLERANCE:
        raise Future("the key card is dated more than a day after this home's clock")
    if not entry.active_on(home.now.date()):
        raise ProtocolInactive(
            "the municipality has no active data-sharing protocol",
            hint="check --protocol-from/--protocol-until with 'agency municipality list'",
        )
    if not entry.allows_role(card.owner.role):
        raise NotAuthorised(
            "the key card's role is not among the municipality's function profiles",
            hint="the municipality lists the function profiles that need access (art. 4)",
        )


def add_recipient(
    home: Home, root: KeySource, *, nis: str, fingerprint: str, card_data: bytes
) -> tuple[Card, RecipientChange, int | None]:
    """Authorise the person on ``card_data`` for the municipality ``nis``.

    Refuses, in this order: a malformed card (Malformed), a bad self-signature or subkey
    certification (BadSignature), a fingerprint that is not the card's
    (FingerprintMismatch), an unknown municipality (NotFound), a card of another
    organisation (WrongMunicipality), a demo card in a real home (NotAuthorised), a card
    dated more than a day ahead (Future), a municipality without an active protocol
    (ProtocolInactive), a role outside the municipality's profiles (NotAuthorised), and
    an older card of a known person (Rollback). A newer card of
    a known person (after a rotation) updates their subkeys. Returns the card, what
    changed and the new keyring version (None when nothing changed).
    """
    card = read_card(card_data)
    verify_card_fingerprint(card, parse_display(fingerprint))
    entry = municipality_entry(home, check_nis(nis))
    _check_card_for(home, card, entry)
    key = card.fingerprint.digest.hex()
    row = home.db.execute(
        "SELECT card, card_created_at FROM agency_recipients WHERE party_id = ? "
        "AND fingerprint = ?",
        (entry.party_id, key),
    ).fetchone()
    if row is not None:
        if bytes(row[0]) == card_data:
            return card, RecipientChange.UNCHANGED, None
        if format_instant(card.created_at) < str(row[1]):
            raise Rollback(
                "the key card is older than the one registered for that person",
                hint="ask for the card written after the last 'keys rotate'",
            )
        if read_card(bytes(row[0]), recipients_checked=True).identity == card.identity:
            # The same keys in other bytes (whitespace, a re-signed copy): nothing to
            # publish, and no new keyring version for anyone to fetch.
            return card, RecipientChange.UNCHANGED, None
    else:
        (held,) = home.db.execute(
            "SELECT COUNT(*) FROM agency_recipients WHERE party_id = ?", (entry.party_id,)
        ).fetchone()
        if held >= age.MAX_RECIPIENTS:
            raise UsageError(
                f"{entry.nis} has {held} authorised recipients already, as many as one "
                "package can be encrypted to",
                hint="remove someone who no longer needs access first ('agency recipient remove')",
            )
    identity = unlock_root(home, root)
    now_text = format_instant(home.now)
    with statedb.transaction(home.db):
        if row is None:
            home.db.execute(
                "INSERT INTO agency_recipients (party_id, fingerprint, card, card_created_at, "
                "added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    entry.party_id,
                    key,
                    card_data,
                    format_instant(card.created_at),
                    now_text,
                    now_text,
                ),
            )
            change = RecipientChange.ADDED
        else:
            home.db.execute(
                "UPDATE agency_recipients SET card = ?, card_created_at = ?, updated_at = ? "
                "WHERE party_id = ? AND fingerprint = ?",
                (card_data, format_instant(card.created_at), now_text, entry.party_id, key),
            )
            change = RecipientChange.UPDATED
        counts = (
            {"recipients_added": 1}
            if change is RecipientChange.ADDED
            else {"recipients_updated": 1}
        )
        version = sign_change(home, identity, **counts)
    return card, change, version


def remove_recipient(home: Home, root: KeySource, *, nis: str, fingerprint: str) -> int:
    """Withdraw a person's access; effective from the next package. Returns the version."""
    wanted = parse_display(fingerprint)
    entry = municipality_entry(home, check_nis(nis))
    found = None
    for card in cards_of(home, entry.party_id):
        if card.fingerprint.matches(wanted):
            found = card
    if found is None:
        raise NotFound("no recipient with that fingerprint for that municipality")
    identity = unlock_root(home, root)
    with statedb.transaction(home.db):
        home.db.execute(
            "DELETE FROM agency_recipients WHERE party_id = ? AND fingerprint = ?",
            (entry.party_id, found.fingerprint.digest.hex()),
        )
        return sign_change(home, identity, recipients_removed=1)


def rotate_export_key(home: Home, export: KeySource, root: KeySource) -> tuple[int, int | None]:
    """Add the export key's subkeys missing up to the pre-issue horizon (at least the
    next period) and publish them in a new keyring version.

    Returns (subkeys added, new version or None when nothing was added).
    """
    keys = agency_keys(home)
    identity = export.unlock()
    if identity.signing_key != keys.export.signing_key:
        raise NotAuthorised(f"the key file {export.path.name} is not this agency's export key")
    home.note_signer(identity.seed, identity.fingerprint.display)
    rotated, added = identity.rotated(home.now, horizon=AGENCY_HORIZON)
    if added == 0 and rotated.public == keys.export:
        return 0, None
    # added == 0 with a key file ahead of the keyring: a rotation killed after the key
    # file was replaced; finish it (new keyring version, log entries) now.
    root_identity = unlock_root(home, root)
    new_keys = replace(keys, export=rotated.public)
    rotation = {"subkeys_added": added}
    if added:
        # The key file is replaced before the keyring commits: the entry waits as an
        # intent, logged by the next command if a kill comes between (EventLog.intend).
        home.log.intend(
            Action.KEY_ROTATE,
            now=home.now,
            witness=export.path,
            actor=rotated.fingerprint.display,
            counts=rotation,
        )
        export.store(rotated)
    atomic_write(home.paths.keys / EXPORT_CARD, make_card(rotated, now=home.now), mode=0o644)
    with statedb.transaction(home.db):
        statedb.set_setting(
            home.db, AGENCY_KEYS_SETTING, strictjson.dumps(new_keys.to_json()).decode("utf-8")
        )
        keyring_id, version = new_version(home, root_identity, new_keys)
        if added:
            home.record(Action.KEY_ROTATE, actor=rotated.fingerprint.display, counts=rotation)
        home.record(
            Action.KEYRING_CHANGE,
            actor=root_identity.fingerprint.display,
            artifacts=[keyring_id],
            counts={"version": version},
        )
    return added, version
