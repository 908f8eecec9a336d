"""The agency's registry: municipalities, authorised people, and the signed keyring.

Protocol art. 4 and 6: the agency keeps, per municipality, the list of who has access,
limited to named people whose function profile needs it. Here that list is the keyring:
every change (a municipality added, a person added, updated after a key rotation, or
removed, the export key rotated) is one new keyring version, signed by the root key,
stored with a signed view per municipality, in one transaction.

Tables (SQLite, the home's state database)::

    agency_municipalities  party_id, nis, name, protocol_id, protocol period,
                           retention_months, profiles (JSON list), terminated_on
    agency_recipients      (party_id, fingerprint hex) -> the verified card file
    agency_keyrings        (version, scope) -> id, issued_at, document, signature

The root key is opened through a :class:`KeySource` only after every check that needs
no key has passed, so a refused request never asks for the root passphrase.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path

from securexchange import strictjson
from securexchange.artifacts.allowed_signers import allowed_signers
from securexchange.artifacts.keyring import (
    SCOPE_FULL,
    AgencyKeys,
    Keyring,
    MunicipalityEntry,
    certify_export_key,
    sign_keyring,
)
from securexchange.clock import format_instant
from securexchange.errors import (
    AlreadyExists,
    Future,
    InternalError,
    NotAuthorised,
    NotFound,
    ProtocolInactive,
    Rollback,
    UsageError,
    WrongMunicipality,
)
from securexchange.fingerprint import Fingerprint, parse_display
from securexchange.home import statedb
from securexchange.home.atomicio import atomic_write, output_dir
from securexchange.home.home import Home, HomeKind, create_home, open_home
from securexchange.home.log_entries import Action
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.keys.card import Card, make_card, read_card, verify_card_fingerprint
from securexchange.keys.identity import (
    ORGANISATION_AGENCY,
    ROLE_EXPORT,
    ROLE_ROOT,
    Identity,
    Owner,
    check_name,
    check_nis,
    generate_identity,
    normalise_role,
)
from securexchange.keys.keyfile import write_key_file
from securexchange.keys.keystore import EXPORT_CARD, EXPORT_KEY, ROOT_CARD, ROOT_KEY, KeySource
from securexchange.keys.passphrase_policy import check_new_passphrase

DEFAULT_RETENTION_MONTHS = 6
FUTURE_TOLERANCE = timedelta(days=1)
LATEST_PROTOCOL_END = date(9000, 12, 31)
MAX_RETENTION_MONTHS = 24

SCHEMA = """
CREATE TABLE IF NOT EXISTS agency_municipalities (
    party_id         TEXT PRIMARY KEY,
    nis              TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    protocol_id      TEXT NOT NULL UNIQUE,
    protocol_from    TEXT NOT NULL,
    protocol_until   TEXT NOT NULL,
    retention_months INTEGER NOT NULL,
    profiles         TEXT NOT NULL,
    terminated_on    TEXT,
    added_at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agency_recipients (
    party_id         TEXT NOT NULL REFERENCES agency_municipalities(party_id),
    fingerprint      TEXT NOT NULL,
    card             BLOB NOT NULL,
    card_created_at  TEXT NOT NULL,
    added_at         TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (party_id, fingerprint)
);
CREATE TABLE IF NOT EXISTS agency_keyrings (
    version    INTEGER NOT NULL,
    scope      TEXT NOT NULL,
    id         TEXT NOT NULL UNIQUE,
    issued_at  TEXT NOT NULL,
    document   BLOB NOT NULL,
    signature  TEXT NOT NULL,
    PRIMARY KEY (version, scope)
);
"""

_AGENCY_KEYS_SETTING = "agency_keys"


def _new_id(prefix: str) -> str:
    chars = base64.b32encode(secrets.token_bytes(20)).decode("ascii")[:26].lower()
    return f"{prefix}-{chars}"


def new_party_id() -> str:
    """A stable, random party id for a municipality (survives a change of NIS code)."""
    return _new_id("party")


def new_protocol_id() -> str:
    return _new_id("protocol")


def ensure_schema(home: Home) -> None:
    statedb.ensure_schema(home.db, SCHEMA)


# --- the agency's keys --------------------------------------------------------------


def root_key_path(home: Home, explicit: Path | None = None) -> Path:
    """The root key file: ``--root-key FILE`` (e.g. on removable media) or keys/root.key."""
    return explicit if explicit is not None else home.paths.keys / ROOT_KEY


def export_key_path(home: Home) -> Path:
    return home.paths.keys / EXPORT_KEY


def agency_keys(home: Home) -> AgencyKeys:
    raw = statedb.get_setting(home.db, _AGENCY_KEYS_SETTING)
    if raw is None:
        raise NotFound("this agency home has no keys", hint="create it with 'agency init'")
    return AgencyKeys.from_json(strictjson.loads(raw.encode("utf-8"), what="the agency keys"))


def _unlock_root(home: Home, root: KeySource) -> Identity:
    identity = root.unlock()
    if identity.signing_key != agency_keys(home).root_key:
        raise NotAuthorised(
            f"the key file {root.path.name} is not this agency's root key",
            hint="give the root key file with --root-key FILE",
        )
    return identity


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
        ensure_schema(home)
        now = home.now
        root = generate_identity(
            Owner(name, ROLE_ROOT, ORGANISATION_AGENCY), now=now, subkeys=False, demo=demo
        )
        export = generate_identity(
            Owner(name, ROLE_EXPORT, ORGANISATION_AGENCY), now=now, subkeys=True, demo=demo
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
                home.db, _AGENCY_KEYS_SETTING, strictjson.dumps(keys.to_json()).decode("utf-8")
            )
            keyring_id, version = _new_version(home, root, keys)
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


# --- municipalities -----------------------------------------------------------------


@dataclass(frozen=True)
class MunicipalityRow:
    entry: MunicipalityEntry
    recipients: int
    active: bool


def _entry_from_row(row: Sequence[object], recipients: tuple[Card, ...] = ()) -> MunicipalityEntry:
    (party_id, nis, name, protocol_id, p_from, p_until, months, profiles, terminated) = row
    return MunicipalityEntry(
        nis=str(nis),
        name=str(name),
        party_id=str(party_id),
        protocol_id=str(protocol_id),
        protocol_from=date.fromisoformat(str(p_from)),
        protocol_until=date.fromisoformat(str(p_until)),
        retention_months=int(str(months)),
        profiles=tuple(json.loads(str(profiles))),
        terminated_on=None if terminated is None else date.fromisoformat(str(terminated)),
        recipients=tuple(c.identity for c in recipients),
    )


_MUNICIPALITY_COLUMNS = (
    "party_id, nis, name, protocol_id, protocol_from, protocol_until, "
    "retention_months, profiles, terminated_on"
)


def _municipality(home: Home, nis: str) -> MunicipalityEntry:
    row = home.db.execute(
        f"SELECT {_MUNICIPALITY_COLUMNS} FROM agency_municipalities WHERE nis = ?",  # noqa: S608
        (nis,),
    ).fetchone()
    if row is None:
        raise NotFound(
            "no municipality with that NIS code in the registry",
            hint="add it with 'agency municipality add'",
        )
    return _entry_from_row(row)


def normalise_profiles(profiles: Sequence[str] | None) -> tuple[str, ...]:
    if not profiles:
        return ()
    return tuple(sorted({normalise_role(p) for p in profiles}))


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
    ensure_schema(home)
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
    identity = _unlock_root(home, root)
    with statedb.transaction(home.db):
        home.db.execute(
            f"INSERT INTO agency_municipalities ({_MUNICIPALITY_COLUMNS}, added_at) "  # noqa: S608
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
        version = _change(home, identity, municipalities_added=1)
    return entry, version


def list_municipalities(home: Home) -> list[MunicipalityRow]:
    ensure_schema(home)
    rows = home.db.execute(
        f"SELECT {_MUNICIPALITY_COLUMNS} FROM agency_municipalities ORDER BY nis"  # noqa: S608
    ).fetchall()
    today = home.now.date()
    result = []
    for row in rows:
        entry = _entry_from_row(row)
        (count,) = home.db.execute(
            "SELECT COUNT(*) FROM agency_recipients WHERE party_id = ?", (entry.party_id,)
        ).fetchone()
        result.append(MunicipalityRow(entry, int(count), entry.active_on(today)))
    return result


# --- recipients ---------------------------------------------------------------------


class RecipientChange(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class RecipientRow:
    nis: str
    card: Card
    added_at: str
    updated_at: str


def _cards(home: Home, party_id: str) -> tuple[Card, ...]:
    rows = home.db.execute(
        "SELECT card FROM agency_recipients WHERE party_id = ? ORDER BY fingerprint", (party_id,)
    ).fetchall()
    return tuple(read_card(bytes(row[0])) for row in rows)


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
    ensure_schema(home)
    wanted = parse_display(fingerprint)
    card = read_card(card_data)
    verify_card_fingerprint(card, wanted)
    entry = _municipality(home, check_nis(nis))
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
    identity = _unlock_root(home, root)
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
        version = _change(home, identity, **counts)
    return card, change, version


def remove_recipient(home: Home, root: KeySource, *, nis: str, fingerprint: str) -> int:
    """Withdraw a person's access; effective from the next package. Returns the version."""
    ensure_schema(home)
    wanted = parse_display(fingerprint)
    entry = _municipality(home, check_nis(nis))
    found = None
    for card in _cards(home, entry.party_id):
        if card.fingerprint.matches(wanted):
            found = card
    if found is None:
        raise NotFound("no recipient with that fingerprint for that municipality")
    identity = _unlock_root(home, root)
    with statedb.transaction(home.db):
        home.db.execute(
            "DELETE FROM agency_recipients WHERE party_id = ? AND fingerprint = ?",
            (entry.party_id, found.fingerprint.digest.hex()),
        )
        return _change(home, identity, recipients_removed=1)


def list_recipients(home: Home) -> list[RecipientRow]:
    ensure_schema(home)
    rows = home.db.execute(
        "SELECT m.nis, r.card, r.added_at, r.updated_at FROM agency_recipients r "
        "JOIN agency_municipalities m ON m.party_id = r.party_id ORDER BY m.nis, r.fingerprint"
    ).fetchall()
    return [RecipientRow(str(n), read_card(bytes(c)), str(a), str(u)) for n, c, a, u in rows]


# --- keyring versions ---------------------------------------------------------------


def _latest_version(home: Home) -> int:
    (version,) = home.db.execute("SELECT COALESCE(MAX(version), 0) FROM agency_keyrings").fetchone()
    return int(version)


def build_keyring(home: Home, keys: AgencyKeys, *, version: int) -> Keyring:
    """The full keyring as the registry holds it now (live subkeys only)."""
    rows = home.db.execute(
        f"SELECT {_MUNICIPALITY_COLUMNS} FROM agency_municipalities ORDER BY nis"  # noqa: S608
    ).fetchall()
    now = home.now
    entries = []
    for row in rows:
        cards = _cards(home, str(row[0]))
        entry = _entry_from_row(row, cards)
        live = tuple(
            sorted(
                (c.identity.with_live_subkeys(now) for c in cards),
                key=lambda i: i.fingerprint.digest,
            )
        )
        entries.append(replace(entry, recipients=live))
    return Keyring(
        id=new_artifact_id(ArtifactKind.KEYRING),
        version=version,
        issued_at=now,
        scope=SCOPE_FULL,
        demo=home.demo,
        agency=AgencyKeys(
            name=keys.name,
            root_key=keys.root_key,
            export=keys.export.with_live_subkeys(now),
            export_certification=keys.export_certification,
            export_certified_from=keys.export_certified_from,
        ),
        municipalities=tuple(entries),
    )


def _store(home: Home, keyring: Keyring, root: Identity) -> None:
    data, signature = sign_keyring(keyring, root)
    home.db.execute(
        "INSERT INTO agency_keyrings (version, scope, id, issued_at, document, signature) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            keyring.version,
            keyring.scope,
            keyring.id,
            format_instant(keyring.issued_at),
            data,
            signature,
        ),
    )


