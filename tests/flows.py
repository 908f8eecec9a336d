"""Shared setup for the export and package tests: homes, recipients, masters, keys.

Homes are real (not demo) with scrypt work factor 2 (``keys_helpers.FAST``), so a key
file opens in milliseconds; the passphrases are the fixed test ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from keys_helpers import (
    EXPORT_PASS,
    FAR_FUTURE,
    FAST,
    ROOT_PASS,
    STAFF_PASS,
    make_agency,
    make_classic_staff,
    make_staff,
    root_key_source,
)
from securexchange import age
from securexchange.agency.changes import add_municipality, add_recipient, remove_recipient
from securexchange.agency.export import export_master
from securexchange.agency.export_result import ExportOptions, ExportResult
from securexchange.agency.registry import agency_keys
from securexchange.home.home import HomeKind, open_home
from securexchange.intake import sample
from securexchange.keys.identity import Identity
from securexchange.keys.keyfile import read_key_file
from securexchange.keys.keystore import KeySource

__all__ = [
    "EXPORT_PASS",
    "ROOT_PASS",
    "STAFF_PASS",
    "Staff",
    "add_staff",
    "export",
    "export_source",
    "make_agency",
    "register",
    "remove_staff",
    "root_public_key",
    "staff_identities",
    "write_master",
]


@dataclass(frozen=True)
class Staff:
    home: Path
    nis: str
    fingerprint: str

    @property
    def card(self) -> Path:
        return self.home / "keys" / "identity.card.json"

    def identity(self) -> Identity:
        return read_key_file(self.home / "keys" / "identity.key", STAFF_PASS)


def export_source(agency: Path) -> KeySource:
    return KeySource(agency / "keys" / "export.key", lambda: EXPORT_PASS, work_factor=FAST)


def register(
    agency: Path,
    nis: str,
    name: str = "Gemeente",
    *,
    protocol_from: date | None = None,
    protocol_until: date = FAR_FUTURE,
    retention_months: int = 6,
) -> str:
    """Add a municipality with a protocol; returns its party id."""
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        entry, _ = add_municipality(
            home,
            root_key_source(agency),
            nis=nis,
            name=name,
            protocol_until=protocol_until,
            protocol_from=protocol_from,
            retention_months=retention_months,
        )
    return entry.party_id


def add_staff(
    agency: Path, root: Path, nis: str, name: str = "An Peeters", *, classic: bool = False
) -> Staff:
    """A municipal staff home for ``nis`` whose card the agency registered; ``classic``:
    a home as made before the post-quantum transition (classic subkeys only)."""
    made = (make_classic_staff if classic else make_staff)(root, agency, nis=nis, name=name)
    staff = Staff(root, nis, made.fingerprint.display)
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        add_recipient(
            home,
            root_key_source(agency),
            nis=nis,
            fingerprint=staff.fingerprint,
            card_data=staff.card.read_bytes(),
        )
    return staff


def remove_staff(agency: Path, staff: Staff) -> None:
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        remove_recipient(
            home, root_key_source(agency), nis=staff.nis, fingerprint=staff.fingerprint
        )


def write_master(path: Path, records: int, nis: list[str], *, seed: int = 0) -> Path:
    """A synthetic master (securexchange.intake.sample) with ``records`` rows over ``nis``."""
    sample.write_master(sample.generate_master(records, nis=nis, seed=seed), path)
    return path


def export(
    agency: Path,
    master: Path,
    out: Path,
    *,
    options: ExportOptions | None = None,
    system_now: datetime | None = None,
) -> ExportResult:
    """``agency export`` through the library (export key unlocked with the test passphrase)."""
    with open_home(agency, env={}, expect=HomeKind.AGENCY, system_now=system_now) as home:
        return export_master(
            home, master, out, export_key=export_source(agency), options=options or ExportOptions()
        )


def root_public_key(agency: Path) -> bytes:
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        return agency_keys(home).root_key


def staff_identities(staff: Staff) -> list[age.SecretIdentity]:
    """The staff member's age identities (every subkey), as a key holder opens with:
    those still in identity.key and those split out into their own files (at init)."""
    from securexchange.municipality import subkeys

    found = [age.parse_identity(s.identity) for s in staff.identity().subkeys]
    with open_home(staff.home, env={}, expect=HomeKind.MUNICIPALITY) as home:
        found += subkeys.unlock(home, lambda: STAFF_PASS).values()
    return found
