"""``agency export`` and ``agency terminate``: packages out, and the end of a protocol."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from securexchange.artifacts.protocol_terms import TERMINATION_GROUNDS
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
from securexchange.i18n import _

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from securexchange.agency.export_result import ExportResult
    from securexchange.intake.master import Problem


@click.command("export")
@click.argument("master", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), required=True, metavar="DIR"
)
@click.option(
    "--nis",
    "nis_codes",
    multiple=True,
    metavar="CODE",
    help="Export only to this municipality (repeatable; default: every registered one).",
)
@click.option("--dry-run", is_flag=True, help="Validate and plan; write nothing, ask no key.")
@master_options
@click.option(
    "--allow-missing",
    is_flag=True,
    help=(
        "Exit 0 even when a municipality with an active protocol gets no package "
        "(no recipient with a key valid now)."
    ),
)
@click.option("--jobs", type=click.IntRange(1, 64), default=None, metavar="N", hidden=True)
@json_option
@passphrase_option
@pass_state
def export_command(
    state: CliState,
    *,
    master: Path,
    out: Path,
    nis_codes: tuple[str, ...],
    dry_run: bool,
    skip_invalid: bool,
    drop_columns: tuple[str, ...],
    mapping: Path | None,
    jobs: int | None,
    allow_missing: bool,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Export MASTER: one signed package per municipality, encrypted to its recipients.

    Every municipality with an active protocol and a recipient gets a package (an empty
    one if it has no records, so records of people who moved away are shredded there);
    the others are listed as skipped. Prints a table (or --json) on stdout. When a
    municipality with an active protocol gets no package (nobody there holds a key
    valid now), every other package is still written, and the command then exits 1
    with SX-NO-RECIPIENT, unless --allow-missing. Rows for NIS codes that are not
    registered do not change the exit status.

    \b
    Examples:
      securexchange agency export master.xlsx --out outbox/
      securexchange agency export master.xlsx --out outbox/ --nis 11002 --dry-run
    """
    import sys
    from contextlib import ExitStack

    from securexchange.agency.export import check_every_municipality_reached, export_master
    from securexchange.agency.export_result import ExportOptions
    from securexchange.intake.master import MasterProblems, load_mapping

    options = ExportOptions(
        nis=tuple(nis_codes),
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        drop_columns=tuple(drop_columns),
        mapping=None if mapping is None else load_mapping(mapping),
        workers=jobs,
    )
    show_bar = sys.stderr.isatty() and not as_json
    with ExitStack() as stack:
        bars: list[ProgressBar[int]] = []

        def progress(done: int, total: int) -> None:
            if not show_bar or total == 0:
                return
            if not bars:
                bar: ProgressBar[int] = click.progressbar(
                    length=total, label="packages", file=sys.stderr
                )
                bars.append(stack.enter_context(bar))
            bars[0].update(done - bars[0].pos)

        try:
            with agency_home(state) as home:
                result = export_master(
                    home,
                    master,
                    out,
                    export_key=export_key_source(home, passphrase_file),
                    options=options,
                    progress=progress,
                )
        except MasterProblems as problems:
            if as_json:
                echo_json({"problems": [_problem_json(p) for p in problems.problems]})
            else:
                echo(problems.table())
            raise
    _print_export(result, as_json)
    if not allow_missing:
        check_every_municipality_reached(result)


def _problem_json(problem: Problem) -> dict[str, object]:
    return {
        "sheet": problem.sheet,
        "row": problem.row,
        "column": problem.column,
        "field": problem.header,
        "problem": problem.reason,
    }


def _print_export(result: ExportResult, as_json: bool) -> None:
    if as_json:
        echo_json(_export_json(result))
    else:
        _print_export_table(result)
    _export_notes(result, as_json)


def _export_json(result: ExportResult) -> dict[str, object]:
    return {
        "dry_run": result.dry_run,
        "out": str(result.out_dir),
        "packages": [
            {
                "nis": p.nis,
                "name": p.name,
                "records": p.records,
                "expired": p.expired,
                "erasures": p.erasures,
                "erased_rows": p.erased_rows,
                "recipients": p.recipients,
                "sequence": p.sequence,
                "id": p.package_id,
                "file": None if p.file is None else str(p.file),
                "recipients_without_subkey": p.without_subkey,
                "post_quantum": p.post_quantum,
                "held_back_by": [
                    {"name": h.name, "fingerprint": h.fingerprint} for h in p.held_back
                ],
            }
            for p in result.packages
        ],
        "skipped": [
            {"nis": s.nis, "name": s.name, "reason": s.reason.value, "rows": s.rows}
            for s in result.skipped
        ],
        "rows_read": result.rows_read,
        "rows_outside_selection": result.rows_outside_selection,
        "invalid_rows_skipped": [_problem_json(p) for p in result.problems],
        "problems_omitted": result.problems_omitted,
        "rolled_forward": [str(p) for p in result.rolled_forward],
        "coming": [e.to_json() for e in result.coming],
        "pseudonym_key": str(result.pseudonym_key),
        "pseudonym_key_created": result.pseudonym_key_created,
    }


