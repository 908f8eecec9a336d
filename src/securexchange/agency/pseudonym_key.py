"""The agency's pseudonym key: the secret that turns a client id into the record id one
municipality sees (:mod:`securexchange.pseudonym`); made once, kept 0600 in the home."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from securexchange import pseudonym, strictjson
from securexchange.errors import (
    Malformed,
    NotFound,
)
from securexchange.home.atomicio import (
    atomic_write,
)
from securexchange.home.home import Home
from securexchange.keys.keyfile import read_private_file

PSEUDONYM_KEY = "pseudonym.key"


PSEUDONYM_FORMAT = "securexchange-pseudonym-key/1"


def pseudonym_key_path(home: Home) -> Path:
    return home.paths.keys / PSEUDONYM_KEY


def _read_pseudonym_key(path: Path) -> bytes:
    data = read_private_file(path, limit=4096)
    value = strictjson.loads(data, what="the pseudonym key file", max_bytes=4096)
    with strictjson.Fields(value, "the pseudonym key file") as f:
        if f.text("format") != PSEUDONYM_FORMAT:
            raise Malformed("the pseudonym key file has an unknown format")
        text = f.text("key")
    try:
        key = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise Malformed("the pseudonym key file does not hold base64") from None
    if len(key) != pseudonym.KEY_BYTES:
        raise Malformed("the pseudonym key file does not hold a 32-byte key")
    return key


def load_or_create_pseudonym_key(home: Home) -> tuple[bytes, bool]:
    """The agency's pseudonym key, created (0600, never replaced) on first use.

    Returns the key and whether it was created now. It must be backed up with the
    home: without it the same person gets a new record id in every municipality.
    """
    path = pseudonym_key_path(home)
    if path.exists():
        return _read_pseudonym_key(path), False
    key = os.urandom(pseudonym.KEY_BYTES)
    document = strictjson.dumps(
        {"format": PSEUDONYM_FORMAT, "key": base64.b64encode(key).decode("ascii")}
    )
    try:
        atomic_write(path, document, mode=0o600, exclusive=True)
    except FileExistsError:  # pragma: no cover - another writer despite the home lock
        return _read_pseudonym_key(path), False
    return key, True


def pseudonym_key_for_lookup(home: Home) -> bytes:
    """The pseudonym key for a lookup (``agency subject``, ``agency erase``): made here
    only while the agency has exported nothing and erased nobody. A missing key after
    that is a lost backup: a new one would make every kept digest and record id
    unreachable and the answer to a data subject false, so it is refused."""
    path = pseudonym_key_path(home)
    if path.exists():
        return _read_pseudonym_key(path)
    used = home.db.execute(
        "SELECT EXISTS (SELECT 1 FROM agency_packages) OR "
        "EXISTS (SELECT 1 FROM agency_erased_clients)"
    ).fetchone()[0]
    if used:
        raise NotFound(
            "the pseudonym key is missing, though packages were exported with it",
            hint="restore HOME/keys/pseudonym.key from the backup",
        )
    return load_or_create_pseudonym_key(home)[0]
