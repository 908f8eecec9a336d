"""``securexchange demo``: the whole story on synthetic data (:mod:`securexchange.demo.story`)."""

from __future__ import annotations

from pathlib import Path

import click

from securexchange.cli.common import echo, print_table, shown
from securexchange.cli.translated import TranslatedCommand
from securexchange.i18n import _


@click.command(
    cls=TranslatedCommand,
    help=_(
        "Run the whole story on synthetic data, in demo homes, without prompts.\n"
        "\n"
        "An agency and three municipalities: keyring, export, import, open, status edits in "
        "the workbook, return, the agency's import and report, a quality report and its "
        "resolution, the audit (clean, then a tampered copy refused), a termination notice, "
        "time passing with records shredded and subkeys destroyed. One line per step on "
        "stdout, then a summary; exit 0 only if every step did what it should. Everything "
        "is kept in DIR, and marked DEMO.\n"
        "\n"
        "\b\n"
        "Examples:\n"
        "  securexchange demo\n"
        "  securexchange demo --dir /tmp/sx-demo"
    ),
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="DIR",
    help=_("A new or empty directory for the demo's homes and files (default: a new temp dir)."),
)
def demo(directory: Path | None) -> None:
    import tempfile
    import time

    from securexchange.demo.cast import STEP_NAMES, TOTAL_STEPS, summary_rows
    from securexchange.demo.run import run_demo

    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="securexchange-demo-"))
    echo(
        _("securexchange demo in {directory} (synthetic data, DEMO homes)").format(
            directory=shown(directory)
        )
    )
    started = time.monotonic()
    # TRANSLATORS: the summary table's column headings, in capitals.
    headers = [_("STEP"), _("NAME"), _("RESULT"), _("WHERE")]
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
            rows.append([str(len(steps) + 1), _(STEP_NAMES[len(steps)]), _("FAILED"), ""])
        print_table(headers, rows)
        raise
    echo("")
    print_table(headers, summary_rows(steps))
    echo("")
    echo(
        _("all {steps} steps ok in {seconds:.1f} s; everything is kept in {directory}").format(
            steps=len(steps), seconds=time.monotonic() - started, directory=shown(directory)
        )
    )
