"""The vault's sealing: per-package data keys wrapped to a subkey with age, each row
tagged (keyed HMAC) and sealed (ChaCha20-Poly1305), and the row's encoding. Pure: no
home, no database."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from securexchange.errors import InternalError, Tampered
from securexchange.i18n import _
from securexchange.schema import Record
from securexchange.sheets.layout import QualityReport, WorkbookRow

if TYPE_CHECKING:
    from securexchange import age


DATA_KEY_SIZE = 32


NONCE_SIZE = 12
_NONCE_BATCH = 1024


TAG_SIZE = 16


ROW_FORMAT = "securexchange-vault-row/1"


MAX_ROW_BYTES = 64 << 10


def new_data_key() -> bytes:
    return os.urandom(DATA_KEY_SIZE)


def record_tag(data_key: bytes, record_id: str) -> str:
    return RowCipher(data_key, "").tag(record_id)


class RowCipher:
    """Tags, seals and opens the rows of one package under its data key.

    Built once per package, not per row: the AEAD context and the keyed HMAC state are
    reused (``hmac.copy``), which is what a 5,000-row import or open spent most of its
    crypto time on. The construction is unchanged (same tag, nonce, AAD, AEAD).
    """

    def __init__(self, data_key: bytes, package_id: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

        self._aead = ChaCha20Poly1305(data_key)
        self._mac = hmac.new(data_key, b"securexchange-record-tag/1\n", hashlib.sha256)
        self._package_id = package_id
        self._nonces = b""
        self._next_nonce = 0

    def _nonce(self) -> bytes:
        """A fresh random nonce, never handed out twice: drawn from the system's CSPRNG
        a batch at a time (one read for 1,024 rows, not one each)."""
        if self._next_nonce == len(self._nonces):
            self._nonces, self._next_nonce = os.urandom(NONCE_SIZE * _NONCE_BATCH), 0
        start = self._next_nonce
        self._next_nonce = start + NONCE_SIZE
        return self._nonces[start : start + NONCE_SIZE]

    def tag(self, record_id: str) -> str:
        mac = self._mac.copy()
        mac.update(record_id.encode())
        return mac.hexdigest()[: TAG_SIZE * 2]

    def seal(self, tag: str, plaintext: bytes) -> bytes:
        nonce = self._nonce()
        return nonce + self._aead.encrypt(nonce, plaintext, _aad(self._package_id, tag))

    def open(self, tag: str, sealed: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(
                sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], _aad(self._package_id, tag)
            )
        except InvalidTag:
            raise Tampered(_("a vault row does not authenticate")) from None


def _aad(package_id: str, tag: str) -> bytes:
    return f"securexchange-vault/1\n{package_id}\n{tag}\n".encode("ascii")


def wrap(secret: bytes, recipient: str) -> bytes:
    from securexchange import age

    return age.encrypt(secret, [age.parse_recipient(recipient)])


def unwrap(wrapped: bytes, identities: Sequence[age.Identity], max_size: int) -> bytes:
    from securexchange import age

    return age.decrypt(wrapped, identities, max_size=max_size)


# One encoder for every row: json.dumps with options builds a new encoder per call.
_ROW_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_row(row: WorkbookRow) -> bytes:
    """A row's plaintext: a compact JSON array (inside the AEAD, so only we read it).

    One quality report: a package row carries at most one (sheets.read_package_rows);
    staff's further reports are edits, applied by :func:`current_rows`."""
    if row.more_quality:
        raise InternalError(_("a vault row holds one quality report"))
    return _ROW_ENCODER.encode(
        [
            ROW_FORMAT,
            row.record_id,
            list(row.record.values),
            row.retention.isoformat(),
            row.status,
            "" if row.quality is None else row.quality.field,
            "" if row.quality is None else row.quality.problem,
            row.outcome,
        ]
    ).encode("utf-8")


def decode_row(data: bytes) -> WorkbookRow:
    try:
        fmt, record_id, cells, retention, status, q_field, q_problem, outcome = json.loads(data)
    except ValueError:
        raise InternalError(_("a vault row is not in the vault's format")) from None
    if fmt != ROW_FORMAT:
        raise InternalError(_("a vault row has an unknown format"))
    # Checked again: the AEAD proves only that the row was sealed under the data key,
    # and anyone who can write the database can wrap a data key of their own to the
    # subkey's public recipient (age is not authenticated) and seal rows under it.
    try:
        return WorkbookRow(
            record_id=record_id,
            record=Record.trusted([tuple(v) if isinstance(v, list) else v for v in cells]),
            retention=date.fromisoformat(retention),
            status=status,
            quality=QualityReport(q_field, q_problem) if q_field else None,
            outcome=outcome,
        )
    except (TypeError, ValueError):
        raise InternalError(_("a vault row is not in the vault's format")) from None
