"""``municipality app``: the gemeente-app, a Dutch browser interface on this computer."""

from __future__ import annotations

import click

from securexchange.cli.common import CliState, echo, note, pass_state
from securexchange.cli.translated import TranslatedCommand
from securexchange.i18n import _


@click.command(
    cls=TranslatedCommand,
    name="app",
    help=_(
        "Start the gemeente-app: the municipal client in your browser, in Dutch.\n"
        "\n"
        "It listens on 127.0.0.1 only and prints the address of its launch file; the "
        "browser opens that file, which signs you in once. Your passphrase is asked in "
        "the page. Stop the app with Ctrl-C: the key is then removed from memory."
    ),
)
@click.option(
    "--no-browser", is_flag=True, help=_("Do not open a browser; open the printed file yourself.")
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=False,
    help=_("Listen on this port (default: a free one)."),
)
@pass_state
def app_command(state: CliState, *, no_browser: bool, port: int) -> None:
    import os
    import sys

    from securexchange import i18n
    from securexchange.app.server import Started, run
    from securexchange.cli.language import lang_argument
    from securexchange.home.home import HomeKind, open_home

    # Refuse a missing or wrong home before listening (and check it is ours).
    with open_home(state.home_dir, env=os.environ, expect=HomeKind.MUNICIPALITY, read_only=True):
        pass

    def started(where: Started) -> None:
        echo(where.launch_url)
        note(_("the app listens on {url}; stop it with Ctrl-C").format(url=where.base_url))
        if not no_browser:
            import webbrowser

            webbrowser.open(where.launch_url)

    # Dutch unless English was asked for (--lang, SECUREXCHANGE_LANG): not the locale,
    # which on a municipal laptop is as often English as Dutch.
    asked = lang_argument(sys.argv[1:]) or os.environ.get(i18n.LANGUAGE_ENV)
    language = asked if asked in i18n.LANGUAGES else "nl"
    run(state.home_dir, port=port, language=language, on_started=started)
