"""What every request must prove before a page runs, and what every answer carries.

In order, each refusal a plain 4xx page with no data:
1. the connection comes from 127.0.0.1, from this operating-system user where the
   platform can tell (:mod:`.peer`);
2. the Host header is exactly ``127.0.0.1:PORT`` (a DNS-rebinding page sends its own
   name);
3. only GET, HEAD and POST; no CORS: a preflight is refused like any other method;
4. the session cookie (except ``/launch``, which proves itself with the launch token,
   and ``/welkom``, the empty page that follows it);
5. a browser's request comes from the app's own pages or from the user (a typed
   address, a bookmark): ``Sec-Fetch-Site`` is ``same-origin`` or ``none`` when sent.
   A page on another port of 127.0.0.1 is *same-site* (ports do not separate sites),
   so its image or fetch carries the ``SameSite=Strict`` cookie: without this its GETs
   would keep the key from its idle limit and make the app decrypt and log views;
6. for a POST: the CSRF token of the session, an ``Origin`` that is this server and
   ``Sec-Fetch-Site: same-origin``.

Every answer is ``Cache-Control: no-store`` under a strict Content-Security-Policy
(nothing inline, no eval, nothing from elsewhere, no framing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from securexchange.app import peer
from securexchange.app.session import COOKIE, Session

if TYPE_CHECKING:
    from flask import Request, Response

LOOPBACK = "127.0.0.1"
OPEN_PATHS = frozenset({"/launch", "/welkom"})
CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make Chromium send Origin: null
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str  # for the plain page; never a value from the request

    def text(self) -> str:
        """Dutch first, as every page (before any session, its language is unknown)."""
        return f"Geweigerd: {_DUTCH.get(self.reason, self.reason)}.\nRefused: {self.reason}.\n"


_DUTCH = {
    "not from this computer": "niet van deze computer",
    "another user of this computer": "een andere gebruiker van deze computer",
    "wrong host name": "verkeerde hostnaam",
    "method not allowed": "methode niet toegestaan",
    "no session: start the app again": "geen sessie: start de app opnieuw",
    "not from this app (Origin)": "niet van deze app (Origin)",
    "not from this app (Sec-Fetch-Site)": "niet van deze app (Sec-Fetch-Site)",
    "missing or wrong form token": "formuliertoken ontbreekt of is fout",
    "this launch link was used or has expired: start the app again": (
        "deze startkoppeling werd al gebruikt of is verlopen: start de app opnieuw"
    ),
}
LAUNCH_SPENT = Refusal(403, "this launch link was used or has expired: start the app again")


def check(request: Request, session: Session, port: int) -> Refusal | None:
    """None when ``request`` may go on; else why not."""
    if request.remote_addr != LOOPBACK:
        return Refusal(403, "not from this computer")
    client_port = str(request.environ.get("REMOTE_PORT") or "")
    if not client_port.isdigit() or not peer.same_user(int(client_port), port):
        return Refusal(403, "another user of this computer")
    if request.headers.get("Host") != f"{LOOPBACK}:{port}":
        return Refusal(421, "wrong host name")
    if request.method not in {"GET", "HEAD", "POST"}:
        return Refusal(405, "method not allowed")
    if request.path in OPEN_PATHS:
        return None
    if not session.admits(request.cookies.get(COOKIE)):
        return Refusal(403, "no session: start the app again")
    if request.headers.get("Sec-Fetch-Site", "none") not in {"same-origin", "none"}:
        return Refusal(403, "not from this app (Sec-Fetch-Site)")
    if request.method == "POST":
        return _state_change(request, session, port)
    return None


def _state_change(request: Request, session: Session, port: int) -> Refusal | None:
    if request.headers.get("Origin") != f"http://{LOOPBACK}:{port}":
        return Refusal(403, "not from this app (Origin)")
    if request.headers.get("Sec-Fetch-Site") != "same-origin":
        return Refusal(403, "not from this app (Sec-Fetch-Site)")
    offered = request.form.get("csrf") or request.headers.get("X-CSRF-Token")
    if not session.csrf_ok(offered):
        return Refusal(403, "missing or wrong form token")
    return None


def secure(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers[name] = value
    response.headers.pop("Access-Control-Allow-Origin", None)
    return response
