"""The pages besides the people list: Overzicht, unlocking, Importeren, Terugmelding
and Excel. Each is a thin client of a municipal workflow; a refusal is shown in the
user's language with what to do (the message and hint of its ``SxError``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from securexchange.app.context import AppContext, go, page_context
from securexchange.app.flash import Flash, refused
from securexchange.errors import SxError, UsageError
from securexchange.home import statedb
from securexchange.i18n import _, ngettext

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.wrappers import Response as BaseResponse

    from securexchange.app.homes import Visit
    from securexchange.municipality.importer import Imported

# Home settings the app keeps (statedb settings): folders typed by the user.
IMPORT_FOLDER = "app_import_folder"
OUTBOX_FOLDER = "app_outbox_folder"
IMPORTED_SUFFIXES = (".sxpkg", ".sxn")


def register(app: Flask, context: AppContext) -> None:
    _overview(app, context)
    _unlocking(app, context)
    _importing(app, context)
    _returning(app, context)
    _excel(app, context)


def _overview(app: Flask, context: AppContext) -> None:
    from flask import render_template

    from securexchange.municipality.status import status
    from securexchange.reminders import describe

    @app.get("/")
    def overview() -> str:
        with context.visit(read_only=True) as found:
            held = status(found.home)
            live = [p for p in held.packages if p.state == "live"]
            return render_template(
                "overview.html",
                status=held,
                live=live,
                people=live[-1].records if live else 0,
                events=[describe(e) for e in held.coming],
                **page_context(context, "/", found),
            )


def _unlocking(app: Flask, context: AppContext) -> None:
    from flask import render_template, request

    from securexchange.age.scrypt import DerivedKeys, remembering

    @app.get("/ontgrendelen")
    def unlock_form() -> str:
        return render_template("unlock.html", **page_context(context, "/ontgrendelen", None))

    @app.post("/ontgrendelen")
    def unlock() -> BaseResponse:
        typed = request.form.get("wachtwoord", "")
        derived = DerivedKeys()
        try:
            with context.visit() as found, remembering(derived):
                passphrase = _passphrase(found, typed)
                found.session.unlock(passphrase, derived)
                found.key().unlock()  # wrong passphrase: SX-BAD-PASSPHRASE, nothing kept
                imported = _import_folder(found)
        except SxError as exc:
            context.session.forget_key()
            context.session.flash.append(refused(exc))
            return go("/ontgrendelen")
        if imported:
            context.session.flash.extend(imported)
        back, context.session.next_page = context.session.next_page, "/"
        return go(_after_unlock(back))

    @app.post("/vergrendelen")
    def lock() -> BaseResponse:
        context.session.forget_key()
        context.session.flash.append(
            Flash("ok", _("the key is locked; it was removed from memory"))
        )
        return go("/ontgrendelen")


def _passphrase(found: Visit, typed: str) -> bytes:
    if found.home.demo:
        from securexchange.keys.keyfile import DEMO_PASSPHRASE

        return DEMO_PASSPHRASE
    if not typed:
        raise UsageError(_("the passphrase is empty"))
    return typed.encode("utf-8")


def _after_unlock(path: str) -> str:
    from securexchange.app.context import PAGE_PATHS

    return path if path in PAGE_PATHS and path != "/ontgrendelen" else "/"


def full_path(typed: str) -> Path:
    """A folder typed in a page: a full path (the app's own working folder means nothing
    to the person typing), with ``~`` for their home folder."""
    path = Path(typed).expanduser()
    if not path.is_absolute():
        raise UsageError(
            _("give the full path of the folder"),
            hint=_("for example C:\\Users\\you\\Documents\\returns, or /home/you/returns"),
        )
    return path


def needs_key(context: AppContext, back: str) -> BaseResponse | None:
    """A redirect to the unlock page when the session holds no key."""

    if context.session.unlocked:
        return None
    context.session.flash.append(Flash("info", _("unlock your key to continue")))
    context.session.next_page = back
    return go("/ontgrendelen")


def _said(item: Imported) -> Flash:
    from securexchange.municipality.import_notes import imported_lines

    return Flash("ok" if item.changed else "info", " ".join(imported_lines(item)))


def not_imported(name: str, flash: Flash) -> Flash:
    """A refused file named first: nothing of it was kept (the files before it were)."""
    if not name:
        return flash
    said = _("{file} was not imported: {reason}").format(file=name, reason=flash.text)
    return Flash(flash.kind, said, flash.hint, flash.code)


def _import_folder(found: Visit) -> list[Flash]:
    """The folder set in the home, imported when the key is unlocked (the start of a
    working session): what a synced SharePoint or OneDrive folder brought."""
    from securexchange.municipality.importer import import_files

    folder = statedb.get_setting(found.home.db, IMPORT_FOLDER)
    if not folder:
        return []
    directory = Path(folder)
    if not directory.is_dir():
        return [Flash("error", _("the import folder {folder} is not there").format(folder=folder))]
    files = sorted(
        p
        for p in directory.iterdir()
        if p.suffix in IMPORTED_SUFFIXES and p.is_file() and not p.is_symlink()
    )
    said: list[Flash] = []
    try:
        import_files(found.home, files, found.key(), on_imported=lambda i: said.append(_said(i)))
    except SxError as exc:
        said.append(not_imported(files[len(said)].name, refused(exc)))
    return said


def _importing(app: Flask, context: AppContext) -> None:
    from flask import render_template, request

    from securexchange.municipality.importer import MAX_FILE

    @app.get("/importeren")
    def import_form() -> str:
        with context.visit(read_only=True) as found:
            folder = statedb.get_setting(found.home.db, IMPORT_FOLDER) or ""
            return render_template(
                "import.html", folder=folder, **page_context(context, "/importeren", found)
            )

    @app.post("/importeren")
    def import_files() -> BaseResponse:
        if (gate := needs_key(context, "/importeren")) is not None:
            return gate
        uploads = [f for f in request.files.getlist("bestanden") if f.filename]
        if not uploads:
            context.session.flash.append(Flash("error", _("choose one or more files to import")))
            return go("/importeren")
        from securexchange.app.uploads import (
            Upload,
            UploadRefused,
            file_name,
            import_uploads,
        )
        from securexchange.municipality.refusals import with_staff_meaning

        files = [Upload(file_name(f.filename or ""), f.stream.read(MAX_FILE + 1)) for f in uploads]
        try:
            with context.visit() as found:
                import_uploads(
                    found.home,
                    files,
                    found.key(),
                    lambda item: context.session.flash.append(_said(item)),
                )
        except UploadRefused as stop:
            flash = refused(with_staff_meaning(stop.error))
            context.session.flash.append(not_imported(stop.name, flash))
        except SxError as exc:
            context.session.flash.append(refused(exc))
        return go("/importeren")

    @app.post("/importeren/map")
    def import_folder() -> BaseResponse:
        typed = request.form.get("map", "").strip()
        try:
            if typed:
                typed = str(full_path(typed))
        except SxError as exc:
            context.session.flash.append(refused(exc))
            return go("/importeren")
        with context.visit() as found, statedb.transaction(found.home.db):
            statedb.set_setting(found.home.db, IMPORT_FOLDER, typed)
        context.session.flash.append(
            Flash("ok", _("the import folder is kept; it is read each time you unlock"))
            if typed
            else Flash("ok", _("no import folder is set"))
        )
        return go("/importeren")


def _returning(app: Flask, context: AppContext) -> None:
    from flask import render_template, request

    from securexchange.municipality.pending import collect
    from securexchange.municipality.returns import make_return

    @app.get("/terugmelding")
    def return_page() -> BaseResponse | str:
        if (gate := needs_key(context, "/terugmelding")) is not None:
            return gate
        try:
            with context.visit() as found:
                entries = collect(found.home, found.session.passphrase).entries
                names = _names(found)
                outbox = statedb.get_setting(found.home.db, OUTBOX_FOLDER) or ""
                return render_template(
                    "return.html",
                    entries=entries,
                    names=names,
                    outbox=outbox,
                    **page_context(context, "/terugmelding", found),
                )
        except SxError as exc:
            context.session.flash.append(refused(exc))
            return go("/")

    @app.post("/terugmelding")
    def make() -> BaseResponse:
        if (gate := needs_key(context, "/terugmelding")) is not None:
            return gate
        typed = request.form.get("map", "").strip()
        try:
            with context.visit() as found:
                if not typed:
                    raise UsageError(
                        _("choose the folder the return is written to"),
                        hint=_("for example the folder you send to the agency from"),
                    )
                made = make_return(found.home, found.key(), full_path(typed))
                with statedb.transaction(found.home.db):
                    statedb.set_setting(found.home.db, OUTBOX_FOLDER, typed)
        except SxError as exc:
            context.session.flash.append(refused(exc))
            return go("/terugmelding")
        if made.path is None:
            context.session.flash.append(Flash("info", _("nothing to return")))
        else:
            context.session.flash.append(
                Flash(
                    "ok",
                    _(
                        "return written: {file} ({statuses} status(es), {reports} quality "
                        "report(s)); send it to the agency"
                    ).format(file=made.path, statuses=made.statuses, reports=made.quality_reports),
                )
            )
        return go("/terugmelding")


def _names(found: Visit) -> dict[str, str]:
    from securexchange.municipality.people import current_people

    try:
        people = current_people(found.home, found.key())
    except SxError:
        return {}
    return {r.record_id: f"{r.record.voornaam} {r.record.naam}" for r in people.rows}


def _excel(app: Flask, context: AppContext) -> None:
    from flask import render_template

    from securexchange.municipality.opening import open_workbook
    from securexchange.municipality.status import status

    @app.get("/excel")
    def excel_page() -> str:
        with context.visit(read_only=True) as found:
            books = [w for w in status(found.home).workbooks if w.state == "open"]
            return render_template(
                "excel.html", books=books, **page_context(context, "/excel", found)
            )

    @app.post("/excel")
    def write_excel() -> BaseResponse:
        if (gate := needs_key(context, "/excel")) is not None:
            return gate
        try:
            with context.visit() as found:
                opened = open_workbook(found.home, found.key())
        except SxError as exc:
            context.session.flash.append(refused(exc))
            return go("/excel")
        context.session.flash.append(
            Flash(
                "ok",
                ngettext(
                    "{n} record written to {path}; the file holds personal data: do not "
                    "copy or mail it",
                    "{n} records written to {path}; the file holds personal data: do not "
                    "copy or mail it",
                    opened.records,
                ).format(n=opened.records, path=opened.path),
            )
        )
        _show_in_excel(opened.path)
        return go("/excel")


def _show_in_excel(path: Path) -> None:
    """On Windows, open the workbook in Excel; elsewhere the page shows the path."""
    import os
    import sys

    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined]  # noqa: S606
