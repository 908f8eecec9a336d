"""Counts in messages ("1 record", "2 records", never "1 records") and time left to a
deadline ("5 h 20 min left", "3 h late")."""

from __future__ import annotations

from datetime import date, datetime

from securexchange.i18n import _, ngettext


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` and the noun in the form that goes with it (English messages).

    ``plural`` defaults to ``singular`` + "s"; pass it for the irregular ones
    ("status", "statuses"; "entry", "entries").
    """
    noun = singular if count == 1 else (plural if plural is not None else singular + "s")
    return f"{count} {noun}"


def time_left(due: datetime | None, now: datetime) -> str:
    """Whole hours and minutes until ``due`` (or since, once it passed); ``-`` for none."""
    if due is None:
        return "-"
    seconds = int((due - now).total_seconds())
    if seconds < 0:
        # TRANSLATORS: a deadline that has passed, {hours} hours ago.
        return _("{hours} h late").format(hours=-seconds // 3600)
    # TRANSLATORS: the time left until a deadline.
    return _("{hours} h {minutes} min left").format(
        hours=seconds // 3600, minutes=seconds % 3600 // 60
    )


def days_left(due: date, today: date) -> str:
    """Whole days until the last day ``due`` (inclusive), or since it passed."""
    days = (due - today).days
    if days < 0:
        # TRANSLATORS: a due day that has passed, {n} days ago.
        return ngettext("{n} day late", "{n} days late", -days).format(n=-days)
    if days == 0:
        return _("due today")
    # TRANSLATORS: the whole days left until a due day.
    return ngettext("{n} day left", "{n} days left", days).format(n=days)
