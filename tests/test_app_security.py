"""The gemeente-app refuses every request that is not its user's, from its own page.

Each test sends the request that must be refused to the real server (a subprocess of
``securexchange municipality app``) and checks the refusal, and that the same request
made properly is accepted: a guard that refused everything would fail the second half.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app_world import AppClient, AppWorld, make_app_world, running_app, signed_in
from securexchange.app.guard import CSP

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> AppWorld:
    return make_app_world(tmp_path_factory.mktemp("app-security"))


@pytest.fixture()
def client(world: AppWorld) -> Iterator[AppClient]:
    with signed_in(world) as ready:
        yield ready


def test_the_launch_file_is_the_users_alone_and_holds_the_only_way_in(world: AppWorld) -> None:
    with running_app(world.staff.home) as app:
        mode = stat.S_IMODE(app.launch_file.stat().st_mode)
        assert mode == 0o600
        assert stat.S_IMODE(app.launch_file.parent.stat().st_mode) == 0o700
        assert app.launch_file.read_text().count('name="token"') == 1
        anonymous = app.client()
        assert anonymous.get("/").status == 403  # no cookie: nothing
        answer = anonymous.launch()
        assert answer.status == 303 and answer.headers["Location"] == anonymous.prefix + "/welkom"
        cookie = answer.headers["Set-Cookie"]
        assert (
            "HttpOnly" in cookie
            and "SameSite=Strict" in cookie
            and f"Path={anonymous.prefix}" in cookie
        )
        assert anonymous.get("/").status == 200


def test_a_launch_token_works_once(world: AppWorld) -> None:
    with running_app(world.staff.home) as app:
        first, second = app.client(), app.client()
        assert first.launch().status == 303
        assert second.launch().status == 403
        assert second.get("/").status == 403


def test_a_wrong_or_missing_session_cookie_is_refused(client: AppClient) -> None:
    right = client.cookie
    client.cookie = right[:-4] + "AAAA"
    assert client.get("/").status == 403
    client.cookie = ""
    assert client.get("/inburgeraars").status == 403
    client.cookie = right
    assert client.get("/").status == 200


def test_a_foreign_host_header_is_refused_against_dns_rebinding(client: AppClient) -> None:
    for host in ("evil.example", f"evil.example:{client.port}", f"localhost:{client.port}", ""):
        assert client.get("/", host=host).status == 421, host
    assert client.get("/").status == 200


def test_a_state_change_without_the_csrf_token_is_refused(client: AppClient) -> None:
    answer = client.post("/taal", {"taal": "en"}, csrf=False)
    assert answer.status == 403
    wrong = client.csrf
    client.csrf = "x" * len(wrong)
    assert client.post("/taal", {"taal": "en"}).status == 403
    client.csrf = wrong
    assert client.post("/taal", {"taal": "nl"}).status == 303


def test_a_state_change_from_another_origin_is_refused(client: AppClient) -> None:
    cross = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert client.post("/taal", {"taal": "en"}, same_origin=False, headers=cross).status == 403
    no_origin = {"Sec-Fetch-Site": "same-origin"}
    assert client.post("/taal", {"taal": "en"}, same_origin=False, headers=no_origin).status == 403
    same_site = {"Origin": client.origin, "Sec-Fetch-Site": "same-site"}
    assert client.post("/taal", {"taal": "en"}, same_origin=False, headers=same_site).status == 403
    no_fetch_site = {"Origin": client.origin}
    assert (
        client.post("/taal", {"taal": "en"}, same_origin=False, headers=no_fetch_site).status == 403
    )
    assert client.post("/taal", {"taal": "nl"}).status == 303


def test_no_cors_a_preflight_and_other_methods_are_refused(client: AppClient) -> None:
    for method in ("OPTIONS", "PUT", "DELETE", "PATCH"):
        answer = client.request(
            method,
            "/inburgeraars/status",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert answer.status == 405, method
        assert not any(h.lower().startswith("access-control-") for h in answer.headers)


def test_every_answer_is_no_store_under_a_strict_csp(client: AppClient) -> None:
    for path in ("/", "/importeren", "/ontgrendelen", "/static/app.js", "/welkom", "/nergens"):
        answer = client.get(path)
        assert answer.headers["Cache-Control"] == "no-store", path
        assert answer.headers["Content-Security-Policy"] == CSP, path
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP
    assert "unsafe" not in CSP and "http" not in CSP
    refused = client.get("/", host="evil.example")
    assert refused.headers.get("Cache-Control") is None or refused.status == 421


def test_no_inline_script_or_style_in_any_page(client: AppClient) -> None:
    client.unlock()
    for path in ("/", "/importeren", "/ontgrendelen", "/terugmelding", "/excel", "/welkom"):
        page = client.get(path).text.lower()
        assert "<script>" not in page and "<style" not in page, path
        assert " style=" not in page and " onclick=" not in page and "javascript:" not in page


def test_a_connection_of_another_operating_system_user_is_refused(client: AppClient) -> None:
    system_python = Path("/usr/bin/python3")  # one another user may run (not our venv)
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not system_python.exists():
        pytest.skip("needs root on Linux (and /usr/bin/python3) to connect as another user")
    probe = (
        "import http.client,sys\n"
        "c=http.client.HTTPConnection('127.0.0.1',int(sys.argv[1]))\n"
        "c.request('GET',sys.argv[3]+'/',headers={'Cookie':sys.argv[2]})\n"
        "print(c.getresponse().status)\n"
    )
    as_nobody = subprocess.run(
        [str(system_python), "-c", probe, str(client.port), client.cookie, client.prefix],
        capture_output=True,
        text=True,
        user="nobody",
        cwd="/",
        check=True,
        timeout=30,
    )
    assert as_nobody.stdout.strip() == "403"
    as_us = subprocess.run(
        [str(system_python), "-c", probe, str(client.port), client.cookie, client.prefix],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert as_us.stdout.strip() == "200"


def test_a_taken_port_stops_the_start_before_any_launch_file(world: AppWorld) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "securexchange",
                "--home",
                str(world.staff.home),
                "--lang",
                "en",
                "municipality",
                "app",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        taken.close()
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and result.stdout == ""
    assert not list((world.staff.home / "app").glob("launch-*.html"))


def test_ctrl_c_stops_the_app_and_removes_its_launch_file(world: AppWorld) -> None:
    with running_app(world.staff.home) as app:
        launch = app.launch_file
        assert launch.exists()
    assert app.process.returncode == 0
    assert not launch.exists()


def test_the_command_line_works_beside_the_running_app(world: AppWorld) -> None:
    with running_app(world.staff.home) as app:
        client = app.client()
        client.launch()
        assert client.get("/").status == 200
        status = subprocess.run(
            [
                sys.executable,
                "-m",
                "securexchange",
                "--home",
                str(world.staff.home),
                "municipality",
                "status",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert status.returncode == 0, status.stderr
        assert client.get("/").status == 200


def test_nothing_personal_reaches_a_url_or_the_homes_log(world: AppWorld, tmp_path: Path) -> None:
    from app_world import make_app_world as fresh

    own = fresh(tmp_path)
    with running_app(own.staff.home) as app:
        client = app.client()
        client.launch()
        client.unlock()
        client.upload("/importeren", [(own.package.name, own.package.read_bytes())])
        people = client.get("/inburgeraars").text
        client.post("/inburgeraars", {"zoek": "Zoekterm Canary"})
    # Surnames, as the table shows them (the export may leave out an expired row).
    names = [n.split(" ", 1)[1] for n in own.names if n.split(" ", 1)[1] in people]
    assert len(names) >= 3
    hrefs = [part.split('"')[0] for part in people.split('href="')[1:]]
    actions = [part.split('"')[0] for part in people.split('action="')[1:]]
    for url in hrefs + actions:
        assert not any(n in url for n in names) and "R-" not in url, url
    logged = (own.staff.home / "log.jsonl").read_text()
    assert '"view"' in logged  # the read of the vault is logged: counts, no names
    assert not any(n in logged for n in names) and "Canary" not in logged
    assert not any(n in app.process.stderr.read() for n in names)  # type: ignore[union-attr]


def test_the_session_cookie_is_scoped_to_the_runs_secret_path(client: AppClient) -> None:
    # A server on another port of 127.0.0.1 gets the cookies of the host, not of the
    # port: the cookie's Path is the run's secret prefix, which it never sees, and
    # nothing of the app answers outside that prefix.
    assert len(client.prefix) > 16
    for path in ("/", "/welkom", "/launch", "/static/app.js", client.prefix[:-1] + "/"):
        assert client.get(path, raw=True).status == 404, path
    page = client.get("/").text
    assert f'href="{client.prefix}/importeren"' in page
    assert f'src="{client.prefix}/static/app.js"' in page
