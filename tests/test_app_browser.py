"""The gemeente-app in a real browser (Debian's headless Chromium, tests/browser.py).

The whole staff story runs through the pages: unlock (after a wrong passphrase), import
(after another municipality's package and a tampered one, each explained in Dutch),
edit two statuses and one quality report in place, make the return; the agency imports
it, answers the report and exports again; the next package, imported in the browser,
shows the agency's answer. After every page: no CSP (or other) error in the console,
and axe-core finds no serious or critical violation. Afterwards the Chromium profile
(history, cache, storage, form data, sessions) holds no synthetic name and no search
term. Every page's screenshot is saved (``SECUREXCHANGE_SCREENSHOTS=docs/guides/img``
refreshes the guide's pictures).

A second test does the work with the keyboard alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from app_world import AppWorld, make_app_world, running_app
from browser import (
    assert_axe_clean,
    assert_no_csp_errors,
    press_tab_until,
    profile_contains,
    save_screenshot,
)
from flows import STAFF_PASS, export, export_source
from securexchange.agency import quality
from securexchange.agency.returns import import_returns
from securexchange.home.home import HomeKind, open_home

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEARCHED = "Zoekterm"  # typed into the search box: must not stay in the profile


def _checked(driver: WebDriver) -> None:
    """What every page must pass: a clean console and no serious accessibility issue."""
    assert_no_csp_errors(driver)
    assert_axe_clean(driver)


def _wait(driver: WebDriver, css: str) -> WebElement:
    return WebDriverWait(driver, 20).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def _flash(driver: WebDriver) -> str:
    return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ".flash"))


def _go(driver: WebDriver, base: str, path: str) -> None:
    driver.get(base + path)
    _wait(driver, "main")


def _upload(driver: WebDriver, base: str, file: Path) -> str:
    _go(driver, base, "/importeren")
    driver.find_element(By.ID, "bestanden").send_keys(str(file))
    driver.find_element(By.ID, "importeer").click()
    _wait(driver, ".flash")
    return _flash(driver)


def _erase(field: WebElement) -> None:
    """Empty a field as a person does."""
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)


def _rows(driver: WebDriver) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, "#mensen tbody tr")


def _submit_and_wait(driver: WebDriver, button: WebElement) -> None:
    """Press a button that asks the server for other rows, and wait for the new page."""
    table = driver.find_element(By.ID, "mensen")
    button.click()
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(table))
    _wait(driver, "#mensen")


def _search(driver: WebDriver, term: str) -> list[WebElement]:
    """Search as a person does (type, Enter); the rows the server sends back."""
    table = driver.find_element(By.ID, "mensen")
    field = driver.find_element(By.ID, "zoek")
    _erase(field)
    field.send_keys(term + Keys.ENTER)
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(table))
    _wait(driver, "#mensen")
    return _rows(driver)


def _tampered(package: Path, directory: Path) -> Path:
    data = bytearray(package.read_bytes())
    data[len(data) // 2] ^= 0x01
    target = directory / package.name
    target.write_bytes(bytes(data))
    return target


def _agency_answers(world: AppWorld, returned: Path, out: Path) -> Path:
    """The agency's side, through the library: import the return, answer the report,
    export again; returns the staff's municipality's new package."""
    with open_home(world.agency, env={}, expect=HomeKind.AGENCY) as home:
        import_returns(home, export_source(world.agency), [(returned.name, returned.read_bytes())])
        (report,) = quality.list_reports(home).rows
        quality.resolve(home, report.report_id, "gecorrigeerd")
    result = export(world.agency, world.master, out)
    (package,) = [p.file for p in result.packages if p.nis == world.staff.nis and p.file]
    return package


def test_the_staff_story_runs_in_the_browser_in_dutch_and_leaves_nothing_in_the_profile(
    tmp_path: Path, chromium: WebDriver, chromium_profile: Path, screenshot_dir: Path
) -> None:
    world = make_app_world(tmp_path / "world")
    driver = chromium
    with running_app(world.staff.home) as app:
        base = app.base
        driver.get(app.launch_file.as_uri())
        WebDriverWait(driver, 20).until(lambda d: d.current_url == base + "/")
        assert driver.title.startswith("Overzicht")
        _checked(driver)

        # Unlock: a wrong passphrase first, explained in Dutch.
        _go(driver, base, "/ontgrendelen")
        save_screenshot(driver, "app-ontgrendelen", screenshot_dir)
        _checked(driver)
        driver.find_element(By.ID, "wachtwoord").send_keys("dit is niet het wachtwoord")
        driver.find_element(By.ID, "ontgrendel").click()
        _wait(driver, ".flash.error")
        assert "wachtwoord" in _flash(driver).lower() and "SX-BAD-PASSPHRASE" in _flash(driver)
        _checked(driver)
        driver.find_element(By.ID, "wachtwoord").send_keys(STAFF_PASS.decode())
        driver.find_element(By.ID, "ontgrendel").click()
        WebDriverWait(driver, 20).until(lambda d: d.current_url == base + "/")

        # Import: another municipality's package, a tampered one, then ours.
        said = _upload(driver, base, world.other_package)
        assert "andere gemeente" in said and "SX-WRONG-MUNICIPALITY" in said
        save_screenshot(driver, "app-fout-andere-gemeente", screenshot_dir)
        _checked(driver)
        said = _upload(driver, base, _tampered(world.package, tmp_path))
        assert "SX-TAMPERED" in said or "SX-MALFORMED" in said, said
        assert "niet ingelezen" in said
        save_screenshot(driver, "app-fout-gewijzigd", screenshot_dir)
        _checked(driver)
        said = _upload(driver, base, world.package)
        assert "ingelezen" in said and "pkg-" in said
        save_screenshot(driver, "app-importeren", screenshot_dir)
        _checked(driver)

        # People: the table, a search, the order, two statuses and one quality report.
        _go(driver, base, "/inburgeraars")
        rows = _rows(driver)
        assert len(rows) >= 3
        names = [r.get_attribute("data-naam") for r in rows]
        surname = names[0].split(" ")[0]
        assert _search(driver, SEARCHED) == []  # nobody is called that
        found = _search(driver, surname)
        assert found and all(surname in r.get_attribute("data-naam") for r in found)
        assert len(_search(driver, "")) == len(rows)
        _checked(driver)
        _submit_and_wait(driver, driver.find_element(By.CSS_SELECTOR, 'button[value="naam"]'))
        header = driver.find_element(By.CSS_SELECTOR, 'th[aria-sort="descending"]')
        assert header.text == "Naam"
        assert [r.get_attribute("data-naam") for r in _rows(driver)] == names[::-1]
        _submit_and_wait(driver, driver.find_element(By.CSS_SELECTOR, 'button[value="naam"]'))
        rows = _rows(driver)
        assert [r.get_attribute("data-naam") for r in rows] == names
        for row in rows[:2]:
            select = row.find_element(By.CSS_SELECTOR, "select.status")
            Select(select).select_by_visible_text("gecontacteerd")
            saved = row.find_element(By.CSS_SELECTOR, ".saved")
            WebDriverWait(driver, 20).until(lambda _d, s=saved: "bewaard" in s.text)
        reported = rows[2].get_attribute("data-naam")
        rows[2].find_element(By.CSS_SELECTOR, "button.report").click()
        dialog = _wait(driver, "dialog#melding[open]")
        Select(dialog.find_element(By.ID, "melding-veld")).select_by_visible_text("Telefoon")
        Select(dialog.find_element(By.ID, "melding-probleem")).select_by_visible_text("foutief")
        save_screenshot(driver, "app-melding", screenshot_dir)
        _checked(driver)
        dialog.find_element(By.ID, "melding-opslaan").click()
        _wait(driver, ".flash.ok")
        assert "melding bewaard" in _flash(driver).lower()
        driver.execute_script("window.scrollTo(0, 0)")
        save_screenshot(driver, "app-inburgeraars", screenshot_dir)
        _checked(driver)

        # Return: what it carries, then made into the chosen folder.
        _go(driver, base, "/terugmelding")
        changes = driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")
        assert len(changes) == 3
        outbox = tmp_path / "naar-agentschap"
        driver.find_element(By.ID, "map").send_keys(str(outbox))
        save_screenshot(driver, "app-terugmelding", screenshot_dir)
        _checked(driver)
        driver.find_element(By.ID, "maak-terugmelding").click()
        _wait(driver, ".flash.ok")
        (returned,) = outbox.glob("*.sxr")

        # Excel: written to the home's workbook folder, never downloaded.
        _go(driver, base, "/excel")
        driver.find_element(By.ID, "maak-werkboek").click()
        _wait(driver, ".flash.ok")
        (workbook,) = (world.staff.home / "workbooks").glob("*.xlsx")
        assert str(workbook) in _flash(driver)
        save_screenshot(driver, "app-excel", screenshot_dir)
        _checked(driver)

        # The agency answers; the next package, imported here, shows the answer.
        newer = _agency_answers(world, returned, tmp_path / "out-2")
        said = _upload(driver, base, newer)
        assert "ingelezen" in said
        _go(driver, base, "/inburgeraars")
        answered = driver.find_element(By.CSS_SELECTOR, f'tr[data-naam="{reported}"]')
        assert "gecorrigeerd" in answered.text
        statuses = [
            s.get_attribute("data-was")
            for s in driver.find_elements(By.CSS_SELECTOR, "select.status")
        ]
        assert statuses.count("gecontacteerd") == 2
        _checked(driver)

        _go(driver, base, "/")
        assert driver.find_element(By.ID, "aantal-personen").text == str(len(rows))
        save_screenshot(driver, "app-overzicht", screenshot_dir)
        _checked(driver)
    driver.quit()

    needles = [*world.names, *(n.split(" ", 1)[1] for n in world.names), SEARCHED]
    assert profile_contains(chromium_profile, needles) == []
    assert not list(Path(chromium_profile).rglob("*.xlsx"))  # never a download


def test_the_work_is_done_with_the_keyboard_alone(
    tmp_path: Path, chromium: WebDriver, chromium_profile: Path
) -> None:
    world = make_app_world(tmp_path / "world")
    driver = chromium
    with running_app(world.staff.home) as app:
        base = app.base
        driver.get(app.launch_file.as_uri())
        WebDriverWait(driver, 20).until(lambda d: d.current_url == base + "/")

        # The first Tab reaches the skip link; the unlock page focuses its field.
        press_tab_until(driver, lambda e: e.get_attribute("class") == "skip", 3)
        _go(driver, base, "/ontgrendelen")
        field = driver.switch_to.active_element
        assert field.get_attribute("id") == "wachtwoord"
        field.send_keys(STAFF_PASS.decode() + Keys.ENTER)
        WebDriverWait(driver, 20).until(lambda d: d.current_url == base + "/")

        # Import with the keyboard: Tab to the file field (its dialog cannot be driven,
        # so the path is typed into it as a screen reader user's helper does), Enter.
        _go(driver, base, "/importeren")
        press_tab_until(driver, lambda e: e.get_attribute("id") == "bestanden", 30)
        driver.switch_to.active_element.send_keys(str(world.package))
        press_tab_until(driver, lambda e: e.get_attribute("id") == "importeer", 5)
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        _wait(driver, ".flash.ok")

        # Reach the people page by its link, with Tab and Enter.
        press_tab_until(driver, lambda e: e.get_attribute("href") == base + "/inburgeraars", 10)
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        _wait(driver, "#mensen")
        status = press_tab_until(
            driver, lambda e: "status" in (e.get_attribute("class") or "").split(), 40
        )
        status.send_keys(Keys.ARROW_DOWN)  # the next status in the closed list
        saved = driver.find_element(By.CSS_SELECTOR, ".saved")
        WebDriverWait(driver, 20).until(lambda _d: "bewaard" in saved.text)

        # A quality report: Tab to "Melden…", Enter opens the dialog with the focus in it.
        press_tab_until(driver, lambda e: "report" in (e.get_attribute("class") or ""), 5)
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        _wait(driver, "dialog#melding[open]")
        assert driver.switch_to.active_element.get_attribute("id") == "melding-veld"
        press_tab_until(driver, lambda e: e.get_attribute("id") == "melding-opslaan", 5)
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        _wait(driver, ".flash.ok")
        assert "melding bewaard" in _flash(driver).lower()

        # Escape closes the dialog and gives the focus back to the button that opened it.
        opener = press_tab_until(driver, lambda e: "report" in (e.get_attribute("class") or ""), 60)
        opener.send_keys(Keys.ENTER)
        _wait(driver, "dialog#melding[open]")
        driver.switch_to.active_element.send_keys(Keys.ESCAPE)
        WebDriverWait(driver, 10).until(
            lambda d: d.switch_to.active_element == opener  # type: ignore[no-any-return]
        )
        _checked(driver)
    shutil.rmtree(chromium_profile, ignore_errors=True)


def test_a_server_on_another_port_never_gets_the_session_cookie(
    tmp_path: Path, chromium: WebDriver
) -> None:
    from stand_in import page, serve

    world = make_app_world(tmp_path / "world")
    driver = chromium
    with running_app(world.staff.home) as app:
        driver.get(app.launch_file.as_uri())
        WebDriverWait(driver, 20).until(lambda d: d.current_url == app.base + "/")
        (cookie,) = driver.get_cookies()
        assert cookie["httpOnly"] and cookie["path"] == app.prefix  # the secret path only
        lure = '<img src="/pixel.png" alt="">'
        with serve({"/": page("Elders", lure), "/pixel.png": page("", "")}) as other:
            driver.get(other.url("/"))
            _wait(driver, "img")
            driver.get(app.base + "/")
            driver.get(other.url("/"))  # again, now that the app was visited last
            _wait(driver, "img")
            seen = [r.cookies() for r in other.requests]
        assert seen and all("sx_app" not in cookies for cookies in seen)
        driver.get(app.base + "/")
        assert driver.title.startswith("Overzicht")  # the app itself still has it
