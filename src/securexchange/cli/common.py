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

from securexchange.i18n import _

if TYPE_CHECKING:
    from securexchange.home.home import Home, HomeKind

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class CliState:
    """What the top-level group parsed: where the home is, whether to show tracebacks."""

    home: Path | None
    debug: bool

    @property
    def home_dir(self) -> Path:
        from securexchange.home.home import resolve_home

        return resolve_home(self.home, os.environ)


pass_state = click.make_pass_decorator(CliState)


def json_option(func: F) -> F:
    """``--json``: machine-readable output on stdout instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help=_("Print JSON for scripts."))(func)


def shown(value: object) -> str:
    """A name or value as it may be printed: one line, control and bidi characters escaped.

    Every value that comes from outside (a file name, a card's fields, an id read from
    an artifact) goes through this before it is put into a line of output.
    """
    from securexchange.printable import escape

    return escape(str(value))


def echo(message: str, *, err: bool = False, nl: bool = True) -> None:
    """Print a line (or lines) the CLI composed; the only way the CLI writes text.

    The values in ``message`` went through :func:`shown`; this is the last guard, so a
    value that was missed can still carry no control, bidi or line-separator character
    other than the message's own line breaks.
    """
    from securexchange.printable import neutralise

    click.echo(neutralise(message, keep_newlines=True), err=err, nl=nl)


def echo_json(value: Any) -> None:
    from securexchange.printable import escape_json

    click.echo(escape_json(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)))


def note(message: str) -> None:
    """A notice for people: stderr, so stdout stays data only."""
    echo(message, err=True)


@contextmanager
def cli_home(
    state: CliState, expect: HomeKind | None = None, *, read_only: bool = False
) -> Iterator[Home]:
    """Open this invocation's home, saying so when it is a demo home.

    ``read_only`` declares a command that only shows: under a demo's time travel it
    leaves the home as it found it (see ``Home.holds_still``).
    """
    from securexchange.clock import format_instant
    from securexchange.home.home import open_home

    with open_home(state.home_dir, env=os.environ, expect=expect, read_only=read_only) as home:
        if home.demo:
            note(_("note: DEMO home: keys have no passphrase; never use it for real data"))
        if home.demo and home.clock.override is not None:
            # Time travel is what a demo does: one note, not a clock warning per command.
            if home.holds_still:
                travel = _("note: time travel: the clock reads {now}; this command changes nothing")
            else:
                travel = _("note: time travel: the clock reads {now}")
            note(travel.format(now=format_instant(home.now)))
        elif home.clock.behind:
            note(
                _(
                    "warning: the system clock is more than 24 hours behind the latest time "
                    "this home has seen; data will not be opened until it is corrected"
                )
            )
        try:
            yield home
        finally:
            # Also when the command failed: what was done on its own (a new card) stays.
            for text in home.notices:
                note(text)


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A plain, aligned text table on stdout."""
    rows = [[shown(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    line = "  ".join(h.ljust(widths[i]) for i, h in enumerate(headers))
    echo(line.rstrip())
    for row in rows:
        echo("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())


def read_input(path: Path, *, limit: int, what: str) -> bytes:
    """The bytes of a file named on the command line, capped before reading."""
    from securexchange.home.atomicio import read_capped

    return read_capped(path, limit=limit, what=what)