def _new_version(home: Home, root: Identity, keys: AgencyKeys) -> tuple[str, int]:
    """Sign and store the next keyring version and every municipality's view."""
    if not home.db.in_transaction:
        raise InternalError("a keyring version is made inside a transaction")
    version = _latest_version(home) + 1
    full = build_keyring(home, keys, version=version)
    _store(home, full, root)
    for entry in full.municipalities:
        _store(home, full.view(entry.party_id, view_id=new_artifact_id(ArtifactKind.KEYRING)), root)
    return full.id, version


def _change(home: Home, root: Identity, **counts: int) -> int:
    keyring_id, version = _new_version(home, root, agency_keys(home))
    home.record(
        Action.KEYRING_CHANGE,
        actor=root.fingerprint.display,
        artifacts=[keyring_id],
        counts={"version": version, **counts},
    )
    return version


@dataclass(frozen=True)
class SignedKeyring:
    keyring: Keyring
    data: bytes
    signature: str


def signed_keyrings(home: Home, version: int | None = None) -> list[SignedKeyring]:
    """The stored documents of one version (default: the latest), full one first."""
    ensure_schema(home)
    wanted = version if version is not None else _latest_version(home)
    rows = home.db.execute(
        "SELECT document, signature FROM agency_keyrings WHERE version = ? "
        "ORDER BY scope = 'full' DESC, scope",
        (wanted,),
    ).fetchall()
    if not rows:
        raise NotFound("no keyring of that version", hint="run 'agency init' first")
    return [SignedKeyring(Keyring.from_bytes(bytes(d)), bytes(d), str(s)) for d, s in rows]


