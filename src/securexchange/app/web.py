"""The Flask application: the guard around every request, the way in, the language,
the lock, and the pages (:mod:`.pages`, :mod:`.people_page`) registered on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from securexchange import i18n
from securexchange.app import guard
from securexchange.app.context import AppContext, back_to
from securexchange.app.session import COOKIE
from securexchange.i18n import _, ngettext
from securexchange.municipality.importer import MAX_FILE

if TYPE_CHECKING:
    from flask import Flask, Response
    from werkzeug.wrappers import Response as BaseResponse

# A request may carry a few files of the largest kind the import accepts.
MAX_REQUEST = 4 * MAX_FILE


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
            return Response(refusal.text(), refusal.status, mimetype="text/plain")
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
            spent = guard.LAUNCH_SPENT
            return Response(spent.text(), spent.status, mimetype="text/plain")
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
        return redirect(back_to(request.form.get("terug", "/")), 303)
