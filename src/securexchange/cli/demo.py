"""``securexchange demo``: the whole story on synthetic data."""

from __future__ import annotations

from pathlib import Path

import click

from securexchange.cli.common import note


@click.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None)
def demo(directory: Path | None) -> None:
    """Run the whole story on synthetic data (not yet available in this version)."""
    note(
        "securexchange demo: not yet available in this version; see README.md for what exists today"
    )
