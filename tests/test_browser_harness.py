"""The browser harness (tests/browser.py) on stand-in pages (tests/stand_in.py): each
check passes on a page that is right and fails on one that is wrong, and what Chromium
keeps in its profile and sends on the local-file launch is pinned down as found.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from browser import (
    SCREENSHOTS_ENV,
    WINDOW,
    assert_axe_clean,
    assert_no_csp_errors,
    console_errors,
    press_tab_until,
    profile_contains,
    save_screenshot,
    screenshots_dir,
)
from stand_in import gzipped_page, page, redirect, script, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ACCESSIBLE = (
    "<header><p>Gemeente</p></header><main><h1>Overzicht</h1>"
    '<label for="q">Zoeken</label><input id="q" name="q" autocomplete="off">'
    "<button>Zoek</button></main>"
)


def test_chromium_runs_headless_on_the_given_profile_at_the_window_size(
    chromium: webdriver.Chrome, chromium_profile: Path
) -> None:
    with serve({"/": page("Start", ACCESSIBLE)}) as site:
        chromium.get(site.url("/"))
    assert chromium.title == "Start"
    assert "HeadlessChrome" in chromium.execute_script("return navigator.userAgent")
    assert chromium.capabilities["chrome"]["userDataDir"] == str(chromium_profile)
    size = chromium.get_window_size()
    assert (size["width"], size["height"]) == WINDOW
    assert_no_csp_errors(chromium)


def test_an_inline_script_under_script_src_self_fails_the_console_check(
    chromium: webdriver.Chrome,
) -> None:
    pages = {
        "/": page(
            "Start",
            "<main><h1>Start</h1></main><script>document.body.dataset.inline = 'ran'</script>",
            head='<script src="/own.js" defer></script>',
        ),
        "/own.js": script("document.body.dataset.own = 'ran';"),
    }
    with serve(pages) as site:
        chromium.get(site.url("/"))
    ran = chromium.execute_script(
        "return [document.body.dataset.own, document.body.dataset.inline]"
    )
    assert ran == ["ran", None]  # the policy lets its own script run and blocks the inline one
    with pytest.raises(AssertionError) as failure:
        assert_no_csp_errors(chromium)
    assert "[CSP security]" in str(failure.value)
    assert "script-src 'self'" in str(failure.value)
    assert console_errors(chromium) == []  # reading the console emptied it


def test_a_script_error_and_a_failed_load_fail_the_console_check(
    chromium: webdriver.Chrome,
) -> None:
    pages = {
        "/": page(
            "Start",
            '<main><h1>Start</h1><img src="/gone.png" alt="logo"></main>',
            head='<script src="/own.js"></script>',
        ),
        "/own.js": script("console.error('the page is broken');"),
    }
    with serve(pages) as site:
        chromium.get(site.url("/"))
    errors = console_errors(chromium)
    assert not any(entry.csp for entry in errors)
    assert {entry.level for entry in errors} == {"SEVERE"}
    assert any("the page is broken" in entry.message for entry in errors)
    assert any("/gone.png" in entry.message and "404" in entry.message for entry in errors)


def test_axe_runs_under_the_strict_policy_and_finds_a_good_page_clean(
    chromium: webdriver.Chrome,
) -> None:
    blocked = "<script>document.body.dataset.inline = 'ran'</script>"
    with serve({"/": page("Overzicht", ACCESSIBLE + blocked)}) as site:
        chromium.get(site.url("/"))
        # The policy is in force on this very page: its inline script was blocked ...
        assert [entry.csp for entry in console_errors(chromium)] == [True]
        # ... and axe, injected through WebDriver, runs all the same, breaking no policy.
        assert assert_axe_clean(chromium) == []
        assert chromium.execute_script("return typeof axe.run") == "function"
        assert_no_csp_errors(chromium)


def test_axe_fails_on_an_image_without_alt_and_an_unlabeled_input(
    chromium: webdriver.Chrome,
) -> None:
    body = '<main><h1>Overzicht</h1><img src="/logo.png"><input name="q"></main>'
    with serve({"/": page("Overzicht", body)}) as site:
        chromium.get(site.url("/"))
        with pytest.raises(AssertionError) as failure:
            assert_axe_clean(chromium)
    message = str(failure.value)
    assert "critical image-alt: Images must have alternative text at img" in message
    assert "critical label: Form elements must have labels at input" in message


def test_axe_lets_a_moderate_violation_pass_and_returns_it(
    chromium: webdriver.Chrome,
) -> None:
    body = "<p>Text outside every landmark</p><main><h1>Overzicht</h1></main>"
    with serve({"/": page("Overzicht", body)}) as site:
        chromium.get(site.url("/"))
        milder = assert_axe_clean(chromium)
    assert [(v.rule, v.impact) for v in milder] == [("region", "moderate")]


def _hits(profile: Path, *needles: str) -> set[tuple[str, str, str]]:
    """(needle, the profile's folder or file under Default/, form) for every hit."""
    return {
        (hit.needle, "/".join(hit.path.split("/")[:2]), hit.form)
        for hit in profile_contains(profile, needles)
    }


def test_the_profile_scan_finds_names_in_storage_and_in_a_title(
    chromium: webdriver.Chrome, chromium_profile: Path
) -> None:
    latin, wide, session, title = (
        "Zoë Vandersteenhoven",  # every character in Latin-1
        "Łucja Wiśniewska-Peeters",  # not
        "Quirijn Oosterbeek",
        "Mirthe Verhaeghe-Polfliet",
    )
    store = (
        f"localStorage.setItem('a', '{latin}'); localStorage.setItem('b', '{wide}');"
        f"sessionStorage.setItem('c', '{session}');"
    )
    pages = {
        "/": page(title, "<main><h1>Start</h1></main>", head='<script src="/s.js"></script>'),
        "/s.js": script(store),
    }
    with serve(pages) as site:
        chromium.get(site.url("/"))
        assert chromium.execute_script("return localStorage.getItem('a')") == latin
    chromium.quit()
    hits = _hits(chromium_profile, latin, wide, session, title)
    assert (latin, "Default/Local Storage", "latin-1") in hits
    assert (latin, "Default/Local Storage", "utf-8") not in hits  # why Latin-1 is searched
    assert (wide, "Default/Local Storage", "utf-16-le") in hits
    assert (session, "Default/Session Storage", "utf-16-le") in hits
    assert (title, "Default/History", "utf-8") in hits
    assert (title, "Default/Sessions", "utf-16-le") in hits


def test_the_profile_keeps_nothing_of_no_store_pages_but_typed_text_without_autocomplete_off(
    chromium: webdriver.Chrome, chromium_profile: Path
) -> None:
    shown, next_page, typed_off, typed_on = (
        "Aukje Brouckaert",
        "Wendelien Goethals",
        "Hendrikje Schoutteten",
        "Lieselotte Vanderhaeghen",
    )
    form = (
        '<form method="post" action="/search"><label for="off">Naam</label>'
        '<input id="off" name="off" autocomplete="off"><label for="on">Naam</label>'
        '<input id="on" name="on"><button id="go">Zoek</button></form>'
    )
    pages = {
        "/": page("Overzicht", f'<main><p>{shown}</p><a id="next" href="/next">Verder</a></main>'),
        "/next": page("Verder", f"<main><p>{next_page}</p>{form}</main>"),
        "/search": redirect("/result"),
        "/result": page("Resultaat", f"<main><p>{shown} {next_page}</p></main>"),
    }
    with serve(pages) as site:
        chromium.get(site.url("/"))
        chromium.find_element("id", "next").click()
        chromium.find_element("id", "off").send_keys(typed_off)
        chromium.find_element("id", "on").send_keys(typed_on)
        chromium.find_element("id", "go").click()
        WebDriverWait(chromium, 10).until(lambda d: d.title == "Resultaat")
        assert b"off=Hendrikje+Schoutteten" in site.requests_for("/search")[0].body
    chromium.quit()
    hits = _hits(chromium_profile, shown, next_page, typed_off, typed_on, "Resultaat")
    assert {(needle, where) for needle, where, _ in hits} == {
        ("Resultaat", "Default/History"),  # the titles are kept: the scan did read this profile
        ("Resultaat", "Default/Sessions"),
        (typed_on, "Default/Web Data"),  # autofill
        (typed_on, "Default/Sessions"),  # the form's state, for going back to it
    }


def test_the_profile_scan_finds_a_name_in_a_gzip_compressed_cached_body(
    chromium: webdriver.Chrome, chromium_profile: Path
) -> None:
    name = "Evertje Kerckhofs"
    pages = {"/": gzipped_page("Overzicht", f"<main><p>{name}</p></main>", cache="max-age=3600")}
    with serve(pages) as site:
        chromium.get(site.url("/"))
        assert name in chromium.page_source
    chromium.quit()
    assert _hits(chromium_profile, name) == {(name, "Default/Cache", "gzip utf-8")}


def test_the_profile_scan_refuses_a_browser_still_running(
    chromium: webdriver.Chrome, chromium_profile: Path
) -> None:
    with pytest.raises(AssertionError, match="quit the driver first"):
        profile_contains(chromium_profile, ["x"])
    chromium.quit()
    assert profile_contains(chromium_profile, ["Evertje Kerckhofs"]) == []


def test_a_screenshot_is_the_viewport_as_png_under_a_plain_name(
    chromium: webdriver.Chrome, tmp_path: Path
) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    with serve({"/": page("Overzicht", ACCESSIBLE)}) as site:
        chromium.get(site.url("/"))
        saved = save_screenshot(chromium, "overzicht", shots)
        viewport = chromium.execute_script("return [innerWidth, innerHeight]")
        with pytest.raises(ValueError, match="lowercase letters"):
            save_screenshot(chromium, "../overzicht", shots)
    data = saved.read_bytes()
    assert saved == shots / "overzicht.png"
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    # The viewport, not the window: headless=new keeps room for a browser's own bars
    # (1280x900 gives 1280x757).
    assert [width, height] == viewport
    assert width == WINDOW[0]
    assert sorted(p.name for p in shots.iterdir()) == ["overzicht.png"]


def test_screenshots_go_where_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SCREENSHOTS_ENV, raising=False)
    assert screenshots_dir(tmp_path / "fallback") == tmp_path / "fallback"
    monkeypatch.setenv(SCREENSHOTS_ENV, str(tmp_path / "guide"))
    assert screenshots_dir(tmp_path / "fallback") == tmp_path / "guide"
    assert (tmp_path / "guide").is_dir()


