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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path

from securexchange import strictjson
from securexchange.agency import vouched
from securexchange.artifacts.agency_keys import AgencyKeys
from securexchange.artifacts.allowed_signers import allowed_signers
from securexchange.artifacts.keyring import (
    SCOPE_FULL,
    Keyring,
    MunicipalityEntry,
    sign_keyring,
)
from securexchange.artifacts.protocol_terms import Ending
from securexchange.clock import format_instant
from securexchange.errors import (
    InternalError,
    NotAuthorised,
    NotFound,
)
from securexchange.home import statedb
from securexchange.home.atomicio import atomic_write, output_dir
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.keys.card import Card, read_card
from securexchange.keys.identity import (
    Identity,
    normalise_role,
)
from securexchange.keys.keystore import EXPORT_KEY, ROOT_CARD, ROOT_KEY, KeySource

DEFAULT_RETENTION_MONTHS = 6
FUTURE_TOLERANCE = timedelta(days=1)
LATEST_PROTOCOL_END = date(9000, 12, 31)
MAX_RETENTION_MONTHS = 24


AGENCY_KEYS_SETTING = "agency_keys"


def _new_id(prefix: str) -> str:
    chars = base64.b32encode(secrets.token_bytes(20)).decode("ascii")[:26].lower()
    return f"{prefix}-{chars}"


def new_party_id() -> str:
    """A stable, random party id for a municipality (survives a change of NIS code)."""
    return _new_id("party")


def new_protocol_id() -> str:
    return _new_id("protocol")


# --- the agency's keys --------------------------------------------------------------


def root_key_path(home: Home, explicit: Path | None = None) -> Path:
    """The root key file: ``--root-key FILE`` (e.g. on removable media) or keys/root.key."""
    return explicit if explicit is not None else home.paths.keys / ROOT_KEY


def export_key_path(home: Home) -> Path:
    return home.paths.keys / EXPORT_KEY


def agency_keys(home: Home) -> AgencyKeys:
    raw = statedb.get_setting(home.db, AGENCY_KEYS_SETTING)
    if raw is None:
        raise NotFound("this agency home has no keys", hint="create it with 'agency init'")
    return AgencyKeys.from_json(strictjson.loads(raw.encode("utf-8"), what="the agency keys"))


def unlock_root(home: Home, root: KeySource) -> Identity:
    identity = root.unlock()
    if identity.signing_key != agency_keys(home).root_key:
        raise NotAuthorised(
            f"the key file {root.path.name} is not this agency's root key",
            hint="give the root key file with --root-key FILE",
        )
    return identity


# --- municipalities -----------------------------------------------------------------


@dataclass(frozen=True)
class MunicipalityRow:
    entry: MunicipalityEntry
    recipients: int
    active: bool


def _entry_from_row(row: Sequence[object], recipients: tuple[Card, ...] = ()) -> MunicipalityEntry:
    (party_id, nis, name, protocol_id, p_from, p_until, months, profiles, terminated) = row[:9]
    protocol_ref, renews, ending = (*row[9:], None, None, None)[:3]
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
        protocol_ref=None if protocol_ref is None else str(protocol_ref),
        renews=None if renews is None else str(renews),
        ending=None if ending is None else _ending(str(ending)),
    )


def _ending(text: str) -> Ending:
    # Written by agency/protocol_end.py from a checked Ending.
    return Ending.from_json(strictjson.loads(text.encode("utf-8"), what="an ending"), "an ending")


MUNICIPALITY_COLUMNS = (
    "party_id, nis, name, protocol_id, protocol_from, protocol_until, "
    "retention_months, profiles, terminated_on"
)
# The registry's row of a municipality with its format-3 terms (agency_protocol_terms).
SELECT_MUNICIPALITIES = (
    f"SELECT {MUNICIPALITY_COLUMNS}, t.protocol_ref, t.renews, t.ending "  # noqa: S608
    "FROM agency_municipalities LEFT JOIN agency_protocol_terms t USING (party_id)"
)


