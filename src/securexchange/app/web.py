"""The Flask application: the guard around every request, the way in, the language,
the lock, and the pages (:mod:`.pages`, :mod:`.people_page`) registered on it."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import TYPE_CHECKING

from securexchange import i18n
from securexchange.app import guard
from securexchange.app.context import AppContext, back_to, go
from securexchange.app.session import COOKIE
from securexchange.i18n import _, ngettext
from securexchange.municipality.importer import MAX_FILE

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask, Response
    from werkzeug.wrappers import Response as BaseResponse

# A request may carry a few files of the largest kind the import accepts.
MAX_REQUEST = 4 * MAX_FILE


def create_app(context: AppContext) -> Flask:
    from flask import Flask

    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.wsgi_app = Mounted(app.wsgi_app, context.prefix)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST
    app.jinja_env.globals.update(_=_, ngettext=ngettext)
    app.extensions["securexchange"] = context
    _guard(app, context)
    _way_in(app, context)
    from securexchange.app import pages, people_page

    pages.register(app, context)
    people_page.register(app, context)
    return app


class Mounted:
    """The app under its run's secret prefix: ``/<prefix>/...`` reaches it (the prefix
    becomes SCRIPT_NAME), anything else is a plain 404 that says nothing."""

    def __init__(self, inner: WSGIApplication, prefix: str) -> None:
        self._inner = inner
        self._prefix = prefix.encode()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        head = path.encode("latin-1", "replace")[: len(self._prefix)]
        rest = path[len(self._prefix) :]
        if not hmac.compare_digest(head, self._prefix) or rest[:1] not in ("", "/"):
            headers = [("Content-Type", "text/plain"), *guard.HEADERS.items()]
            start_response("404 Not Found", headers)
            return [b"Niet gevonden / Not found\n"]
        environ["SCRIPT_NAME"] = self._prefix.decode()
        environ["PATH_INFO"] = rest or "/"
        return self._inner(environ, start_response)


def _guard(app: Flask, context: AppContext) -> None:
    from flask import Response, request

    from securexchange.app.flash import Flash

    @app.before_request
    def check() -> Response | None:
        refusal = guard.check(request, context.session, context.port)
        if refusal is not None:
            return Response(refusal.text(), refusal.status, mimetype="text/plain")
        context.translations(context.session.language)
        if context.session.admits(request.cookies.get(COOKIE)):
            context.session.expire_idle()
            context.session.touch()
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        return guard.secure(response)

    @app.errorhandler(OSError)
    def refused_by_the_system(error: OSError) -> BaseResponse:
        # A folder typed in a page that cannot be read or written (too long, no
        # permission, gone): said on the page, not a server error.
        reason = error.strerror or type(error).__name__
        said = _("the computer refused to read or write there: {reason}").format(reason=reason)
        context.session.flash.append(Flash("error", said, code="OSError"))
        return go(back_to(request.path) if request.method == "POST" else "/ontgrendelen")

    @app.errorhandler(LookupError)
    def locked_meanwhile(_error: LookupError) -> BaseResponse:
        # The key went while the request ran (a subkey destroyed by its shredding pass).
        context.session.flash.append(Flash("info", _("unlock your key to continue")))
        return go("/ontgrendelen")


def _way_in(app: Flask, context: AppContext) -> None:
    from flask import Response, render_template, request

    @app.post("/launch")
    def launch() -> BaseResponse:
        if not context.token.spend(request.form.get("token", "")):
            spent = guard.LAUNCH_SPENT
            return Response(spent.text(), spent.status, mimetype="text/plain")
        cookie = context.session.begin()
        # A cookie set by an answer to a file:// page is not sent on the redirect that
        # follows (SameSite=Strict counts that chain as cross-site): /welkom is a page
        # of ours that moves on by itself, a same-site navigation that carries it.
        answer = go("/welkom")
        # Path: the run's secret prefix. Browsers send a cookie to every port of a host;
        # a server on another port of 127.0.0.1 (another user's, on a terminal server)
        # would get it on any request but those under a path it cannot know.
        answer.set_cookie(COOKIE, cookie, httponly=True, samesite="Strict", path=context.prefix)
        return answer

    @app.get("/welkom")
    def welcome() -> str:
        return render_template("welcome.html", base=request.script_root)

    @app.post("/taal")
    def language() -> BaseResponse:
        chosen = request.form.get("taal", "")
        if chosen in i18n.LANGUAGES:
            context.session.language = chosen
        return go(back_to(request.form.get("terug", "/")))