def _print_export_table(result: ExportResult) -> None:
    print_table(
        ["NIS", "MUNICIPALITY", "RECORDS", "RECIPIENTS", "SEQ", "FILE"],
        [
            [
                p.nis,
                p.name,
                str(p.records),
                str(p.recipients),
                str(p.sequence),
                "(dry run)" if p.file is None else p.file.name,
            ]
            for p in result.packages
        ]
        + [
            [s.nis, s.name, str(s.rows), "-", "-", f"skipped: {s.reason.value}"]
            for s in result.skipped
        ],
    )


def _export_notes(result: ExportResult, as_json: bool) -> None:
    for path in result.rolled_forward:
        note(f"published a package of an interrupted export: {shown(path)}")
    for s in result.skipped:
        if s.reason.missing:
            note(
                f"warning: {shown(s.nis)} ({shown(s.name)}) got no package: {s.reason.value}; "
                f"{s.rows} row(s) not exported"
            )
        else:
            note(f"skipped {shown(s.nis)} ({s.reason.value}); {s.rows} row(s) not exported")
    for p in result.packages:
        if p.without_subkey:
            note(
                f"warning: {p.without_subkey} recipient(s) of {p.nis} have no subkey valid now "
                "and cannot read this package; they run 'keys rotate' and send their new card"
            )
        if p.held_back:
            people = ", ".join(f"{shown(h.name)} ({h.fingerprint})" for h in p.held_back)
            note(
                _(
                    "warning: the package for {nis} is classic only, not post-quantum: "
                    "{people} hold no post-quantum key; they run 'keys rotate' and send "
                    "their new card"
                ).format(nis=p.nis, people=people)
            )
    from securexchange.reminders import describe

    for event in result.coming:
        note(f"reminder: {shown(describe(event))}")
    if result.rows_outside_selection:
        note(f"{result.rows_outside_selection} row(s) for municipalities not selected with --nis")
    expired = sum(p.expired for p in result.packages)
    if expired:
        note(f"{expired} row(s) left out: their retention deadline has passed")
    erased_rows = sum(p.erased_rows for p in result.packages)
    if erased_rows:
        note(f"{erased_rows} row(s) left out: the person was erased ('agency erase')")
    carried = sum(p.erasures for p in result.packages)
    if carried:
        note(f"{carried} erasure instruction(s) carried to the municipalities")
    if result.problems or result.problems_omitted:
        count = len(result.problems) + result.problems_omitted
        note(
            f"warning: {count} problem(s) in the master; those rows were left out (--skip-invalid)"
        )
        if not as_json:
            for problem in result.problems:
                note(f"  {problem}")  # Problem escapes its sheet name itself
    if result.pseudonym_key_created:
        note(
            f"created the pseudonym key {shown(result.pseudonym_key)}: back it up now; without it "
            "every record gets a new id"
        )
    if result.dry_run:
        note(f"dry run: {len(result.packages)} package(s) would be written; nothing was written")
    else:
        note(
            f"{len(result.packages)} package(s), {result.records} record(s) in "
            f"{shown(result.out_dir)}; "
            f"back up {shown(result.pseudonym_key)} with the home"
        )


# --- agency terminate (issue 7) ---------------------------------------------------------


@click.command("terminate")
@click.option("--nis", required=True, metavar="CODE", help="The municipality's NIS code.")
@click.option(
    "--effective",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="DATE",
    help="The first day the protocol no longer applies (YYYY-MM-DD).",
)
@click.option(
    "--ground",
    required=True,
    type=click.Choice([g.value for g in TERMINATION_GROUNDS]),
    help="Why: a breach of the protocol, the GDPR or other data-protection law (art. 8), "
    "or the end by operation of law (art. 12).",
)
@click.option(
    "--decision",
    metavar="REF",
    default=None,
    help="The reference of the decision (college or board); required but by law.",
)
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), required=True, metavar="DIR"
)
@passphrase_option
@pass_state
def terminate_command(
    state: CliState,
    *,
    nis: str,
    effective: datetime,
    ground: str,
    decision: str | None,
    out: Path,
    passphrase_file: Path | None,
) -> None:
    """Write a signed termination notice for a municipality's protocol (art. 8, 12).

    Send the file to the municipality: importing it destroys everything of that
    protocol from DATE on (at once if DATE has passed) and refuses later packages.
    It takes effect at once for this agency's import-return (returns made from DATE on,
    or received 7 days after it, are refused) and for auditors given the notice; the
    next keyring version signed with the root key records the termination too.

    \b
    Example:
      securexchange agency terminate --nis 11002 --effective 2027-04-01 \\
        --ground breach-of-gdpr --decision "CBS 2027-03-28/4" --out outbox/

    A written notice with its three months (art. 5) is 'agency notice give'.
    """
    from securexchange.agency.terminate import terminate
    from securexchange.artifacts.protocol_terms import EndGround

    with agency_home(state) as home:
        done = terminate(
            home,
            export_key_source(home, passphrase_file),
            nis=nis,
            effective=effective.date(),
            out_dir=out,
            ground=EndGround(ground),
            decision=decision,
        )
    echo(shown(done.path))
    if done.again:
        note(f"the notice {done.notice_id} for that day was issued before; written again")
    note(f"termination notice {done.notice_id} effective {done.effective.isoformat()}")
    note("the next root-signed keyring version records it; give auditors the notice too")
