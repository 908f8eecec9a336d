"""The agency's coming events (securexchange.reminders): for each municipality its
protocol's end, a termination taking effect and each authorised person's keys running
out; and the agency's own return (export) key running out.

Read from the latest full keyring, which lists all of it (each person's live subkeys as
their card had them): an export has that keyring parsed already for its packages.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from securexchange.agency.registry import current_keyring
from securexchange.artifacts.keyring import Keyring
from securexchange.home.home import Home
from securexchange.reminders import Event, coming

AGENCY = "the agency (export key)"  # whose the agency's own key events are


def agency_coming(home: Home) -> Mapping[str, tuple[Event, ...]]:
    """Coming events by NIS code, and the agency's own under :data:`AGENCY`."""
    return keyring_coming(home.now, current_keyring(home).keyring)


def keyring_coming(now: datetime, keyring: Keyring) -> Mapping[str, tuple[Event, ...]]:
    """:func:`agency_coming` over a full keyring already read. Pure."""
    export = keyring.agency.export.subkeys
    found: dict[str, tuple[Event, ...]] = {
        AGENCY: coming(
            now, keys_until=[(AGENCY, max(s.valid_until for s in export))] if export else []
        )
    }
    for entry in keyring.municipalities:
        if not entry.active_on(now.date()):
            continue
        people = [
            (f"{person.owner.name} ({entry.nis})", max(s.valid_until for s in person.subkeys))
            for person in entry.recipients
            if person.subkeys
        ]
        found[entry.nis] = coming(
            now,
            keys_until=people,
            protocol_ends=[(entry.nis, entry.protocol_until)],
            terminations=[(entry.nis, entry.terminated_on)] if entry.terminated_on else [],
        )
    return found
