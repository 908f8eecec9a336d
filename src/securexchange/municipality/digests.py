"""Keyed digests of a workbook's editable cells, so ``status`` counts typed changes
without a passphrase.

The editable cells as written are sealed to the staff subkey (``vault_workbooks.expected``);
``status`` runs without the passphrase and cannot open them. So registration (and every
absorb, which moves the written state on) also keeps, per row, two digests::

    K        32 random bytes per workbook      vault_workbook_digest_keys.key
    locator  HMAC-SHA256(K, "sx-wb-row\\0" || record id)[:16]
    salt     16 random bytes per row
    status   HMAC-SHA256(K, "sx-wb-status\\0" || salt || record id || "\\0" || status)
    quality  for each reportable field F, in schema.QUALITY_FIELDS order, 8 bytes:
             HMAC-SHA256(K, "sx-wb-field\\0" || salt || record id || "\\0" || label)[:8]
             with label F's report ("Telefoon: verouderd") or "" when F has none

A row may carry one report per field (layout 3), and ``status`` counts one change per
report typed, as absorbing makes one edit per report; so each field has its own tag.
Eight bytes are enough: a false match only miscounts a number ``status`` shows, and
whoever reads the home can compute every tag anyway (below). Digests kept before layout
3 are one 32-byte HMAC ("sx-wb-quality") of the row's single label; they are still
compared that way until the next absorb keeps new ones.

Everything needed to compute them is in the state database, because ``status`` must; so
they are no secret from whoever reads the home. The value space of the editable cells
is tiny (a status word, a quality label), so such a reader can test every candidate for
a row whose record id they know. They learn the cells as written, which the workbook
file in the same home showed to them in clear anyway; without the file they have no
record id and the random key and salts leave nothing to precompute or correlate
(docs/threat-model.md, "Hardening: status").

The digests go with the workbook's registration (ON DELETE CASCADE).

``open`` also keeps the SHA-256 of the file it wrote (``written_sha256``): a file that
is still byte for byte what was written holds no typed change, so ``status`` need not
parse 5,000 rows to say so. Absorbing moves the written state on and clears it (the
file then differs from what the digests describe only by what was absorbed), and the
cells are read as before.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path

from securexchange.home import safefs
from securexchange.home.home import Home
from securexchange.schema import QUALITY_FIELDS
from securexchange.sheets.layout import label_field, label_parts

KEY_SIZE = 32
SALT_SIZE = 16
LOCATOR_SIZE = 16
FIELD_TAG_SIZE = 8
_LEGACY_QUALITY_SIZE = 32


class _Keyed:
    """HMAC-SHA256 under one workbook's K, keyed once: each digest copies the keyed
    state (65,000 digests for 5,000 rows; keying each anew cost twice the time)."""

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def mac(self, label: bytes, *parts: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(label + b"\0" + b"".join(parts))
        return mac.digest()


def _locator(key: _Keyed, record_id: str) -> bytes:
    return key.mac(b"sx-wb-row", record_id.encode())[:LOCATOR_SIZE]


def _cell(key: _Keyed, which: bytes, salt: bytes, record_id: str, value: str) -> bytes:
    return key.mac(which, salt, record_id.encode(), b"\0", value.encode())


def _by_field(label: str) -> dict[str, str]:
    """A row's joined quality label split into each field's own label."""
    return {label_field(part): part for part in label_parts(label)}


def _field_tag(key: _Keyed, salt: bytes, record_id: str, label: str) -> bytes:
    return _cell(key, b"sx-wb-field", salt, record_id, label)[:FIELD_TAG_SIZE]


def _quality_tags(key: _Keyed, salt: bytes, record_id: str, label: str) -> bytes:
    if not label:  # no report (most rows): every field's label is ""
        return _field_tag(key, salt, record_id, "") * len(QUALITY_FIELDS)
    by_field = _by_field(label)
    labels = [by_field.get(field, "") for field in QUALITY_FIELDS]
    # A field without a report has the label "", whatever the field: its tag is the
    # same for each of them, so each distinct label is digested once (11 became 1-2).
    tags = {each: _field_tag(key, salt, record_id, each) for each in set(labels)}
    return b"".join(tags[each] for each in labels)


def keep(home: Home, workbook_id: str, cells: Mapping[str, tuple[str, str]]) -> None:
    """Keep the digests of ``cells`` (record id -> (status, quality label)) as the
    workbook's written state, replacing earlier ones (inside the caller's transaction)."""
    raw_key = os.urandom(KEY_SIZE)
    key = _Keyed(raw_key)
    db = home.db
    db.execute("DELETE FROM vault_workbook_digests WHERE workbook_id = ?", (workbook_id,))
    db.execute(
        "INSERT OR REPLACE INTO vault_workbook_digest_keys "
        "(workbook_id, key, harvested_changes, written_sha256) VALUES (?, ?, NULL, NULL)",
        (workbook_id, raw_key),
    )
    rows = []
    # Every row's salt from one read of the system's CSPRNG (one call, not 5,000).
    salts = os.urandom(SALT_SIZE * len(cells))
    for index, (record_id, (status, quality)) in enumerate(cells.items()):
        salt = salts[index * SALT_SIZE : (index + 1) * SALT_SIZE]
        rows.append(
            (
                workbook_id,
                _locator(key, record_id),
                salt,
                _cell(key, b"sx-wb-status", salt, record_id, status),
                _quality_tags(key, salt, record_id, quality),
            )
        )
    db.executemany(
        "INSERT INTO vault_workbook_digests (workbook_id, locator, salt, status, quality) "
        "VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def keep_written_file(home: Home, workbook_id: str, data: bytes) -> None:
    """Keep the SHA-256 of the workbook file as written (after :func:`keep`, inside the
    caller's transaction)."""
    home.db.execute(
        "UPDATE vault_workbook_digest_keys SET written_sha256 = ? WHERE workbook_id = ?",
        (hashlib.sha256(data).digest(), workbook_id),
    )


def file_as_written(home: Home, workbook_id: str, path: Path, limit: int) -> bool:
    """True when the workbook's file is exactly the bytes ``open`` wrote (never read
    through a link); False when it differs, is gone, or no digest was kept."""
    row = home.db.execute(
        "SELECT written_sha256 FROM vault_workbook_digest_keys WHERE workbook_id = ?",
        (workbook_id,),
    ).fetchone()
    if row is None or row[0] is None:
        return False
    data = safefs.read_regular(path, limit=limit)
    if data is None or len(data) > limit:
        return False
    return hmac.compare_digest(hashlib.sha256(data).digest(), bytes(row[0]))


def count_changes(home: Home, workbook_id: str, cells: Mapping[str, tuple[str, str]]) -> int | None:
    """How many edits absorbing ``cells`` would make, as ``workbooks._diff`` counts them:
    one per changed status, one per quality report typed that differs from the written
    one on its field.

    None when the workbook has no digests (registered by a version that kept none).
    Rows not written (added by staff) count nothing, as absorbing ignores them.
    """
    found = home.db.execute(
        "SELECT key FROM vault_workbook_digest_keys WHERE workbook_id = ?", (workbook_id,)
    ).fetchone()
    if found is None:
        return None
    key = _Keyed(bytes(found[0]))
    kept = {
        bytes(r[0]): (bytes(r[1]), bytes(r[2]), bytes(r[3]))
        for r in home.db.execute(
            "SELECT locator, salt, status, quality FROM vault_workbook_digests "
            "WHERE workbook_id = ?",
            (workbook_id,),
        )
    }
    changes = 0
    for record_id, (status, quality) in cells.items():
        row = kept.get(_locator(key, record_id))
        if row is None:
            continue
        salt, status_digest, quality_digest = row
        if not hmac.compare_digest(
            _cell(key, b"sx-wb-status", salt, record_id, status), status_digest
        ):
            changes += 1
        if not quality:
            continue
        if len(quality_digest) == _LEGACY_QUALITY_SIZE:
            # Kept before layout 3: one label per row.
            if not hmac.compare_digest(
                _cell(key, b"sx-wb-quality", salt, record_id, quality), quality_digest
            ):
                changes += 1
            continue
        for field, label in _by_field(quality).items():
            if field not in QUALITY_FIELDS:
                continue  # never typed: cells are read from the closed lists
            at = QUALITY_FIELDS.index(field) * FIELD_TAG_SIZE
            if not hmac.compare_digest(
                _field_tag(key, salt, record_id, label),
                quality_digest[at : at + FIELD_TAG_SIZE],
            ):
                changes += 1
    return changes


def note_harvest(home: Home, workbook_id: str, cells: Mapping[str, tuple[str, str]]) -> None:
    """Count the changes in cells harvested from a workbook that had to go (its file is
    removed; the cells are sealed until a command unlocks the key), for ``status``."""
    changes = count_changes(home, workbook_id, cells)
    home.db.execute(
        "UPDATE vault_workbook_digest_keys SET harvested_changes = ? WHERE workbook_id = ?",
        (changes, workbook_id),
    )


def harvested_changes(home: Home, workbook_id: str) -> int | None:
    """The count :func:`note_harvest` kept; None when unknown."""
    found = home.db.execute(
        "SELECT harvested_changes FROM vault_workbook_digest_keys WHERE workbook_id = ?",
        (workbook_id,),
    ).fetchone()
    return None if found is None or found[0] is None else int(found[0])
