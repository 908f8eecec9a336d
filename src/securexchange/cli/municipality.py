"""``securexchange municipality ...``: the municipal client's commands.

Each command is one function on the ``municipality`` group; adding a command is adding
a function. The library is imported inside each function so ``--help`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

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
    shown,
)
from securexchange.cli.keyopts import passphrase_option
from securexchange.wording import counted

if TYPE_CHECKING:
    from securexchange.home.home import Home
    from securexchange.keys.keystore import KeySource
    from securexchange.municipality.retention import ShredReport


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
    from securexchange.cli.common import read_input
    from securexchange.cli.keyopts import key_passphrase
    from securexchange.keys.keyfile import work_factor_for
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
    echo(result.fingerprint.display)
    note(f"your key card (send it to the agency): {shown(result.card)}")
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
    from securexchange.municipality.returns import make_return

    # Shred first, as every municipal command does: status edits of shredded records
    # were harvested into the vault by then and still travel.
    with municipal_home(state) as home:
        made = make_return(home, _identity_source(home, passphrase_file), out)
    if made.path is None:
        note("nothing to return: no status change or quality report since the last return")
        return
    echo(shown(made.path))
    note(
        f"return {made.delta_id} (number {made.sequence}): {made.statuses} status "
        f"change(s), {made.quality_reports} quality report(s); send it to the agency"
    )


# --- the vault (issue 7): every command below shreds first, then does its own work ---


@contextmanager
def municipal_home(state: CliState, *, read_only: bool = False) -> Iterator[Home]:
    """Open the municipal home and run the shredding pass before anything else, so
    retention is enforced by every command, also one that then fails its checks.

    The one exception: a read-only command in a demo home under ``SECUREXCHANGE_NOW``
    only looks at the future; shredding there would make the demo's time travel
    permanent. In a real home the override is refused, so this never skips a pass."""
    from securexchange.home.home import HomeKind
    from securexchange.municipality.retention import shred

    with cli_home(state, HomeKind.MUNICIPALITY, read_only=read_only) as home:
        if not home.holds_still:
            _warn(shred(home))
        yield home


def _warn(report: ShredReport) -> None:
    if report.workbooks_pending:
        note(
            f"warning: {report.workbooks_pending} workbook(s) past their deadline could "
            "not be removed; close them in Excel (see 'municipality status')"
        )
    if report.lost:
        note(
            f"warning: lost {report.lost_packages} package(s), {report.lost_edits} "
            f"unreturned edit(s) and {report.lost_workbooks} workbook harvest(s): their "
            "subkey reached its destruction date before any command unlocked the key "
            "to move them to the current one"
        )
    if report.tampered:
        note(
            f"warning: {report.tampered} package(s) or subkey(s) in the state database "
            "disagreed with what the agency signed (the database was edited): shredded, "
            "or held to the signed dates; report it (protocol art. 6)"
        )
    if report.clock_moved:
        note(
            "warning: the home's clock mark was behind times its own records prove it "
            "has seen (edited, or restored from a backup); it was moved forward"
        )
    if report.subkey_files_pending:
        note(
            f"warning: {report.subkey_files_pending} destroyed subkey file(s) could not "
            "be removed yet; retried at every command (see 'municipality status')"
        )


def _identity_source(home: Home, passphrase_file: Path | None) -> KeySource:
    from securexchange.cli.keyopts import key_source
    from securexchange.keys.keystore import KeyUse

    return key_source(home, KeyUse.IDENTITY, passphrase_file, what="your key")


def _workbook_warnings(home: Home) -> None:
    """One ``warning:`` per workbook cell (or workbook) that was not read; the rest of
    the workbook was (docs/cli.md)."""
    from securexchange.municipality.workbooks import warnings

    for line in warnings(home):
        note(f"warning: {shown(line)}")


@municipality.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@passphrase_option
@pass_state
def import_command(
    state: CliState, *, files: tuple[Path, ...], passphrase_file: Path | None
) -> None:
    """Verify and import packages, keyrings and termination notices from the agency.

    Files are imported one by one, in the order given. Nothing of a file is written
    unless every check of it passes. The first refused file stops the command: the
    files before it stay imported (each is listed as it is done), that file and the
    files after it are not imported. Importing the same file again is harmless.

    \b
    Example:
      securexchange municipality import pkg-....sxp
    """
    from securexchange.errors import SxError
    from securexchange.municipality.importer import Imported, import_files

    done: list[Imported] = []

    def report(item: Imported) -> None:
        done.append(item)
        if item.changed:
            extra = f" ({counted(item.records, 'record')})" if item.kind == "package" else ""
            note(f"imported {item.kind} {shown(item.artifact_id)}{extra}: {shown(item.path.name)}")
        else:
            note(f"already imported, nothing changed: {shown(item.path.name)}")

    try:
        with municipal_home(state) as home:
            import_files(
                home, list(files), _identity_source(home, passphrase_file), on_imported=report
            )
            _workbook_warnings(home)
    except SxError:
        if len(files) > 1 and len(done) < len(files):
            stopped = files[len(done)]
            after = len(files) - len(done) - 1
            rest = f", nor the {counted(after, 'file')} after it" if after else ""
            note(
                f"stopped at {stopped.name}: not imported{rest}; "
                f"{counted(len(done), 'file')} before it imported (listed above)"
            )
        raise


@municipality.command("open")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="DIR",
    help="Write the workbook here (default: HOME/workbooks/).",
)
@passphrase_option
@pass_state
def open_command(state: CliState, *, out: Path | None, passphrase_file: Path | None) -> None:
    """Write the current records as an Excel workbook (Inburgeraars) and register it.

    Only "Status activiteit" and "Melding gegevenskwaliteit" are yours to edit; the
    workbook is destroyed automatically at its deadline ("Bewaren tot").
    """
    from securexchange.municipality.opening import open_workbook

    with municipal_home(state) as home:
        opened = open_workbook(home, _identity_source(home, passphrase_file), out)
        _workbook_warnings(home)
    echo(shown(opened.path))
    note(
        f"{counted(opened.records, 'record')}; the file holds personal data: do not copy or mail it"
    )
    if opened.synced_folder:
        note(
            "warning: the folder looks synchronised to the cloud (OneDrive, Dropbox, "
            "SharePoint, Google Drive, iCloud); copies there escape shredding"
        )


@municipality.command("record-id")
@click.argument("name", required=False)
@click.option("--all", "every", is_flag=True, help="Print the id of every record with that name.")
@passphrase_option
@pass_state
def record_id_command(
    state: CliState, *, name: str | None, every: bool, passphrase_file: Path | None
) -> None:
    """Print the record id of the client called NAME, for set-status and report-quality.

    NAME is the first name and surname as in the workbook (either order; case, accents
    and spacing do not matter), or the surname alone. Without NAME it is asked for, so
    that the name stays out of the shell's history. A name that several records carry
    is refused unless --all is given.

    \b
    Example:
      RECORD=$(securexchange municipality record-id "Yasmine Benali")
    """
    from securexchange.municipality.lookup import find_record_ids

    if name is None:
        name = click.prompt(
            "client's name (Voornaam Naam)", err=True, default="", show_default=False
        )
    with municipal_home(state) as home:
        found = find_record_ids(home, _identity_source(home, passphrase_file), name, every=every)
    for record_id in found.record_ids:
        echo(record_id)


@municipality.command("set-status")
@click.argument("record")
@click.argument("status")
@passphrase_option
@pass_state
def set_status_command(
    state: CliState, *, record: str, status: str, passphrase_file: Path | None
) -> None:
    """Set the activity status (Status activiteit) of one record, for scripts."""
    from securexchange.municipality.opening import set_status

    with municipal_home(state) as home:
        changed = set_status(home, _identity_source(home, passphrase_file), record, status)
    note("status stored; it goes back with the next return" if changed else "unchanged")


@municipality.command("report-quality")
@click.argument("record")
@click.argument("field")
@click.argument("problem")
@passphrase_option
@pass_state
def report_quality_command(
    state: CliState, *, record: str, field: str, problem: str, passphrase_file: Path | None
) -> None:
    """Report a data-quality problem (art. 7) in one field of one record."""
    from securexchange.municipality.opening import report_quality

    with municipal_home(state) as home:
        report_quality(home, _identity_source(home, passphrase_file), record, field, problem)
    note("report stored; it goes to the agency with the next return")


@municipality.command("shred")
@click.option("--dry-run", is_flag=True, help="Only show what would be destroyed now.")
@pass_state
def shred_command(state: CliState, *, dry_run: bool) -> None:
    """Destroy everything past its deadline now (needs no passphrase: for a scheduler).

    In a home whose state database is damaged or missing, every key file and workbook is
    destroyed (the deadlines cannot be read) and the command still fails: restore the
    home."""
    import sqlite3

    from securexchange.errors import StateMissing
    from securexchange.home.home import HomeKind
    from securexchange.home.statedb import damaged
    from securexchange.municipality.damaged import shred_damaged_home
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
        gone = shred_damaged_home(state.home_dir, env=os.environ)
        if gone is None:
            again = "is there again" if isinstance(exc, StateMissing) else "read back whole"
            named.message += f"; it {again} at a second look: nothing destroyed"
            named.hint = "run 'securexchange municipality shred' again"
            raise named from None
        named.message += (
            f"; destroyed without it: {counted(gone.subkey_files, 'subkey file')}, "
            f"{counted(gone.workbooks, 'workbook')}"
            + (f" ({gone.remaining} could not be removed yet)" if gone.remaining else "")
        )
        named.hint = (
            "restore the whole home from a backup (its keys come back with it, and what "
            "is past its date is shredded again); without a backup, enrol again"
        )
        raise named from None
    prefix = "would destroy" if dry_run else "destroyed"
    counts = report.counts()
    echo(
        f"{prefix}: {counted(counts['records'], 'record')}, "
        f"{counted(counts['packages'], 'package')}, "
        f"{counted(counts['workbooks'], 'workbook')}, {counted(counts['subkeys'], 'subkey')}"
    )
    if report.workbooks_pending and dry_run:
        note(f"warning: {report.workbooks_pending} workbook(s) could not be removed yet")
    elif not dry_run:
        _warn(report)


@municipality.command("status")
@json_option
@pass_state
def status_command(state: CliState, *, as_json: bool) -> None:
    """Packages, deadlines, changes still to return, workbooks and keys.

    In Dutch; SECUREXCHANGE_LANG=en for English. --json is the same in every language.
    """
    from securexchange.municipality.status import status
    from securexchange.municipality.status_text import LANG_VARIABLE, language, render

    with municipal_home(state, read_only=True) as home:
        doc = status(home).to_json()
    if as_json:
        echo_json(doc)
        return
    text = render(doc, language(os.environ.get(LANG_VARIABLE)))
    print_table(list(text.headers), [list(row) for row in text.rows])
    for line in text.lines:
        echo(line)
