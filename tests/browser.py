"""A real Chromium for browser tests, and what a test checks through it.

The municipality app is tested in a real browser: Debian's ``chromium`` and
``chromium-driver`` at fixed paths (installed by .ci/run), driven by Selenium, headless.
Through it a test reads the console (a CSP violation fails the test), runs axe-core (npm,
pinned in package-lock.json) on each page, saves screenshots for the guide, moves by
keyboard only, and afterwards searches the browser's profile for names it must not hold.
As with the other real tools: missing locally, the tests are skipped; in CI they fail.

What Chromium keeps in its profile, found with tests/test_browser_harness.py
(Chromium 156, Debian bookworm-security, headless=new):

- A page ``<title>`` goes to ``Default/History`` (SQLite, UTF-8) and to the session
  files ``Default/Sessions/Tabs_*`` and ``Session_*`` (UTF-16-LE), whatever the page's
  Cache-Control: a title must never carry a name. So does every URL (History), and a
  name in a query string is stored percent-encoded.
- ``localStorage`` values go to ``Default/Local Storage/leveldb/*.log`` in Latin-1 when
  every character fits (so "Zoë" is not found as UTF-8), in UTF-16-LE otherwise;
  ``sessionStorage`` to ``Default/Session Storage/*.log`` in UTF-16-LE.
- A body served cacheable lands in ``Default/Cache/Cache_Data`` as sent on the wire: raw,
  or gzip-compressed when the response was (the scan below inflates gzip streams; brotli
  and zstd have no decoder in the standard library and are not searched: the app must
  not compress). A body served ``Cache-Control: no-store`` is nowhere in the profile,
  nor are the words on its page, nor the POST body of a form.
- Text typed into an ``<input>`` goes to ``Default/Web Data`` (autofill, when the form
  is submitted) and into the page state in ``Default/Sessions`` (UTF-16-LE), even on a
  no-store page; with ``autocomplete="off"`` it goes to neither.
- A session cookie (no Expires/Max-Age) is not written to disk.
- LevelDB compacts its .log into snappy-compressed .ldb tables only after megabytes
  of writes; a test's few values stay in the .log, raw.

The launch from a local file (what the lead asked, for ``municipality app``): a
``file://`` page whose form POSTs to ``http://127.0.0.1:PORT/launch``, which answers
303 to ``/`` with ``Set-Cookie: ...; HttpOnly; SameSite=Strict``:

- Measured through WebDriver (``driver.get`` of the file) and again without it, with
  the file's URL on Chromium's command line as a launcher would open it: the same.
- The form needs a script to submit itself: HTML has no script-free auto-submit (a meta
  refresh only GETs, and a token in a URL lands in History). An inline script in a
  ``file://`` page runs, as no CSP applies there.
- Chromium lets the ``file://`` page navigate by POST to 127.0.0.1 (Private/Local
  Network Access does not block it, no prompt, nothing in the console). The POST comes
  with ``Origin: null`` and ``Sec-Fetch-Site: cross-site``.
- The cookie is stored from the 303, but the GET of ``/`` that follows the redirect is
  still cross-site (``Sec-Fetch-Site: cross-site``) and carries NO SameSite=Strict
  cookie (a SameSite=Lax one it does carry).
- The next navigation the page starts itself carries it: a ``<meta http-equiv=refresh>``
  (not subject to CSP) and a link click both come ``Sec-Fetch-Site: same-origin`` with
  the Strict cookie; so do the page's own subresources, its favicon included.
  So ``/`` after the launch must be a page that shows nothing and refreshes itself.
  (Not checked: a headed Chromium; other browsers.)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote, quote_plus

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
WINDOW = (1280, 900)
SCREENSHOTS_ENV = "SECUREXCHANGE_SCREENSHOTS"
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
INFLATE_LIMIT = 64 << 20  # bytes inflated from one gzip stream in the profile

# Chromium as a fresh, quiet browser: nothing fetched behind the test's back, nothing
# synced; headless=new is the real browser without a window. --no-sandbox because CI
# runs as root in a container, where Chromium's sandbox cannot start.
ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)


def _missing(what: str) -> NoReturn:
    """Skipped locally, a failure in CI (the policy of conftest.require_binary)."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI (installed by .ci/run)")
    pytest.skip(f"{what} not installed")


