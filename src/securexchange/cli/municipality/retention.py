"""``municipality shred`` and ``municipality status``: deadlines enforced and shown."""

from __future__ import annotations

import os

import click

from securexchange.cli.common import (
    CliState,
    cli_home,
    echo,
    echo_json,
    json_option,
    note,
    pass_state,
    print_table,
)
from securexchange.cli.municipality.shared import (
    municipal_home,
    warn_about,
)
from securexchange.cli.translated import TranslatedCommand
from securexchange.i18n import _, ngettext


@click.command(
    cls=TranslatedCommand,
    name="shred",
    help=_(
        "Destroy everything past its deadline now (needs no passphrase: for a scheduler).\n"
        "\n"
        "In a home whose state database is damaged or missing, every key file and workbook "
        "is destroyed (the deadlines cannot be read) and the command still fails: restore "
        "the home."
    ),
)
@click.option("--dry-run", is_flag=True, help=_("Only show what would be destroyed now."))
@pass_state
def shred_command(state: CliState, *, dry_run: bool) -> None:
    import sqlite3

    from securexchange.errors import StateMissing
    from securexchange.home.home import HomeKind
    from securexchange.home.statedb import damaged
    from securexchange.municipality.retention import shred

    try:
        with cli_home(state, HomeKind.MUNICIPALITY, read_only=dry_run) as home:
            report = shred(home, dry_run=dry_run, log_always=not dry_run)
    except (sqlite3.DatabaseError, StateMissing) as exc:
        named = exc if isinstance(exc, StateMissing) else damaged(exc)
        if named is None or dry_run:
            raise
        # The deadlines are in the damaged database: destroy what can be found without
        # it rather than keep every key until someone restores the home.
        from securexchange.municipality.damaged import shred_damaged_home

        gone = shred_damaged_home(state.home_dir, env=os.environ)
        if gone is None:
            again = (
                _("{message}; it is there again at a second look: nothing destroyed")
                if isinstance(exc, StateMissing)
                else _("{message}; it read back whole at a second look: nothing destroyed")
            )
            named.message = again.format(message=named.message)
            named.hint = _("run 'securexchange municipality shred' again")
            raise named from None
        destroyed = _("{message}; destroyed without it: {keys}, {workbooks}").format(
            message=named.message,
            keys=ngettext("{n} subkey file", "{n} subkey files", gone.subkey_files).format(
                n=gone.subkey_files
            ),
            workbooks=ngettext("{n} workbook", "{n} workbooks", gone.workbooks).format(
                n=gone.workbooks
            ),
        )
        if gone.remaining:
            destroyed += _(" ({n} could not be removed yet)").format(n=gone.remaining)
        named.message = destroyed
        named.hint = _(
            "restore the whole home from a backup (its keys come back with it, and what "
            "is past its date is shredded again); without a backup, enrol again"
        )
        raise named from None
    counts = report.counts()
    line = (
        _("would destroy: {records}, {packages}, {workbooks}, {keys}")
        if dry_run
        else _("destroyed: {records}, {packages}, {workbooks}, {keys}")
    )
    records, packages = counts["records"], counts["packages"]
    workbooks, subkeys = counts["workbooks"], counts["subkeys"]
    echo(
        line.format(
            records=ngettext("{n} record", "{n} records", records).format(n=records),
            packages=ngettext("{n} package", "{n} packages", packages).format(n=packages),
            workbooks=ngettext("{n} workbook", "{n} workbooks", workbooks).format(n=workbooks),
            keys=ngettext("{n} subkey", "{n} subkeys", subkeys).format(n=subkeys),
        )
    )
    if report.workbooks_pending and dry_run:
        note(
            _("warning: {n} workbook(s) could not be removed yet").format(
                n=report.workbooks_pending
            )
        )
    elif not dry_run:
        warn_about(report)


@click.command(
    cls=TranslatedCommand,
    name="status",
    help=_(
        "Packages, deadlines, changes still to return, workbooks and keys.\n"
        "\n"
        "In the language of the run (--lang); --json is the same in every language."
    ),
)
@json_option
@pass_state
def status_command(state: CliState, *, as_json: bool) -> None:
    from securexchange.municipality.status import status
    from securexchange.municipality.status_text import render

    with municipal_home(state, read_only=True) as home:
        doc = status(home).to_json()
    if as_json:
        echo_json(doc)
        return
    text = render(doc)
    print_table(list(text.headers), [list(row) for row in text.rows])
    for line in text.lines:
        echo(line)
