"""Key fingerprints: one format everywhere (CLI, cards, manifests, workbook, docs).

A fingerprint is SHA-256 over a domain tag and the raw 32-byte Ed25519 public signing
key. People see its first 130 bits as 26 base32 characters in groups of 4
(``ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ``); the program keeps and compares the full digest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from securexchange.errors import UsageError
from securexchange.i18n import _

_DOMAIN = b"securexchange/fingerprint/v1\x00"
DISPLAY_CHARS = 26
_DISPLAY_RE = re.compile(r"^[A-Z2-7]{26}$")


def _group(chars: str) -> str:
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


@dataclass(frozen=True)
class Fingerprint:
    """The full SHA-256 fingerprint of an Ed25519 public signing key."""

    digest: bytes

    def __post_init__(self) -> None:
        if len(self.digest) != 32:
            raise ValueError("a fingerprint digest is 32 bytes")

    @classmethod
    def of_public_key(cls, public_key: bytes) -> Fingerprint:
        if len(public_key) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        return cls(hashlib.sha256(_DOMAIN + public_key).digest())

    @property
    def display(self) -> str:
        """26 base32 characters in groups of 4, as people read and type it."""
        return _group(base64.b32encode(self.digest).decode("ascii")[:DISPLAY_CHARS])

    def __str__(self) -> str:
        return self.display

    def matches(self, typed: str) -> bool:
        """True when ``typed`` (any grouping, any case) is this fingerprint's display."""
        try:
            wanted = normalise_display(typed)
        except UsageError:
            return False
        mine = self.display.replace("-", "")
        return hmac.compare_digest(wanted.encode("ascii"), mine.encode("ascii"))


def normalise_display(typed: str) -> str:
    """The 26 characters of a typed fingerprint, without separators, upper case."""
    chars = re.sub(r"[\s\-]", "", typed).upper()
    if not _DISPLAY_RE.fullmatch(chars):
        raise UsageError(
            _("a fingerprint is 26 characters A-Z and 2-7, in groups of 4"),
            hint=_("copy it from 'securexchange keys show' or the key card"),
        )
    return chars


def parse_display(typed: str) -> str:
    """A typed fingerprint in its canonical grouped form (``ABCD-EFGH-...-YZ``)."""
    return _group(normalise_display(typed))


def is_display(value: str) -> bool:
    """True for a fingerprint in canonical grouped form."""
    return bool(re.fullmatch(r"([A-Z2-7]{4}-){6}[A-Z2-7]{2}", value))