def chromium_driver(profile_dir: Path) -> webdriver.Chrome:
    """Debian's headless Chromium on a profile of its own, its console kept for the test.

    Both paths are given, so Selenium never looks for (or downloads) a browser or driver.
    """
    if not CHROMIUM.is_file():
        _missing(f"{CHROMIUM} (Debian: chromium)")
    if not CHROMEDRIVER.is_file():
        _missing(f"{CHROMEDRIVER} (Debian: chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (*ARGUMENTS, f"--user-data-dir={profile_dir}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


@dataclass(frozen=True)
class ConsoleEntry:
    level: str
    source: str
    message: str

    @property
    def csp(self) -> bool:
        return self.source == "security" or "Content Security Policy" in self.message


def console_errors(driver: webdriver.Chrome) -> list[ConsoleEntry]:
    """The CSP violations (at any level) and other SEVERE entries (uncaught errors,
    console.error, failed loads such as a missing favicon) logged since the last call:
    reading the log empties it, so call this after each page."""
    entries = [
        ConsoleEntry(str(raw["level"]), str(raw.get("source", "")), str(raw["message"]))
        for raw in driver.get_log("browser")  # type: ignore[no-untyped-call]
    ]
    return [entry for entry in entries if entry.csp or entry.level == "SEVERE"]


def assert_no_csp_errors(driver: webdriver.Chrome) -> None:
    """Fails on any CSP violation, and on any other SEVERE console entry: a script the
    policy blocked shows up as both, and a page that errs is broken either way."""
    errors = console_errors(driver)
    if errors:
        lines = [f"  [{'CSP' if e.csp else e.level} {e.source}] {e.message}" for e in errors]
        raise AssertionError(
            f"the browser console has {len(errors)} error(s) on {driver.current_url}:\n"
            + "\n".join(lines)
        )


@dataclass(frozen=True)
class AxeViolation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def describe(self) -> str:
        return f"  {self.impact} {self.rule}: {self.help} at {', '.join(self.targets)}"


_RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]})
  .then(result => done({violations: result.violations}))
  .catch(error => done({error: String(error)}));
