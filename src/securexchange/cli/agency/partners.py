"""``agency init``, ``agency municipality ...``, ``agency recipient ...`` and ``agency keyring
publish``: the agency's home, its municipalities, their authorised staff, the keyring."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from securexchange.cli.agency.shared import DATE, MAX_CARD_BYTES, agency_home, day_of, split_list
from securexchange.cli.common import (
    CliState,
    echo,
    echo_json,
    json_option,
    note,
    pass_state,
    print_table,
    read_input,
    shown,
)
from securexchange.cli.keyopts import (
    passphrase_option,
    root_key_options,
    root_source,
)
from securexchange.i18n import _
from securexchange.wording import counted

if TYPE_CHECKING:
    from securexchange.agency.clients import ClientSeen
    from securexchange.agency.registry import MunicipalityRow
    from securexchange.artifacts.keyring import MunicipalityEntry
    from securexchange.reminders import Event


@click.command("init")
@click.option("--name", required=True, help="The agency's name (on its key cards).")
@click.option(
    "--demo", is_flag=True, help="A demo home: no passphrase, clock override, DEMO marks."
)
@root_key_options
@passphrase_option
@pass_state
def init_command(
    state: CliState,
    *,
    name: str,
    demo: bool,
    root_key: Path | None,
    root_passphrase_file: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Create an agency home: the root key, the export key, keyring version 1.

    Prints the root key's fingerprint on stdout. The root key signs every keyring
    change; keep its file offline (--root-key FILE writes it there directly).

    \b
    Examples:
      securexchange --home agency agency init --name "AgII"
      securexchange --home demo-agency agency init --name "AgII" --demo
    """
    from securexchange.agency.changes import init_agency
    from securexchange.cli.keyopts import key_passphrase, root_passphrase
    from securexchange.keys.keyfile import work_factor_for

    work_factor = work_factor_for(demo=demo, env=os.environ)
    root_pp = root_passphrase(root_passphrase_file, passphrase_file, demo=demo, new=True)()
    export_pp = key_passphrase(passphrase_file, what="the agency export key", demo=demo, new=True)()
    if not demo and root_pp == export_pp:
        note("warning: the root and export keys share one passphrase; consider separate ones")
    result = init_agency(
        state.home_dir,
        env=os.environ,
        name=name,
        demo=demo,
        root_passphrase=root_pp,
        export_passphrase=export_pp,
        work_factor=work_factor,
        root_key=root_key,
    )
    echo(result.root_fingerprint.display)
    note(f"agency root key fingerprint: {result.root_fingerprint.display}")
    note(f"root key card (send it to each municipality): {shown(result.root_card)}")
    note(f"root key file: {shown(result.root_key)}; keep it offline and use --root-key FILE")
    if demo:
        note("note: DEMO home: keys have no passphrase; never use it for real data")


# --- agency municipality ... ----------------------------------------------------------


@click.group("municipality")
def municipality_group() -> None:
    """The municipalities with a data-sharing protocol."""


