"""Click commands and groups whose help frame speaks the language of the run.

Click writes its own words ("Usage:", "Options:", "Show this message and exit.") through
its own gettext domain, which follows the process locale rather than ``--lang``; these
classes write them through ours, so a Dutch help page is Dutch throughout: its usage
line (``[OPTIES]``) and the names of click's types in it (``--home MAP``) too
(``cli/click_messages.py``, which also makes click's usage errors Dutch).
"""

from __future__ import annotations

import os
import sys

import click

from securexchange.cli.click_messages import translate_type, usage_word
from securexchange.i18n import _


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, without importing shutil (and the three
    compression modules it imports) for every ``--help`` (benchmarks/startup.py)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return columns


class FrameFormatter(click.HelpFormatter):
    """Click's help formatter, its width found as click finds it (see above)."""

    def __init__(
        self, indent_increment: int = 2, width: int | None = None, max_width: int | None = None
    ) -> None:
        if width is None and click.formatting.FORCED_WIDTH is None:
            width = max(min(terminal_columns(), 80 if max_width is None else max_width) - 2, 50)
        super().__init__(indent_increment, width, max_width)


class _Context(click.Context):
    formatter_class = FrameFormatter


class _Frame(click.Command):
    """The help page's frame words, in the language of the run."""

    context_class = _Context

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = _("Show this message and exit.")
        return option

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        for param in params:  # before click shows or checks them: help, usage, parsing
            translate_type(param)
        return params

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        pieces = [usage_word(piece) for piece in self.collect_usage_pieces(ctx)]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=_("Usage: "))

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Arguments are named in the usage line and the help text, not listed as options
        # (click 8.5 gives an argument a help record too).
        options = [p for p in self.get_params(ctx) if not isinstance(p, click.Argument)]
        records = [r for p in options if (r := p.get_help_record(ctx)) is not None]
        if records:
            with formatter.section(_("Options")):
                formatter.write_dl(records)


class TranslatedCommand(_Frame):
    """A command whose help frame is translated."""


class TranslatedGroup(_Frame, click.Group):
    """A group whose help frame, and its commands', are translated."""

    command_class = TranslatedCommand

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                commands.append((name, command))
        if commands:
            # As click does: the short help gets what the longest name leaves of the line.
            limit = formatter.width - 6 - max(len(name) for name, _command in commands)
            rows = [(name, command.get_short_help_str(limit)) for name, command in commands]
            with formatter.section(_("Commands")):
                formatter.write_dl(rows)