"""


def run_axe(driver: webdriver.Chrome) -> list[AxeViolation]:
    """axe-core's violations on the current page.

    axe is injected through WebDriver, which the page's CSP does not govern (no
    'unsafe-inline' or 'unsafe-eval' is needed, and running it logs no violation).
    """
    if not AXE.is_file():
        _missing(f"the npm package axe-core (`npm ci` at {REPO})")
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    outcome = driver.execute_async_script(_RUN_AXE)
    if "error" in outcome:
        raise AssertionError(f"axe-core failed on {driver.current_url}: {outcome['error']}")
    return [
        AxeViolation(
            rule=str(raw["id"]),
            impact=str(raw["impact"]),
            help=str(raw["help"]),
            targets=tuple(" ".join(str(part) for part in node["target"]) for node in raw["nodes"]),
        )
        for raw in outcome["violations"]
    ]


def assert_axe_clean(driver: webdriver.Chrome) -> list[AxeViolation]:
    """Fails on any serious or critical violation; returns the milder ones."""
    violations = run_axe(driver)
    blocking = [v for v in violations if v.impact in BLOCKING_IMPACTS]
    if blocking:
        raise AssertionError(
            f"axe-core finds {len(blocking)} serious or critical violation(s) on "
            f"{driver.current_url}:\n" + "\n".join(v.describe() for v in blocking)
        )
    return violations


@dataclass(frozen=True)
class ProfileHit:
    needle: str
    path: str  # relative to the profile
    form: str  # how the needle was written: utf-8, utf-16-le, latin-1, gzip utf-8, ...


def _forms(needle: str) -> dict[str, bytes]:
    """The byte forms Chromium is seen to write text in (see the module's notes)."""
    forms = {"utf-8": needle.encode(), "utf-16-le": needle.encode("utf-16-le")}
    with contextlib.suppress(UnicodeEncodeError):
        forms["latin-1"] = needle.encode("latin-1")
    forms["percent-encoded"] = quote(needle, safe="").encode()
    forms["form-encoded"] = quote_plus(needle).encode()
    forms["json-escaped"] = json.dumps(needle)[1:-1].encode()
    # bytes.lower() on both sides: exact matches stay matches, ASCII case is ignored.
    unique: dict[bytes, str] = {}
    for name, data in forms.items():
        unique.setdefault(data.lower(), name)
    return {name: data for data, name in unique.items()}


def _gzip_streams(data: bytes) -> Iterable[bytes]:
    """Every gzip stream inside ``data`` inflated (a cached compressed response body)."""
    start = data.find(b"\x1f\x8b\x08")
    while start != -1:
        try:
            inflated = zlib.decompressobj(wbits=31).decompress(data[start:], INFLATE_LIMIT)
        except zlib.error:
            inflated = b""  # three bytes that only looked like a gzip header
        if inflated:
            yield inflated
        start = data.find(b"\x1f\x8b\x08", start + 1)


def profile_contains(profile_dir: Path, needles: Iterable[str]) -> list[ProfileHit]:
    """Where in a Chromium profile each needle is written, in any of its byte forms,
    ASCII letters in either case (pass a name's parts too: they may be stored apart).

    Read after ``driver.quit()``: a running Chromium holds data in memory and keeps
    SingletonLock, which this refuses. Symlinks are not followed.
    """
    if os.path.lexists(profile_dir / "SingletonLock"):
        raise AssertionError(f"Chromium still runs on {profile_dir}: quit the driver first")
    wanted = {needle: _forms(needle) for needle in needles}
    hits: list[ProfileHit] = []
    for folder, _dirs, files in os.walk(profile_dir):
        for name in files:
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            texts = [("", data.lower())]
            texts += [("gzip ", inflated.lower()) for inflated in _gzip_streams(data)]
            relative = path.relative_to(profile_dir).as_posix()
            for needle, forms in wanted.items():
                for prefix, text in texts:
                    hits += [
                        ProfileHit(needle, relative, prefix + form)
                        for form, pattern in forms.items()
                        if pattern in text
                    ]
    return hits


def screenshots_dir(fallback: Path) -> Path:
    """Where screenshots go: $SECUREXCHANGE_SCREENSHOTS (docs/guides/img when the guide's
    pictures are refreshed), else ``fallback`` (a pytest temporary directory)."""
    chosen = os.environ.get(SCREENSHOTS_ENV)
    directory = Path(chosen) if chosen else fallback
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def save_screenshot(driver: webdriver.Chrome, name: str, directory: Path) -> Path:
    """The viewport as ``<directory>/<name>.png``, replaced whole (never written through
    a symlink or left half-written)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ValueError(f"a screenshot name is lowercase letters, digits and dashes: {name!r}")
    target = directory / f"{name}.png"
    partial = directory / f".{name}.png.partial"
    partial.unlink(missing_ok=True)
    with partial.open("xb") as out:
        out.write(driver.get_screenshot_as_png())
    partial.replace(target)
    return target


def describe(element: WebElement) -> str:
    """An element as a person reading a focus path would know it."""
    ident = element.get_attribute("id")
    text = "" if element.tag_name in {"body", "html"} else element.text.strip()[:30]
    return element.tag_name + (f"#{ident}" if ident else "") + (f" {text!r}" if text else "")


def press_tab_until(
    driver: webdriver.Chrome, predicate: Callable[[WebElement], bool], limit: int
) -> WebElement:
    """Presses Tab, as a keyboard-only user would, until the focused element satisfies
    ``predicate`` (checked first without a press); fails after ``limit`` presses with the
    path the focus took."""
    path = []
    active = driver.switch_to.active_element
    for presses in range(limit + 1):
        if predicate(active):
            return active
        path.append(describe(active))
        if presses == limit:
            break
        ActionChains(driver).send_keys(Keys.TAB).perform()
        active = driver.switch_to.active_element
    raise AssertionError(
        f"no focused element matched after {limit} Tab presses; the focus went: "
        + " -> ".join(path)
    )
