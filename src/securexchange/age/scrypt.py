"""The scrypt (passphrase) recipient type: ``-> scrypt <salt> <log2 N>``."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import threading
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from securexchange.age.errors import AgeHeaderError
from securexchange.age.format import Stanza, decode_b64, encode_b64
from securexchange.age.primitives import WrongBodySize, open_file_key, seal_file_key
from securexchange.i18n import _
from securexchange.scoped import scoped

STANZA_TYPE = "scrypt"
LABEL = b"age-encryption.org/v1/scrypt"
SALT_SIZE = 16
DEFAULT_WORK_FACTOR = 18  # what age uses: about a second
DEFAULT_MAX_WORK_FACTOR = 22  # about 15 s and 4 GiB: the most we let a file ask for
MAX_WORK_FACTOR = 30
# Decimal, no sign, no leading zero, at most two digits: the only spelling of each value.
_WORK_FACTOR = re.compile(r"[1-9][0-9]?")


class DerivedKeys:
    """Wrapping keys derived while unlocking, kept for one unlocked session (the app).

    scrypt is slow on purpose (about a second a file); a session that unlocked a key
    file once opens it again without paying that, for as long as the session holds its
    passphrase anyway. Only unwrapping is remembered: every new file gets a fresh salt.
    """

    def __init__(self) -> None:
        self._keys: dict[tuple[bytes, bytes, int], bytes] = {}
        self._lock = threading.Lock()

    def derive(self, passphrase: bytes, salt: bytes, work_factor: int) -> bytes:
        # The passphrase is keyed by a digest: the table itself never holds it.
        slot = (hashlib.sha256(passphrase).digest(), salt, work_factor)
        with self._lock:
            known = self._keys.get(slot)
        if known is not None:
            return known
        key = _derive(passphrase, salt, work_factor)
        with self._lock:
            self._keys[slot] = key
        return key

    def forget(self) -> None:
        with self._lock:
            self._keys.clear()


_REMEMBERED: ContextVar[DerivedKeys | None] = ContextVar("derived_keys", default=None)


def remembering(keys: DerivedKeys) -> AbstractContextManager[None]:
    """Within the block (this thread or task only), unwrapping uses and fills ``keys``."""
    return scoped(_REMEMBERED, keys)


def _derive(passphrase: bytes, salt: bytes, work_factor: int) -> bytes:
    kdf = Scrypt(salt=LABEL + salt, length=32, n=1 << work_factor, r=8, p=1)
    return kdf.derive(passphrase)


def _check_passphrase(passphrase: bytes) -> None:
    if not isinstance(passphrase, bytes) or not passphrase:
        raise ValueError("the passphrase must be non-empty bytes")


@dataclass(frozen=True, eq=False)
class ScryptRecipient:
    """Encrypt to a passphrase. It must be a file's only recipient."""

    passphrase: bytes = field(repr=False)
    work_factor: int = DEFAULT_WORK_FACTOR

    def __post_init__(self) -> None:
        _check_passphrase(self.passphrase)
        if not 1 <= self.work_factor <= MAX_WORK_FACTOR:
            raise ValueError(f"the scrypt work factor must be between 1 and {MAX_WORK_FACTOR}")

    def wrap(self, file_key: bytes) -> Stanza:
        salt = os.urandom(SALT_SIZE)
        key = _derive(self.passphrase, salt, self.work_factor)
        args = (encode_b64(salt), str(self.work_factor))
        return Stanza(STANZA_TYPE, args, seal_file_key(key, file_key))


@dataclass(frozen=True, eq=False)
class ScryptIdentity:
    """Decrypt with a passphrase, refusing files that ask for more than ``max_work_factor``
    (2**22 iterations by default) before any scrypt work is done."""

    passphrase: bytes = field(repr=False)
    max_work_factor: int = DEFAULT_MAX_WORK_FACTOR

    def __post_init__(self) -> None:
        _check_passphrase(self.passphrase)
        if not 1 <= self.max_work_factor <= MAX_WORK_FACTOR:
            raise ValueError(f"the maximum work factor must be between 1 and {MAX_WORK_FACTOR}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScryptIdentity):
            return NotImplemented
        return self.max_work_factor == other.max_work_factor and hmac.compare_digest(
            self.passphrase, other.passphrase
        )

    def __hash__(self) -> int:
        return hash((ScryptIdentity, self.max_work_factor))

    def unwrap(self, stanzas: tuple[Stanza, ...]) -> bytes | None:
        """The file key, or None if the file is not passphrase-encrypted or the passphrase
        is wrong. The caller has already refused a scrypt stanza that is not alone."""
        for stanza in stanzas:
            if stanza.type == STANZA_TYPE:
                return self._unwrap_one(stanza)
        return None

    def _unwrap_one(self, stanza: Stanza) -> bytes | None:
        if len(stanza.args) != 2:
            raise AgeHeaderError(_("an scrypt stanza must have exactly two arguments"))
        try:
            salt = decode_b64(stanza.args[0].encode("ascii"))
        except ValueError:
            raise AgeHeaderError(_("the scrypt salt is not canonical base64")) from None
        if len(salt) != SALT_SIZE:
            raise AgeHeaderError(_("the scrypt salt is not 16 bytes"))
        if _WORK_FACTOR.fullmatch(stanza.args[1]) is None:
            raise AgeHeaderError(_("the scrypt work factor is not a plain decimal number"))
        work_factor = int(stanza.args[1])
        if work_factor > self.max_work_factor:
            raise AgeHeaderError(
                _("the scrypt work factor {work_factor} exceeds the maximum {maximum}").format(
                    work_factor=work_factor, maximum=self.max_work_factor
                )
            )
        if len(stanza.body) != 32:
            # Checked before the expensive derivation, not only in open_file_key.
            raise AgeHeaderError(_("an scrypt stanza body is not a wrapped 16-byte key"))
        remembered = _REMEMBERED.get()
        if remembered is None:
            key = _derive(self.passphrase, salt, work_factor)
        else:
            key = remembered.derive(self.passphrase, salt, work_factor)
        try:
            return open_file_key(key, stanza.body)
        except WrongBodySize:  # pragma: no cover - length checked above
            raise AgeHeaderError(_("an scrypt stanza body is not a wrapped 16-byte key")) from None
