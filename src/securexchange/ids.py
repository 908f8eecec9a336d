"""Identifiers: artifact ids (safe to log) and record ids (personal data, never logged).

The two have disjoint shapes so that the log can refuse a record id by its form:
artifact ids are ``<kind>-`` plus 26 lower-case base32 characters; record ids are ``R-``
plus 20 upper-case base32 characters (100 bits).
"""

from __future__ import annotations

import base64
import re
import secrets
from enum import StrEnum

# A Belgian NIS municipality code (statistical code): five digits, not starting with 0.
# The shape only; municipalities.py knows which codes exist after the 2025 mergers.
NIS_PATTERN = re.compile(r"[1-9][0-9]{4}")


def is_nis_code(value: object) -> bool:
    """Whether ``value`` has the shape of a NIS municipality code."""
    return isinstance(value, str) and NIS_PATTERN.fullmatch(value) is not None


class ArtifactKind(StrEnum):
    PACKAGE = "pkg"
    RETURN = "ret"
    KEYRING = "kr"
    NOTICE = "ntc"
    WORKBOOK = "wb"
    CHECKPOINT = "ckp"
    QUALITY = "qr"
    INCIDENT = "inc"
    PROTOCOL_NOTICE = "pn"
    EVIDENCE = "ev"


ARTIFACT_ID_RE = re.compile(r"^(pkg|ret|kr|ntc|wb|ckp|qr|inc|pn|ev)-[a-z2-7]{26}$")
RECORD_ID_RE = re.compile(r"^R-[A-Z2-7]{20}$")


def new_artifact_id(kind: ArtifactKind) -> str:
    """A fresh random artifact id of the given kind (130 random bits)."""
    chars = base64.b32encode(secrets.token_bytes(20)).decode("ascii")[:26].lower()
    return f"{kind.value}-{chars}"


def is_artifact_id(value: str) -> bool:
    return bool(ARTIFACT_ID_RE.fullmatch(value))


def is_record_id(value: str) -> bool:
    return bool(RECORD_ID_RE.fullmatch(value))


def record_id_from_digest(digest: bytes) -> str:
    """A record id from (at least 13 bytes of) a keyed digest: 100 bits, base32."""
    if len(digest) < 13:
        raise ValueError("a record id needs at least 100 bits")
    return "R-" + base64.b32encode(digest[:15]).decode("ascii")[:20]
