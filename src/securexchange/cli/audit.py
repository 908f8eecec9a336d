"""``securexchange audit ...``: verification without any decryption key."""

from __future__ import annotations

from pathlib import Path

import click

from securexchange.cli.common import (
    CliState,
    cli_home,
    echo,
    echo_json,
    json_option,
    pass_state,
    shown,
)
from securexchange.wording import counted


@click.group()
def audit() -> None:
    """Verify artifacts and logs without any decryption key."""


@audit.command("log")
@click.option(
    "--verify", "check", is_flag=True, help="Verify the chain and the head; exit 1 if broken."
)
@json_option
@pass_state
def log_command(state: CliState, check: bool, as_json: bool) -> None:
    """Print this home's log (ids and counts only) and optionally verify it."""
    from securexchange.audit.logcheck import log_findings
    from securexchange.errors import LogBroken

    with cli_home(state, read_only=True) as home:
        result, findings = log_findings(home)
        if as_json:
            echo_json(
                {
                    "entries": [entry.to_json() | {"hash": entry.hash} for entry in result.entries],
                    "problems": [{"line": p.line, "what": p.what} for p in result.problems],
                    "findings": [f.to_json() for f in findings],
                }
            )
        else:
            for entry in result.entries:
                counts = " ".join(f"{k}={v}" for k, v in sorted(entry.counts.items()))
                parts = [str(entry.seq), entry.time, entry.action.value, entry.outcome.value]
                parts += [entry.error or "", entry.actor or "", ",".join(entry.artifacts), counts]
                echo("  ".join(shown(p) for p in parts if p))
        if check:
            for finding in findings:
                echo(
                    f"log.jsonl line {finding.line}: {finding.issue.value}: {shown(finding.what)}",
                    err=True,
                )
            if findings:
                first = findings[0]
                raise LogBroken(
                    f"log.jsonl line {first.line}: {first.issue.value}: {first.what}",
                    hint="a changed log is a security incident: report it within 48 hours "
                    "(art. 6) with 'municipality incident open' (at the agency: 'agency "
                    "incident open')",
                )
            echo(f"log intact: {counted(len(result.entries), 'entry', 'entries')}", err=True)


@audit.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option(
    "--agency-key",
    "agency_key",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The agency's root key card (root.card.json), fingerprint checked out of band.",
)
@click.option(
    "--require-pq",
    "require_pq",
    is_flag=True,
    help="Also fail (SX-NOT-POST-QUANTUM) on any package or return that is not encrypted "
    "to hybrid post-quantum recipients only.",
)
@json_option
def verify_command(
    paths: tuple[Path, ...], agency_key: Path, require_pq: bool, as_json: bool
) -> None:
    """Verify packages, returns, keyrings and notices without any decryption key.

    Needs no home. Every check of every artifact is listed, with the recipient types
    of each payload; files that are not artifacts are listed as skipped. Exit 1 if any
    check failed.

    \b
    Examples:
      securexchange audit verify exports/ returns/ keyring/ --agency-key root.card.json
      securexchange audit verify exports/ --agency-key root.card.json --require-pq
    """
    from securexchange.audit.inputs import root_key_from_card
    from securexchange.audit.verify import audit_paths
    from securexchange.fingerprint import Fingerprint
    from securexchange.home.atomicio import read_capped
    from securexchange.keys.card import MAX_CARD_BYTES

    report = audit_paths(list(paths), agency_key, require_pq=require_pq)
    # Everything above rests on this one key: show it, so the auditor can compare it
    # with the fingerprint the agency gave them out of band.
    trusted = Fingerprint.of_public_key(
        root_key_from_card(read_capped(agency_key, limit=MAX_CARD_BYTES, what="key card"))
    ).display
    echo(
        f"trusting the agency root key {trusted} (from {shown(agency_key.name)}); compare it with "
        "the fingerprint the agency gave you",
        err=True,
    )
    if as_json:
        echo_json(report.to_json() | {"trusted_root": trusted})
    else:
        # File names and the ids read from an artifact are the attacker's choice: a
        # newline in a name would otherwise forge a "verified" line of its own.
        rows = [
            [
                shown(a.file),
                shown(a.kind),
                shown(a.artifact_id or "-"),
                shown(a.municipality or "-"),
                "-" if a.seq is None else str(a.seq),
                shown(a.recipients_shown),
                shown(a.result),
            ]
            for a in report.artifacts
        ]
        headers = ["file", "type", "id", "municipality", "seq", "recipients", "result"]
        widths = [len(h) for h in headers]
        for row in rows:
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
        echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
        for artifact, row in zip(report.artifacts, rows, strict=True):
            echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
            for finding in artifact.findings:
                echo(f"    {finding.check}: {finding.error}: {shown(finding.why)}")
        for skipped in report.skipped:
            echo(f"skipped  {shown(skipped.file)}  ({shown(skipped.reason)})")
        for text in report.notes:
            echo(f"note: {shown(text)}")
    failed = len(report.failed)
    echo(
        f"{len(report.artifacts) - failed} of {len(report.artifacts)} artifacts verified, "
        f"{counted(len(report.skipped), 'file')} skipped",
        err=True,
    )
    report.require_ok()
    # A directory may hold anything; a file named on the command line was meant to be
    # checked, so one that is no artifact at all is an error, not a quiet skip.
    named = {str(path) for path in paths if not path.is_dir()}
    for skipped in report.skipped:
        if skipped.file in named:
            from securexchange.errors import WrongKind

            raise WrongKind(
                f"{Path(skipped.file).name} is not an artifact audit verify can check "
                f"({skipped.reason})",
                hint="give packages, returns, notices and keyrings (with their .sig beside them)",
            )
