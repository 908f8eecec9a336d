"""The home's clock: ``max(system time, the highest time this home has ever seen)``.

Turning the system clock back therefore never brings data back or delays shredding. In
a home created with ``--demo`` (and only there) ``SECUREXCHANGE_NOW`` moves time forward
for demos and tests; anywhere else it is refused, because a stray value would shred a
real vault irreversibly. Pure: the caller passes the system time, the stored mark and
the environment, and stores the new mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from securexchange.errors import ClockOverride, UsageError

OVERRIDE_ENV = "SECUREXCHANGE_NOW"
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

    @property
    def behind(self) -> bool:
        """True when the system clock is more than 24 h behind the highest time seen."""
        return self.previous_mark is not None and (
            self.system < self.previous_mark - BEHIND_TOLERANCE
        )

    @property
    def today(self) -> date:
        return self.now.date()


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (naive values are taken to be UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or date-time as aware UTC (a date means its midnight UTC)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise UsageError(f"{OVERRIDE_ENV} is not an ISO 8601 date or date-time") from None


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
    if override:
        if not demo:
            raise ClockOverride(f"{OVERRIDE_ENV} is set, and this home was not created with --demo")
        moment = parse_instant(override)
        if moment >= LATEST:
            raise ClockOverride(
                f"{OVERRIDE_ENV} lies beyond the year {LATEST.year}",
                hint=f"choose a date before {LATEST.year}",
            )
        candidates.append(moment)
    return ClockReading(now=max(candidates), system=system, previous_mark=mark)
