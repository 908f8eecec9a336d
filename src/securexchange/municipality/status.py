"""``municipality status``: what the vault holds and when it goes, without a passphrase.

Everything here is public within the home: package ids, counts, dates, file paths of
registered workbooks, subkey recipients (public keys). No record id, no personal data.
"""

from __future__ import annotations

from typing import Any

from securexchange.clock import format_instant
from securexchange.home import Home
from securexchange.municipality import retention, subkeys, vault, workbooks


def status(home: Home) -> dict[str, Any]:
    """The vault's state as a JSON-ready document."""
    vault.ensure_schema(home)
    db = home.db
    counts = dict(
        db.execute("SELECT package_id, COUNT(*) FROM vault_records GROUP BY package_id").fetchall()
    )
    held = {s.recipient: s for s in subkeys.listed(home) if s.held}
    wrapped_to = {
        str(r[0]): str(r[1])
        for r in db.execute("SELECT package_id, subkey FROM vault_data_keys").fetchall()
    }

    def key_destroyed_by(package_id: str) -> str | None:
        # The package is lost at this moment unless a command unlocks the key before
        # (and so moves its data key to the current subkey).
        subkey = held.get(wrapped_to.get(package_id, ""))
        return None if subkey is None else format_instant(subkey.destroy_by)

    packages = [
        {
            "id": p.package_id,
            "sequence": p.sequence,
            "state": p.state,
            "records": int(counts.get(p.package_id, 0)),
            "created_at": format_instant(p.created_at),
            "imported_at": format_instant(p.imported_at),
            "valid_until": format_instant(p.valid_until),
            "stale": p.live and home.now >= p.valid_until,
            "shredded_at": None if p.shredded_at is None else format_instant(p.shredded_at),
            "key_destroyed_by": key_destroyed_by(p.package_id) if p.live else None,
        }
        for p in vault.packages(home)
    ]
    # A termination notice held destroys its protocol's records on its effective day,
    # before any later retention deadline: that day is their deadline.
    deadlines = [
        {"date": str(day), "records": int(n)}
        for day, n in db.execute(
            "SELECT CASE WHEN t.effective IS NOT NULL AND t.effective < r.retention "
            "THEN t.effective ELSE r.retention END AS day, COUNT(*) "
            "FROM vault_records r JOIN vault_packages p ON p.package_id = r.package_id "
            "LEFT JOIN vault_protocols t ON t.protocol_id = p.protocol_id "
            "GROUP BY day ORDER BY day LIMIT 5"
        )
    ]
    needed = vault.needed_subkeys(home)
    keys = [
        {
            "recipient": s.recipient,
            "valid_from": format_instant(s.valid_from),
            "valid_until": format_instant(s.valid_until),
            "state": "held" if s.held else "destroyed",
            "destroyed_at": None if s.destroyed_at is None else format_instant(s.destroyed_at),
            # Destroyed at the first shred after valid-until once nothing needs it, and
            # at destroy_by whatever still needs it (shredding ran before this, so a
            # held key's destroy_by is never in the past).
            "destroy_by": format_instant(s.destroy_by) if s.held else None,
            "needed": s.recipient in needed,
            # A destroyed subkey whose file could not be removed yet: retried every shred.
            "file_remains": not s.held and subkeys.file_present(home, s),
        }
        for s in subkeys.listed(home)
    ]
    books = [
        {
            "id": w.workbook_id,
            "path": str(w.path),
            "package": w.package_id,
            "written_at": format_instant(w.written_at),
            "state": w.state,
            "problem": w.problem,
        }
        for w in workbooks.registered(home)
    ]
    last = retention.last_shred(home)
    return {
        "now": format_instant(home.now),
        "clock_behind": home.clock.behind,
        "packages": packages,
        "next_deadlines": deadlines,
        "pending_edits": vault.pending_count(home),
        "workbooks": books,
        "subkeys": keys,
        "terminations": [
            {"protocol": k, "effective": v} for k, v in vault.terminated(home).items()
        ],
        "last_shred": None if last is None else format_instant(last),
        "leftover_subkey_files": len(subkeys.leftover_files(home)),
    }
