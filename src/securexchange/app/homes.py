"""The home for one request: locked, shredded first, with the session's key.

The app never holds the home's lock between requests, so a scheduled
``municipality shred`` and the command line work beside it. Like every municipal
command, each request runs the shredding pass before its own work; its warnings are
shown on the page. A pass that destroys a subkey also drops the session's key: what it
unlocked must not outlive the key file (the page then asks for the passphrase again).
That holds for the passes a workflow runs itself too (an import of a termination notice
destroys every subkey in its own pass): a subkey held when the request began and gone
when it ends drops the key as well.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from securexchange.age.scrypt import remembering
from securexchange.app.session import Session
from securexchange.home.home import Home, HomeKind, open_home
from securexchange.keys.keystore import KeySource, KeyUse, key_path
from securexchange.municipality import bounds, staff_edits, subkeys
from securexchange.municipality.retention import ShredReport, shred
from securexchange.municipality.shred_notes import shred_warnings

# The signed copies each pass verifies, for the life of the app's process: the same
# bytes verify the same way (bounds.Verified), and a pass runs before every request.
_VERIFIED = bounds.Verified()


@dataclass
class Visit:
    """One request's home and what it must tell on the page."""

    home: Home
    session: Session
    warnings: list[str] = field(default_factory=list)

    def key(self) -> KeySource:
        """The session's key; the caller checked the session is unlocked."""
        return KeySource(key_path(self.home, KeyUse.IDENTITY), self.session.passphrase)


def note_shredding(session: Session, report: ShredReport) -> list[str]:
    if report.destroyed_subkeys:
        session.forget_key()
    return shred_warnings(report)


@contextmanager
def visit(root: Path, session: Session, *, read_only: bool = False) -> Iterator[Visit]:
    """Open the home at ``root`` for one request (raises the SxError of ``open_home``:
    Locked while a command holds it)."""
    with ExitStack() as stack:
        home = stack.enter_context(
            open_home(root, env=os.environ, expect=HomeKind.MUNICIPALITY, read_only=read_only)
        )
        stack.enter_context(bounds.remembering(_VERIFIED))
        derived, opened = session.derived(), session.opened_edits()
        if derived is not None:
            stack.enter_context(remembering(derived))
        if opened is not None:
            stack.enter_context(staff_edits.remembering(opened))
        found = Visit(home, session)
        if not home.holds_still:
            found.warnings.extend(note_shredding(session, shred(home)))
        held = _held_subkeys(home)
        if not session.held_subkeys <= held:
            session.forget_key()  # destroyed since the last request, by another command
        try:
            yield found
        finally:
            _forget_key_if_destroyed(home, session, held)


def _forget_key_if_destroyed(home: Home, session: Session, held: frozenset[str]) -> None:
    try:
        still = _held_subkeys(home)
    except sqlite3.Error:
        still = frozenset()  # cannot tell: fail closed
    if not held <= still:
        session.forget_key()
    session.held_subkeys = still if session.unlocked else frozenset()


def _held_subkeys(home: Home) -> frozenset[str]:
    return frozenset(s.recipient for s in subkeys.listed(home) if s.held)
