"""The console entry point: the click group, and the one place errors become output.

Message rules: stdout carries data only. Every error is one ``error: SX-NAME: message``
line on stderr, at most one ``hint:`` line, and the exit status of its category; never
a traceback (unless ``--debug``) and never an input value.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import NoReturn

import click

from securexchange import __version__
from securexchange.cli.language import activate_for
from securexchange.cli.translated import TranslatedGroup
from securexchange.errors import ExitCode, InternalError, SxError, UsageError
from securexchange.i18n import LANGUAGES, N_, _


# Each command group lives in its own module, imported only when that command runs (or
# its own help is asked for): ``securexchange --help`` lists them from this table, so it
# costs little more than importing click (benchmarks/startup.py).
def _agency() -> click.Command:
    from securexchange.cli.agency import agency

    return agency


def _municipality() -> click.Command:
    from securexchange.cli.municipality import municipality

    return municipality


def _audit() -> click.Command:
    from securexchange.cli.audit import audit

    return audit


def _keys() -> click.Command:
    from securexchange.cli.keys import keys

    return keys


def _sample() -> click.Command:
    from securexchange.cli.sample import sample

    return sample


def _demo() -> click.Command:
    from securexchange.cli.demo import demo

    return demo


COMMANDS: dict[str, tuple[Callable[[], click.Command], str]] = {
    "agency": (_agency, N_("The agency: keys, municipalities, recipients, export.")),
    "municipality": (_municipality, N_("The municipal client: import, open, return.")),
    "audit": (_audit, N_("Verify artifacts and logs without any decryption key.")),
    "keys": (_keys, N_("This home's keys: show, export, rotate, passphrase.")),
    "sample": (_sample, N_("Write realistic synthetic master data.")),
    "demo": (_demo, N_("Run the whole story on synthetic data.")),
}


def accept_lang(command: click.Command) -> None:
    """Let ``command`` and every command under it take ``--lang nl|en`` too, so that staff
    may add it at the end (``municipality status --lang nl``).

    main() has already chosen the language from it (``language.lang_argument``); click
    only checks its value here, so that a wrong one is a usage error, and a ``--lang``
    that is the value of another option stays that option's value. Hidden: the root help
    documents it once, and each command's help stays as it was.
    """
    if not any("--lang" in param.opts for param in command.params):
        command.params.append(
            click.Option(["--lang"], type=click.Choice(LANGUAGES), expose_value=False, hidden=True)
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_lang(sub)


class LazyGroup(TranslatedGroup):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            command = COMMANDS[cmd_name][0]()
            accept_lang(command)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (name, _(COMMANDS[name][1])) for name in self.list_commands(ctx) if name in COMMANDS
        ]
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)


_ROOT_HELP = N_(
    "securexchange: self-protecting encrypted files between the agency and municipalities.\n"
    "\n"
    "\b\n"
    "Roles:\n"
    "  agency ...        the exporter: keyring, export, returns, reports\n"
    "  municipality ...  the client: import, open, status, return, shred\n"
    "  audit ...         verification without any decryption key"
)


class RootGroup(LazyGroup):
    """The top-level group: its own help text in the language of the run."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.help = _(_ROOT_HELP)
        super().format_help_text(ctx, formatter)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        for param in params:
            for opt in param.opts:
                if isinstance(param, click.Option) and opt in _OPTION_HELP:
                    param.help = _(_OPTION_HELP[opt])
        return params


_OPTION_HELP = {
    "--home": N_("The home directory (default: $SECUREXCHANGE_HOME, else the user data dir)."),
    "--debug": N_("Show tracebacks of internal errors."),
    "--lang": N_(
        "Language of messages: nl (Dutch) or en (English), after any command too;"
        " default: $SECUREXCHANGE_LANG, else the system's."
    ),
    "--version": N_("Show the version and exit."),
}


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    # A str here, a Path in CliState: pathlib (and cli/common.py) are imported only when
    # a command runs, not for ``--help`` (benchmarks/startup.py).
    type=click.Path(file_okay=False),
    default=None,
)
@click.option("--debug", is_flag=True)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default=None,
    # Chosen in main() before click parses anything (command modules translate their
    # help when they are imported); declared here, and on every command (accept_lang),
    # so that click knows and checks it.
    expose_value=False,
)
@click.version_option(__version__, prog_name="securexchange")
@click.pass_context
def cli(ctx: click.Context, home: str | None, debug: bool) -> None:
    from pathlib import Path

    from securexchange.cli.common import CliState

    ctx.obj = CliState(home=None if home is None else Path(home), debug=debug)


def render_error(error: SxError) -> None:
    from securexchange.printable import neutralise

    # One line each, whatever a message quotes (click's usage errors quote argv). The
    # labels are translated; the SX- name stays the same in every language.
    error_label, hint_label = _("error"), _("hint")
    click.echo(f"{error_label}: {error.name}: {neutralise(error.message)}", err=True)
    if error.hint:
        click.echo(f"{hint_label}: {neutralise(error.hint)}", err=True)


def run() -> NoReturn:
    """The process's entry point (console script, ``python -m securexchange``, the
    frozen app; all through ``securexchange.__main__``, which sets the collector first):
    :func:`main`, then :func:`securexchange.cli.leaving.leave`, which skips tearing the
    interpreter down (a third of a short command's exit); :func:`main` itself exits as
    usual, for callers in the same process."""
    from securexchange.cli.leaving import leave

    try:
        main()
    except SystemExit as done:
        leave(done.code)
    leave(0)  # pragma: no cover - main always raises SystemExit


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the status of the outcome's category."""
    args = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in args
    activate_for(args, os.environ)
    try:
        cli.main(args=argv, prog_name="securexchange", standalone_mode=False)
    except SxError as error:
        if debug:
            import traceback

            traceback.print_exc()
        render_error(error)
        sys.exit(int(error.exit_code))
    except click.exceptions.Abort:
        render_error(UsageError(_("interrupted")))
        sys.exit(int(ExitCode.USAGE))
    except click.ClickException as exc:
        render_error(UsageError(exc.format_message().replace("\n", " ")))
        sys.exit(int(ExitCode.USAGE))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        render_error(UsageError(_("interrupted")))
        sys.exit(int(ExitCode.USAGE))
    except Exception as exc:
        if debug:
            import traceback

            traceback.print_exc()
        from securexchange.home.statedb import damaged  # sqlite3 only when it is needed

        named = damaged(exc)
        if named is not None:
            render_error(named)
            sys.exit(int(named.exit_code))
        render_error(InternalError(_("an internal error occurred")))
        sys.exit(int(ExitCode.INTERNAL))
    sys.exit(0)
