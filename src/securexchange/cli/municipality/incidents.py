"""``municipality incident ...``: report a breach to the agency within 48 hours."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from securexchange.cli.common import CliState, echo, json_option, note, pass_state, shown
from securexchange.cli.incident_views import (
    FORM,
    OUT,
    later_command,
    opening_draft,
    print_notices,
    print_register,
)
from securexchange.cli.keyopts import passphrase_option
from securexchange.cli.municipality.shared import identity_source, municipal_home
from securexchange.cli.translated import TranslatedCommand, TranslatedGroup
from securexchange.i18n import _

if TYPE_CHECKING:
    from securexchange.incidents.notices import Draft


@click.group(
    "incident",
    cls=TranslatedGroup,
    help=_(
        "Report an unlawful or unauthorised processing of or access to the data to the "
        "agency (protocol art. 6: within 48 hours of discovering it), and keep the "
        "incident register."
    ),
)
def incident_group() -> None:
    pass


def _send(state: CliState, draft: Draft, out: Path, passphrase_file: Path | None) -> None:
    from securexchange.municipality.incidents import send

    with municipal_home(state) as home:
        sent = send(home, identity_source(home, passphrase_file), draft, out)
        now = home.now
    echo(shown(out / f"{sent.notice_id}.sxi"))
    due = sent.incident.agency_due
    note(
        _(
            "incident {id}: notice {phase} written; send it to the agency now (deadline "
            "{due}); notify the supervisory authority yourself by {authority} (GDPR art. 33)"
        ).format(
            id=sent.incident_id,
            phase=sent.phase.value,
            due="-" if due is None else due.isoformat(),
            authority=sent.incident.authority_due.isoformat(),
        )
    )
    if due is not None and now > due:
        note(_("warning: the 48 hours after discovery have passed; send it at once"))


@incident_group.command(
    "open",
    cls=TranslatedCommand,
    help=_(
        "Open an incident: a signed notice for the agency's DPO, encrypted.\n\n"
        "FORM is a text file (or - for stdin) with lines such as 'aard: ...'; the fields "
        "are aard, categorieen, personen, records, contact, gevolgen, maatregelen.\n\n"
        "\b\nExample:\n"
        "  securexchange municipality incident open --discovered 2026-12-03T09:30 "
        "--form melding.txt --out uit/"
    ),
)
@click.option("--discovered", required=True, metavar="MOMENT", help=_("When it was discovered."))
@click.option("--form", "form", type=FORM, required=True, metavar="FORM")
@click.option("--out", type=OUT, required=True, metavar="DIR")
@passphrase_option
@pass_state
def open_command(
    state: CliState, *, discovered: str, form: Path, out: Path, passphrase_file: Path | None
) -> None:
    _send(state, opening_draft(discovered, form), out, passphrase_file)


for _phase in ("note", "close"):
    incident_group.add_command(
        later_command(
            _phase,
            _send,
            cls=TranslatedCommand,
            help_text=_("Add information to an incident (note) or close it (close)."),
        )
    )


@incident_group.command(
    "import",
    cls=TranslatedCommand,
    help=_("Take incident notices (of the agency, or of a colleague) into the register."),
)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@pass_state
def import_command(state: CliState, *, files: tuple[Path, ...]) -> None:
    from securexchange.cli.common import read_input
    from securexchange.incidents.notices import MAX_INCIDENT_BYTES
    from securexchange.municipality.incidents import receive

    with municipal_home(state) as home:
        for path in files:
            got = receive(home, read_input(path, limit=MAX_INCIDENT_BYTES, what="incident notice"))
            if got.again:
                note(_("{file}: already in the register; nothing changed").format(file=path.name))
            else:
                note(
                    _("{file}: incident {id}, notice {phase}, added to the register").format(
                        file=path.name, id=got.incident_id, phase=got.phase.value
                    )
                )


@incident_group.command("list", cls=TranslatedCommand, help=_("The incident register."))
@json_option
@pass_state
def list_command(state: CliState, *, as_json: bool) -> None:
    from securexchange.incidents.register import incidents

    with municipal_home(state, read_only=True) as home:
        print_register(incidents(home), home.now, as_json=as_json)


@incident_group.command(
    "show", cls=TranslatedCommand, help=_("Show an incident's notices, decrypted.")
)
@click.argument("incident")
@passphrase_option
@pass_state
def show_command(state: CliState, *, incident: str, passphrase_file: Path | None) -> None:
    from securexchange.municipality.incidents import show

    with municipal_home(state) as home:
        print_notices(show(home, identity_source(home, passphrase_file), incident.strip()))
