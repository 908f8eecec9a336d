"""``agency import-return``, ``agency returns waiting``, ``agency report``, ``agency quality ...``:
what the municipalities send back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from securexchange.cli.agency.shared import agency_home, export_key_source, master_options
from securexchange.cli.common import (
    CliState,
    echo,
    echo_json,
    json_option,
    note,
    pass_state,
    print_table,
    shown,
)
from securexchange.cli.keyopts import (
    passphrase_option,
)
from securexchange.wording import counted

if TYPE_CHECKING:
    from datetime import date

    from securexchange.agency.ledger import QualityRow
    from securexchange.agency.return_result import ImportReturns


@click.command("import-return")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--skip-gap",
    "skip_gaps",
    multiple=True,
    metavar="SENDER:SEQ",
    help="Declare a sender's return lost, so the returns waiting for it apply (repeatable).",
)
@json_option
@passphrase_option
@pass_state
def import_return_command(
    state: CliState,
    *,
    files: tuple[Path, ...],
    skip_gaps: tuple[str, ...],
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Verify returns from municipalities and apply them to the status ledger.

    Every file must pass every check before any is applied: a signer authorised in
    the current keyring, status changes and data-quality reports only, records that
    were sent to that municipality. The same return again changes nothing.

    Each sender's returns are applied in their sequence order, whatever the order of
    the files: a return whose predecessor has not arrived is kept and waits (a
    'waiting:' line says for which number; exit 0) and is applied when it comes.
    --skip-gap SENDER:SEQ declares a return lost for good and applies what waited
    for it.

    \b
    Example:
      securexchange agency import-return inbox/*.sxr
      securexchange agency import-return --skip-gap ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ:3
    """
    from securexchange.agency.returns import import_returns, read_return_file
    from securexchange.agency.returns_waiting import parse_skip
    from securexchange.errors import UsageError

    if not files and not skip_gaps:
        raise UsageError("give return files, or --skip-gap SENDER:SEQ")
    skips = [parse_skip(text) for text in skip_gaps]
    data = [(path.name, read_return_file(path)) for path in files]
    with agency_home(state) as home:
        result = import_returns(
            home, export_key_source(home, passphrase_file), data, skip_gaps=skips
        )
    for signer, sequence in result.skipped:
        note(f"skipped: return {sequence} of {signer} declared lost (logged)")
    for r in result.waiting:
        note(
            f"waiting: {r.delta_id} ({r.signer} number {r.sequence}) needs sequence "
            f"{r.waits_for} first ({counted(r.missing, 'return')} missing); kept, applied "
            "when it arrives"
        )
    if as_json:
        echo_json(_returns_json(result))
    else:
        _print_returns_table(result)
    conflicts = sum(r.conflicts for r in result.results)
    if conflicts:
        note(f"{conflicts} status change(s) conflict with a newer status; see 'agency report'")
    dropped = sum(r.erased for r in result.results)
    if dropped:
        note(f"{dropped} entry(ies) about erased people dropped ('agency erase')")


def _returns_json(result: ImportReturns) -> dict[str, object]:
    return {
        "returns": [
            {
                "file": r.file,
                "delta": r.delta_id,
                "nis": r.nis,
                "signer": r.signer,
                "sequence": r.sequence,
                "applied": r.applied,
                "waits_for": r.waits_for,
                "statuses": r.statuses,
                "quality_reports": r.quality_reports,
                "conflicts": r.conflicts,
                "reports": list(r.report_ids),
                "erased_dropped": r.erased,
            }
            for r in result.results
        ],
        "skipped": [{"signer": s, "sequence": n} for s, n in result.skipped],
    }


def _print_returns_table(result: ImportReturns) -> None:
    print_table(
        ["DELTA", "NIS", "SEQ", "APPLIED", "STATUSES", "QUALITY", "CONFLICTS"],
        [
            [
                r.delta_id,
                r.nis,
                str(r.sequence),
                _applied_label(r.applied, r.waits_for),
                str(r.statuses),
                str(r.quality_reports),
                str(r.conflicts),
            ]
            for r in result.results
        ],
    )


