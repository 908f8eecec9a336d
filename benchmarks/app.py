"""The gemeente-app with 5,000 records: the people page and an inline status save.

Run: ``python benchmarks/app.py [--records 5000] [--runs 7] [--no-browser] [--profile]``
(``--small``: 500 records, 2 runs, a smoke run that never fails on a target). The
browser part needs selenium (the ``test`` extra) and Chromium with its chromedriver
(``--chromium``, ``--chromedriver``); without them, or with ``--no-browser``, only the
HTTP client measures. Exit 1 when a target is missed.

Setup (not timed): a real agency with one municipality, a staff member of it with a
passphrase-protected key (scrypt work factor 2, as ``tests/flows.py`` makes homes) and
one export of ``--records`` synthetic records, all for that municipality. The real app
(``securexchange municipality app --no-browser``) runs as a subprocess; headless
Chromium opens its launch file (the real way in) and the HTTP client takes the session
cookie from it, unlocks the key and uploads the package, as a user would.

Measured, ``--runs`` times each (median and worst):

* the server's answer to ``GET /inburgeraars``, full body, over HTTP;
* in headless Chromium (selenium), from the page's Navigation Timing: navigation start
  to ``DOMContentLoaded`` (the rows are in the DOM and ``app.js`` has attached its
  listeners: it runs on that event), to ``load``, and to the first frame rendered after
  ``DOMContentLoaded`` (usable: rows, listeners and their pixels; a probe added through
  DevTools before the page's own script marks it);
* an inline status save, ``POST /inburgeraars/status`` with ``Accept: application/json``
  (a real change of one record's status each time): the server round trip over HTTP,
  and in the browser the time from the select's change event to the answer written
  beside it by ``app.js`` and to that answer painted (which also proves the listeners
  are attached), with the request's own span from Resource Timing;
* the server's peak RSS (``VmHWM``) after all of the above, the import included.

Baselines, in every round beside the lines above (so both share the machine's load of
that moment), in this process: decrypting and reading the vault's rows with the library
(``staff_edits.current_rows``, the key already unlocked), and bare Flask + Jinja2
rendering the app's own ``people.html`` with those rows in memory (Flask's test client:
no guard, no home, no workflow). Targets: page usable <= 1 s, status save <= 100 ms,
server peak RSS <= 200 MiB. When a target is missed (or with ``--profile``)
the slow requests are profiled in this process with cProfile: the app factory over the
same home, driven by Flask's test client through the real guard.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from machine_info import machine
from securexchange.app.people_view import PAGE_SIZE

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

NIS = "11002"
RETENTION_MONTHS = 6
PAGE_TARGET_S = 1.0
SAVE_TARGET_S = 0.100
RSS_TARGET_MIB = 200.0
# A pause before each round: after the answer is painted Chromium still works on the big
# page for a while, and would share the 2 cores with the next round's measurements.
SETTLE_S = 1.5
STATUS_ROW = re.compile(r'name="status:([^"]+)"[^>]*data-was="([^"]*)"')

# Put in every page before its own script (DevTools, so the page's CSP does not apply):
# the first frame rendered after DOMContentLoaded, when the rows are there, app.js has
# attached its listeners and the user sees them (a timeout after the frame's callback
# runs once its style, layout and paint are done).
PROBE = """
window.__sx = {};
document.addEventListener("DOMContentLoaded", () => {
  requestAnimationFrame(() => setTimeout(() => { window.__sx.painted = performance.now(); }));
});
"""
NAVIGATION = """
const n = performance.getEntriesByType("navigation")[0];
return {ttfb: n.responseStart, dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd,
        painted: window.__sx.painted,
        rows: document.querySelectorAll("#mensen tbody tr").length,
        js: document.documentElement.classList.contains("js")};
