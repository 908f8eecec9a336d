"""The agency's coming events (securexchange.reminders): for each municipality its
protocol's end, a termination taking effect and each authorised person's keys running
out; and the agency's own return (export) key running out.

Read from the latest full keyring (an export has it parsed already for its packages),
which lists each person's current subkeys, and from when the last subkey kept for each
person (agency/vouched.py) and the export key's last one end.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from securexchange.agency.export_key import export_keys_until
from securexchange.agency.registry import current_keyring
from securexchange.agency.vouched import latest_until
from securexchange.artifacts.keyring import Keyring
from securexchange.home.home import Home
from securexchange.reminders import Event, coming

AGENCY = "the agency (export key)"  # whose the agency's own key events are


def agency_coming(home: Home) -> Mapping[str, tuple[Event, ...]]:
    """Coming events by NIS code, and the agency's own under :data:`AGENCY`."""
    return keyring_coming(
        home.now,
        current_keyring(home).keyring,
        kept=latest_until(home),
        export_until=export_keys_until(home),
    )


def keyring_coming(
    now: datetime,
    keyring: Keyring,
    *,
    kept: Mapping[str, datetime] | None = None,
    export_until: datetime | None = None,
) -> Mapping[str, tuple[Event, ...]]:
    """:func:`agency_coming` over a full keyring already read. Pure.

    ``kept``: when the last subkey kept for each person (by fingerprint) ends, of those
    their returns brought (agency/vouched.py); ``export_until``: when the export key's
    last subkey ends, as the last command that unlocked it saw. Both beyond the keyring.
    """
    kept = kept or {}
    ends = [s.valid_until for s in keyring.agency.export.subkeys]
    ends += [export_until] if export_until is not None else []
    found: dict[str, tuple[Event, ...]] = {
        AGENCY: coming(now, keys_until=[(AGENCY, max(ends))] if ends else [])
    }
    for entry in keyring.municipalities:
        if not entry.active_on(now.date()):
            continue
        people = []
        for person in entry.recipients:
            until = [s.valid_until for s in person.subkeys]
            extra = kept.get(person.fingerprint.display)
            until += [extra] if extra is not None else []
            if until:
                people.append((f"{person.owner.name} ({entry.nis})", max(until)))
        found[entry.nis] = coming(
            now,
            keys_until=people,
            protocol_ends=[(entry.nis, entry.protocol_until)],
            terminations=[(entry.nis, entry.terminated_on)] if entry.terminated_on else [],
        )
    return found
