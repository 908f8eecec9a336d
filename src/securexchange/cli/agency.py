"""``securexchange agency ...``: the agency's commands.

Each command is one function on the ``agency`` group (or one of its sub-groups); adding
a command is adding a function. Commands parse options, call one library function and
print; the library is imported inside the function so ``--help`` stays light.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from datetime import date, datetime
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
    read_input,
    shown,
)
from securexchange.cli.keyopts import (
    passphrase_option,
    root_key_options,
    root_source,
)
from securexchange.wording import counted

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from securexchange.agency.export import ExportResult
    from securexchange.home.home import Home
    from securexchange.intake.master import Problem
    from securexchange.keys.keystore import KeySource

_DATE = click.DateTime(formats=["%Y-%m-%d"])
MAX_CARD_BYTES = 64 * 1024


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [item for item in (p.strip() for p in value.split(",")) if item]


def _agency_home(state: CliState, *, read_only: bool = False) -> AbstractContextManager[Home]:
    from securexchange.home.home import HomeKind

    return cli_home(state, HomeKind.AGENCY, read_only=read_only)


@click.group()
def agency() -> None:
    """The agency: keys, municipalities, recipients, the keyring, exports."""


@agency.command("init")
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
    from securexchange.agency.registry import init_agency
    from securexchange.cli.keyopts import key_passphrase, root_passphrase
    from securexchange.keys.keystore import work_factor_for

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


@agency.group("municipality")
def municipality_group() -> None:
    """The municipalities with a data-sharing protocol."""


@municipality_group.command("add")
@click.option("--nis", required=True, metavar="CODE", help="The municipality's NIS code.")
@click.option("--name", required=True, help="The municipality's name.")
@click.option("--protocol-until", type=_DATE, required=True, metavar="DATE", help="Last day.")
@click.option("--protocol-from", type=_DATE, default=None, metavar="DATE", help="First day.")
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
    from securexchange.agency.registry import add_municipality

    with _agency_home(state) as home:
        entry, version = add_municipality(
            home,
            root_source(home, root_key, root_passphrase_file, passphrase_file),
            nis=nis,
            name=name,
            protocol_until=protocol_until.date(),
            protocol_from=_day(protocol_from),
            retention_months=retention_months,
            profiles=_split(profiles),
        )
    echo(entry.party_id)
    note(f"municipality {entry.nis} added; keyring version {version}")


@municipality_group.command("list")
@json_option
@pass_state
def municipality_list(state: CliState, as_json: bool) -> None:
    """List the registered municipalities, their protocols and the client version
    their staff last returned with ("unknown": no return yet, or an older client)."""
    from securexchange.agency.clients import UNKNOWN, latest_by_party
    from securexchange.agency.registry import list_municipalities

    with _agency_home(state, read_only=True) as home:
        rows = list_municipalities(home)
        clients = latest_by_party(home)

    def client(party_id: str) -> str:
        seen = clients.get(party_id)
        return UNKNOWN if seen is None else seen.shown

    if as_json:
        echo_json(
            [
                {
                    "nis": r.entry.nis,
                    "name": r.entry.name,
                    "party_id": r.entry.party_id,
                    "protocol_id": r.entry.protocol_id,
                    "protocol_from": r.entry.protocol_from.isoformat(),
                    "protocol_until": r.entry.protocol_until.isoformat(),
                    "retention_months": r.entry.retention_months,
                    "profiles": list(r.entry.profiles),
                    "terminated_on": None
                    if r.entry.terminated_on is None
                    else r.entry.terminated_on.isoformat(),
                    "active": r.active,
                    "recipients": r.recipients,
                    "client_version": client(r.entry.party_id),
                    "client_seen_at": (
                        seen.seen_at if (seen := clients.get(r.entry.party_id)) else None
                    ),
                }
                for r in rows
            ]
        )
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
                "-" if r.entry.terminated_on is None else r.entry.terminated_on.isoformat(),
                "yes" if r.active else "no",
                str(r.recipients),
                ",".join(r.entry.profiles) or "(any)",
                client(r.entry.party_id),
            ]
            for r in rows
        ],
    )


# --- agency recipient ... -------------------------------------------------------------


@agency.group("recipient")
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
    from securexchange.agency.registry import RecipientChange, add_recipient

    data = read_input(card, limit=MAX_CARD_BYTES, what="key card")
    with _agency_home(state) as home:
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
    from securexchange.agency.registry import remove_recipient

    with _agency_home(state) as home:
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

    with _agency_home(state, read_only=True) as home:
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


@agency.group("keyring")
def keyring_group() -> None:
    """The root-signed keyring."""


@keyring_group.command("publish")
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), required=True, metavar="DIR"
)
@pass_state
def keyring_publish(state: CliState, out: Path) -> None:
    """Write the latest signed keyring: the full one, one view per municipality, the
    root key card and an allowed_signers file for 'ssh-keygen -Y verify'.

    Needs no private key: every version is signed when it is made.
    """
    from securexchange.agency.registry import publish_keyring

    with _agency_home(state) as home:
        result = publish_keyring(home, out)
    for path in result.files:
        echo(shown(path))
    note(f"keyring version {result.version}: {counted(len(result.files), 'file')} in {shown(out)}")


# --- agency import-return / report / quality ----------------------------------------


@agency.command("import-return")
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
    from securexchange.agency.returns import import_returns, parse_skip, read_return_file
    from securexchange.errors import UsageError

    if not files and not skip_gaps:
        raise UsageError("give return files, or --skip-gap SENDER:SEQ")
    skips = [parse_skip(text) for text in skip_gaps]
    data = [(path.name, read_return_file(path)) for path in files]
    with _agency_home(state) as home:
        result = import_returns(
            home, _export_key_source(home, passphrase_file), data, skip_gaps=skips
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
        echo_json(
            {
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
                    }
                    for r in result.results
                ],
                "skipped": [{"signer": s, "sequence": n} for s, n in result.skipped],
            }
        )
    else:
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
    conflicts = sum(r.conflicts for r in result.results)
    if conflicts:
        note(f"{conflicts} status change(s) conflict with a newer status; see 'agency report'")


def _applied_label(applied: bool, waits_for: int | None) -> str:
    if applied:
        return "yes"
    if waits_for is not None:
        return f"waiting for {waits_for}"
    return "no (seen before)"


@agency.group("returns")
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
    from securexchange.agency.returns import waiting_returns

    with _agency_home(state) as home:
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


@agency.command("report")
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

    with _agency_home(state) as home:
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


@agency.group("quality")
def quality_group() -> None:
    """Data-quality reports from municipalities (art. 7: handled within two weeks)."""


@quality_group.command("list")
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved reports.")
@json_option
@pass_state
def quality_list(state: CliState, *, include_resolved: bool, as_json: bool) -> None:
    """List open data-quality reports, earliest deadline first; overdue ones marked."""
    from securexchange.agency.quality import list_reports
    from securexchange.agency.registry import list_municipalities

    with _agency_home(state, read_only=True) as home:
        listing = list_reports(home, include_resolved=include_resolved)
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
                }
                for r in listing.rows
            ]
        )
        return
    print_table(
        ["REPORT", "NIS", "FIELD", "PROBLEM", "DUE", "STATE"],
        [
            [
                r.report_id,
                nis.get(r.party_id, "?"),
                r.field,
                r.problem,
                r.due_on.isoformat(),
                r.outcome or ("OVERDUE" if r.overdue(listing.today) else "open"),
            ]
            for r in listing.rows
        ],
    )
    if listing.overdue:
        note(f"warning: {len(listing.overdue)} report(s) are past their two-week deadline")


@quality_group.command("resolve")
@click.argument("report")
@click.argument("outcome")
@pass_state
def quality_resolve(state: CliState, *, report: str, outcome: str) -> None:
    """Record the outcome of a report: gecorrigeerd, correct-bevonden or ingetrokken.

    The outcome reaches the municipality with the next package ("Afhandeling melding").

    \b
    Example:
      securexchange agency quality resolve qr-abcd... gecorrigeerd
    """
    from securexchange.agency.quality import resolve

    with _agency_home(state) as home:
        row = resolve(home, report, outcome)
    echo(row.report_id)
    note("resolved; the outcome goes to the municipality with the next package")


# --- agency export --------------------------------------------------------------------


def _export_key_source(home: Home, passphrase_file: Path | None) -> KeySource:
    """The agency's export key: it signs packages and notices, its subkeys open returns."""
    from securexchange.cli.keyopts import key_source
    from securexchange.keys.keystore import KeyUse

    return key_source(home, KeyUse.EXPORT, passphrase_file, what="the agency export key")


