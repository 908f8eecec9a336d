"""What importing one file did, in the user's language: the lines the command line
prints and the message the app shows (the same words in both)."""

from __future__ import annotations

from collections.abc import Callable

from securexchange.i18n import N_, _, ngettext
from securexchange.municipality.importer import Imported

# What the import reports, by kind of file.
_KINDS = {"keyring": N_("keyring"), "notice": N_("notice")}


def imported_lines(item: Imported, show: Callable[[str], str] = str) -> list[str]:
    """One line, or two for a package that carried erasures. ``show`` makes a file name
    or id safe for where it is shown (the CLI's ``shown``; the app's templates escape)."""
    name = show(item.path.name)
    if not item.changed:
        return [_("already imported, nothing changed: {file}").format(file=name)]
    if item.kind != "package":
        kind = _(_KINDS.get(item.kind, item.kind))
        return [
            _("imported {kind} {id}: {file}").format(
                kind=kind, id=show(item.artifact_id), file=name
            )
        ]
    lines = [
        ngettext(
            "imported package {id} ({n} record): {file}",
            "imported package {id} ({n} records): {file}",
            item.records,
        ).format(id=show(item.artifact_id), n=item.records, file=name)
    ]
    if item.erased:
        lines.append(
            ngettext(
                "{n} record erased at the agency's request (GDPR art. 17)",
                "{n} records erased at the agency's request (GDPR art. 17)",
                item.erased,
            ).format(n=item.erased)
        )
    return lines
