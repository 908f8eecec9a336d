"""The gemeente-app in the tests: real homes, the real server in a subprocess, and an
HTTP client that speaks to it as the browser does (or, for the refusal tests, does not).

The world: a (non-demo) agency with two municipalities, a staff member of the first
with a passphrase-protected key (scrypt work factor 2, ``keys_helpers.FAST``), and one
export: a package for each municipality. The app is ``securexchange municipality app
--no-browser``: its first stdout line is the launch file's URL.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cli_helpers import cli_env
from flows import STAFF_PASS, Staff, add_staff, export, make_agency, register
from securexchange.intake import sample

NIS = "11002"
OTHER_NIS = "44021"
PEOPLE = 12


@dataclass(frozen=True)
class AppWorld:
    agency: Path
    staff: Staff
    master: Path
    package: Path  # the staff's municipality's package
    other_package: Path  # another municipality's
    names: tuple[str, ...]  # "Voornaam Naam" of everyone in the staff's package (synthetic)


def make_app_world(tmp: Path, *, people: int = PEOPLE) -> AppWorld:
    agency = tmp / "agency"
    make_agency(agency)
    register(agency, NIS, "Antwerpen")
    register(agency, OTHER_NIS, "Gent")
    staff = add_staff(agency, tmp / "staff", NIS)
    add_staff(agency, tmp / "staff-gent", OTHER_NIS, "Sofie Maes")  # Gent gets a package too
    rows = sample.generate_master(people, nis=[NIS, OTHER_NIS], seed=7)
    master = tmp / "master.xlsx"
    sample.write_master(rows, master)
    result = export(agency, master, tmp / "out")
    by_nis = {p.nis: p.file for p in result.packages if p.file is not None}
    header = list(rows[0])
    first, last, place = (header.index(h) for h in ("Voornaam", "Naam", "NIS-code"))
    names = tuple(f"{r[first]} {r[last]}" for r in rows[1:] if str(r[place]) == NIS)
    return AppWorld(agency, staff, master, by_nis[NIS], by_nis[OTHER_NIS], names)


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class AppClient:
    """Requests to the running app; ``same_origin`` adds what the browser adds to a
    form post of the app's own page."""

    port: int
    launch_file: Path
    prefix: str = ""  # the run's secret path prefix: every path below is under it
    cookie: str = ""
    csrf: str = ""
    log: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        host: str | None = None,
        raw: bool = False,
    ) -> Answer:
        """``path`` under the app's prefix (``raw``: as given, the prefix left out)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        path = path if raw else self.prefix + path
        sent = {"Host": host if host is not None else f"127.0.0.1:{self.port}"}
        if self.cookie:
            sent["Cookie"] = self.cookie
        sent.update(headers or {})
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        answer = Answer(response.status, dict(response.getheaders()), response.read())
        connection.close()
        return answer

    def get(self, path: str, **kwargs: object) -> Answer:
        return self.request("GET", path, **kwargs)  # type: ignore[arg-type]

    def post(
        self,
        path: str,
        fields: Mapping[str, str],
        *,
        same_origin: bool = True,
        csrf: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        data = dict(fields)
        if csrf:
            data["csrf"] = self.csrf
        sent = {"Content-Type": "application/x-www-form-urlencoded"}
        if same_origin:
            sent |= {"Origin": self.origin, "Sec-Fetch-Site": "same-origin"}
        sent |= dict(headers or {})
        return self.request("POST", path, body=urllib.parse.urlencode(data).encode(), headers=sent)

    def upload(self, path: str, files: list[tuple[str, bytes]]) -> Answer:
        boundary = secrets.token_hex(12)
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{self.csrf}\r\n'
        ]
        chunks = [parts[0].encode()]
        for name, data in files:
            chunks.append(
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="bestanden"; '
                    f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                ).encode()
                + data
                + b"\r\n"
            )
        chunks.append(f"--{boundary}--\r\n".encode())
        return self.request(
            "POST",
            path,
            body=b"".join(chunks),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Origin": self.origin,
                "Sec-Fetch-Site": "same-origin",
            },
        )

    def launch(self) -> Answer:
        """What the launch file's form does: post the token, keep the cookie."""
        page = self.launch_file.read_text(encoding="utf-8")
        token = re.search(r'name="token" value="([^"]+)"', page)
        assert token is not None
        answer = self.request(
            "POST",
            "/launch",
            body=urllib.parse.urlencode({"token": token.group(1)}).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": "null",
                "Sec-Fetch-Site": "cross-site",
            },
        )
        if answer.status == 303:
            self.cookie = answer.headers["Set-Cookie"].split(";")[0]
            self.csrf = self.csrf_of(self.get("/"))
        return answer

    @staticmethod
    def csrf_of(answer: Answer) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', answer.text)
        assert found is not None, answer.text[:500]
        return found.group(1)

    def unlock(self, passphrase: bytes = STAFF_PASS) -> Answer:
        return self.post("/ontgrendelen", {"wachtwoord": passphrase.decode()})


@dataclass(frozen=True)
class RunningApp:
    process: subprocess.Popen[str]
    port: int
    launch_file: Path
    prefix: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def client(self) -> AppClient:
        return AppClient(self.port, self.launch_file, self.prefix)


@contextmanager
def signed_in(world: AppWorld) -> Iterator[AppClient]:
    """The running app with a client that spent the launch token (locked still)."""
    with running_app(world.staff.home) as app:
        client = app.client()
        assert client.launch().status == 303
        yield client


@contextmanager
def running_app(
    home: Path,
    *,
    env: Mapping[str, str] | None = None,
    args: tuple[str, ...] = (),
    cwd: Path | None = None,
) -> Iterator[RunningApp]:
    """``municipality app --no-browser`` on ``home``, stopped with Ctrl-C (SIGINT)."""
    argv = [sys.executable, "-m", "securexchange", "--home", str(home)]
    argv += ["municipality", "app", "--no-browser", *args]
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env({"SECUREXCHANGE_LANG": "nl", **(env or {})}),
        cwd=cwd,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        if not first.startswith("file://"):
            process.kill()
            raise AssertionError(f"the app did not start: {first} {process.communicate()[1]}")
        launch = Path(urllib.parse.unquote(urllib.parse.urlparse(first).path))
        action = re.search(
            r'action="http://127\.0\.0\.1:(\d+)(/[^"/]+)/launch"', launch.read_text()
        )
        assert action is not None
        yield RunningApp(process, int(action.group(1)), launch, action.group(2))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


__all__ = ["STAFF_PASS", "os"]
