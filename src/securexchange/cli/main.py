"""The console entry point: the click group, and the one place errors become output.

Message rules: stdout carries data only. Every error is one ``error: SX-NAME: message``
line on stderr, at most one ``hint:`` line, and the exit status of its category; never
a traceback (unless ``--debug``) and never an input value.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from securexchange import __version__
from securexchange.cli.common import CliState
from securexchange.errors import ExitCode, InternalError, SxError, UsageError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


# Each command group lives in its own module; they import the library lazily so that
# ``--help`` stays fast.
COMMAND_MODULES = (
    ("securexchange.cli.demo", "demo"),
    ("securexchange.cli.sample", "sample"),
    ("securexchange.cli.audit", "audit"),
    ("securexchange.cli.agency", "agency"),
    ("securexchange.cli.municipality", "municipality"),
    ("securexchange.cli.keys", "keys"),
)


def _register() -> None:
    import importlib

    for module_name, attribute in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a command group that has not landed yet
            if exc.name != module_name:
                raise
            continue
        cli.add_command(getattr(module, attribute))


_register()


def render_error(error: SxError) -> None:
    click.echo(f"error: {error.name}: {error.message}", err=True)
    if error.hint:
        click.echo(f"hint: {error.hint}", err=True)


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
    except Exception:
        if debug:
            import traceback

            traceback.print_exc()
        render_error(InternalError("an internal error occurred"))
        sys.exit(int(ExitCode.INTERNAL))
    sys.exit(0)
