"""The home's clock: ``max(system time, the highest time this home has ever seen)``.

Turning the system clock back therefore never brings data back or delays shredding. In
a home created with ``--demo`` (and only there) ``SECUREXCHANGE_NOW`` moves time forward
for demos and tests; anywhere else it is refused, because a stray value would shred a
real vault irreversibly. While an override is honoured it stands in for the system
clock when judging whether the clock looks wound back: a demo travelling forward is not
a clock turned back. Pure: the caller passes the system time, the stored mark and
the environment, and stores the new mark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from securexchange.errors import ClockOverride, Malformed, UsageError
from securexchange.i18n import _

OVERRIDE_ENV = "SECUREXCHANGE_NOW"
# Years 1000 and later only: strftime writes year 999 as "999", so an earlier year would
# not read back as it was written (format_instant must be the exact inverse).
_INSTANT_RE = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
BEHIND_TOLERANCE = timedelta(hours=24)
# The latest time a home's clock reads. Validity periods, import deadlines and grace
# periods are added to the clock; near the year 9999 that overflows (exit 3 in every
# later command, since the clock never goes back). Nothing real lies beyond it.
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ClockReading:
    """What time it is for this command, and whether the system clock looks wound back."""

    now: datetime
    system: datetime
    previous_mark: datetime | None
    override: datetime | None = None  # an honoured SECUREXCHANGE_NOW (demo homes only)

    @property
    def behind(self) -> bool:
        """True when the clock this command reads (the system's, or an honoured
        override) is more than 24 h behind the highest time seen."""
        reference = self.system if self.override is None else self.override
        return self.previous_mark is not None and (
            reference < self.previous_mark - BEHIND_TOLERANCE
        )

    @property
    def real_now(self) -> datetime:
        """The time without the override: ``max(system, mark)``. What a command that
        must leave no trace of a demo's time travel writes its log entries at."""
        if self.previous_mark is None:
            return self.system
        return max(self.system, utc(self.previous_mark))

    @property
    def today(self) -> date:
        return self.now.date()


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (naive values are taken to be UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or date-time as aware UTC (a date means its midnight UTC): the
    override's lenient form, and what the home's own rows and log lines are read with."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise UsageError(
            # TRANSLATORS: {variable} is the name of an environment variable.
            _("{variable} is not an ISO 8601 date or date-time").format(variable=OVERRIDE_ENV)
        ) from None


def parse_local_moment(text: str, option: str) -> datetime:
    """A moment a person types (``2026-12-03T09:30``, this computer's local time unless
    an offset such as ``+01:00`` is given) as aware UTC to the second."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            # TRANSLATORS: {option} is a command-line option such as --discovered.
            _("{option} is a moment such as 2026-12-03T09:30").format(option=option),
            hint=_("local time unless an offset such as +01:00 is given"),
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # this computer's time zone
    return moment.astimezone(UTC).replace(microsecond=0)


def read_instant(text: str, what: str) -> datetime:
    """The inverse of :func:`format_instant`: a ``YYYY-MM-DDTHH:MM:SSZ`` timestamp read
    from a document (manifest, card, keyring, key file, state row) as an aware UTC
    datetime; any other form, or an impossible date, is Malformed naming ``what`` (a text
    marked with ``_`` or ``N_``: it is translated when it is shown)."""
    if not _INSTANT_RE.fullmatch(text):
        raise Malformed(
            # TRANSLATORS: {what} names a document or field, e.g. "the key card".
            _("{what} is not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ").format(what=_(what))
        )
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Malformed(_("{what} is not a valid date and time").format(what=_(what))) from None


def format_instant(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``: the one timestamp form in manifests and logs."""
    return utc(moment).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_clock(
    *,
    system: datetime,
    mark: datetime | None,
    override: str | None,
    demo: bool,
) -> ClockReading:
    """The time for this command. Raises ClockOverride for an override in a real home."""
    system = min(utc(system), LATEST)
    candidates = [system]
    if mark is not None:
        # An edited mark beyond LATEST still means "late" (fail closed), never overflow.
        mark = min(utc(mark), LATEST)
        candidates.append(mark)
    honoured: datetime | None = None
    if override:
        if not demo:
            raise ClockOverride(
                _("{variable} is set, and this home was not created with --demo").format(
                    variable=OVERRIDE_ENV
                )
            )
        honoured = parse_instant(override)
        if honoured >= LATEST:
            raise ClockOverride(
                _("{variable} lies beyond the year {year}").format(
                    variable=OVERRIDE_ENV, year=LATEST.year
                ),
                hint=_("choose a date before {year}").format(year=LATEST.year),
            )
        candidates.append(honoured)
    return ClockReading(now=max(candidates), system=system, previous_mark=mark, override=honoured)
