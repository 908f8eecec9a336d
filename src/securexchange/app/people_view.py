"""What the *Inburgeraars* page shows of the people: a search, a status filter, the new
ones only, an order, and one page of rows at a time.

Chosen on the server, not in the browser: a page of 5,000 rows with a status list each
took seconds to become usable (docs/benchmarks.md), a page of :data:`PAGE_SIZE` rows does
not. The choices travel in a POST body, never in a URL, and are kept in the session's
memory only, so a save or a report comes back to the same page. Pure: no Flask, no home.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from securexchange.vocabularies import ACTIVITY_STATUSES

if TYPE_CHECKING:
    from securexchange.municipality.people import People
    from securexchange.sheets.layout import WorkbookRow

PAGE_SIZE = 100
MAX_SEARCH = 100  # characters of a search term kept
SORT_KEYS = ("naam", "gemeente", "status", "bewaren")


@dataclass(frozen=True)
class PeopleQuery:
    """The page's choices (form field names are Dutch, as the page is)."""

    search: str = ""
    status: str = ""  # "" for every status, else one of ACTIVITY_STATUSES
    only_new: bool = False
    sort: str = "naam"  # one of SORT_KEYS
    descending: bool = False
    page: int = 1

    @property
    def order(self) -> str:
        """The order as the form's hidden ``volgorde`` field carries it: "naam", "-naam"."""
        return ("-" if self.descending else "") + self.sort


def query_from_form(form: Mapping[str, str]) -> PeopleQuery:
    """The choices a posted search form makes; anything unknown falls back to the default.

    A sort button names its column: the same column as before turns the order around,
    another column sorts ascending. A page button names its page; any other submit
    starts at page 1."""
    order = form.get("volgorde", "")
    descending = order.startswith("-")
    sort = order.lstrip("-")
    if sort not in SORT_KEYS:
        sort, descending = "naam", False
    clicked = form.get("sorteer", "")
    if clicked in SORT_KEYS:
        descending = clicked == sort and not descending
        sort = clicked
    status = form.get("toon-status", "")
    page = form.get("pagina", "1")
    return PeopleQuery(
        search=form.get("zoek", "")[:MAX_SEARCH],
        status=status if status in ACTIVITY_STATUSES.values else "",
        only_new=form.get("nieuw") == "1",
        sort=sort,
        descending=descending,
        # ASCII only: str.isdigit() also takes "²", which int() refuses.
        page=int(page) if page.isascii() and page.isdigit() and len(page) <= 6 else 1,
    )


@dataclass(frozen=True)
class PeopleView:
    """One page of the rows that match."""

    query: PeopleQuery
    rows: tuple[WorkbookRow, ...]
    matched: int  # rows that match the search and filters, on every page
    page: int  # the page shown, 1-based, within 1..pages
    pages: int
    first: int  # the 1-based position of the first row shown (0 when none)

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def searchable(text: str) -> str:
    """Case and accents folded, so "celik" finds "Çelik" and "Celik"."""
    if text.isascii():  # most names: nothing to decompose
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _name(row: WorkbookRow) -> tuple[str, str]:
    return searchable(str(row.record.naam)), searchable(str(row.record.voornaam))


# A status sorts by its place in the closed list (one the list lacks, last).
_STATUS_ORDER = {status: place for place, status in enumerate(ACTIVITY_STATUSES.values)}

_SORTS: dict[str, Callable[[WorkbookRow], tuple[object, ...]]] = {
    "naam": lambda r: (*_name(r), r.record_id),
    "gemeente": lambda r: (searchable(str(r.record.gemeente)), *_name(r), r.record_id),
    "status": lambda r: (
        _STATUS_ORDER.get(r.status, len(_STATUS_ORDER)),
        *_name(r),
        r.record_id,
    ),
    "bewaren": lambda r: (r.retention, *_name(r), r.record_id),
}


def view(people: People, query: PeopleQuery, page_size: int = PAGE_SIZE) -> PeopleView:
    """The rows of ``people`` that ``query`` picks, ordered, cut to its page (a page past
    the last shows the last)."""
    rows: Sequence[WorkbookRow] = people.rows
    wanted = searchable(" ".join(query.search.split()))
    if wanted:
        rows = [
            r
            for r in rows
            if wanted in searchable(f"{r.record.voornaam} {r.record.naam} {r.record.gemeente}")
            or wanted in searchable(f"{r.record.naam} {r.record.voornaam}")
        ]
    if query.status:
        rows = [r for r in rows if r.status == query.status]
    if query.only_new:
        rows = [r for r in rows if r.record_id in people.new]
    ordered = sorted(rows, key=_SORTS[query.sort], reverse=query.descending)
    pages = max(1, -(-len(ordered) // page_size))
    page = min(max(1, query.page), pages)
    start = (page - 1) * page_size
    shown = tuple(ordered[start : start + page_size])
    return PeopleView(query, shown, len(ordered), page, pages, start + 1 if shown else 0)
