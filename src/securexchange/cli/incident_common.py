"""What ``municipality incident`` and ``agency incident`` share: reading the form,
parsing the moment of discovery, and printing the register and a notice."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import click

from securexchange.cli.common import echo_json, note, print_table
from securexchange.errors import UsageError
from securexchange.i18n import _


def read_form(path: Path | None) -> bytes:
    """The form's bytes from FILE or, for ``-``, stdin (never argv: it may name people)."""
    from securexchange.cli.common import read_input
    from securexchange.incidents.form import MAX_FORM_BYTES

    if path is None:
        return b""
    if str(path) == "-":
        data = sys.stdin.buffer.read(MAX_FORM_BYTES + 1)
        if len(data) > MAX_FORM_BYTES:
            raise UsageError(_("the incident form is larger than 64 KiB"))
        return data
    return read_input(path, limit=MAX_FORM_BYTES, what="incident form")


def discovery(text: str) -> datetime:
    """``YYYY-MM-DDTHH:MM`` (local time of this computer) or with a UTC offset."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            _("--discovered is a moment such as 2026-12-03T09:30"),
            hint=_("local time unless an offset such as +01:00 is given"),
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # this computer's time zone
    return moment.astimezone(UTC).replace(microsecond=0)


def left(due: datetime | None, now: datetime) -> str:
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


def print_register(items: Sequence[object], now: datetime, *, as_json: bool) -> None:
    from securexchange.clock import format_instant
    from securexchange.incidents.register import Incident

    rows = [i for i in items if isinstance(i, Incident)]
    if as_json:
        echo_json({"now": format_instant(now), "incidents": [i.to_json() for i in rows]})
        return
    if not rows:
        note(_("the incident register is empty"))
        return
    print_table(
        [
            _("INCIDENT"),
            _("NIS"),
            _("REPORTED BY"),
            _("DISCOVERED"),
            _("TO AGENCY"),
            _("TO AUTHORITY"),
            _("STATE"),
        ],
        [
            [
                i.incident_id,
                i.nis,
                _("us") if i.ours else _("the other party"),
                format_instant(i.discovered_at),
                left(i.agency_due, now) if i.open and i.ours else "-",
                left(i.authority_due, now) if i.open else "-",
                _("open") if i.open else _("closed"),
            ]
            for i in rows
        ],
    )


def print_notices(shown: Sequence[tuple[str, object, object]]) -> None:
    from securexchange.artifacts.incident import IncidentBody, IncidentDetails
    from securexchange.clock import format_instant

    labels = {
        "nature": _("nature"),
        "categories": _("categories of people and records"),
        "people": _("approximate number of people"),
        "records": _("approximate number of records"),
        "dpo_contact": _("DPO contact"),
        "consequences": _("likely consequences"),
        "measures": _("measures taken or proposed"),
    }
    for notice_id, body, details in shown:
        assert isinstance(body, IncidentBody)
        click.echo(f"== {notice_id} ({body.phase.value} {body.sequence}) ==")
        click.echo(f"{_('discovered')}: {format_instant(body.discovered_at)}")
        if not isinstance(details, IncidentDetails):
            click.echo(_("(details unreadable here: the subkey that opened them is destroyed)"))
            continue
        for name, label in labels.items():
            value = getattr(details, name)
            if value is not None:
                click.echo(f"{label}: {value}")