def current_keyring(home: Home) -> SignedKeyring:
    return signed_keyrings(home)[0]


def view_for(home: Home, nis: str) -> SignedKeyring:
    """The latest signed view of the municipality ``nis`` (for packages)."""
    entry = _municipality(home, nis)
    for item in signed_keyrings(home):
        if item.keyring.scope == entry.party_id:
            return item
    raise InternalError("the latest keyring version has no view for a registered municipality")


@dataclass(frozen=True)
class Published:
    version: int
    keyring_id: str
    files: tuple[Path, ...]


def publish_keyring(home: Home, out_dir: Path) -> Published:
    """Write the latest keyring: the full one (auditors), each municipality's view,
    ``allowed_signers`` and the root key card. Needs no private key."""
    documents = signed_keyrings(home)
    full = documents[0].keyring
    output_dir(out_dir, private=False)  # public keys, for publication
    files: list[Path] = []

    def put(name: str, data: bytes) -> None:
        path = out_dir / name
        atomic_write(path, data, mode=0o644)
        files.append(path)

    actor = full.agency.root_fingerprint.display
    artifacts = [d.keyring.id for d in documents]
    counts = {"version": full.version, "views": len(documents) - 1}
    # The full keyring is written last and witnesses the publication: if a kill comes
    # before the entry is logged, the next command logs it when that file changed.
    witness = out_dir / "keyring-full.json"
    home.log.intend(
        Action.KEYRING_PUBLISH,
        now=home.now,
        witness=witness,
        actor=actor,
        artifacts=artifacts,
        counts=counts,
    )
    for item in documents[1:]:
        stem = f"keyring-{item.keyring.municipalities[0].nis}"
        put(f"{stem}.json", item.data)
        put(f"{stem}.sig", item.signature.encode("ascii"))
    put("allowed_signers", allowed_signers(full).encode("ascii"))
    put(ROOT_CARD, (home.paths.keys / ROOT_CARD).read_bytes())
    put("keyring-full.sig", documents[0].signature.encode("ascii"))
    put(witness.name, documents[0].data)
    home.record(Action.KEYRING_PUBLISH, actor=actor, artifacts=artifacts, counts=counts)
    return Published(full.version, full.id, tuple(files))


