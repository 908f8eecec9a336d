"""The one session of an app run: its cookie, its CSRF token, its language and its key.

The app serves the person who started it, so there is one session, made when the
launch token is spent. The key is held as the passphrase and the keys scrypt derived
from it (:class:`securexchange.age.scrypt.DerivedKeys`), with the staff edits already
decrypted (:class:`securexchange.municipality.staff_edits.OpenedEdits`), only while the
session is unlocked: it is dropped after :data:`IDLE_LIMIT` seconds without a request, when a
key of the home is destroyed, when the user locks the app and when the server stops.
"""

from __future__ import annotations

import gc
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from securexchange.age.scrypt import DerivedKeys
from securexchange.app.people_view import PeopleQuery
from securexchange.municipality.staff_edits import OpenedEdits

if TYPE_CHECKING:
    from securexchange.app.flash import Flash

IDLE_LIMIT = 15 * 60.0  # seconds
COOKIE = "sx_app"


@dataclass
class _Key:
    passphrase: bytes = field(repr=False)
    derived: DerivedKeys = field(repr=False)
    opened: OpenedEdits = field(default_factory=OpenedEdits, repr=False)


class Session:
    """Mutable by design: it holds the secrets of a running app, and forgets them."""

    def __init__(self, language: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.cookie = ""  # set when the launch token is spent
        self.csrf = secrets.token_urlsafe(32)
        self.language = language
        self.flash: list[Flash] = []  # shown once, on the next page
        self.next_page = "/"  # where unlocking leads: the page that asked for the key
        # The people page's search, filter, order and page, so that a save comes back
        # to the same rows; in memory only, and forgotten with the key.
        self.people_query = PeopleQuery()
        # The subkeys held when the last request ended: one gone by the next request
        # (a `municipality shred` beside the app destroyed it) drops the key.
        self.held_subkeys: frozenset[str] = frozenset()
        self._key: _Key | None = None
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    # --- the cookie ---------------------------------------------------------------

    def begin(self) -> str:
        """A new cookie value (the launch token was spent)."""
        with self._lock:
            self.cookie = secrets.token_urlsafe(32)
            return self.cookie

    def admits(self, cookie: str | None) -> bool:
        if not self.cookie or cookie is None:
            return False
        return hmac.compare_digest(cookie.encode(), self.cookie.encode())

    def csrf_ok(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode(), self.csrf.encode())

    # --- the key ------------------------------------------------------------------

    def unlock(self, passphrase: bytes, derived: DerivedKeys) -> None:
        self.forget_key()  # what an earlier unlock derived and decrypted goes first
        with self._lock:
            self._key = _Key(passphrase, derived)
            self._last = self._clock()

    def forget_key(self) -> None:
        with self._lock:
            if self._key is not None:
                self._key.derived.forget()
                self._key.opened.forget()
            self._key = None
            self.people_query = PeopleQuery()
            self.held_subkeys = frozenset()
        # What the key opened and only a reference cycle still holds goes now, not at
        # the collector's next turn.
        gc.collect()

    def expire_idle(self) -> bool:
        """Drop the key after the idle limit; True when it was dropped now."""
        with self._lock:
            idle = self._clock() - self._last > IDLE_LIMIT
        if idle and self.unlocked:
            self.forget_key()
            return True
        return False

    def touch(self) -> None:
        with self._lock:
            self._last = self._clock()

    @property
    def unlocked(self) -> bool:
        return self._key is not None

    def passphrase(self) -> bytes:
        key = self._key
        if key is None:
            raise LookupError("the session is locked")
        return key.passphrase

    def derived(self) -> DerivedKeys | None:
        key = self._key
        return None if key is None else key.derived

    def opened_edits(self) -> OpenedEdits | None:
        """The staff edits this session decrypted (:class:`OpenedEdits`), while unlocked."""
        key = self._key
        return None if key is None else key.opened
