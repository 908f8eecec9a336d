"""A tiny web server on 127.0.0.1 that stands in for the municipality app in the tests of
the browser harness (tests/test_browser_harness.py): fixed pages under the strict
headers the app sends, and a record of every request as it arrived (cookies, Origin,
Sec-Fetch-Site), so a test sees what the browser really sent.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
NO_STORE = ("Cache-Control", "no-store")
STRICT_HEADERS = (
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Security-Policy", STRICT_CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)


@dataclass(frozen=True)
class Response:
    body: bytes = b""
    status: int = 200
    headers: tuple[tuple[str, str], ...] = (*STRICT_HEADERS, NO_STORE)


def page(title: str, body: str, *, head: str = "", cache: str = "no-store") -> Response:
    """An HTML page under the strict policy; ``cache`` is its Cache-Control."""
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title>{head}</head><body>{body}</body></html>"
    )
    return Response(html.encode(), headers=(*STRICT_HEADERS, ("Cache-Control", cache)))


def gzipped_page(title: str, body: str, *, cache: str) -> Response:
    """The same page sent with Content-Encoding: gzip."""
    plain = page(title, body, cache=cache)
    encoded = gzip.compress(plain.body, mtime=0)
    return Response(encoded, headers=(*plain.headers, ("Content-Encoding", "gzip")))


def script(source: str) -> Response:
    return Response(
        source.encode(),
        headers=(("Content-Type", "text/javascript; charset=utf-8"), NO_STORE),
    )


def redirect(location: str, *headers: tuple[str, str]) -> Response:
    """303 See Other, as the app answers a POST."""
    return Response(status=303, headers=(("Location", location), NO_STORE, *headers))


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def cookies(self) -> dict[str, str]:
        pairs = (part.strip().partition("=") for part in (self.header("Cookie") or "").split(";"))
        return {name: value for name, _, value in pairs if name}


@dataclass
class StandIn:
    """The running server: its pages, its base URL and the requests it has answered."""

    pages: Mapping[str, Response]
    base: str = ""
    requests: list[Request] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def requests_for(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        path = urlsplit(self.path).path
        stand_in = self.server.stand_in
        stand_in.requests.append(
            Request(self.command, path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        response = stand_in.pages.get(path)
        if response is None:
            # No favicon of its own: 204 keeps the console clean, as the app's must.
            response = Response(status=204) if path == "/favicon.ico" else Response(status=404)
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads ``requests`` instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stand_in: StandIn


@contextmanager
def serve(pages: Mapping[str, Response]) -> Iterator[StandIn]:
    """``pages`` served on 127.0.0.1 at a free port for the block's duration."""
    server = _Server(("127.0.0.1", 0), _Handler)
    stand_in = StandIn(pages, base=f"http://127.0.0.1:{server.server_address[1]}")
    server.stand_in = stand_in
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
