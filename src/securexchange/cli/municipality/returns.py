"""``municipality return``: the signed, encrypted return for the agency."""

from __future__ import annotations

from pathlib import Path

import click

from securexchange.cli.common import (
    CliState,
    echo,
    note,
    pass_state,
    shown,
)
from securexchange.cli.keyopts import passphrase_option
from securexchange.cli.municipality.shared import (
    identity_source,
    municipal_home,
)
from securexchange.cli.translated import TranslatedCommand
from securexchange.i18n import _


@click.command(
    cls=TranslatedCommand,
    name="return",
    help=_(
        "Write a signed, encrypted return for the agency: status changes and quality "
        "reports made since the last return, nothing else.\n"
        "\n"
        "Prints the file's path on stdout (nothing when there is nothing to return). Send "
        "the file to the agency over the usual channel.\n"
        "\n"
        "\b\n"
        "Example:\n"
        "  securexchange municipality return --out terug/"
    ),
)
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), required=True, metavar="DIR"
)
@passphrase_option
@pass_state
def return_command(state: CliState, *, out: Path, passphrase_file: Path | None) -> None:
    from securexchange.municipality.returns import make_return

    # Shred first, as every municipal command does: status edits of shredded records
    # were harvested into the vault by then and still travel.
    with municipal_home(state) as home:
        made = make_return(home, identity_source(home, passphrase_file), out)
    if made.path is None:
        note(_("nothing to return: no status change or quality report since the last return"))
        return
    echo(shown(made.path))
    note(
        _(
            "return {id} (number {number}): {statuses} status change(s), {reports} quality "
            "report(s); send it to the agency"
        ).format(
            id=made.delta_id,
            number=made.sequence,
            statuses=made.statuses,
            reports=made.quality_reports,
        )
    )
