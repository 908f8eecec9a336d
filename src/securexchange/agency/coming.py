"""The agency's coming events (securexchange.reminders): for each municipality its
protocol's end, a termination taking effect and each authorised person's keys running
out; and the agency's own return (export) key running out."""

from __future__ import annotations

from collections.abc import Mapping

from securexchange.agency.registry import agency_keys, cards_of, list_municipalities
from securexchange.home.home import Home
from securexchange.reminders import Event, coming

AGENCY = "the agency (export key)"  # whose the agency's own key events are


def agency_coming(home: Home) -> Mapping[str, tuple[Event, ...]]:
    """Coming events by NIS code, and the agency's own under :data:`AGENCY`."""
    now = home.now
    export = agency_keys(home).export.subkeys
    found: dict[str, tuple[Event, ...]] = {
        AGENCY: coming(
            now, keys_until=[(AGENCY, max(s.valid_until for s in export))] if export else []
        )
    }
    for row in list_municipalities(home):
        entry = row.entry
        if not row.active:
            continue
        people = [
            (f"{card.owner.name} ({entry.nis})", max(s.valid_until for s in card.identity.subkeys))
            for card in cards_of(home, entry.party_id)
            if card.identity.subkeys
        ]
        found[entry.nis] = coming(
            now,
            keys_until=people,
            protocol_ends=[(entry.nis, entry.protocol_until)],
            terminations=[(entry.nis, entry.terminated_on)] if entry.terminated_on else [],
        )
    return found