@municipality_group.command("add")
@click.option("--nis", required=True, metavar="CODE", help="The municipality's NIS code.")
@click.option("--name", required=True, help="The municipality's name.")
@click.option("--protocol-until", type=DATE, required=True, metavar="DATE", help="Last day.")
@click.option("--protocol-from", type=DATE, default=None, metavar="DATE", help="First day.")
@click.option(
    "--retention-months", type=click.IntRange(1, 24), default=6, show_default=True, metavar="N"
)
@click.option(
    "--profiles",
    default=None,
    metavar="ROLE,...",
    help="Function profiles allowed access (art. 4); without it any role is accepted.",
)
@root_key_options
@passphrase_option
@pass_state
def municipality_add(
    state: CliState,
    *,
    nis: str,
    name: str,
    protocol_until: datetime,
    protocol_from: datetime | None,
    retention_months: int,
    profiles: str | None,
    root_key: Path | None,
    root_passphrase_file: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Register a municipality (a keyring change, signed with the root key).

    \b
    Example:
      securexchange agency municipality add --nis 11002 --name Antwerpen \\
          --protocol-until 2026-12-31 --profiles integratiebeambte
    """
    from securexchange.agency.changes import add_municipality

    with agency_home(state) as home:
        entry, version = add_municipality(
            home,
            root_source(home, root_key, root_passphrase_file, passphrase_file),
            nis=nis,
            name=name,
            protocol_until=protocol_until.date(),
            protocol_from=day_of(protocol_from),
            retention_months=retention_months,
            profiles=split_list(profiles),
        )
    echo(entry.party_id)
    note(f"municipality {entry.nis} added; keyring version {version}")


def _terminated(entry: MunicipalityEntry) -> str:
    """The TERMINATED column: the day, and why when the keyring records it."""
    from securexchange.artifacts.protocol_terms import GROUND_WORDS

    if entry.terminated_on is None:
        return "-"
    day = entry.terminated_on.isoformat()
    return day if entry.ending is None else f"{day} ({_(GROUND_WORDS[entry.ending.ground])})"


def _municipality_json(
    row: MunicipalityRow,
    clients: Mapping[str, ClientSeen],
    events: Mapping[str, tuple[Event, ...]],
) -> dict[str, object]:
    from securexchange.agency.clients import UNKNOWN

    entry = row.entry
    seen = clients.get(entry.party_id)
    return {
        "nis": entry.nis,
        "name": entry.name,
        "party_id": entry.party_id,
        "protocol_id": entry.protocol_id,
        "protocol_from": entry.protocol_from.isoformat(),
        "protocol_until": entry.protocol_until.isoformat(),
        "retention_months": entry.retention_months,
        "profiles": list(entry.profiles),
        "terminated_on": None if entry.terminated_on is None else entry.terminated_on.isoformat(),
        "protocol_ref": entry.protocol_ref,
        "renews": entry.renews,
        "ending": None if entry.ending is None else entry.ending.to_json(),
        "active": row.active,
        "recipients": row.recipients,
        "client_version": UNKNOWN if seen is None else seen.shown,
        "client_seen_at": None if seen is None else seen.seen_at,
        "coming": [e.to_json() for e in events.get(entry.nis, ())],
    }


@municipality_group.command("list")
@json_option
@pass_state
def municipality_list(state: CliState, as_json: bool) -> None:
    """List the registered municipalities, their protocols and the client version
    their staff last returned with ("unknown": no return yet, or an older client)."""
    from securexchange.agency.clients import UNKNOWN, latest_by_party
    from securexchange.agency.coming import AGENCY, agency_coming
    from securexchange.agency.registry import list_municipalities
    from securexchange.reminders import describe

    with agency_home(state, read_only=True) as home:
        rows = list_municipalities(home)
        clients = latest_by_party(home)
        events = agency_coming(home)

    def client(party_id: str) -> str:
        seen = clients.get(party_id)
        return UNKNOWN if seen is None else seen.shown

    if as_json:
        echo_json([_municipality_json(r, clients, events) for r in rows])
        return
    print_table(
        [
            "NIS",
            "NAME",
            "FROM",
            "UNTIL",
            "TERMINATED",
            "ACTIVE",
            "RECIPIENTS",
            "PROFILES",
            "CLIENT",
        ],
        [
            [
                r.entry.nis,
                r.entry.name,
                r.entry.protocol_from.isoformat(),
                r.entry.protocol_until.isoformat(),
                # A notice may take effect later: the protocol is still active until then.
                _terminated(r.entry),
                "yes" if r.active else "no",
                str(r.recipients),
                ",".join(r.entry.profiles) or "(any)",
                client(r.entry.party_id),
            ]
            for r in rows
        ],
    )
    soon = [e for key in (AGENCY, *(r.entry.nis for r in rows)) for e in events.get(key, ())]
    if soon:
        echo("")
        echo("coming up:")
        for event in soon:
            echo(f"  {shown(describe(event))}")


# --- agency recipient ... -------------------------------------------------------------


@click.group("recipient")
def recipient_group() -> None:
    """The people each municipality authorised (art. 4, 6)."""


@recipient_group.command("add")
@click.option("--nis", required=True, metavar="CODE", help="The municipality's NIS code.")
@click.option(
    "--fingerprint",
    required=True,
    metavar="FP",
    help="The fingerprint the person read out to you (out of band).",
)
@click.argument("card", type=click.Path(path_type=Path, dir_okay=False))
@root_key_options
@passphrase_option
@pass_state
def recipient_add(
    state: CliState,
    *,
    nis: str,
    fingerprint: str,
    card: Path,
    root_key: Path | None,
    root_passphrase_file: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Authorise the person on CARD for a municipality (or update them after a rotation).

    \b
    Example:
      securexchange agency recipient add --nis 11002 --fingerprint ABCD-... jan.card.json
    """
    from securexchange.agency.changes import add_recipient
    from securexchange.agency.registry import RecipientChange

    data = read_input(card, limit=MAX_CARD_BYTES, what="key card")
    with agency_home(state) as home:
        result, change, version = add_recipient(
            home,
            root_source(home, root_key, root_passphrase_file, passphrase_file),
            nis=nis,
            fingerprint=fingerprint,
            card_data=data,
        )
        live = result.identity.live_subkeys(home.now)
    echo(result.fingerprint.display)
    if change is RecipientChange.UNCHANGED:
        note("this card is registered already; nothing changed")
    else:
        note(f"recipient {change.value}; keyring version {version}")
        if not live:
            note("warning: the card has no subkey valid now or later; ask for a rotated card")


@recipient_group.command("remove")
@click.option("--nis", required=True, metavar="CODE", help="The municipality's NIS code.")
@click.argument("fingerprint")
@root_key_options
@passphrase_option
@pass_state
def recipient_remove(
    state: CliState,
    *,
    nis: str,
    fingerprint: str,
    root_key: Path | None,
    root_passphrase_file: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Withdraw a person's access; it takes effect from the next package."""
    from securexchange.agency.changes import remove_recipient

    with agency_home(state) as home:
        version = remove_recipient(
            home,
            root_source(home, root_key, root_passphrase_file, passphrase_file),
            nis=nis,
            fingerprint=fingerprint,
        )
    note(f"recipient removed; keyring version {version}; publish the keyring and export again")


@recipient_group.command("list")
@json_option
@pass_state
def recipient_list(state: CliState, as_json: bool) -> None:
    """List the authorised people per municipality."""
    from securexchange.agency.registry import list_recipients
    from securexchange.clock import format_instant

    with agency_home(state, read_only=True) as home:
        rows = list_recipients(home)
        now = home.now
    if as_json:
        echo_json(
            [
                {
                    "nis": r.nis,
                    "fingerprint": r.card.fingerprint.display,
                    "name": r.card.owner.name,
                    "role": r.card.owner.role,
                    "added_at": r.added_at,
                    "updated_at": r.updated_at,
                    "subkeys": [
                        {
                            "recipient": s.recipient,
                            "valid_from": format_instant(s.valid_from),
                            "valid_until": format_instant(s.valid_until),
                        }
                        for s in r.card.identity.live_subkeys(now)
                    ],
                }
                for r in rows
            ]
        )
        return
    table = []
    for r in rows:
        live = r.card.identity.live_subkeys(now)
        until = format_instant(live[-1].valid_until)[:10] if live else "(none)"
        table.append(
            [r.nis, r.card.fingerprint.display, r.card.owner.role, r.card.owner.name, until]
        )
    print_table(["NIS", "FINGERPRINT", "ROLE", "NAME", "SUBKEYS UNTIL"], table)


# --- agency keyring ... ---------------------------------------------------------------


@click.group("keyring")
def keyring_group() -> None:
    """The root-signed keyring."""


@keyring_group.command("publish")
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), required=True, metavar="DIR"
)
@click.option(
    "--version",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="An earlier version (default: the latest).",
)
@pass_state
def keyring_publish(state: CliState, out: Path, version: int | None) -> None:
    """Write the latest signed keyring: the full one, one view per municipality, the
    root key card and an allowed_signers file for 'ssh-keygen -Y verify'.

    Needs no private key: every version is signed when it is made. With --version, an
    earlier one: the version a return or notice names, for an auditor.
    """
    from securexchange.agency.registry import publish_keyring

    with agency_home(state) as home:
        result = publish_keyring(home, out, version=version)
    for path in result.files:
        echo(shown(path))
    note(f"keyring version {result.version}: {counted(len(result.files), 'file')} in {shown(out)}")


# --- agency import-return / report / quality ----------------------------------------