"""
# In the page: a select's status changed as a user does, timed to the answer written
# (app.js's listener posts, then writes the answer beside the select) and painted.
SAVE_IN_PAGE = r"""
const index = arguments[0];
const done = arguments[arguments.length - 1];
const select = document.querySelectorAll("#mensen select.status")[index];
const mark = select.nextElementSibling;
select.value = Array.from(select.options).map((o) => o.value).find((v) => v !== select.value);
const start = performance.now();
const observer = new MutationObserver(() => {
  if (!mark.textContent || mark.textContent === "\u2026") return;
  observer.disconnect();
  const written = performance.now() - start;
  requestAnimationFrame(() => setTimeout(() => {
    const sent = performance.getEntriesByType("resource")
      .filter((e) => e.name.endsWith("/inburgeraars/status")).pop();
    done({written: written, painted: performance.now() - start,
          server: sent ? sent.responseEnd - sent.requestStart : -1,
          text: mark.textContent, bad: mark.classList.contains("bad")});
  }));
});
observer.observe(mark, {childList: true, characterData: true, subtree: true});
select.dispatchEvent(new Event("change", {bubbles: true}));
"""


@dataclass
class Series:
    """One measured line: seconds (or MiB) per run, and its target."""

    name: str
    target: float | None = None
    unit: str = "ms"
    values: list[float] = field(default_factory=list)

    def shown(self, value: float) -> str:
        return f"{value:.0f} MiB" if self.unit == "MiB" else f"{value * 1000:.1f} ms"

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def worst(self) -> float:
        return max(self.values)

    def verdict(self) -> str:
        if self.target is None:
            return "baseline" if "baseline" in self.name else ""
        if self.median > self.target:
            return "FAIL"
        return "PASS" if self.worst <= self.target else "PASS (worst over)"


@dataclass(frozen=True)
class World:
    staff_home: Path
    package: Path
    records: int


def build_world(tmp: Path, records: int) -> World:
    """Agency, municipality, staff (passphrase key), one export of ``records`` people."""
    from flows import add_staff, export, make_agency, register
    from keys_helpers import FAR_FUTURE
    from securexchange import schema
    from securexchange.intake import sample

    agency = tmp / "agency"
    make_agency(agency)
    register(agency, NIS, "Antwerpen", retention_months=RETENTION_MONTHS)
    staff = add_staff(agency, tmp / "staff", NIS)
    # Rows whose retention has passed are left out of a package: keep ``records`` live.
    rows = sample.generate_master(records * 2, nis=[NIS], seed=7)
    column = rows[0].index(schema.DATUM_ATTEST.header)
    today = datetime.now(UTC).date()
    live = [
        row
        for row in rows[1:]
        if not isinstance(row[column], date)
        or schema.retention_deadline(row[column], RETENTION_MONTHS, FAR_FUTURE) > today
    ]
    master = tmp / "master.xlsx"
    sample.write_master([rows[0], *live[:records]], master)
    result = export(agency, master, tmp / "out")
    made = next(p for p in result.packages if p.file is not None)
    if made.records != records or made.file is None:
        raise SystemExit(f"the package holds {made.records} records, not {records}")
    return World(staff.home, made.file, records)


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _memory(pid: int) -> dict[str, float]:
    """VmHWM and VmRSS of ``pid`` in MiB (Linux)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmHWM", "VmRSS"}:
            found[name] = int(value.split()[0]) / 1024
    return found


def _dutch() -> None:
    """Dutch for ``_()``, as the app's default language (a Dutch staff member)."""
    import gettext

    import securexchange
    from securexchange import i18n

    locale = Path(securexchange.__file__).resolve().parent / "locale"
    i18n.activate("nl", gettext.translation(i18n.DOMAIN, locale, languages=["nl"], fallback=True))


# --- the browser ------------------------------------------------------------------------