def _applied_label(applied: bool, waits_for: int | None) -> str:
    if applied:
        return "yes"
    if waits_for is not None:
        return f"waiting for {waits_for}"
    return "no (seen before)"


@click.group("returns")
def returns_group() -> None:
    """Returns kept until their predecessor arrives."""


@returns_group.command("waiting")
@json_option
@pass_state
def returns_waiting(state: CliState, *, as_json: bool) -> None:
    """List the returns that wait for a lower sequence number of their sender.

    Needs no key. A return that is lost for good is released with
    'agency import-return --skip-gap SENDER:SEQ'.

    \b
    Example:
      securexchange agency returns waiting --json
    """
    from securexchange.agency.returns_waiting import waiting_returns

    with agency_home(state) as home:
        rows = waiting_returns(home)
    if as_json:
        echo_json(
            {
                "waiting": [
                    {
                        "delta": r.delta_id,
                        "nis": r.nis,
                        "signer": r.signer,
                        "sequence": r.sequence,
                        "created_at": r.created_at,
                        "received_at": r.received_at,
                        "needs": r.needs,
                        "missing": r.missing,
                    }
                    for r in rows
                ]
            }
        )
        return
    print_table(
        ["DELTA", "NIS", "SENDER", "SEQ", "NEEDS", "MISSING", "RECEIVED"],
        [
            [
                r.delta_id,
                r.nis,
                r.signer,
                str(r.sequence),
                str(r.needs),
                str(r.missing),
                r.received_at,
            ]
            for r in rows
        ],
    )
    note(f"{counted(len(rows), 'return')} waiting")


@click.command("report")
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), required=True, metavar="FILE.xlsx"
)
@json_option
@pass_state
def report_command(state: CliState, *, out: Path, as_json: bool) -> None:
    """Write the status report for trajectory counsellors (Dutch, .xlsx).

    Current status per newcomer by client id, the history with who and when, the
    conflicts, and the open data-quality reports with their two-week deadline (art. 7);
    overdue ones are highlighted. The file holds personal data: keep it at the agency.

    \b
    Example:
      securexchange agency report --out opvolging.xlsx
    """
    from securexchange.agency.report import write_report

    with agency_home(state) as home:
        summary = write_report(home, out)
    if as_json:
        echo_json(
            {
                "file": str(summary.path),
                "statuses": summary.statuses,
                "history": summary.history,
                "conflicts": summary.conflicts,
                "open_reports": summary.open_reports,
                "overdue": summary.overdue,
            }
        )
    else:
        echo(shown(summary.path))
    note(
        f"{counted(summary.statuses, 'status', 'statuses')}, "
        f"{counted(summary.conflicts, 'conflict')}, "
        f"{counted(summary.open_reports, 'open quality report')} ({summary.overdue} overdue)"
    )


@click.group("quality")
def quality_group() -> None:
    """Data-quality reports from municipalities (art. 7: handled within two weeks)."""


@quality_group.command("list")
@click.option(
    "--all", "include_answered", is_flag=True, help="Include reports whose answer was sent."
)
@json_option
@pass_state
def quality_list(state: CliState, *, include_answered: bool, as_json: bool) -> None:
    """List quality reports whose answer was not sent yet, earliest deadline first.

    A report counts as answered once a published package carries its outcome, not when
    it is resolved: one resolved but not sent yet shows 'resolved, not sent', and is
    OVERDUE like an open one once its due date (two weeks) has passed.
    """
    from securexchange.agency.quality import list_reports
    from securexchange.agency.registry import list_municipalities

    with agency_home(state, read_only=True) as home:
        listing = list_reports(home, include_answered=include_answered)
        nis = {r.entry.party_id: r.entry.nis for r in list_municipalities(home)}
    if as_json:
        echo_json(
            [
                {
                    "report": r.report_id,
                    "nis": nis.get(r.party_id),
                    "field": r.field,
                    "problem": r.problem,
                    "reported_at": r.reported_at,
                    "received_at": r.received_at,
                    "due_on": r.due_on.isoformat(),
                    "overdue": r.overdue(listing.today),
                    "outcome": r.outcome,
                    "resolved_at": r.resolved_at,
                    "sent": r.sent,
                    "answered_in": r.answered_in if r.sent else None,
                    "answered_at": r.answered_at,
                    "late": r.late,
                }
                for r in listing.rows
            ]
        )
        return
    print_table(
        ["REPORT", "NIS", "FIELD", "PROBLEM", "DUE", "STATE", "ANSWERED IN"],
        [
            [
                r.report_id,
                nis.get(r.party_id, "?"),
                r.field,
                r.problem,
                r.due_on.isoformat(),
                _quality_state(r, listing.today),
                f"{r.answered_in} ({(r.answered_at or '')[:10]})" if r.sent else "-",
            ]
            for r in listing.rows
        ],
    )
    if listing.overdue:
        note(
            f"warning: {len(listing.overdue)} report(s) are past their two-week deadline "
            "with no answer sent"
        )


