"""``municipality init``: a staff member's home, keys and key card."""

from __future__ import annotations

import os
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
from securexchange.cli.translated import TranslatedCommand
from securexchange.i18n import _


@click.command(
    cls=TranslatedCommand,
    name="init",
    help=_(
        "Create your home: pin the agency's root key, make your keys and your key card.\n"
        "\n"
        "Prints your fingerprint on stdout: read it to the agency (by phone, not by mail) "
        "when you send them your card. Check the agency's fingerprint shown on stderr the "
        "same way.\n"
        "\n"
        "\b\n"
        "Example:\n"
        '  securexchange municipality init --nis 11002 --name "An Peeters" \\\n'
        "      --role integratiebeambte --agency-key agency-root.card.json"
    ),
)
@click.option("--nis", required=True, metavar="CODE", help=_("Your municipality's NIS code."))
@click.option("--name", required=True, metavar="PERSON", help=_("Your name (on your key card)."))
@click.option("--role", required=True, help=_("Your function profile, e.g. integratiebeambte."))
@click.option(
    "--agency-key",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    metavar="CARD",
    help=_("The agency's root key card."),
)
@click.option(
    "--agency-fingerprint",
    default=None,
    metavar="FP",
    help=_("The agency root key's fingerprint, if you have it from the agency already."),
)
@click.option(
    "--demo", is_flag=True, help=_("A demo home: no passphrase, clock override, DEMO marks.")
)
@click.option(
    "--horizon",
    type=click.IntRange(1, 8),
    default=2,
    show_default=True,
    metavar="QUARTERS",
    help=_(
        "How many coming quarters your home holds keys for ahead, so that packages "
        "reach you without any action."
    ),
)
@passphrase_option
@pass_state
def init_command(
    state: CliState,
    *,
    nis: str,
    name: str,
    role: str,
    agency_key: Path,
    agency_fingerprint: str | None,
    demo: bool,
    horizon: int,
    passphrase_file: Path | None,
) -> None:
    from securexchange.cli.common import read_input
    from securexchange.cli.keyopts import key_passphrase
    from securexchange.keys.card import MAX_CARD_BYTES
    from securexchange.keys.keyfile import work_factor_for
    from securexchange.municipality.enrolment import init_municipality, read_agency_card

    card = read_input(agency_key, limit=MAX_CARD_BYTES, what="key card")
    pinned = read_agency_card(card)
    note(_("agency root key fingerprint: {fp}").format(fp=pinned.fingerprint.display))
    note(_("check it with the agency by phone before you send them your card"))
    work_factor = work_factor_for(demo=demo, env=os.environ)
    passphrase = key_passphrase(passphrase_file, what=_("your new key"), demo=demo, new=True)
    result = init_municipality(
        state.home_dir,
        env=os.environ,
        nis=nis,
        name=name,
        role=role,
        agency_card=card,
        agency_fingerprint=agency_fingerprint,
        passphrase=passphrase,
        demo=demo,
        work_factor=work_factor,
        horizon=horizon,
    )
    echo(result.fingerprint.display)
    note(_("your key card (send it to the agency): {path}").format(path=shown(result.card)))
    note(_("read your fingerprint (above) to the agency when they call to check it"))
    if demo:
        note(_("note: DEMO home: keys have no passphrase; never use it for real data"))
