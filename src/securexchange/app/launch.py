"""The way into the app: a single-use token, posted by a launch file only the user reads.

The server makes one token when it starts. The browser is opened on a local HTML file
(mode 0600, in a private folder of the home) whose form posts the token to
``/launch``; the token is then spent and the answer sets the session cookie. So the
browser's command line and history hold a file name, never a secret, and another user
of the machine (a terminal server) cannot read the file to get in. A token not spent
within :data:`LAUNCH_VALID` seconds is worthless: start the app again.
"""

from __future__ import annotations

import hmac
import html
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from securexchange.home.atomicio import atomic_write, make_private_dir

LAUNCH_VALID = 120.0  # seconds
LAUNCH_FOLDER = "app"


class LaunchToken:
    """The token of one server run: valid once, for two minutes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.value = secrets.token_urlsafe(32)
        self._clock = clock
        self._made = self._clock()
        self._spent = False
        self._lock = threading.Lock()

    def spend(self, offered: str) -> bool:
        """True once, for the right token within its two minutes; False ever after."""
        with self._lock:
            fresh = self._clock() - self._made <= LAUNCH_VALID
            right = hmac.compare_digest(offered.encode(), self.value.encode())
            if self._spent or not fresh or not right:
                return False
            self._spent = True
            return True


def _page(action: str, token: str) -> bytes:
    # A file:// page: no server's CSP applies to it, so its one line of script may be
    # inline. Without script, the button does the same.
    return f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>securexchange</title></head>
<body>
<form id="launch" method="post" action="{html.escape(action)}">
<input type="hidden" name="token" value="{html.escape(token)}">
<button type="submit">Gemeente-app openen / Open the app</button>
</form>
<script>document.getElementById("launch").submit();</script>
</body></html>
""".encode()


def write_launch_file(home_root: Path, base_url: str, token: LaunchToken) -> Path:
    """The launch file in ``HOME/app/`` (0700 folder, 0600 file); its path to open."""
    folder = home_root / LAUNCH_FOLDER
    make_private_dir(folder)
    path = folder / f"launch-{secrets.token_hex(8)}.html"
    atomic_write(path, _page(f"{base_url}/launch", token.value), mode=0o600, exclusive=True)
    return path


def remove_launch_files(home_root: Path) -> None:
    """Every launch file left in the home (spent, expired, or of an earlier run)."""
    folder = home_root / LAUNCH_FOLDER
    if not folder.is_dir() or folder.is_symlink():
        return
    for leftover in folder.glob("launch-*.html"):
        leftover.unlink(missing_ok=True)
