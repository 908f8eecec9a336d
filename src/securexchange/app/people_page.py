"""*Inburgeraars*: the current records as a table, the activity status and quality
reports edited in place (``set_statuses``, ``report_quality``), nothing else editable.

Search, filter, sort and paging run on the server (:mod:`.people_view`): the choices
are posted (never in a URL) and kept in the session, and the page carries one page of
rows. A record id travels only in a POST body. A status save from the script answers
JSON; the same form without script saves every changed status on the page at once and
comes back to the same rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from securexchange.app.context import AppContext, go, page_context
from securexchange.app.flash import Flash, refused
from securexchange.app.pages import needs_key
from securexchange.errors import SxError
from securexchange.i18n import _, ngettext
from securexchange.schema import QUALITY_FIELDS
from securexchange.vocabularies import ACTIVITY_STATUSES, QUALITY_PROBLEMS

if TYPE_CHECKING:
    from flask import Flask
    from markupsafe import Markup
    from werkzeug.wrappers import Response as BaseResponse


STATUS_FIELD = "status:"


def _wants_json() -> bool:
    from flask import request

    return request.headers.get("Accept", "").startswith("application/json")


def _show(context: AppContext) -> BaseResponse | str:
    from flask import render_template

    from securexchange.app.people_view import view
    from securexchange.municipality.people import current_people

    try:
        with context.visit() as found:
            people = current_people(found.home, found.key())
            return render_template(
                "people.html",
                people=people,
                shown=view(people, context.session.people_query),
                statuses=ACTIVITY_STATUSES.values,
                status_options=_status_options(),
                fields=QUALITY_FIELDS,
                problems=QUALITY_PROBLEMS.values,
                **page_context(context, "/inburgeraars", found),
            )
    except SxError as exc:
        context.session.flash.append(refused(exc))
        return go("/")


def _status_options() -> dict[str, Markup]:
    """Per current status, the row's ``<option>`` list with that one selected: built once
    per page instead of once per row."""
    from markupsafe import Markup

    selected, plain = Markup("<option selected>{}</option>"), Markup("<option>{}</option>")

    def options(chosen: str) -> Markup:
        return Markup("").join(
            (selected if s == chosen else plain).format(s) for s in ACTIVITY_STATUSES.values
        )

    return {s: options(s) for s in ACTIVITY_STATUSES.values}


def _answered(context: AppContext, flash: Flash) -> BaseResponse:
    """JSON for the page's script (a save in place), else the page again with the flash."""
    from flask import jsonify

    if _wants_json():
        code = f" ({flash.code})" if flash.code else ""
        return jsonify(ok=flash.kind == "ok", message=flash.text + code)
    context.session.flash.append(flash)
    return go("/inburgeraars")


def register(app: Flask, context: AppContext) -> None:
    from flask import request

    from securexchange.municipality.opening import report_quality, set_statuses

    @app.get("/inburgeraars")
    def people_page() -> BaseResponse | str:
        if (gate := needs_key(context, "/inburgeraars")) is not None:
            return gate
        return _show(context)

    @app.post("/inburgeraars")
    def search_people() -> BaseResponse:
        from securexchange.app.people_view import query_from_form

        if (gate := needs_key(context, "/inburgeraars")) is not None:
            return gate
        # Kept in the session and shown by a GET: a reload or "back" never posts the
        # search again, and no history entry holds it.
        context.session.people_query = query_from_form(request.form)
        return go("/inburgeraars")

    @app.post("/inburgeraars/status")
    def save_status() -> BaseResponse:
        if (gate := needs_key(context, "/inburgeraars")) is not None:
            return gate
        wanted = {
            key[len(STATUS_FIELD) :]: value
            for key, value in request.form.items()
            if key.startswith(STATUS_FIELD)
        }
        try:
            with context.visit() as found:
                # The page view before a save checked every row's deadline: a save
                # reads only its own rows (docs/benchmarks.md, the 100 ms target).
                changed = set_statuses(found.home, found.key(), wanted, every_row=False)
        except SxError as exc:
            return _answered(context, refused(exc))
        text = (
            ngettext(
                "{n} status stored; it goes back with the next return",
                "{n} statuses stored; they go back with the next return",
                changed,
            ).format(n=changed)
            if changed
            else _("unchanged")
        )
        return _answered(context, Flash("ok", text))

    @app.post("/inburgeraars/melding")
    def report() -> BaseResponse:
        if (gate := needs_key(context, "/inburgeraars")) is not None:
            return gate
        form = request.form
        try:
            with context.visit() as found:
                report_quality(
                    found.home,
                    found.key(),
                    form.get("record", ""),
                    form.get("veld", ""),
                    form.get("probleem", ""),
                )
        except SxError as exc:
            return _answered(context, refused(exc))
        text = _("report stored; it goes to the agency with the next return")
        return _answered(context, Flash("ok", text))
