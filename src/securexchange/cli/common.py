"""What every command shares: the invocation state, home opening, JSON output.

Only click lives here and in the other ``cli`` modules; they call plain functions of
the library and never hold logic of their own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from securexchange.home import Home, HomeKind

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class CliState:
    """What the top-level group parsed: where the home is, whether to show tracebacks."""

    home: Path | None
    debug: bool

    @property
    def home_dir(self) -> Path:
        from securexchange.home import resolve_home

        return resolve_home(self.home, os.environ)


pass_state = click.make_pass_decorator(CliState)


def json_option(func: F) -> F:
    """``--json``: machine-readable output on stdout instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True))


def note(message: str) -> None:
    """A notice for people: stderr, so stdout stays data only."""
    click.echo(message, err=True)


@contextmanager
def cli_home(state: CliState, expect: HomeKind | None = None) -> Iterator[Home]:
    """Open this invocation's home, saying so when it is a demo home."""
    from securexchange.home import open_home

    with open_home(state.home_dir, env=os.environ, expect=expect) as home:
        if home.demo:
            note("note: DEMO home: keys have no passphrase; never use it for real data")
        if home.clock.behind:
            note(
                "warning: the system clock is more than 24 hours behind the latest time "
                "this home has seen; data will not be opened until it is corrected"
            )
        yield home


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A plain, aligned text table on stdout."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    line = "  ".join(h.ljust(widths[i]) for i, h in enumerate(headers))
    click.echo(line.rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
