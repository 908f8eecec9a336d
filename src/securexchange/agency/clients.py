"""Which securexchange version each municipality's staff run, as their returns say.

Forty-odd municipal installations upgrade on their own schedule; before the agency
starts writing a newer format it needs to know who would be left behind. Every return
states, in its signed manifest body, the client version that made it
(``client_version``; returns of older clients do not: "unknown"). The agency keeps the
latest statement per staff member (by the return's signed creation time) when it
imports a return, and shows the newest per municipality in ``agency municipality list``.
"""

from __future__ import annotations

from dataclasses import dataclass

from securexchange.artifacts.manifest import Manifest
from securexchange.clock import format_instant
from securexchange.home.home import Home

UNKNOWN = "unknown"


@dataclass(frozen=True)
class ClientSeen:
    """The client version one return stated (None: a return without the field)."""

    party_id: str
    signer: str
    version: str | None
    seen_at: str
    delta_id: str

    @property
    def shown(self) -> str:
        return self.version if self.version is not None else UNKNOWN


def record_return(home: Home, *, party_id: str, manifest: Manifest, version: str | None) -> None:
    """Keep what a verified return says, unless a later return of that signer is held.

    Runs inside the caller's transaction (the one that applies the return)."""
    seen_at = format_instant(manifest.created_at)
    home.db.execute(
        "INSERT INTO agency_client_versions(party_id, signer, version, seen_at, delta_id) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(party_id, signer) DO UPDATE SET "
        "version = excluded.version, seen_at = excluded.seen_at, delta_id = excluded.delta_id "
        "WHERE excluded.seen_at >= agency_client_versions.seen_at",
        (party_id, manifest.signer, version, seen_at, manifest.artifact_id),
    )


def seen(home: Home) -> list[ClientSeen]:
    """Every staff member's latest statement, per municipality, newest first."""
    rows = home.db.execute(
        "SELECT party_id, signer, version, seen_at, delta_id FROM agency_client_versions "
        "ORDER BY party_id, seen_at DESC, signer"
    ).fetchall()
    return [
        ClientSeen(str(p), str(s), None if v is None else str(v), str(t), str(d))
        for p, s, v, t, d in rows
    ]


def latest_by_party(home: Home) -> dict[str, ClientSeen]:
    """The newest statement per municipality (party id)."""
    latest: dict[str, ClientSeen] = {}
    for row in seen(home):
        latest.setdefault(row.party_id, row)
    return latest
