"""Run the app: bind 127.0.0.1, write the launch file, serve, shred every minute.

The socket is bound before anything else, so a taken port stops the start before a
browser is opened. On Windows the bind is exclusive (``SO_EXCLUSIVEADDRUSE``): another
program, another user's included, cannot bind the same port beside it and take its
connections. One request is served at a time (a single person uses the app; the
workflows and the language are per process). Ctrl-C stops the server and drops the key.
"""

from __future__ import annotations

import contextlib
import gettext
import secrets
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from securexchange import i18n
from securexchange.app.launch import LaunchToken, remove_launch_files, write_launch_file
from securexchange.app.session import Session
from securexchange.errors import SxError, UsageError
from securexchange.i18n import _

if TYPE_CHECKING:
    from securexchange.app.context import AppContext

SHRED_EVERY = 60.0  # seconds


@dataclass(frozen=True)
class Started:
    launch_url: str  # the launch file as a file:// URL: no secret in it
    base_url: str


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: a free one); UsageError if taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if sys.platform == "win32":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)  # type: ignore[attr-defined]
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(16)
    except OSError:
        sock.close()
        raise UsageError(
            _("port {port} on 127.0.0.1 cannot be used").format(port=port),
            hint=_("start the app without --port to take a free port"),
        ) from None
    return sock


_CATALOGS: dict[str, gettext.NullTranslations] = {}


def _translations(language: str) -> None:
    """Make ``language`` the process's (one request at a time: see the module doc)."""
    if language != "en" and language not in _CATALOGS:
        _CATALOGS[language] = gettext.translation(
            i18n.DOMAIN, _locale_dir(), languages=[language], fallback=True
        )
    i18n.activate(language, _CATALOGS.get(language))


def _locale_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "locale"


def run(
    home: Path,
    *,
    port: int,
    language: str,
    on_started: Callable[[Started], None],
) -> None:
    """Serve until Ctrl-C; ``on_started`` gets the URLs once listening."""
    import logging

    from waitress.server import create_server

    from securexchange.app.context import AppContext
    from securexchange.app.web import MAX_REQUEST, create_app
    from securexchange.collector import for_a_server

    for_a_server()
    # waitress logs no requests; its queue notes are noise on the user's terminal.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    sock = bind(port)
    bound = sock.getsockname()[1]
    session = Session(language)
    token = LaunchToken()
    prefix = "/" + secrets.token_urlsafe(16)
    context = AppContext(home, bound, prefix, session, token, _translations, threading.Lock())
    base = f"http://127.0.0.1:{bound}{prefix}"
    remove_launch_files(home)
    launch = write_launch_file(home, base, token)
    # waitress reads a whole body (up to 1 GiB by default, spooled to a temporary file)
    # before the guard sees the request: any local program or web page could make it
    # hold that much without a session. No body larger than the app accepts is read.
    server = create_server(
        create_app(context),
        sockets=[sock],
        threads=1,
        ident="securexchange",
        max_request_body_size=MAX_REQUEST,
    )
    ended = threading.Event()
    threading.Thread(target=shred_every, args=(context, ended), daemon=True).start()
    try:
        # Ctrl-C is how the app stops, also while it is still saying where it listens.
        with contextlib.suppress(KeyboardInterrupt):
            on_started(Started(launch.as_uri(), base))
            server.run()
    finally:
        ended.set()
        session.forget_key()
        remove_launch_files(home)
        server.close()


def shred_every(context: AppContext, ended: threading.Event, seconds: float = SHRED_EVERY) -> None:
    """Until ``ended``: the idle check and a shredding pass every ``seconds``, so the
    app enforces retention while it sits open (the pass waits its turn for the lock)."""
    while not ended.wait(seconds):
        context.session.expire_idle()
        # visit() runs the pass (and drops the key if it destroyed a subkey).
        with contextlib.suppress(SxError), context.visit():
            pass
