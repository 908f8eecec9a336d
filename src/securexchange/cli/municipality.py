"""``securexchange municipality ...``: the municipal client's commands.

Each command is one function on the ``municipality`` group; adding a command is adding
a function. The library is imported inside each function so ``--help`` stays light.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from securexchange.cli.common import CliState, note, pass_state
from securexchange.cli.keyopts import passphrase_option


@click.group()
def municipality() -> None:
    """The municipal client: keys, import, open, status, return, shred."""


@municipality.command("init")
@click.option("--nis", required=True, metavar="CODE", help="Your municipality's NIS code.")
@click.option("--name", required=True, metavar="PERSON", help="Your name (on your key card).")
@click.option("--role", required=True, help="Your function profile, e.g. integratiebeambte.")
@click.option(
    "--agency-key",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    metavar="CARD",
    help="The agency's root key card.",
)
@click.option(
    "--agency-fingerprint",
    default=None,
    metavar="FP",
    help="The agency root key's fingerprint, if you have it from the agency already.",
)
@click.option(
    "--demo", is_flag=True, help="A demo home: no passphrase, clock override, DEMO marks."
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
    passphrase_file: Path | None,
) -> None:
    """Create your home: pin the agency's root key, make your keys and your key card.

    Prints your fingerprint on stdout: read it to the agency (by phone, not by mail)
    when you send them your card. Check the agency's fingerprint shown on stderr the
    same way.

    \b
    Example:
      securexchange municipality init --nis 11002 --name "An Peeters" \\
          --role integratiebeambte --agency-key agency-root.card.json
    """
    from securexchange.cli.agency import read_input
    from securexchange.cli.keyopts import key_passphrase
    from securexchange.keystore import work_factor_for
    from securexchange.municipality.enrolment import init_municipality, read_agency_card

    card = read_input(agency_key, limit=64 * 1024, what="key card")
    pinned = read_agency_card(card)
    note(f"agency root key fingerprint: {pinned.fingerprint.display}")
    note("check it with the agency by phone before you send them your card")
    work_factor = work_factor_for(demo=demo, env=os.environ)
    passphrase = key_passphrase(passphrase_file, what="your new key", demo=demo, new=True)
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
    )
    click.echo(result.fingerprint.display)
    note(f"your key card (send it to the agency): {result.card}")
    note("read your fingerprint (above) to the agency when they call to check it")
    if demo:
        note("note: DEMO home: keys have no passphrase; never use it for real data")


@municipality.command("return")
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), required=True, metavar="DIR"
)
@passphrase_option
@pass_state
def return_command(state: CliState, *, out: Path, passphrase_file: Path | None) -> None:
    """Write a signed, encrypted return for the agency: status changes and quality
    reports made since the last return, nothing else.

    Prints the file's path on stdout (nothing when there is nothing to return). Send
    the file to the agency over the usual channel.

    \b
    Example:
      securexchange municipality return --out terug/
    """
    from securexchange.cli.common import cli_home
    from securexchange.cli.keyopts import key_passphrase
    from securexchange.home import HomeKind
    from securexchange.keystore import KeySource, KeyUse, key_path, rewrite_work_factor
    from securexchange.municipality.returns import make_return

    with cli_home(state, HomeKind.MUNICIPALITY) as home:
        source = KeySource(
            path=key_path(home, KeyUse.IDENTITY),
            passphrase=key_passphrase(passphrase_file, what="your key", demo=home.demo),
            work_factor=rewrite_work_factor(home, os.environ),
        )
        made = make_return(home, source, out)
    if made.path is None:
        note("nothing to return: no status change or quality report since the last return")
        return
    click.echo(str(made.path))
    note(
        f"return {made.delta_id} (number {made.sequence}): {made.statuses} status "
        f"change(s), {made.quality_reports} quality report(s); send it to the agency"
    )
