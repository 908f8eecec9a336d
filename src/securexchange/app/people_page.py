"""*Inburgeraars*: the current records as a table, the activity status and quality
reports edited in place (``set_statuses``, ``report_quality``), nothing else editable.

Search, filter and sort run in the page (``static/app.js``) over the rows it was sent;
without script, searching posts the term (never in a URL). A record id travels only in
a POST body. A status save from the script answers JSON; the same form without script
saves every changed status at once and comes back to the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from securexchange.app.context import AppContext, go, page_context
from securexchange.app.flash import Flash, refused
from securexchange.app.pages import needs_key
from securexchange.errors import SxError
from securexchange.i18n import _, ngettext
from securexchange.schema import QUALITY_FIELDS
from securexchange.vocabularies import ACTIVITY_STATUSES, QUALITY_PROBLEMS, fold

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.wrappers import Response as BaseResponse

    from securexchange.municipality.people import People

STATUS_FIELD = "status:"
MAX_SEARCH = 100


def _wants_json() -> bool:
    from flask import request

    return request.headers.get("Accept", "").startswith("application/json")


def _show(context: AppContext, search: str = "") -> BaseResponse | str:
    from flask import render_template

    from securexchange.municipality.people import current_people

    try:
        with context.visit() as found:
            people = current_people(found.home, found.key())
            return render_template(
                "people.html",
                people=people,
                rows=_matching(people, search),
                search=search,
                statuses=ACTIVITY_STATUSES.values,
                fields=QUALITY_FIELDS,
                problems=QUALITY_PROBLEMS.values,
                **page_context(context, "/inburgeraars", found),
            )
    except SxError as exc:
        context.session.flash.append(refused(exc))
        return go("/")


def _matching(people: People, search: str) -> list[object]:
    wanted = fold(search.strip())
    if not wanted:
        return list(people.rows)
    return [
        r
        for r in people.rows
        if wanted in fold(f"{r.record.voornaam} {r.record.naam} {r.record.gemeente}")
    ]


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
    def search_people() -> BaseResponse | str:
        if (gate := needs_key(context, "/inburgeraars")) is not None:
            return gate
        return _show(context, request.form.get("zoek", "")[:MAX_SEARCH])

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
                changed = set_statuses(found.home, found.key(), wanted)
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
