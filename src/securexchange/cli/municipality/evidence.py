"""``municipality evidence``: the signed report of measures for the agency (art. 6)."""

from __future__ import annotations

from pathlib import Path

import click

from securexchange.cli.common import CliState, echo, note, pass_state, read_input, shown
from securexchange.cli.keyopts import passphrase_option
from securexchange.cli.municipality.shared import identity_source, municipal_home
from securexchange.cli.translated import TranslatedCommand
from securexchange.i18n import _

MAX_DECLARATIONS_BYTES = 16 * 1024


@click.command(
    "evidence",
    cls=TranslatedCommand,
    help=_(
        "Write a signed report of the measures this home takes, for the agency (protocol "
        "art. 6): its key periods and their destruction, who holds access (fingerprint "
        "and role), the shredding and the log's checkpoints, as observed; and your answers "
        "to what the tool cannot see, marked as declarations. It is an attestation, not "
        "proof of everything.\n\n"
        "Statements: disk-encryption, screen-lock, physical-access, staff-instructed, "
        "backups-excluded, system-updates; answers: yes, no, unknown (an unanswered one "
        "reads 'not-declared').\n\n"
        "\b\nExample:\n"
        "  securexchange municipality evidence --out maatregelen.sxe \\\n"
        "      --declare disk-encryption=yes --declare screen-lock=yes"
    ),
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    metavar="FILE",
    help=_("The report to write (.sxe)."),
)
@click.option(
    "--declare",
    "declare",
    multiple=True,
    metavar="STATEMENT=ANSWER",
    help=_("An answer to one statement (repeatable)."),
)
@click.option(
    "--declarations",
    "declarations_file",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help=_("A file of STATEMENT=ANSWER lines ('#' starts a comment)."),
)
@passphrase_option
@pass_state
def evidence_command(
    state: CliState,
    *,
    out: Path,
    declare: tuple[str, ...],
    declarations_file: Path | None,
    passphrase_file: Path | None,
) -> None:
    from securexchange.municipality.evidence import (
        declaration_lines,
        make_evidence,
        parse_declarations,
    )

    items = list(declare)
    if declarations_file is not None:
        raw = read_input(declarations_file, limit=MAX_DECLARATIONS_BYTES, what="declarations")
        items += declaration_lines(raw.decode("utf-8", errors="replace"))
    answers = parse_declarations(items)
    with municipal_home(state) as home:
        made = make_evidence(home, identity_source(home, passphrase_file), answers=answers, out=out)
    body = made.body
    destroyed = sum(k.destroyed_at is not None for k in body.key_periods.subkeys)
    echo(shown(made.path))
    note(
        _(
            "report {id}: {subkeys} subkey(s), {destroyed} destroyed; {events} shred "
            "event(s); {entries} log entries; {answered} of {statements} statements "
            "declared; send it to the agency"
        ).format(
            id=made.evidence_id,
            subkeys=body.key_periods.total,
            destroyed=destroyed,
            events=body.shredding.total,
            entries=body.log.entries,
            answered=len(answers),
            statements=len(body.declarations),
        )
    )
