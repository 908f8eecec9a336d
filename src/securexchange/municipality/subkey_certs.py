"""What a municipal home keeps to tell, without a key, whose subkeys it holds and how
long each may live (issue 19).

- The person's fingerprint (setting ``identity_fingerprint``), kept at init and at
  every unlock: which identity of the held keyrings is this home's.
- Each subkey's certification by the person's signing key (``vault_subkey_certs``),
  kept when it is split out: the signed validity of a pre-issued subkey, which no
  keyring lists. Shredding holds each subkey's clear-text ``valid_until`` to it
  (municipality/bounds.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING

from securexchange.clock import format_instant
from securexchange.home import statedb
from securexchange.home.home import Home

if TYPE_CHECKING:
    from securexchange.keys.identity import Subkey

IDENTITY_SETTING = "identity_fingerprint"


def remember_identity(home: Home, fingerprint: str) -> None:
    """Keep the person's fingerprint (display form); writes only when it changed."""
    if statedb.get_setting(home.db, IDENTITY_SETTING) != fingerprint:
        with statedb.transaction(home.db):
            statedb.set_setting(home.db, IDENTITY_SETTING, fingerprint)


def keep(home: Home, publics: Sequence[Subkey]) -> None:
    """Keep each subkey's certification beside its row; only those missing, so an
    unchanged home writes nothing."""
    held = {str(r[0]) for r in home.db.execute("SELECT recipient FROM vault_subkey_certs")}
    missing = [s for s in publics if s.recipient not in held]
    if not missing:
        return
    with statedb.transaction(home.db) if not home.db.in_transaction else nullcontext():
        home.db.executemany(
            "INSERT OR IGNORE INTO vault_subkey_certs (recipient, valid_from, valid_until, "
            "certification) VALUES (?, ?, ?, ?)",
            [
                (
                    s.recipient,
                    format_instant(s.valid_from),
                    format_instant(s.valid_until),
                    s.certification,
                )
                for s in missing
            ],
        )


def kept(home: Home) -> list[tuple[str, str, str, str]]:
    """Every kept certification: (recipient, valid-from, valid-until, certification) as
    stored (unverified: bounds.py verifies them)."""
    rows = home.db.execute(
        "SELECT recipient, valid_from, valid_until, certification FROM vault_subkey_certs"
    ).fetchall()
    return [(str(a), str(b), str(c), str(d)) for a, b, c, d in rows]