@agency.command("export")
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
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Leave out invalid rows (and report them) instead of refusing the master.",
)
@click.option(
    "--drop-column",
    "drop_columns",
    multiple=True,
    metavar="NAME",
    help="A column of the master that is not exported (repeatable).",
)
@click.option(
    "--mapping",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    metavar="FILE",
    help='JSON {"header in the master": "canonical header"}.',
)
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

    from securexchange.agency.export import (
        ExportOptions,
        check_every_municipality_reached,
        export_master,
    )
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
            with _agency_home(state) as home:
                result = export_master(
                    home,
                    master,
                    out,
                    export_key=_export_key_source(home, passphrase_file),
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
        echo_json(
            {
                "dry_run": result.dry_run,
                "out": str(result.out_dir),
                "packages": [
                    {
                        "nis": p.nis,
                        "name": p.name,
                        "records": p.records,
                        "expired": p.expired,
                        "recipients": p.recipients,
                        "sequence": p.sequence,
                        "id": p.package_id,
                        "file": None if p.file is None else str(p.file),
                        "recipients_without_subkey": p.without_subkey,
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
                "pseudonym_key": str(result.pseudonym_key),
                "pseudonym_key_created": result.pseudonym_key_created,
            }
        )
    else:
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
    if result.rows_outside_selection:
        note(f"{result.rows_outside_selection} row(s) for municipalities not selected with --nis")
    expired = sum(p.expired for p in result.packages)
    if expired:
        note(f"{expired} row(s) left out: their retention deadline has passed")
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


@agency.command("terminate")
@click.option("--nis", required=True, metavar="CODE", help="The municipality's NIS code.")
@click.option(
    "--effective",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="DATE",
    help="The first day the protocol no longer applies (YYYY-MM-DD).",
)
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), required=True, metavar="DIR"
)
@passphrase_option
@pass_state
def terminate_command(
    state: CliState, *, nis: str, effective: datetime, out: Path, passphrase_file: Path | None
) -> None:
    """Write a signed termination notice for a municipality's protocol (art. 8, 12).

    Send the file to the municipality: importing it destroys everything of that
    protocol from DATE on (at once if DATE has passed) and refuses later packages.
    It takes effect at once for this agency's import-return (returns made from DATE on,
    or received 7 days after it, are refused) and for auditors given the notice; the
    next keyring version signed with the root key records the termination too.

    \b
    Example:
      securexchange agency terminate --nis 11002 --effective 2027-04-01 --out outbox/
    """
    from securexchange.agency.terminate import terminate

    with _agency_home(state) as home:
        done = terminate(
            home,
            _export_key_source(home, passphrase_file),
            nis=nis,
            effective=effective.date(),
            out_dir=out,
        )
    echo(shown(done.path))
    if done.again:
        note(f"the notice {done.notice_id} for that day was issued before; written again")
    note(f"termination notice {done.notice_id} effective {done.effective.isoformat()}")
    note("the next root-signed keyring version records it; give auditors the notice too")
