"""What every page shares: the home, the port, the session, the launch token, the
language switch and the one-at-a-time lock; and what every page template is given."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from securexchange.app.homes import Visit, visit
from securexchange.app.launch import LaunchToken
from securexchange.app.session import Session

if TYPE_CHECKING:
    from werkzeug.wrappers import Response as BaseResponse


@dataclass(frozen=True)
class AppContext:
    """What the pages share: the home, the port, the session and the launch token."""

    home: Path
    port: int
    prefix: str  # the run's secret path prefix, "/" + 22 random characters
    session: Session
    token: LaunchToken
    translations: Callable[[str], None]
    # One request or shredding pass at a time in this process: the home's file lock
    # keeps other processes out, this keeps the app's own threads in line.
    busy: threading.Lock

    @contextmanager
    def visit(self, *, read_only: bool = False) -> Iterator[Visit]:
        with self.busy, visit(self.home, self.session, read_only=read_only) as found:
            yield found


def back_to(path: str) -> str:
    """Only our own pages (no open redirect)."""
    return path if path in PAGE_PATHS else "/"


PAGE_PATHS = frozenset(
    {"/", "/importeren", "/inburgeraars", "/terugmelding", "/excel", "/ontgrendelen"}
)


def page_context(context: AppContext, current: str, found: Visit | None) -> dict[str, Any]:
    session = context.session
    flashed, session.flash = session.flash, []
    return {
        "csrf": session.csrf,
        "language": session.language,
        "current": current,
        "unlocked": session.unlocked,
        "warnings": found.warnings if found is not None else [],
        "flashed": flashed,
        "demo": found.home.demo if found is not None else False,
        "base": mount_point(),
    }


def mount_point() -> str:
    """The run's secret path prefix (``/<random>``) that every URL of the app starts with."""
    from flask import request

    return request.script_root


def go(path: str) -> BaseResponse:
    """A 303 to one of our pages (``path`` without the prefix)."""
    from flask import redirect

    return redirect(mount_point() + path, 303)
