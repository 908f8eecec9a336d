"""Coming events: what its user must hear of before it happens (issue 19).

One pure function, :func:`coming`, for every place that reminds: ``municipality
status``, ``agency municipality list`` and the export's report (and, later, the app).
It is given dated facts and returns those that fall within :data:`REMIND_AHEAD` of
now, oldest first; :func:`describe` says each in the user's language.

The facts: a person's (or the agency's) keys running out (the last pre-issued subkey's
end), a protocol's end date, a termination taking effect, and the next shredding
(records destroyed on a day).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from securexchange.clock import utc
from securexchange.i18n import _, long_date, ngettext

# At least 30 days ahead, as the protocol's parties need time to act (a new card, a
# renewed protocol); 45 leaves two weeks more for a reminder seen on one day only.
REMIND_AHEAD = timedelta(days=45)


class EventKind(StrEnum):
    KEYS_RUN_OUT = "keys-run-out"
    PROTOCOL_ENDS = "protocol-ends"
    TERMINATION = "termination"
    SHREDDING = "shredding"


@dataclass(frozen=True)
class Event:
    """One coming event. ``who`` names whose it is (a person, a NIS code; empty for
    this home's own); ``records`` counts the records a shredding destroys."""

    kind: EventKind
    on: date
    who: str = ""
    records: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "on": self.on.isoformat(),
            "who": self.who,
            "records": self.records,
        }


def coming(
    now: datetime,
    *,
    keys_until: Iterable[tuple[str, datetime]] = (),
    protocol_ends: Iterable[tuple[str, date]] = (),
    terminations: Iterable[tuple[str, date]] = (),
    shredding: Iterable[tuple[date, int]] = (),
    ahead: timedelta = REMIND_AHEAD,
) -> tuple[Event, ...]:
    """The events from today up to ``ahead`` from ``now``, by date.

    ``keys_until``: (who, the end of their last subkey), a moment; a key that ends at
    midnight is reported on the day before, the last day it still serves.
    ``protocol_ends``: (who, the protocol's last day). ``terminations``: (who, the day
    a termination takes effect). ``shredding``: (day, records destroyed that day).
    """
    today = utc(now).date()
    last = today + ahead
    found = [
        *(Event(EventKind.KEYS_RUN_OUT, _last_day(until), who) for who, until in keys_until),
        *(Event(EventKind.PROTOCOL_ENDS, day, who) for who, day in protocol_ends),
        *(Event(EventKind.TERMINATION, day, who) for who, day in terminations),
        *(Event(EventKind.SHREDDING, day, records=n) for day, n in shredding if n),
    ]
    return tuple(
        sorted(
            (e for e in found if today <= e.on <= last),
            key=lambda e: (e.on, e.kind.value, e.who),
        )
    )


def _last_day(until: datetime) -> date:
    moment = utc(until)
    if moment.time() == datetime.min.time():
        return moment.date() - timedelta(days=1)
    return moment.date()


def describe(event: Event) -> str:
    """The event in the user's language, one line."""
    day = long_date(event.on)
    if event.kind is EventKind.KEYS_RUN_OUT:
        if not event.who:
            return _(
                "your keys for packages run out after {date}: any command that asks for "
                "your passphrase adds new ones; then send your new card to the agency"
            ).format(date=day)
        return _("the keys of {who} run out after {date}").format(who=event.who, date=day)
    if event.kind is EventKind.PROTOCOL_ENDS:
        if not event.who:
            return _("the data-sharing protocol ends on {date}").format(date=day)
        return _("the data-sharing protocol of {who} ends on {date}").format(
            who=event.who, date=day
        )
    if event.kind is EventKind.TERMINATION:
        if not event.who:
            return _("the termination of the protocol takes effect on {date}").format(date=day)
        return _("the termination of the protocol of {who} takes effect on {date}").format(
            who=event.who, date=day
        )
    return ngettext(
        "{n} record is destroyed on {date}",
        "{n} records are destroyed on {date}",
        event.records,
    ).format(n=event.records, date=day)
