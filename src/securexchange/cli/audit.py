"""``securexchange audit ...``: verification without any decryption key."""

from __future__ import annotations

import click

from securexchange.cli.common import CliState, cli_home, echo_json, json_option, pass_state


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
    from securexchange.audit.logcheck import verify_home_log
    from securexchange.errors import LogBroken

    with cli_home(state) as home:
        result = verify_home_log(home)
        if as_json:
            echo_json(
                {
                    "entries": [entry.to_json() | {"hash": entry.hash} for entry in result.entries],
                    "problems": [{"line": p.line, "what": p.what} for p in result.problems],
                }
            )
        else:
            for entry in result.entries:
                counts = " ".join(f"{k}={v}" for k, v in sorted(entry.counts.items()))
                parts = [str(entry.seq), entry.time, entry.action.value, entry.outcome.value]
                parts += [entry.error or "", entry.actor or "", ",".join(entry.artifacts), counts]
                click.echo("  ".join(p for p in parts if p))
        if check:
            for problem in result.problems:
                click.echo(f"log.jsonl line {problem.line}: {problem.what}", err=True)
            if result.problems:
                first = result.problems[0]
                raise LogBroken(
                    f"log.jsonl line {first.line}: {first.what}",
                    hint="a changed log is a security incident: report it within 48 hours (art. 6)",
                )
            click.echo(f"log intact: {len(result.entries)} entries", err=True)
