"""Setting up the return channel for tests: an agency, authorised staff, hostile deltas.

Everything is real: demo homes (so SECUREXCHANGE_NOW works), real keys at a low scrypt
work factor, real containers sealed with a staff member's own key, so that a refusal
comes from the agency's validation and not from a signature check.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from keys_helpers import FAR_FUTURE, make_agency, make_staff
from securexchange import strictjson
from securexchange.agency.changes import add_municipality, add_recipient
from securexchange.agency.registry import view_for
from securexchange.artifacts.container import seal
from securexchange.artifacts.keyring import Keyring
from securexchange.artifacts.manifest import ArtifactType
from securexchange.artifacts.returns import ReturnBody
from securexchange.home.home import HomeKind, open_home
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.keys.identity import Identity
from securexchange.keys.keyfile import DEMO_PASSPHRASE, read_key_file
from securexchange.keys.keystore import KeySource
from securexchange.municipality.enrolment import held_keyring, import_keyring
from securexchange.municipality.returns import agency_recipient

NIS = "11002"
OTHER_NIS = "44021"  # Gent
FAST = 2


def demo_source(path: Path) -> KeySource:
    return KeySource(path, lambda: DEMO_PASSPHRASE, work_factor=FAST)


def agency_export_source(agency: Path) -> KeySource:
    return demo_source(agency / "keys" / "export.key")


@dataclass(frozen=True)
class Channel:
    agency: Path
    staff: Path
    party_id: str


def add_staff(agency: Path, staff: Path, *, nis: str = NIS, name: str = "An Peeters") -> None:
    """A demo staff home for ``nis``, authorised by the agency, holding its keyring view."""
    made = make_staff(staff, agency, nis=nis, name=name, demo=True)
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        add_recipient(
            home,
            demo_source(agency / "keys" / "root.key"),
            nis=nis,
            fingerprint=made.fingerprint.display,
            card_data=made.card.read_bytes(),
        )
    refresh_keyring(agency, staff, nis=nis)


def refresh_keyring(agency: Path, staff: Path, *, nis: str = NIS) -> None:
    """Give ``staff`` the agency's latest keyring view (as a package would)."""
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        view = view_for(home, nis)
    with open_home(staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        import_keyring(home, view.data, view.signature)


def register_demo(
    agency: Path, nis: str = NIS, name: str = "Antwerpen", *, protocol_until: date = FAR_FUTURE
) -> str:
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        entry, _ = add_municipality(
            home,
            demo_source(agency / "keys" / "root.key"),
            nis=nis,
            name=name,
            protocol_until=protocol_until,
        )
    return entry.party_id


def make_channel(tmp: Path) -> Channel:
    agency = tmp / "agency"
    make_agency(agency, demo=True)
    party_id = register_demo(agency)
    staff = tmp / "staff"
    add_staff(agency, staff)
    return Channel(agency, staff, party_id)


def staff_identity(staff: Path) -> Identity:
    return read_key_file(staff / "keys" / "identity.key", DEMO_PASSPHRASE)


def staff_keyring(staff: Path) -> Keyring:
    with open_home(staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        keyring = held_keyring(home)
    assert keyring is not None
    return keyring


def status(record: str, new: str = "gecontacteerd", base: str = "nog niet gecontacteerd") -> Any:
    return {
        "kind": "status",
        "record": record,
        "status": new,
        "base": base,
        "changed_at": "2026-01-05T10:00:00Z",
    }


def quality(
    record: str, field: str = "Adres", problem: str = "verouderd", at: str = "2026-01-05T10:00:00Z"
) -> Any:
    return {
        "kind": "quality",
        "record": record,
        "field": field,
        "problem": problem,
        "reported_at": at,
    }


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seal_delta(
    staff: Path,
    entries: Sequence[Any],
    *,
    sequence: int = 1,
    delta_id: str | None = None,
    document: dict[str, Any] | None = None,
    content: bytes | None = None,
    body: dict[str, Any] | None = None,
    municipality: str | None = None,
    created_at: datetime | None = None,
    extra_recipients: Sequence[Any] = (),
    only_recipients: Sequence[Any] | None = None,
) -> tuple[str, bytes]:
    """A return sealed with the staff member's real key, as hostile as asked.

    ``entries`` are raw JSON objects (anything may be put in them); ``document``
    overrides fields of the payload document, ``content`` replaces its bytes, ``body``
    overrides manifest body fields. Counts in the body follow the entries' kinds;
    ``extra_recipients`` (anything with ``wrap(file_key)``) are added after the agency;
    ``only_recipients`` replace every recipient, the agency included.
    """
    identity = staff_identity(staff)
    keyring = staff_keyring(staff)
    entry = keyring.municipalities[0]
    delta_id = delta_id or new_artifact_id(ArtifactKind.RETURN)
    doc: dict[str, Any] = {
        "format": "securexchange-return/1",
        "delta": delta_id,
        "municipality": entry.nis,
        "signer": identity.fingerprint.display,
        "sequence": sequence,
        "entries": list(entries),
    }
    doc.update(document or {})
    fields: dict[str, Any] = {
        "party_id": entry.party_id,
        "sequence": sequence,
        "statuses": sum(1 for e in entries if isinstance(e, dict) and e.get("kind") == "status"),
        "quality_reports": sum(
            1 for e in entries if isinstance(e, dict) and e.get("kind") == "quality"
        ),
        "keyring_version": keyring.version,
        "demo": True,
    }
    fields.update(body or {})
    now = created_at or datetime.now(UTC)
    data = seal(
        artifact_type=ArtifactType.RETURN,
        artifact_id=delta_id,
        created_at=now,
        municipality=municipality or entry.nis,
        body=ReturnBody(**fields),
        signing_seed=identity.seed,
        content=content if content is not None else strictjson.dumps(doc),
        recipients=list(only_recipients)
        if only_recipients is not None
        else [agency_recipient(keyring, now), *extra_recipients],
    )
    return delta_id, data


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def ledger_tables(agency: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every ledger table (missing tables count as empty)."""
    from securexchange.home.tables import LEDGER_TABLES as TABLES

    conn = sqlite3.connect(agency / "state.sqlite3")
    try:
        result: dict[str, list[tuple[Any, ...]]] = {}
        for table in TABLES:
            try:
                result[table] = conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            except sqlite3.OperationalError:
                result[table] = []
        return result
    finally:
        conn.close()