def municipality_entry(home: Home, nis: str) -> MunicipalityEntry:
    row = home.db.execute(
        f"{SELECT_MUNICIPALITIES} WHERE nis = ?",
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


def list_municipalities(home: Home) -> list[MunicipalityRow]:
    rows = home.db.execute(f"{SELECT_MUNICIPALITIES} ORDER BY nis").fetchall()
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


def cards_of(home: Home, party_id: str) -> tuple[Card, ...]:
    rows = home.db.execute(
        "SELECT card FROM agency_recipients WHERE party_id = ? ORDER BY fingerprint", (party_id,)
    ).fetchall()
    # Stored by 'recipient add' after the full check.
    return tuple(read_card(bytes(row[0]), recipients_checked=True) for row in rows)


def list_recipients(home: Home) -> list[RecipientRow]:
    rows = home.db.execute(
        "SELECT m.nis, r.card, r.added_at, r.updated_at FROM agency_recipients r "
        "JOIN agency_municipalities m ON m.party_id = r.party_id ORDER BY m.nis, r.fingerprint"
    ).fetchall()
    return [
        RecipientRow(str(n), read_card(bytes(c), recipients_checked=True), str(a), str(u))
        for n, c, a, u in rows
    ]


# --- keyring versions ---------------------------------------------------------------


def _latest_version(home: Home) -> int:
    (version,) = home.db.execute("SELECT COALESCE(MAX(version), 0) FROM agency_keyrings").fetchone()
    return int(version)


def build_keyring(home: Home, keys: AgencyKeys, *, version: int) -> Keyring:
    """The full keyring as the registry holds it now: each card's subkeys valid now;
    its pre-issued ones are kept in ``agency_subkeys`` on the way (inside the caller's
    transaction: :func:`new_version`)."""
    rows = home.db.execute(f"{SELECT_MUNICIPALITIES} ORDER BY nis").fetchall()
    now = home.now
    entries = []
    for row in rows:
        party_id = str(row[0])
        cards = cards_of(home, party_id)
        entry = _entry_from_row(row, cards)
        current = []
        for card in cards:
            # The keyring lists the subkeys valid now; a card's pre-issued ones are kept
            # in agency_subkeys (vouched for by the card's holder), so the keyring does
            # not grow with the horizon (docs/formats.md, "Subkeys vouched for ...").
            listed = replace(
                card.identity,
                subkeys=tuple(s for s in card.identity.subkeys if s.valid_at(now)),
            )
            vouched.accept(
                home, listed, party_id=party_id, subkeys=card.identity.subkeys, source="card"
            )
            current.append(listed)
        live = tuple(sorted(current, key=lambda i: i.fingerprint.digest))
        entries.append(replace(entry, recipients=live))
    return Keyring(
        id=new_artifact_id(ArtifactKind.KEYRING),
        version=version,
        issued_at=now,
        scope=SCOPE_FULL,
        demo=home.demo,
        agency=keys.with_live_subkeys(now),
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


def new_version(home: Home, root: Identity, keys: AgencyKeys) -> tuple[str, int]:
    """Sign and store the next keyring version and every municipality's view."""
    if not home.db.in_transaction:
        raise InternalError("a keyring version is made inside a transaction")
    version = _latest_version(home) + 1
    full = build_keyring(home, keys, version=version)
    _store(home, full, root)
    for entry in full.municipalities:
        _store(home, full.view(entry.party_id, view_id=new_artifact_id(ArtifactKind.KEYRING)), root)
    return full.id, version


def sign_change(home: Home, root: Identity, **counts: int) -> int:
    keyring_id, version = new_version(home, root, agency_keys(home))
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
    entry = municipality_entry(home, nis)
    for item in signed_keyrings(home):
        if item.keyring.scope == entry.party_id:
            return item
    raise InternalError("the latest keyring version has no view for a registered municipality")


@dataclass(frozen=True)
class Published:
    version: int
    keyring_id: str
    files: tuple[Path, ...]


def publish_keyring(home: Home, out_dir: Path, *, version: int | None = None) -> Published:
    """Write the latest keyring (or ``version``: the one a notice names, for an
    auditor): the full one, each municipality's view, ``allowed_signers`` and the root
    key card. Needs no private key."""
    documents = signed_keyrings(home, version)
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
