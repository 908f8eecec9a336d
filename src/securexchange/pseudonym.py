"""Pseudonymous record ids: one per (client, municipality), computable only by the agency.

``record_id = "R-" + base32(HMAC-SHA-256(key, tag || len(party) || party || len(client)
|| client))[:20]`` (100 bits). The key is the agency's pseudonym key (32 random bytes,
kept and backed up by the agency). The municipality's *party id* is used, not its NIS
code: the 2025 mergers changed 28 codes, and a record id must survive that. The same
client therefore has unrelated ids in two municipalities, so municipalities cannot link
their lists. Never the national register number.
"""

from __future__ import annotations

import hashlib
import hmac

from securexchange.ids import record_id_from_digest

_TAG = b"securexchange/record-id/v1\x00"
KEY_BYTES = 32


def _field(value: str) -> bytes:
    raw = value.encode("utf-8")
    return len(raw).to_bytes(4, "big") + raw


def record_id(key: bytes, *, client_id: str, party_id: str) -> str:
    """The pseudonymous id of ``client_id`` at the municipality ``party_id``."""
    if len(key) != KEY_BYTES:
        raise ValueError("the pseudonym key is 32 bytes")
    digest = hmac.new(key, _TAG + _field(party_id) + _field(client_id), hashlib.sha256).digest()
    return record_id_from_digest(digest)


_ERASED_TAG = b"securexchange/erased-client/v1\x00"


def erased_client_digest(key: bytes, client_id: str) -> str:
    """What the agency keeps of a client it erased (``agency erase``): a keyed digest,
    enough to leave the client out of every later export, not the client id itself."""
    if len(key) != KEY_BYTES:
        raise ValueError("the pseudonym key is 32 bytes")
    return hmac.new(key, _ERASED_TAG + _field(client_id), hashlib.sha256).hexdigest()
