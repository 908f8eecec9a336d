"""``agency dpo ...`` and ``agency incident ...``: the agency's DPO key, and incident
notices to and from the municipalities (protocol art. 6, 9)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from securexchange.cli.agency.shared import agency_home, export_key_source
from securexchange.cli.common import CliState, echo, json_option, note, pass_state, shown
from securexchange.cli.incident_views import (
    FORM,
    OUT,
    later_command,
    opening_draft,
    print_notices,
    print_register,
)
from securexchange.cli.keyopts import passphrase_option, root_key_options, root_source

if TYPE_CHECKING:
    from securexchange.home.home import Home
    from securexchange.incidents.notices import Draft
    from securexchange.keys.keystore import KeySource

_FILE = click.Path(path_type=Path, dir_okay=False)
F = TypeVar("F", bound=Callable[..., Any])


def _dpo_options(func: F) -> F:
    """The DPO key's passphrase, then the root key's options (``dpo init``/``refresh``)."""
    return _dpo_option(root_key_options(passphrase_option(func)))


def _dpo_option(func: F) -> F:
    return click.option(
        "--dpo-passphrase-file",
        type=_FILE,
        default=None,
        metavar="FILE",
        help="Read the DPO key's passphrase from FILE (or set SECUREXCHANGE_DPO_PASSPHRASE_FILE).",
    )(func)


def _dpo_source(home: Home, dpo_passphrase_file: Path | None, *, new: bool = False) -> KeySource:
    from securexchange.cli.keyopts import Passphrase
    from securexchange.keys.keystore import KeySource, KeyUse, key_path, rewrite_work_factor

    return KeySource(
        path=key_path(home, KeyUse.DPO),
        passphrase=Passphrase(
            (dpo_passphrase_file, "SECUREXCHANGE_DPO_PASSPHRASE_FILE"),
            what="the agency DPO key",
            new=new,
            demo=home.demo,
        ),
        work_factor=rewrite_work_factor(home, os.environ),
    )


@click.group("dpo")
def dpo_group() -> None:
    """The agency's DPO key: incident notices from municipalities are encrypted to it."""


@dpo_group.command("init")
@click.option("--name", required=True, help="The DPO's name (on the key card).")
@_dpo_options
@pass_state
def dpo_init(
    state: CliState,
    *,
    name: str,
    dpo_passphrase_file: Path | None,
    root_key: Path | None,
    root_passphrase_file: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Make the DPO key and sign a keyring version that lists it (root key)."""
    from securexchange.agency.dpo_key import init_dpo
    from securexchange.keys.keyfile import work_factor_for

    with agency_home(state) as home:
        source = _dpo_source(home, dpo_passphrase_file, new=True)
        made = init_dpo(
            home,
            root_source(home, root_key, root_passphrase_file, passphrase_file),
            name=name,
            passphrase=source.passphrase(),
            work_factor=work_factor_for(demo=home.demo, env=os.environ),
        )
    echo(made.fingerprint)
    note(f"DPO key made; keyring version {made.keyring_version} lists it; publish the keyring")


@dpo_group.command("refresh")
@_dpo_options
@pass_state
def dpo_refresh(
    state: CliState,
    *,
    dpo_passphrase_file: Path | None,
    root_key: Path | None,
    root_passphrase_file: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Top the DPO key's subkeys up and sign a keyring version that lists them."""
    from securexchange.agency.dpo_key import refresh_dpo

    with agency_home(state) as home:
        source = _dpo_source(home, dpo_passphrase_file)
        made = refresh_dpo(
            home, root_source(home, root_key, root_passphrase_file, passphrase_file), source
        )
    note(f"DPO subkeys until {made.subkeys_until}; keyring version {made.keyring_version}")


@click.group("incident")
def incident_group() -> None:
    """Incidents: notices to and from the municipalities' DPOs, and the register."""


def _send(
    state: CliState, draft: Draft, out: Path, passphrase_file: Path | None, *, nis: str = ""
) -> None:
    """Seal ``draft`` with the export key; ``nis`` names the municipality of a new
    incident (a note or close finds it in the register)."""
    from securexchange.agency.incidents import send

    with agency_home(state) as home:
        sent = send(home, export_key_source(home, passphrase_file), draft, nis=nis, out_dir=out)
    echo(shown(out / f"{sent.notice_id}.sxi"))
    note(
        f"incident {sent.incident_id}: notice {sent.phase.value} written; send it to the "
        f"municipality's DPO; notify the supervisory authority by "
        f"{sent.incident.authority_due.isoformat()} (GDPR art. 33)"
    )


@incident_group.command("open")
@click.option("--nis", required=True, metavar="CODE", help="The municipality concerned.")
@click.option("--discovered", required=True, metavar="MOMENT", help="When it was discovered.")
@click.option("--form", "form", type=FORM, required=True, metavar="FORM")
@click.option("--out", type=OUT, required=True, metavar="DIR")
@passphrase_option
@pass_state
def open_command(
    state: CliState,
    *,
    nis: str,
    discovered: str,
    form: Path,
    out: Path,
    passphrase_file: Path | None,
) -> None:
    """Open an incident with a municipality: a notice to its DPOs (FORM: file or -)."""
    _send(state, opening_draft(discovered, form), out, passphrase_file, nis=nis)


for _phase in ("note", "close"):
    incident_group.add_command(
        later_command(
            _phase,
            _send,
            cls=click.Command,
            help_text="Add information to an incident the agency reported (note), or close it.",
        )
    )


@incident_group.command("import")
@click.argument("files", nargs=-1, required=True, type=_FILE)
@pass_state
def import_command(state: CliState, *, files: tuple[Path, ...]) -> None:
    """Take municipalities' incident notices into the register (no key needed)."""
    from securexchange.agency.incidents import receive
    from securexchange.cli.common import read_input
    from securexchange.incidents.notices import MAX_INCIDENT_BYTES

    with agency_home(state) as home:
        for path in files:
            got = receive(home, read_input(path, limit=MAX_INCIDENT_BYTES, what="incident notice"))
            state_text = "already in the register; nothing changed" if got.again else "added"
            note(f"{path.name}: incident {got.incident_id}, notice {got.phase.value}: {state_text}")


@incident_group.command("list")
@json_option
@pass_state
def list_command(state: CliState, *, as_json: bool) -> None:
    """The incident register, with the time left to each deadline."""
    from securexchange.incidents.register import incidents

    with agency_home(state, read_only=True) as home:
        print_register(incidents(home), home.now, as_json=as_json)


@incident_group.command("show")
@click.argument("incident")
@_dpo_option
@pass_state
def show_command(state: CliState, *, incident: str, dpo_passphrase_file: Path | None) -> None:
    """Show an incident's notices, decrypted with the DPO key."""
    from securexchange.agency.incidents import show

    with agency_home(state) as home:
        print_notices(show(home, _dpo_source(home, dpo_passphrase_file), incident.strip()))
