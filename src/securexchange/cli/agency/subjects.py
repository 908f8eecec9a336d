"""``agency subject`` and ``agency erase``: data-subject requests (GDPR art. 15-17, 21).

The Klant-ID is read from stdin, never from argv: a command line is kept in shell
history, process listings and audit trails the tool does not control.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from securexchange.cli.agency.shared import agency_home
from securexchange.cli.common import CliState, echo, echo_json, json_option, note, pass_state, shown
from securexchange.errors import UsageError

_STDIN_LIMIT = 64 * 1024


def _stdin_text() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError(
            "give the Klant-ID on stdin, not as an argument",
            hint="e.g. securexchange agency subject --out inzage.xlsx < klant-id.txt",
        )
    data = sys.stdin.buffer.read(_STDIN_LIMIT + 1)
    if len(data) > _STDIN_LIMIT:
        raise UsageError("stdin holds more than 64 KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("stdin is not UTF-8 text") from None


@click.command("subject")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE.xlsx|FILE.json",
    help="Write the answer to this file (.xlsx workbook or .json).",
)
@json_option
@pass_state
def subject_command(state: CliState, *, out: Path | None, as_json: bool) -> None:
    """Answer a data subject's access request (GDPR art. 15): what was shared about one
    person, with which municipality, when, in which package, and which statuses and
    quality reports came back. Reads one Klant-ID from stdin.

    \b
    Example:
      securexchange agency subject --out inzage.xlsx < klant-id.txt
    """
    from securexchange.agency.erasures import read_client_ids
    from securexchange.agency.subject import answer
    from securexchange.agency.subject_files import record_shown, to_json, write_answer

    ids = read_client_ids(_stdin_text())
    if len(ids) != 1:
        raise UsageError("one Klant-ID per request", hint="run the command once per person")
    if out is None and not as_json:
        raise UsageError("say where the answer goes", hint="--out FILE.xlsx, or --json")
    with agency_home(state) as home:
        found = answer(home, ids[0])
        if out is None:
            record_shown(home, found)
        else:
            write_answer(home, found, out)
    if out is None:
        echo_json(to_json(found))
    else:
        echo(shown(out))
    note(
        f"shared in {len(found.shared)} package(s) with {found.municipalities} "
        f"municipality(ies); {len(found.statuses)} status(es) and "
        f"{len(found.quality)} quality report(s) came back"
        + ("; erased" if found.erasure is not None else "")
    )


@click.command("erase")
@click.option(
    "--reason",
    required=True,
    type=click.Choice(["objection", "rectification", "no-longer-needed", "other-legal-ground"]),
    help="The ground of the erasure (GDPR art. 17(1), 21).",
)
@json_option
@pass_state
def erase_command(state: CliState, *, reason: str, as_json: bool) -> None:
    """Erase data subjects at every municipality that received them (GDPR art. 17, 19).
    Reads Klant-IDs from stdin, one per line. Later exports leave them out, and the
    next packages to every municipality that received them carry an erasure
    instruction that their client carries out at import.

    \b
    Example:
      securexchange agency erase --reason objection < klant-id.txt
    """
    from securexchange.agency.erasures import erase, read_client_ids

    ids = read_client_ids(_stdin_text())
    with agency_home(state) as home:
        result = erase(home, ids, reason)
    if as_json:
        echo_json(
            {
                "erased": result.people,
                "already_erased": result.already,
                "instructions": result.municipalities,
                "never_shared": result.never_shared,
            }
        )
    note(
        f"{result.people} person(s) erased ({result.already} erased before); "
        f"{result.municipalities} municipality(ies) get an erasure instruction "
        "with their next package"
    )
    if result.never_shared:
        note(
            f"warning: {result.never_shared} Klant-ID(s) were in no package ever sent: check "
            "them for typing errors (letters count as typed); later exports leave them out"
        )
