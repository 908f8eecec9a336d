"""What ``municipality incident`` and ``agency incident`` share: reading the form,
the draft of an opening notice, the ``note``/``close`` commands, and printing the
register and a notice."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from securexchange.cli.common import CliState, echo, echo_json, note, pass_state, print_table
from securexchange.cli.keyopts import passphrase_option
from securexchange.errors import UsageError
from securexchange.i18n import _
from securexchange.wording import time_left

if TYPE_CHECKING:
    from securexchange.artifacts.incident import IncidentBody, IncidentDetails
    from securexchange.incidents.notices import Draft
    from securexchange.incidents.register import Incident

FORM = click.Path(path_type=Path, dir_okay=False, allow_dash=True)
OUT = click.Path(path_type=Path, file_okay=False)

# Seal and write a draft: (state, draft, out directory, passphrase file).
Send = Callable[[CliState, "Draft", Path, "Path | None"], None]


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


def opening_draft(discovered: str, form: Path) -> Draft:
    """The draft of an opening notice: the moment of discovery and the form."""
    from securexchange.artifacts.incident import Phase
    from securexchange.clock import parse_local_moment
    from securexchange.incidents.form import parse_form
    from securexchange.incidents.notices import Draft

    return Draft(
        Phase.OPEN,
        parse_form(read_form(form)),
        discovered_at=parse_local_moment(discovered, "--discovered"),
    )


def later_command(
    phase_name: str, send: Send, *, cls: type[click.Command], help_text: str
) -> click.Command:
    """``incident note`` or ``incident close``: the same command on both sides."""

    @click.command(phase_name, cls=cls, help=help_text)
    @click.argument("incident")
    @click.option("--form", "form", type=FORM, default=None, metavar="FORM")
    @click.option("--out", type=OUT, required=True, metavar="DIR")
    @passphrase_option
    @pass_state
    def command(
        state: CliState,
        *,
        incident: str,
        form: Path | None,
        out: Path,
        passphrase_file: Path | None,
    ) -> None:
        from securexchange.artifacts.incident import IncidentDetails, Phase
        from securexchange.incidents.form import parse_form
        from securexchange.incidents.notices import Draft

        details = parse_form(read_form(form)) if form is not None else IncidentDetails()
        draft = Draft(Phase(phase_name), details, incident_id=incident.strip())
        send(state, draft, out, passphrase_file)

    return command


def print_register(rows: Sequence[Incident], now: datetime, *, as_json: bool) -> None:
    from securexchange.clock import format_instant

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
                time_left(i.agency_due, now) if i.open and i.ours else "-",
                time_left(i.authority_due, now) if i.open else "-",
                _("open") if i.open else _("closed"),
            ]
            for i in rows
        ],
    )


def print_notices(shown: Sequence[tuple[str, IncidentBody, IncidentDetails | None]]) -> None:
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
        echo(f"== {notice_id} ({body.phase.value} {body.sequence}) ==")
        echo(f"{_('discovered')}: {format_instant(body.discovered_at)}")
        if details is None:
            echo(_("(details unreadable here: the subkey that opened them is destroyed)"))
            continue
        for name, label in labels.items():
            value = getattr(details, name)
            if value is not None:
                echo(f"{label}: {value}")