# --- rotation of the export key -----------------------------------------------------


def rotate_export_key(home: Home, export: KeySource, root: KeySource) -> tuple[int, int | None]:
    """Add the export key's next subkey and publish it in a new keyring version.

    Returns (subkeys added, new version or None when nothing was added).
    """
    ensure_schema(home)
    keys = agency_keys(home)
    identity = export.unlock()
    if identity.signing_key != keys.export.signing_key:
        raise NotAuthorised(f"the key file {export.path.name} is not this agency's export key")
    home.note_signer(identity.seed, identity.fingerprint.display)
    rotated, added = identity.rotated(home.now)
    if added == 0 and rotated.public == keys.export:
        return 0, None
    # added == 0 with a key file ahead of the keyring: a rotation killed after the key
    # file was replaced; finish it (new keyring version, log entries) now.
    root_identity = _unlock_root(home, root)
    new_keys = AgencyKeys(
        name=keys.name,
        root_key=keys.root_key,
        export=rotated.public,
        export_certification=keys.export_certification,
        export_certified_from=keys.export_certified_from,
    )
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
            home.db, _AGENCY_KEYS_SETTING, strictjson.dumps(new_keys.to_json()).decode("utf-8")
        )
        keyring_id, version = _new_version(home, root_identity, new_keys)
        if added:
            home.record(Action.KEY_ROTATE, actor=rotated.fingerprint.display, counts=rotation)
        home.record(
            Action.KEYRING_CHANGE,
            actor=root_identity.fingerprint.display,
            artifacts=[keyring_id],
            counts={"version": version},
        )
    return added, version