KEYBOARD = (
    '<main><h1>Overzicht</h1><a id="first" href="/elsewhere">Elders</a>'
    '<label for="q">Zoeken</label><input id="q">'
    '<a id="hidden" href="/elsewhere" tabindex="-1">Muis</a>'
    '<a id="target" href="/target">Dossiers</a></main>'
)


def test_tab_reaches_a_link_that_enter_follows(chromium: webdriver.Chrome) -> None:
    pages = {"/": page("Overzicht", KEYBOARD), "/target": page("Dossiers", "<main></main>")}
    with serve(pages) as site:
        chromium.get(site.url("/"))
        link = press_tab_until(chromium, lambda e: e.get_attribute("id") == "target", 5)
        assert link.text == "Dossiers"
        ActionChains(chromium).send_keys(Keys.ENTER).perform()
        WebDriverWait(chromium, 10).until(lambda d: d.title == "Dossiers")


def test_tab_fails_on_an_element_the_keyboard_cannot_reach(chromium: webdriver.Chrome) -> None:
    with serve({"/": page("Overzicht", KEYBOARD)}) as site:
        chromium.get(site.url("/"))
        with pytest.raises(AssertionError) as failure:
            press_tab_until(chromium, lambda e: e.get_attribute("id") == "hidden", 4)
    assert str(failure.value) == (
        "no focused element matched after 4 Tab presses; the focus went: body -> "
        "a#first 'Elders' -> input#q -> a#target 'Dossiers' -> body"
    )


