"""What the agency verifies a return against: its own signed keyring versions, the
terminations it recorded, and which records it sent each municipality."""

from __future__ import annotations

from datetime import date, datetime
from types import MappingProxyType

from securexchange.agency import packages
from securexchange.agency.registry import signed_keyrings
from securexchange.artifacts.keyring import SCOPE_FULL, Keyring, version_in_force
from securexchange.artifacts.return_open import ReturnTrust
from securexchange.clock import read_instant
from securexchange.home.home import Home


class StoredKeyrings:
    """The agency's own signed keyring versions, as :func:`open_return` asks for them
    (read from the registry on demand: an import needs two or three of them)."""

    def __init__(self, home: Home) -> None:
        self._home = home
        rows = home.db.execute(
            "SELECT version, issued_at FROM agency_keyrings WHERE scope = ?", (SCOPE_FULL,)
        ).fetchall()
        self._issued = [(int(v), read_instant(str(at), "a stored keyring")) for v, at in rows]
        self._cache: dict[int, Keyring] = {}

    def _load(self, version: int) -> Keyring | None:
        if version not in self._cache:
            if version not in {v for v, _ in self._issued}:
                return None
            self._cache[version] = signed_keyrings(self._home, version)[0].keyring
        return self._cache[version]

    def version(self, party_id: str, version: int) -> Keyring | None:
        keyring = self._load(version)
        return keyring if keyring is not None and keyring.by_party(party_id) else None

    def in_force(self, party_id: str, moment: datetime) -> Keyring | None:
        found = version_in_force(self._issued, moment)
        return None if found is None else self.version(party_id, found)

    def newest_version(self) -> int:
        return max((v for v, _ in self._issued), default=0)


def return_trust(home: Home) -> ReturnTrust:
    """What this agency verifies returns against: every keyring version it issued, the
    terminations it signed (a notice takes effect before any keyring records it), and
    its clock as the moment of receipt."""
    rows = home.db.execute(
        "SELECT protocol_id, terminated_on FROM agency_municipalities "
        "WHERE terminated_on IS NOT NULL"
    ).fetchall()
    return ReturnTrust(
        keyrings=StoredKeyrings(home),
        terminations=MappingProxyType({str(p): date.fromisoformat(str(d)) for p, d in rows}),
        received_at=home.now,
        every_version=True,
    )


def default_sent_records(home: Home, party_id: str) -> frozenset[str]:
    """Record ids of the municipality's latest package and the one before (the export's
    record table)."""
    # The export's module (agency/packages.py) owns the record table.
    recent = packages.issued(home, party_id=party_id)[-2:]
    return frozenset(
        str(r.record_id) for p in recent for r in packages.package_records(home, p.package_id)
    )
