"""The commands over the vault: import, open, record-id, set-status, report-quality.

Every one shreds first (``shared.municipal_home``), then does its own work."""

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
    workbook_warnings,
)
from securexchange.cli.translated import TranslatedCommand
from securexchange.i18n import _, ngettext


@click.command(
    cls=TranslatedCommand,
    name="import",
    help=_(
        "Verify and import packages, keyrings and termination notices from the agency.\n"
        "\n"
        "Files are imported one by one, in the order given. Nothing of a file is written "
        "unless every check of it passes. The first refused file stops the command: the "
        "files before it stay imported (each is listed as it is done), that file and the "
        "files after it are not imported. Importing the same file again is harmless.\n"
        "\n"
        "\b\n"
        "Example:\n"
        "  securexchange municipality import pkg-....sxp"
    ),
)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@passphrase_option
@pass_state
def import_command(
    state: CliState, *, files: tuple[Path, ...], passphrase_file: Path | None
) -> None:
    from securexchange.errors import SxError
    from securexchange.municipality.import_notes import imported_lines
    from securexchange.municipality.importer import Imported, import_files

    done: list[Imported] = []

    def report(item: Imported) -> None:
        done.append(item)
        for line in imported_lines(item, shown):
            note(line)

    try:
        with municipal_home(state) as home:
            import_files(
                home, list(files), identity_source(home, passphrase_file), on_imported=report
            )
            workbook_warnings(home)
    except SxError:
        if len(files) > 1 and len(done) < len(files):
            stopped = shown(files[len(done)].name)
            after = len(files) - len(done) - 1
            rest = (
                ngettext(", nor the {n} file after it", ", nor the {n} files after it", after)
                if after
                else ""
            )
            before = ngettext("{n} file", "{n} files", len(done))
            message = _(
                "stopped at {file}: not imported{rest}; {before} before it imported (listed above)"
            )
            note(
                message.format(
                    file=stopped, rest=rest.format(n=after), before=before.format(n=len(done))
                )
            )
        raise


@click.command(
    cls=TranslatedCommand,
    name="open",
    help=_(
        "Write the current records as an Excel workbook (Inburgeraars) and register it.\n"
        "\n"
        'Only "Status activiteit" and the "Melding" columns are yours to edit; the '
        'workbook is destroyed automatically at its deadline ("Bewaren tot").'
    ),
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="DIR",
    help=_("Write the workbook here (default: HOME/workbooks/)."),
)
@passphrase_option
@pass_state
def open_command(state: CliState, *, out: Path | None, passphrase_file: Path | None) -> None:
    from securexchange.municipality.opening import open_workbook

    with municipal_home(state) as home:
        opened = open_workbook(home, identity_source(home, passphrase_file), out)
        workbook_warnings(home)
    echo(shown(opened.path))
    note(
        ngettext(
            "{n} record; the file holds personal data: do not copy or mail it",
            "{n} records; the file holds personal data: do not copy or mail it",
            opened.records,
        ).format(n=opened.records)
    )
    if opened.synced_folder:
        note(
            _(
                "warning: the folder looks synchronised to the cloud (OneDrive, Dropbox, "
                "SharePoint, Google Drive, iCloud); copies there escape shredding"
            )
        )


@click.command(
    cls=TranslatedCommand,
    name="record-id",
    help=_(
        "Print the record id of the client called NAME, for set-status and report-quality.\n"
        "\n"
        "NAME is the first name and surname as in the workbook (either order; case, accents "
        "and spacing do not matter), or the surname alone. Without NAME it is asked for, so "
        "that the name stays out of the shell's history. A name that several records carry "
        "is refused unless --all is given.\n"
        "\n"
        "\b\n"
        "Example:\n"
        '  RECORD=$(securexchange municipality record-id "Yasmine Benali")'
    ),
)
@click.argument("name", required=False)
@click.option(
    "--all", "every", is_flag=True, help=_("Print the id of every record with that name.")
)
@passphrase_option
@pass_state
def record_id_command(
    state: CliState, *, name: str | None, every: bool, passphrase_file: Path | None
) -> None:
    from securexchange.municipality.lookup import find_record_ids

    if name is None:
        name = click.prompt(
            _("client's name (Voornaam Naam)"), err=True, default="", show_default=False
        )
    with municipal_home(state) as home:
        found = find_record_ids(home, identity_source(home, passphrase_file), name, every=every)
    for record_id in found.record_ids:
        echo(record_id)


@click.command(
    cls=TranslatedCommand,
    name="set-status",
    help=_("Set the activity status (Status activiteit) of one record, for scripts."),
)
@click.argument("record")
@click.argument("status")
@passphrase_option
@pass_state
def set_status_command(
    state: CliState, *, record: str, status: str, passphrase_file: Path | None
) -> None:
    from securexchange.municipality.opening import set_status

    with municipal_home(state) as home:
        changed = set_status(home, identity_source(home, passphrase_file), record, status)
    note(_("status stored; it goes back with the next return") if changed else _("unchanged"))


@click.command(
    cls=TranslatedCommand,
    name="report-quality",
    help=_("Report a data-quality problem (art. 7) in one field of one record."),
)
@click.argument("record")
@click.argument("field")
@click.argument("problem")
@passphrase_option
@pass_state
def report_quality_command(
    state: CliState, *, record: str, field: str, problem: str, passphrase_file: Path | None
) -> None:
    from securexchange.municipality.opening import report_quality

    with municipal_home(state) as home:
        report_quality(home, identity_source(home, passphrase_file), record, field, problem)
    note(_("report stored; it goes to the agency with the next return"))