def _launch_file(folder: Path, name: str, action: str, token: str, *, scripted: bool) -> Path:
    """A local launch file as the app would write it: a form posting a token."""
    submit = "<script>document.forms[0].submit()</script>" if scripted else ""
    launch = folder / name
    launch.write_text(
        f'<!doctype html><html><body><form method="post" action="{action}">'
        f'<input type="hidden" name="token" value="{token}"></form>{submit}</body></html>',
        encoding="utf-8",
    )
    return launch


def test_a_file_page_launches_by_post_and_a_strict_cookie_waits_for_a_same_site_navigation(
    chromium: webdriver.Chrome, tmp_path: Path
) -> None:
    cookies = (
        ("Set-Cookie", "strict=s1; Path=/; HttpOnly; SameSite=Strict"),
        ("Set-Cookie", "lax=l1; Path=/; HttpOnly; SameSite=Lax"),
    )
    pages = {
        "/launch": redirect("/", *cookies),
        "/": page(
            "Start", "<main></main>", head='<meta http-equiv="refresh" content="0; url=/in">'
        ),
        "/in": page("Binnen", '<main><a id="on" href="/on">Verder</a></main>'),
        "/on": page("Verder", "<main></main>"),
    }
    with serve(pages) as site:
        action = site.url("/launch")
        chromium.get(_launch_file(tmp_path, "a.html", action, "plain", scripted=False).as_uri())
        chromium.get(_launch_file(tmp_path, "b.html", action, "scripted", scripted=True).as_uri())
        WebDriverWait(chromium, 10).until(lambda d: d.title == "Binnen")
        chromium.find_element("id", "on").click()
        WebDriverWait(chromium, 10).until(lambda d: d.title == "Verder")
        assert_no_csp_errors(chromium)  # nor a Private Network Access complaint
        requests = [r for r in site.requests if r.path != "/favicon.ico"]
    seen = [
        (r.method, r.path, r.header("Origin"), r.header("Sec-Fetch-Site"), r.cookies())
        for r in requests
    ]
    both = {"strict": "s1", "lax": "l1"}
    assert seen == [
        ("POST", "/launch", "null", "cross-site", {}),  # only the scripted file posted
        ("GET", "/", None, "cross-site", {"lax": "l1"}),  # the 303's GET: no Strict cookie
        ("GET", "/in", None, "same-origin", both),  # the meta refresh
        ("GET", "/on", None, "same-origin", both),  # a link click
    ]
    assert requests[0].body == b"token=scripted"
