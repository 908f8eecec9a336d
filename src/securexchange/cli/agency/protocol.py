"""``agency notice ...`` and ``agency municipality renew``: written notice (protocol art.
5) and a new protocol that follows the old one."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from securexchange.cli.agency.shared import DATE, agency_home, export_key_source
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
from securexchange.cli.keyopts import passphrase_option, root_key_options, root_source

_OUT = click.Path(path_type=Path, file_okay=False)
_FILE = click.Path(path_type=Path, dir_okay=False)


@click.group("notice")
def notice_group() -> None:
    """Written notice (art. 5): three months from receipt, by either party."""


@notice_group.command("give")
@click.option("--nis", required=True, metavar="CODE", help="The municipality's NIS code.")
@click.option(
    "--decision",
    required=True,
    metavar="REF",
    help="The reference of the board's decision to give notice.",
)
@click.option("--out", type=_OUT, required=True, metavar="DIR")
@passphrase_option
@pass_state
def give_command(
    state: CliState, *, nis: str, decision: str, out: Path, passphrase_file: Path | None
) -> None:
    """Give a municipality written notice (export key). Its three months run from the
    day the municipality takes it in; take its receipt in with 'agency notice import'.

    \b
    Example:
      securexchange agency notice give --nis 11002 --decision "RvB 2027/12" --out outbox/
    """
    from securexchange.agency.protocol_end import give_notice

    with agency_home(state) as home:
        given = give_notice(
            home, export_key_source(home, passphrase_file), nis=nis, decision=decision, out_dir=out
        )
    echo(shown(given.path))
    if given.again:
        note(f"notice {given.notice_id} was given before; written again")
    else:
        note(f"notice {given.notice_id} given; send it to the municipality")


@notice_group.command("import")
@click.argument("files", nargs=-1, required=True, type=_FILE)
@root_key_options
@passphrase_option
@pass_state
def import_command(
    state: CliState,
    *,
    files: tuple[Path, ...],
    root_key: Path | None,
    root_passphrase_file: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Take in a municipality's notice, or its receipt of the agency's notice, and
    record the end of the protocol (receipt + 3 months) in a new keyring version (root
    key)."""
    from securexchange.agency.protocol_end import import_notice
    from securexchange.ending.notices import MAX_NOTICE_BYTES

    with agency_home(state) as home:
        root = root_source(home, root_key, root_passphrase_file, passphrase_file)
        for path in files:
            got = import_notice(
                home, root, read_input(path, limit=MAX_NOTICE_BYTES, what="protocol notice")
            )
            if got.again:
                note(f"{path.name}: {got.kind.value} {got.notice_id} kept already; nothing changed")
                continue
            if got.keyring_version is None:
                note(f"{path.name}: kept; an earlier end is recorded already")
                continue
            note(
                f"{path.name}: {got.kind.value} of municipality {got.nis}, received "
                f"{got.received_on.isoformat()}: the protocol ends on "
                f"{got.effective.isoformat()} (keyring version {got.keyring_version}); "
                "publish the keyring"
            )


@notice_group.command("list")
@json_option
@pass_state
def list_command(state: CliState, *, as_json: bool) -> None:
    """The notices given and received, and their receipts."""
    from securexchange.ending.notices import all_held

    with agency_home(state, read_only=True) as home:
        rows = all_held(home)
    if as_json:
        echo_json([r.to_json() for r in rows])
        return
    print_table(
        ["NOTICE", "KIND", "BY", "DECISION", "RECEIVED", "ENDS"],
        [
            [
                r.notice_id,
                r.kind.value,
                r.given_by.value,
                r.decision or "-",
                "-" if r.received_on is None else r.received_on.isoformat(),
                "-" if r.effective is None else r.effective.isoformat(),
            ]
            for r in rows
        ],
    )


@click.command("renew")
@click.option("--nis", required=True, metavar="CODE", help="The municipality's NIS code.")
@click.option("--until", type=DATE, required=True, metavar="DATE", help="The new last day.")
@click.option("--protocol-ref", required=True, metavar="REF", help="The new protocol's reference.")
@root_key_options
@passphrase_option
@pass_state
def renew_command(
    state: CliState,
    *,
    nis: str,
    until: datetime,
    protocol_ref: str,
    root_key: Path | None,
    root_passphrase_file: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Record a new protocol that follows the current one (a keyring change, root key).
    The people enrolled stay enrolled.

    \b
    Example:
      securexchange agency municipality renew --nis 11002 --until 2029-12-31 \\
          --protocol-ref "AgII-PR-2027-011"
    """
    from securexchange.agency.protocol_end import renew

    with agency_home(state) as home:
        entry, version = renew(
            home,
            root_source(home, root_key, root_passphrase_file, passphrase_file),
            nis=nis,
            until=until.date(),
            protocol_ref=protocol_ref,
        )
    echo(entry.protocol_id)
    note(
        f"municipality {entry.nis}: protocol {entry.protocol_ref} until "
        f"{entry.protocol_until.isoformat()} renews {entry.renews}; keyring version {version}; "
        "publish the keyring"
    )
