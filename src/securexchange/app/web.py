"""The Flask application: the guard around every request, the way in, the language,
the lock, and the pages (:mod:`.pages`, :mod:`.people_page`) registered on it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from securexchange import i18n
from securexchange.app import guard
from securexchange.app.homes import Visit, visit
from securexchange.app.launch import LaunchToken
from securexchange.app.session import COOKIE, Session
from securexchange.errors import SxError
from securexchange.i18n import _, ngettext
from securexchange.municipality.importer import MAX_FILE

if TYPE_CHECKING:
    from flask import Flask, Response
    from werkzeug.wrappers import Response as BaseResponse

# A request may carry a few files of the largest kind the import accepts.
MAX_REQUEST = 4 * MAX_FILE


@dataclass(frozen=True)
class AppContext:
    """What the pages share: the home, the port, the session and the launch token."""

    home: Path
    port: int
    session: Session
    token: LaunchToken
    translations: Callable[[str], None]
    # One request or shredding pass at a time in this process: the home's file lock
    # keeps other processes out, this keeps the app's own threads in line.
    busy: threading.Lock

    @contextmanager
    def visit(self, *, read_only: bool = False) -> Iterator[Visit]:
        with self.busy, visit(self.home, self.session, read_only=read_only) as found:
            yield found


def create_app(context: AppContext) -> Flask:
    from flask import Flask

    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST
    app.jinja_env.globals.update(_=_, ngettext=ngettext)
    app.extensions["securexchange"] = context
    _guard(app, context)
    _way_in(app, context)
    from securexchange.app import pages, people_page

    pages.register(app, context)
    people_page.register(app, context)
    return app


def _guard(app: Flask, context: AppContext) -> None:
    from flask import Response, request

    @app.before_request
    def check() -> Response | None:
        refusal = guard.check(request, context.session, context.port)
        if refusal is not None:
            return Response(refusal.reason + "\n", refusal.status, mimetype="text/plain")
        context.translations(context.session.language)
        if context.session.admits(request.cookies.get(COOKIE)):
            context.session.expire_idle()
            context.session.touch()
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        return guard.secure(response)


def _way_in(app: Flask, context: AppContext) -> None:
    from flask import Response, redirect, render_template, request

    @app.post("/launch")
    def launch() -> BaseResponse:
        if not context.token.spend(request.form.get("token", "")):
            return Response(
                "this launch link was used or has expired: start the app again\n",
                403,
                mimetype="text/plain",
            )
        cookie = context.session.begin()
        # A cookie set by an answer to a file:// page is not sent on the redirect that
        # follows (SameSite=Strict counts that chain as cross-site): /welkom is a page
        # of ours that moves on by itself, a same-site navigation that carries it.
        answer = redirect("/welkom", 303)
        answer.set_cookie(COOKIE, cookie, httponly=True, samesite="Strict", path="/")
        return answer

    @app.get("/welkom")
    def welcome() -> str:
        return render_template("welcome.html")

    @app.post("/taal")
    def language() -> BaseResponse:
        chosen = request.form.get("taal", "")
        if chosen in i18n.LANGUAGES:
            context.session.language = chosen
        return redirect(_back(request.form.get("terug", "/")), 303)


def _back(path: str) -> str:
    """Only our own pages (no open redirect)."""
    return path if path in PAGE_PATHS else "/"


PAGE_PATHS = frozenset(
    {"/", "/importeren", "/inburgeraars", "/terugmelding", "/excel", "/ontgrendelen"}
)


@dataclass(frozen=True)
class Flash:
    """A message shown once, on the next page: ``kind`` is ok, info or error."""

    kind: str
    text: str
    hint: str = ""  # what to do, for a refusal
    code: str = ""  # the SX- name, the same in every language (for the helpdesk)


def refused(exc: SxError) -> Flash:
    """The flash of a refusal: its message and what to do, in the user's language."""
    return Flash("error", exc.message, exc.hint or "", exc.name)


def page_context(context: AppContext, current: str, found: Visit | None) -> dict[str, Any]:
    session = context.session
    flashed, session.flash = session.flash, []
    return {
        "csrf": session.csrf,
        "language": session.language,
        "current": current,
        "unlocked": session.unlocked,
        "warnings": found.warnings if found is not None else [],
        "flashed": flashed,
        "demo": found.home.demo if found is not None else False,
    }
