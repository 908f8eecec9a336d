"""A protocol's termination as the municipal home keeps it (``vault_protocols``), from a
signed termination notice or from a root-signed keyring view that says
``terminated_on``; shredding then destroys everything of the protocol on that day."""

from __future__ import annotations

from datetime import date

from securexchange.artifacts.keyring import Keyring
from securexchange.clock import format_instant
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.home.log_entries import Action


def keyring_termination(home: Home, keyring: Keyring, sha256: str) -> bool:
    """A root-signed view that says ``terminated_on`` ends the protocol as a notice
    does: the notice may never arrive, and the keyring is the agency's word too."""
    entry = keyring.municipalities[0]
    if entry.terminated_on is None:
        return False
    return record_termination(
        home,
        protocol_id=entry.protocol_id,
        source_id=keyring.id,
        sha256=sha256,
        effective=entry.terminated_on,
    )


def record_termination(
    home: Home,
    *,
    protocol_id: str,
    source_id: str,
    sha256: str,
    effective: date,
    signed_notice: bytes | None = None,
) -> bool:
    """Keep a protocol's termination (from a notice or a keyring); False when one held
    already takes effect on that day or earlier: termination never moves later.

    A notice's signed container is kept (``signed_notice``): shredding holds the clear
    effective day to it (bounds.py). A keyring's is held already (municipal_keyrings).
    """
    row = home.db.execute(
        "SELECT notice_id, effective FROM vault_protocols WHERE protocol_id = ?",
        (protocol_id,),
    ).fetchone()
    if row is not None and (str(row[0]) == source_id or str(row[1]) <= effective.isoformat()):
        return False
    with statedb.transaction(home.db):
        home.db.execute(
            "INSERT INTO vault_protocols (protocol_id, notice_id, sha256, effective, "
            "imported_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(protocol_id) DO UPDATE SET "
            "notice_id = excluded.notice_id, sha256 = excluded.sha256, "
            "effective = excluded.effective, imported_at = excluded.imported_at",
            (protocol_id, source_id, sha256, effective.isoformat(), format_instant(home.now)),
        )
        if signed_notice is not None:
            home.db.execute(
                "INSERT INTO vault_signed_notices (protocol_id, container) VALUES (?, ?) "
                "ON CONFLICT(protocol_id) DO UPDATE SET container = excluded.container",
                (protocol_id, signed_notice),
            )
        home.record(Action.TERMINATE, artifacts=[source_id])
    return True
