"""The people page shows one page of rows at a time, searched, filtered and ordered on
the server (app/people_view.py); the choices are posted, kept for the session and never
put in a URL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app_world import AppClient, make_app_world, running_app
from flows import STAFF_PASS
from securexchange.app.people_view import (
    PAGE_SIZE,
    PeopleQuery,
    query_from_form,
    searchable,
    view,
)
from securexchange.home.home import HomeKind, open_home
from securexchange.keys.keystore import KeySource
from securexchange.municipality.importer import import_files
from securexchange.municipality.opening import set_statuses
from securexchange.municipality.people import People, current_people

pytestmark = pytest.mark.slow


def _people(tmp_path: Path, count: int) -> People:
    world = make_app_world(tmp_path, people=count)
    key = KeySource(world.staff.home / "keys" / "identity.key", lambda: STAFF_PASS)
    with open_home(world.staff.home, env={}, expect=HomeKind.MUNICIPALITY) as home:
        import_files(home, [world.package], key)
        first = current_people(home, key).rows[0].record_id
        set_statuses(home, key, {first: "gestart"})
        return current_people(home, key)


def test_a_page_holds_the_rows_in_order_and_the_pages_hold_them_all(tmp_path: Path) -> None:
    people = _people(tmp_path, 12)
    count = view(people, PeopleQuery(), page_size=4).pages
    assert count == -(-len(people.rows) // 4) >= 2
    pages = [view(people, PeopleQuery(page=n), page_size=4) for n in range(1, count + 1)]
    assert pages[0].matched == len(people.rows)
    shown = [r.record_id for p in pages for r in p.rows]
    assert sorted(shown) == sorted(r.record_id for r in people.rows)  # each once
    surnames = [searchable(str(r.record.naam)) for p in pages for r in p.rows]
    assert surnames == sorted(surnames)
    assert pages[0].first == 1 and pages[1].first == 5 and pages[0].last == 4
    past = view(people, PeopleQuery(page=99), page_size=4)
    assert past.page == past.pages and past.rows  # a page past the end shows the last


def test_search_filter_and_order_pick_the_same_rows_a_person_would(tmp_path: Path) -> None:
    people = _people(tmp_path, 12)
    one = people.rows[3]
    surname = str(one.record.naam)
    found = view(people, PeopleQuery(search=f"  {surname.upper()} "))
    assert one in found.rows and all(surname in str(r.record.naam) for r in found.rows)
    assert view(people, PeopleQuery(search="zzz-niemand")).rows == ()
    started = view(people, PeopleQuery(status="gestart"))
    assert [r.status for r in started.rows] == ["gestart"]
    by_deadline = view(people, PeopleQuery(sort="bewaren", descending=True)).rows
    assert [r.retention for r in by_deadline] == sorted(
        (r.retention for r in people.rows), reverse=True
    )
    assert view(people, PeopleQuery(only_new=True)).rows == ()  # nothing to compare with


def test_accents_and_case_do_not_hide_a_person() -> None:
    assert searchable("Çelik") == searchable("celik") == "celik"
    assert searchable("Ğül Nüriye") == "gul nuriye"


def test_the_form_turns_the_order_around_on_the_same_column_and_refuses_the_unknown() -> None:
    assert query_from_form({"sorteer": "naam", "volgorde": "naam"}).order == "-naam"
    assert query_from_form({"sorteer": "naam", "volgorde": "-naam"}).order == "naam"
    assert query_from_form({"sorteer": "bewaren", "volgorde": "-naam"}).order == "bewaren"
    assert query_from_form({"volgorde": "-gemeente", "pagina": "3"}).page == 3
    odd = query_from_form(
        {"volgorde": "rowid; DROP", "toon-status": "x", "pagina": "-1", "zoek": "a" * 500}
    )
    assert odd == PeopleQuery(search="a" * 100)
    assert query_from_form({"pagina": "9" * 40}).page == 1


def test_a_page_number_in_other_digits_starts_at_the_first_page() -> None:
    # "²" is a digit to str.isdigit() but not to int(): it made the search post a 500.
    for odd in ("²", "١٢", "１２", "3\u200b", " 3"):
        assert query_from_form({"pagina": odd}).page == 1


def _names(page: str) -> list[str]:
    return re.findall(r'<tr data-naam="([^"]+)">', page)


def _page_two(client: AppClient) -> str:
    assert client.post("/inburgeraars", {"volgorde": "naam", "pagina": "2"}).status == 303
    return client.get("/inburgeraars").text


def test_the_page_sends_one_page_of_rows_and_the_next_on_request(tmp_path: Path) -> None:
    world = make_app_world(tmp_path, people=3 * PAGE_SIZE)  # two municipalities share them
    with running_app(world.staff.home) as app:
        client = app.client()
        client.launch()
        client.unlock()
        client.upload("/importeren", [(world.package.name, world.package.read_bytes())])
        first = client.get("/inburgeraars").text
        (held,) = map(int, re.findall(r"(\d+) inburgeraars in het huidige pakket", first))
        assert len(_names(first)) == PAGE_SIZE < held
        assert f"1–{PAGE_SIZE} van {held} getoond" in first
        second = _page_two(client)
        rest = _names(second)
        assert len(rest) == min(PAGE_SIZE, held - PAGE_SIZE) > 0
        assert not set(rest) & set(_names(first))
        # The choice is the session's: a status saved on page 2 comes back to page 2.
        (record,) = re.findall(r'name="status:(R-[A-Z0-9]+)"', second)[:1]
        client.post("/inburgeraars/status", {f"status:{record}": "gestart"})
        assert _names(client.get("/inburgeraars").text) == rest
        # Locking forgets it, as it forgets the key.
        client.post("/vergrendelen", {})
        client.unlock()
        assert _names(client.get("/inburgeraars").text) == _names(first)