def _quality_state(row: QualityRow, today: date) -> str:
    if row.sent:
        return f"answered: {row.outcome}" + (" (late)" if row.late else "")
    state = "open" if row.outcome is None else f"resolved ({row.outcome}), not sent"
    return f"{state}, OVERDUE" if row.overdue(today) else state


@quality_group.command("resolve")
@click.argument("report")
@click.argument("outcome")
@pass_state
def quality_resolve(state: CliState, *, report: str, outcome: str) -> None:
    """Record the outcome of a report: gecorrigeerd, correct-bevonden or ingetrokken.

    The outcome reaches the municipality with the next package ("Afhandeling melding"),
    or at once with 'agency quality answer'. The report counts as answered only then.

    \b
    Example:
      securexchange agency quality resolve qr-abcd... gecorrigeerd
    """
    from securexchange.agency.quality import resolve

    with agency_home(state) as home:
        row = resolve(home, report, outcome)
    echo(row.report_id)
    note(
        "resolved, not sent yet: the outcome goes to the municipality with the next "
        "package, or now with 'agency quality answer'"
    )


@quality_group.command("answer")
@click.argument("master", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--nis", required=True, metavar="CODE", help="The municipality to answer.")
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), required=True, metavar="DIR"
)
@master_options
@json_option
@passphrase_option
@pass_state
def quality_answer(
    state: CliState,
    *,
    master: Path,
    nis: str,
    out: Path,
    skip_invalid: bool,
    drop_columns: tuple[str, ...],
    mapping: Path | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Send the resolved answers to one municipality now (art. 7: within two weeks).

    Runs 'agency export MASTER --nis CODE' for that municipality alone: a normal
    package, superseding its last one, carrying every resolved outcome (and the
    master's records and statuses, as any export). No other municipality gets a
    package. Refused when the municipality has no resolved report waiting to be sent.
    Prints the package file (or --json) on stdout.

    \b
    Example:
      securexchange agency quality answer master.xlsx --nis 11002 --out outbox/
    """
    from securexchange.agency.export_result import ExportOptions
    from securexchange.agency.quality_answer import answer
    from securexchange.intake.master import load_mapping

    options = ExportOptions(
        skip_invalid=skip_invalid,
        drop_columns=tuple(drop_columns),
        mapping=None if mapping is None else load_mapping(mapping),
    )
    with agency_home(state) as home:
        result = answer(
            home,
            master,
            out,
            nis=nis,
            export_key=export_key_source(home, passphrase_file),
            options=options,
        )
    files = [p.file for p in result.export.packages if p.file is not None]
    if as_json:
        echo_json(
            {
                "packages": [
                    {"nis": p.nis, "id": p.package_id, "sequence": p.sequence, "file": str(p.file)}
                    for p in result.export.packages
                ],
                "answered": list(result.answered),
                "not_carried": list(result.not_carried),
            }
        )
    else:
        for path in files:
            echo(shown(path))
    note(f"{counted(len(result.answered), 'report')} answered in the package")
    if result.not_carried:
        note(
            f"warning: {counted(len(result.not_carried), 'resolved report')} not carried: "
            "its record is not in the master for this municipality"
        )


# --- agency export --------------------------------------------------------------------
