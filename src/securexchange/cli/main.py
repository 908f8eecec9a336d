"""The console entry point: the click group, and the one place errors become output.

Message rules: stdout carries data only. Every error is one ``error: SX-NAME: message``
line on stderr, at most one ``hint:`` line, and the exit status of its category; never
a traceback (unless ``--debug``) and never an input value.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from securexchange import __version__
from securexchange.cli.common import CliState
from securexchange.errors import ExitCode, InternalError, SxError, UsageError


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
    "agency": (_agency, "The agency: keys, municipalities, recipients, export."),
    "municipality": (_municipality, "The municipal client: import, open, return."),
    "audit": (_audit, "Verify artifacts and logs without any decryption key."),
    "keys": (_keys, "This home's keys: show, export, rotate, passphrase."),
    "sample": (_sample, "Write realistic synthetic master data."),
    "demo": (_demo, "Run the whole story on synthetic data."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.add_command(COMMANDS[cmd_name][0](), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx) if name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The home directory (default: $SECUREXCHANGE_HOME, else the user data dir).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.version_option(__version__, prog_name="securexchange")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, debug: bool) -> None:
    """securexchange: self-protecting encrypted files between the agency and municipalities.

    \b
    Roles:
      agency ...        the exporter: keyring, export, returns, reports
      municipality ...  the client: import, open, status, return, shred
      audit ...         verification without any decryption key
    """
    ctx.obj = CliState(home=home, debug=debug)


def render_error(error: SxError) -> None:
    from securexchange.printable import neutralise

    # One line each, whatever a message quotes (click's usage errors quote argv).
    click.echo(f"error: {error.name}: {neutralise(error.message)}", err=True)
    if error.hint:
        click.echo(f"hint: {neutralise(error.hint)}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the status of the outcome's category."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="securexchange", standalone_mode=False)
    except SxError as error:
        if debug:
            import traceback

            traceback.print_exc()
        render_error(error)
        sys.exit(int(error.exit_code))
    except click.exceptions.Abort:
        click.echo("error: SX-USAGE: interrupted", err=True)
        sys.exit(int(ExitCode.USAGE))
    except click.ClickException as exc:
        render_error(UsageError(exc.format_message().replace("\n", " ")))
        sys.exit(int(ExitCode.USAGE))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("error: SX-USAGE: interrupted", err=True)
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
        render_error(InternalError("an internal error occurred"))
        sys.exit(int(ExitCode.INTERNAL))
    sys.exit(0)
