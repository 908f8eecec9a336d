"""``securexchange demo``: the whole story on synthetic data (:mod:`securexchange.demo.story`)."""

from __future__ import annotations

from pathlib import Path

import click

from securexchange.cli.common import echo, print_table, shown


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="DIR",
    help="A new or empty directory for the demo's homes and files (default: a new temp dir).",
)
def demo(directory: Path | None) -> None:
    """Run the whole story on synthetic data, in demo homes, without prompts.

    An agency and three municipalities: keyring, export, import, open, status edits in
    the workbook, return, the agency's import and report, a quality report and its
    resolution, the audit (clean, then a tampered copy refused), a termination notice,
    time passing with records shredded and subkeys destroyed. One line per step on
    stdout, then a summary; exit 0 only if every step did what it should. Everything
    is kept in DIR, and marked DEMO.

    \b
    Examples:
      securexchange demo
      securexchange demo --dir /tmp/sx-demo
    """
    import tempfile
    import time

    from securexchange.demo.cast import STEP_NAMES, TOTAL_STEPS, summary_rows
    from securexchange.demo.run import run_demo

    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="securexchange-demo-"))
    echo(f"securexchange demo in {shown(directory)} (synthetic data, DEMO homes)")
    started = time.monotonic()
    steps = []
    try:
        for step in run_demo(directory):
            steps.append(step)
            echo(step.line(TOTAL_STEPS))
    except Exception:  # show how far it got, then the error as usual
        if not steps:
            raise
        echo("")
        rows = summary_rows(steps)
        if len(steps) < TOTAL_STEPS:
            rows.append([str(len(steps) + 1), STEP_NAMES[len(steps)], "FAILED", ""])
        print_table(["STEP", "NAME", "RESULT", "WHERE"], rows)
        raise
    echo("")
    print_table(["STEP", "NAME", "RESULT", "WHERE"], summary_rows(steps))
    echo("")
    echo(
        f"all {len(steps)} steps ok in {time.monotonic() - started:.1f} s; "
        f"everything is kept in {shown(directory)}"
    )