def start_browser(tmp: Path, chromium: str, chromedriver: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--window-size=1280,900",
        f"--user-data-dir={tmp / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(120)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})
    return driver


def browser_launch(driver: Any, launch_file: Path, base: str) -> str:
    """Open the launch file as the app's own start does; the session cookie's value."""
    driver.get(launch_file.as_uri())
    end = time.monotonic() + 30
    while time.monotonic() < end:
        cookie = driver.get_cookie("sx_app")
        if cookie is not None and driver.current_url.startswith(base):
            return str(cookie["value"])
        time.sleep(0.05)
    raise SystemExit(f"the browser did not get in: {driver.current_url}")


def _page_timing(driver: Any, base: str, records: int) -> dict[str, Any]:
    """Load the people page; its Navigation Timing once its first frame is painted."""
    driver.get(f"{base}/inburgeraars")  # returns after the load event
    end = time.monotonic() + 60
    timing = driver.execute_script(NAVIGATION)
    while timing["painted"] is None and time.monotonic() < end:
        time.sleep(0.02)
        timing = driver.execute_script(NAVIGATION)
    if timing["rows"] != min(records, PAGE_SIZE) or not timing["js"] or timing["painted"] is None:
        raise SystemExit(f"the people page is not complete: {timing}")
    return dict(timing)


def browser_round(driver: Any, base: str, records: int, index: int) -> dict[str, float]:
    """Load the people page, then change one status in it (record ``index`` from the
    end of the table; the HTTP client's are from its start)."""
    timing = _page_timing(driver, base, records)
    saved = driver.execute_async_script(SAVE_IN_PAGE, min(records, PAGE_SIZE) - 1 - index)
    if saved["bad"] or saved["server"] < 0:
        raise SystemExit(f"the page's save failed: {saved}")
    found = {name: timing[name] / 1000 for name in ("ttfb", "dcl", "load", "painted")}
    found |= {name: saved[name] / 1000 for name in ("written", "server")}
    found["shown"] = saved["painted"] / 1000
    return found


# --- the HTTP client --------------------------------------------------------------------


def http_session(client: Any, world: World) -> float:
    """Unlock and upload the package through the app; the upload's seconds."""
    answer = client.unlock()
    if answer.status != 303 or "ontgrendelen" in answer.headers.get("Location", ""):
        raise SystemExit(f"unlock failed: {answer.status} {answer.headers}")
    seconds, answer = _timed(
        lambda: client.upload("/importeren", [(world.package.name, world.package.read_bytes())])
    )
    page = client.get("/importeren").text
    if answer.status != 303 or 'class="flash ok"' not in page:
        raise SystemExit(f"the import failed: {page[:2000]}")
    return float(seconds)


def http_round(client: Any, world: World, index: int) -> dict[str, float]:
    """GET /inburgeraars, then a JSON save of record ``index``'s status."""
    from securexchange.vocabularies import ACTIVITY_STATUSES

    start = time.perf_counter()
    answer = client.get("/inburgeraars")
    seconds = time.perf_counter() - start
    rows = STATUS_ROW.findall(answer.text)
    if answer.status != 200 or len(rows) != min(world.records, PAGE_SIZE):
        raise SystemExit(f"the people page has {len(rows)} rows: {answer.text[:1000]}")
    record, was = rows[index]
    wanted = next(s for s in ACTIVITY_STATUSES.values if s != was)
    start = time.perf_counter()
    saved = client.post(
        "/inburgeraars/status",
        {f"status:{record}": wanted},
        headers={"Accept": "application/json"},
    )
    took = time.perf_counter() - start
    if saved.status != 200 or saved.json().get("ok") is not True:
        raise SystemExit(f"the save failed: {saved.status} {saved.text}")
    return {"page": seconds, "save": took, "size": len(answer.body)}


# --- the baselines ----------------------------------------------------------------------


def bare_read(world: World) -> tuple[float, list[Any]]:
    """Decrypt and read the vault's rows with the library, the key already unlocked
    (the home is opened for this read only: the app's requests take its lock too)."""
    from flows import STAFF_PASS
    from securexchange.home.home import HomeKind, open_home
    from securexchange.keys.keystore import KeySource, KeyUse, key_path
    from securexchange.municipality import opening

    with open_home(world.staff_home, env={}, expect=HomeKind.MUNICIPALITY) as home:
        source = KeySource(key_path(home, KeyUse.IDENTITY), lambda: STAFF_PASS)
        identities = opening.unlock(home, source)
        package = opening.current(home)
        seconds, rows = _timed(lambda: opening.current_rows(home, package, identities))
    return seconds, rows


def bare_people(world: World, rows: list[Any]) -> Any:
    from securexchange.municipality.people import People

    return People("package", NIS, tuple(rows), frozenset(), False)


def bare_render(people: Any) -> Callable[[], bytes]:
    """The app's people.html on a bare Flask: the same template, rows in memory."""
    from flask import Flask, render_template

    import securexchange.app
    from securexchange.app.people_page import _status_options
    from securexchange.app.people_view import PeopleQuery, view
    from securexchange.i18n import _, ngettext
    from securexchange.schema import QUALITY_FIELDS
    from securexchange.vocabularies import ACTIVITY_STATUSES, QUALITY_PROBLEMS

    _dutch()
    folder = Path(securexchange.app.__file__).resolve().parent / "templates"
    app = Flask("bare", template_folder=str(folder))
    app.jinja_env.globals.update(_=_, ngettext=ngettext)

    @app.get("/")
    def page() -> str:
        return render_template(
            "people.html",
            people=people,
            shown=view(people, PeopleQuery()),
            statuses=ACTIVITY_STATUSES.values,
            status_options=_status_options(),
            fields=QUALITY_FIELDS,
            problems=QUALITY_PROBLEMS.values,
            csrf="x" * 43,
            language="nl",
            current="/inburgeraars",
            unlocked=True,
            warnings=[],
            flashed=[],
            demo=False,
            base="/" + "x" * 22,  # a prefix as long as the app's
        )

    client = app.test_client()
    return lambda: client.get("/").data


# --- the profile ------------------------------------------------------------------------


def breakdown(world: World, runs: int) -> None:
    """Unprofiled: the library steps of both requests on the same home, one by one."""
    from securexchange.age.scrypt import DerivedKeys, remembering

    steps: dict[str, list[float]] = {}
    with remembering(DerivedKeys()):  # as the session does: scrypt once
        for run in range(-1, runs):
            _steps(world, run, steps)
    print(f"\nwhere the time goes (unprofiled, in this process, medians of {runs}):")
    for name, values in steps.items():
        if name.startswith(" "):  # a count, not a step
            print(f"  {'':11}  ({values[-1]:.0f}{name} at the last run)")
        else:
            print(f"  {statistics.median(values[1:]) * 1000:8.1f} ms  {name}")


def _steps(world: World, run: int, steps: dict[str, list[float]]) -> None:
    from contextlib import ExitStack

    from flows import STAFF_PASS
    from securexchange.home.home import HomeKind, open_home
    from securexchange.keys.keystore import KeySource, KeyUse, key_path
    from securexchange.municipality import opening, staff_edits
    from securexchange.municipality.people import current_people
    from securexchange.municipality.retention import shred
    from securexchange.vocabularies import ACTIVITY_STATUSES

    def step(name: str, action: Callable[[], Any]) -> Any:
        seconds, result = _timed(action)
        steps.setdefault(name, []).append(seconds)
        return result

    with ExitStack() as stack:
        home = step(
            "open_home (lock, state, clock)",
            lambda: stack.enter_context(
                open_home(world.staff_home, env={}, expect=HomeKind.MUNICIPALITY)
            ),
        )
        source = KeySource(key_path(home, KeyUse.IDENTITY), lambda: STAFF_PASS)
        step("retention.shred (the pass every request's visit runs)", lambda: shred(home))
        identities = step(
            "opening.unlock (split out, unlock subkeys, rewrap)",
            lambda: opening.unlock(home, source),
        )
        package = opening.current(home)
        stored = step(
            "staff_edits.edits (every stored edit, each an age decryption)",
            lambda: staff_edits.edits(home, identities),
        )
        steps.setdefault(" edits stored", []).append(len(stored))
        rows = step(
            "opening.current_rows (decrypts every row, checks its deadline, applies edits)",
            lambda: opening.current_rows(home, package, identities),
        )
        people = step(
            "current_people (the page's whole read)", lambda: current_people(home, source)
        )
        step("people.html rendered (bare Flask)", bare_render(people))
        row = rows[len(rows) // 2 + run]
        wanted = next(s for s in ACTIVITY_STATUSES.values if s != row.status)
        step(
            "set_statuses, one record (the save's whole work)",
            lambda: opening.set_statuses(home, source, {row.record_id: wanted}),
        )


def profile(world: World, runs: int, top: int) -> None:
    """cProfile of GET /inburgeraars and a status save, in this process: the app
    factory over the same home, Flask's test client through the real guard (a real
    loopback connection gives it a client port that /proc/net/tcp knows)."""
    import cProfile
    import secrets
    import socket
    import threading

    from flows import STAFF_PASS
    from securexchange.app.context import AppContext
    from securexchange.app.launch import LaunchToken
    from securexchange.app.session import Session
    from securexchange.app.web import create_app
    from securexchange.vocabularies import ACTIVITY_STATUSES

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    peer = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    try:
        session, token = Session("nl"), LaunchToken()
        prefix = "/" + secrets.token_urlsafe(16)  # as server.run makes it
        context = AppContext(
            world.staff_home, port, prefix, session, token, lambda _l: _dutch(), threading.Lock()
        )
        client = create_app(context).test_client()
        client.environ_base.update(
            {"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": str(peer.getsockname()[1])}
        )
        base = f"http://127.0.0.1:{port}"
        posted = {"Origin": base, "Sec-Fetch-Site": "same-origin"}
        client.post(f"{prefix}/launch", base_url=base, data={"token": token.value})
        client.post(
            f"{prefix}/ontgrendelen",
            base_url=base,
            headers=posted,
            data={"wachtwoord": STAFF_PASS.decode(), "csrf": session.csrf},
        )
        page = client.get(f"{prefix}/inburgeraars", base_url=base).get_data(as_text=True)
        rows = STATUS_ROW.findall(page)
        if len(rows) != min(world.records, PAGE_SIZE):
            raise SystemExit(f"profile: the page has {len(rows)} rows: {page[:500]}")

        def show(_index: int) -> None:
            client.get(f"{prefix}/inburgeraars", base_url=base).get_data()

        def save(index: int) -> None:
            record, was = rows[-1 - index]
            wanted = next(s for s in ACTIVITY_STATUSES.values if s != was)
            client.post(
                f"{prefix}/inburgeraars/status",
                base_url=base,
                headers={**posted, "Accept": "application/json"},
                data={f"status:{record}": wanted, "csrf": session.csrf},
            )

        for name, action in (("GET /inburgeraars", show), ("POST /inburgeraars/status", save)):
            profiler = cProfile.Profile()
            start = time.perf_counter()
            profiler.enable()
            for index in range(runs):
                action(index)
            profiler.disable()
            each = (time.perf_counter() - start) / runs
            print(f"\nprofile: {name}, {runs} request(s), {each * 1000:.1f} ms each (profiled)")
            print_profile(profiler, runs, top)
    finally:
        for sock in (peer, accepted, listener):
            sock.close()


def _where(key: tuple[str, int, str]) -> str:
    path, line, name = key
    for marker in ("/site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path}:{line})" if line else name


def print_profile(profiler: Any, runs: int, top: int) -> None:
    """The top functions by cumulative and by own time, per request."""
    import pstats

    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    entries = [(key, value[1], value[2], value[3]) for key, value in stats.items()]
    # Cumulative: our code only (Flask's and the test client's frames wrap everything).
    ours = [e for e in entries if "securexchange" in e[0][0]]
    for title, chosen, index in (("cumulative, ours", ours, 3), ("own", entries, 2)):
        print(f"  by {title} time (ms per request, calls per request):")
        for key, calls, own, cumulative in sorted(chosen, key=lambda e: -e[index])[:top]:
            print(
                f"    {cumulative * 1000 / runs:8.1f} cum {own * 1000 / runs:8.1f} own "
                f"{calls / runs:9.0f}x  {_where(key)}"
            )


# --- the run ----------------------------------------------------------------------------


def report(lines: list[Series]) -> bool:
    print("| measured | median | worst | target | verdict |")
    print("|---|---:|---:|---:|---|")
    for line in lines:
        target = "" if line.target is None else f"<= {line.shown(line.target)}"
        print(
            f"| {line.name} | {line.shown(line.median)} | {line.shown(line.worst)} | "
            f"{target} | {line.verdict()} |"
        )
    return all(not line.verdict().startswith("FAIL") for line in lines)


def ratios(lines: dict[str, Series]) -> None:
    read, render = lines["read"].median, lines["render"].median
    page = lines["page"].median
    print(
        f"\nratios (medians): GET /inburgeraars / (bare read + bare render) "
        f"{page / (read + render):.2f}x; "
        f"status save (HTTP) / bare read {lines['save'].median / read:.2f}x"
    )


def measure(args: argparse.Namespace, tmp: Path, world: World) -> dict[str, Series]:
    """Every line, round by round (the baselines too, so each round shares the load
    of the machine at its moment); round -1 warms up and is not counted."""
    from app_world import running_app

    lines = _lines()
    driver = None if args.no_browser else start_browser(tmp, args.chromium, args.chromedriver)
    try:
        with running_app(world.staff_home) as app:
            client = app.client()
            base = app.base  # the origin and the run's secret path prefix
            if driver is None:
                client.launch()
            else:
                client.cookie = f"sx_app={browser_launch(driver, app.launch_file, base)}"
                client.csrf = client.csrf_of(client.get("/"))
            upload = http_session(client, world)
            after_import = _memory(app.process.pid)
            print(
                f"import through the app: {upload:.2f} s; server RSS after it "
                f"{after_import['VmRSS']:.0f} MiB (peak {after_import['VmHWM']:.0f} MiB)"
            )
            render = bare_render(bare_people(world, bare_read(world)[1]))
            for run in range(-1, args.runs):
                time.sleep(SETTLE_S)  # Chromium ends the work of the last round's page
                found = {"read": bare_read(world)[0], "render": _timed(render)[0]}
                found |= http_round(client, world, run + 1)
                if driver is not None:
                    found |= browser_round(driver, base, world.records, run + 1)
                if run >= 0:
                    for name, series in lines.items():
                        if name in found:
                            series.values.append(found[name])
            print(
                f"people page: {found['size'] / 1024:.0f} KiB of HTML, "
                f"{min(world.records, PAGE_SIZE)} of {world.records} rows"
            )
            if args.edits:
                many_edits(client, world, args, lines)
            memory = _memory(app.process.pid)
            lines["rss"].values = [memory["VmHWM"]]
            print(f"server RSS at the end {memory['VmRSS']:.0f} MiB")
    finally:
        if driver is not None:
            driver.quit()
    return {k: v for k, v in lines.items() if v.values}


def store_edits(world: World, count: int) -> None:
    """``count`` status edits stored with the library beside the running app (as the
    command line or a workbook's absorbed cells add them): a staff member's busy day."""
    from flows import STAFF_PASS
    from securexchange.home.home import HomeKind, open_home
    from securexchange.keys.keystore import KeySource, KeyUse, key_path
    from securexchange.municipality import opening

    with open_home(world.staff_home, env={}, expect=HomeKind.MUNICIPALITY) as home:
        source = KeySource(key_path(home, KeyUse.IDENTITY), lambda: STAFF_PASS)
        identities = opening.unlock(home, source)
        rows = opening.current_rows(home, opening.current(home), identities)
        wanted = {r.record_id: "gestart" for r in rows[-count:] if r.status != "gestart"}
        opening.set_statuses(home, source, wanted)


def many_edits(
    client: Any, world: World, args: argparse.Namespace, lines: dict[str, Series]
) -> None:
    """Pages and saves once ``args.edits`` edits are stored: the first page decrypts each
    new one once (the session remembers them), the rest are what the day feels like."""
    store_edits(world, args.edits)
    first = http_round(client, world, 0)["page"]
    lines["first-many"].values = [first]
    for run in range(args.runs):
        lines["save-many"].values.append(http_round(client, world, run + 1)["save"])


def _lines() -> dict[str, Series]:
    return {
        "page": Series("GET /inburgeraars, server (HTTP, full body)", PAGE_TARGET_S),
        "ttfb": Series("browser: navigation -> first byte"),
        "dcl": Series("browser: navigation -> DOMContentLoaded (rows, listeners)", PAGE_TARGET_S),
        "load": Series("browser: navigation -> load", PAGE_TARGET_S),
        "painted": Series("browser: navigation -> first frame after it (usable)", PAGE_TARGET_S),
        "save": Series("status save, server round trip (HTTP, JSON)", SAVE_TARGET_S),
        "server": Series("browser: the save's request -> response end"),
        "written": Series("browser: change -> answer in the DOM"),
        "shown": Series("browser: change -> answer painted", SAVE_TARGET_S),
        "first-many": Series(
            "GET /inburgeraars, first after the edits below were stored", PAGE_TARGET_S
        ),
        "save-many": Series("status save with the stored edits below (HTTP, JSON)", SAVE_TARGET_S),
        "rss": Series("server peak RSS (VmHWM)", RSS_TARGET_MIB, "MiB"),
        "read": Series("baseline: decrypt + read the vault rows (library)"),
        "render": Series("baseline: bare Flask + Jinja2, people.html, rows in memory"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--small", action="store_true", help="smoke: 500 records, 2 runs")
    parser.add_argument("--no-browser", action="store_true", help="HTTP client only")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument(
        "--edits", type=int, default=500, help="stored edits for the last lines (0: none)"
    )
    parser.add_argument("--profile", action="store_true", help="profile even if all pass")
    parser.add_argument("--profile-runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=25, help="profile lines shown")
    args = parser.parse_args()
    if args.small:
        args.records, args.runs, args.edits = 500, 2, 100
    if not args.no_browser and not Path(args.chromium).exists():
        print(f"no Chromium at {args.chromium}: HTTP client only")
        args.no_browser = True
    if not args.no_browser and importlib.util.find_spec("selenium") is None:
        print("selenium is not installed (the test extra): HTTP client only")
        args.no_browser = True
    print(f"machine: {machine()}")
    print(f"command: python benchmarks/app.py {' '.join(sys.argv[1:])}".rstrip())
    print("load average at the start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    tmp = Path(tempfile.mkdtemp(prefix="sx-bench-app-"))
    try:
        seconds, world = _timed(lambda: build_world(tmp, args.records))
        print(f"setup: {args.records} records for {NIS}, {seconds:.1f} s")
        lines = measure(args, tmp, world)
        print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        print(
            f"\n{args.records} records, {args.runs} runs (warm-up run not counted); "
            f"'stored edits': {args.edits}\n"
        )
        passed = report(list(lines.values()))
        ratios(lines)
        if not passed or args.profile:
            breakdown(world, args.profile_runs)
            profile(world, args.profile_runs, args.top)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if passed or args.small else 1)


if __name__ == "__main__":
    main()
