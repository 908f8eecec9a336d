"""``municipality record-id``: the record id of a client, found by name.

Staff know a newcomer by name (a phone call, a letter); ``set-status`` and
``report-quality`` take the pseudonymous record id. This finds it in the current
package without anyone having to read the workbook's archive with text tools.

A name matches when, ignoring case, accents and spacing, it is the record's first name
and surname in either order, or the surname alone. A name that matches several records
is refused unless every match is asked for: a status set on the wrong person would go
to the agency. Errors never repeat the name (it is personal data).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from securexchange.errors import AmbiguousName, NotFound, UsageError
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.i18n import _, ngettext
from securexchange.keys.keystore import KeySource
from securexchange.municipality import opening, vault
from securexchange.schema import NAAM, VOORNAAM, Record

# Longer than any first name plus surname the schema accepts; refuses a pasted file.
MAX_NAME_LENGTH = 512


@dataclass(frozen=True)
class Found:
    record_ids: tuple[str, ...]


def name_key(text: str) -> str:
    """The matching key of a name: no accents, case-folded, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace(",", " ").split()).casefold()


def matches(record: Record, query: str) -> bool:
    """Whether ``query`` names this record (see the module's docstring)."""
    return _matches_key(record, name_key(query))


def _matches_key(record: Record, key: str) -> bool:
    first, last = name_key(record.text(VOORNAAM)), name_key(record.text(NAAM))
    return key in {f"{first} {last}", f"{last} {first}", last}


def find_record_ids(home: Home, source: KeySource, name: str, *, every: bool = False) -> Found:
    """The id of the one record of the current package that ``name`` names (or, with
    ``every``, of all of them, in workbook order)."""
    key = name_key(name) if len(name) <= MAX_NAME_LENGTH else ""
    if not key:
        raise UsageError(
            _("give the client's name: first name and surname, or the surname alone"),
            hint=_('for example: securexchange municipality record-id "Yasmine Benali"'),
        )
    identities = opening.unlock(home, source)
    package = vault.current_package(home)
    if package is None:
        raise NotFound(
            _("this home holds no package with records"),
            hint=_("import the agency's latest package with 'municipality import FILE'"),
        )
    rows = opening.current_rows(home, package, identities)
    found = tuple(row.record_id for row in rows if _matches_key(row.record, key))
    # A read of the vault, logged like `open`: which package, how many ids came out.
    with statedb.transaction(home.db):
        home.record(Action.LOOKUP, artifacts=[package.package_id], counts={"records": len(found)})
    if not found:
        raise NotFound(
            _("the current package has no record with that name"),
            hint=_(
                "check the spelling against the workbook (Voornaam, Naam), or import "
                "the agency's latest package"
            ),
        )
    if len(found) > 1 and not every:
        raise AmbiguousName(
            ngettext(
                "{n} record of the current package carries that name",
                "{n} records of the current package carry that name",
                len(found),
            ).format(n=len(found)),
            hint=_(
                "add --all to list their ids, then pick the right one in the workbook's "
                "record-id column"
            ),
        )
    return Found(found)
