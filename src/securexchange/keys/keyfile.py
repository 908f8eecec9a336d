"""Private key files: an identity sealed at rest, and read and written with owner-only
modes. Knows no home (:mod:`securexchange.keys.keystore` does).

A key file is an age file (armored, ``-----BEGIN AGE ENCRYPTED FILE-----``) encrypted to
one scrypt recipient, i.e. to a passphrase, so that in an emergency ``age -d FILE`` with
the passphrase opens it without this program. The plaintext is a strict-JSON document
(docs/formats.md, "Private key files") holding the signing seed, the subkeys' age
identities and their certifications, and the owner. Files are written atomically with
mode 0600 in a 0700 directory; a key file that group or others could read is refused
with :class:`KeyPermissions` before it is read (on Windows, where POSIX modes mean
nothing, the home's place in the user profile and its ACL protect it: see
docs/threat-model.md).

Scrypt work factor: 18 (age's default) for new keys in real homes. Demo homes use a
fixed, public passphrase (:data:`DEMO_PASSPHRASE`) and work factor 10: their keys are
not secret, and every command says so. ``SECUREXCHANGE_SCRYPT_WORK_FACTOR`` may raise
the factor anywhere, and lower it only in demo homes; tests pass ``work_factor`` to the
library directly. Re-sealing a file (rotation, passphrase change) keeps the factor it
was made with unless the variable is set.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from securexchange import age, strictjson
from securexchange.clock import format_instant, read_instant
from securexchange.errors import (
    AlreadyExists,
    BadPassphrase,
    BadSignature,
    KeyPermissions,
    Malformed,
    NotFound,
    NotRecipient,
    UsageError,
)
from securexchange.home.atomicio import atomic_write
from securexchange.i18n import _
from securexchange.keys.identity import Identity, Owner, SecretSubkey, Subkey

KEY_FORMAT = "securexchange-private-key/1"


MAX_KEY_FILE_BYTES = 256 * 1024


WORK_FACTOR = 18


DEMO_WORK_FACTOR = 10


MIN_WORK_FACTOR = 1


MAX_WORK_FACTOR = 22  # what we accept when opening: age's limit


WORK_FACTOR_ENV = "SECUREXCHANGE_SCRYPT_WORK_FACTOR"


#: The passphrase of every key file in a demo home. Public on purpose: a demo home's
#: keys protect nothing, and the program says so on every command.
DEMO_PASSPHRASE = b"securexchange-demo"


def encode_identity(identity: Identity) -> bytes:
    """The strict-JSON plaintext of a key file. Holds secrets: never log it."""
    return strictjson.dumps(
        {
            "format": KEY_FORMAT,
            "name": identity.owner.name,
            "role": identity.owner.role,
            "organisation": identity.owner.organisation,
            "created_at": format_instant(identity.created_at),
            "demo": identity.demo,
            "signing_seed": base64.b64encode(identity.seed).decode("ascii"),
            "subkeys": [
                {
                    "identity": s.identity,
                    "recipient": s.public.recipient,
                    "valid_from": format_instant(s.public.valid_from),
                    "valid_until": format_instant(s.public.valid_until),
                    "certification": s.public.certification,
                }
                for s in sorted(identity.subkeys, key=lambda s: s.public.valid_from)
            ]
            + [
                {
                    "identity": None,  # the secret lives in keys/subkeys/ (municipal home)
                    "recipient": s.recipient,
                    "valid_from": format_instant(s.valid_from),
                    "valid_until": format_instant(s.valid_until),
                    "certification": s.certification,
                }
                for s in identity.split_subkeys
            ],
        }
    )


def _decode_subkey(value: object, number: int) -> SecretSubkey | Subkey:
    """A subkey with its secret, or (``identity`` null) the public record of a subkey
    whose secret was split out into its own file."""
    # TRANSLATORS: names the n-th key for packages inside a key file, in messages.
    what = _("the key file's subkey {number}").format(number=number)
    with strictjson.Fields(value, what) as f:
        secret = f.opt_text("identity")
        recipient = f.text("recipient")
        valid_from = read_instant(f.text("valid_from"), what)
        valid_until = read_instant(f.text("valid_until"), what)
        certification = f.text("certification")
    if secret is None:
        try:
            return Subkey(recipient, valid_from, valid_until, certification)
        except ValueError:
            raise Malformed(_("{what} is not a valid subkey").format(what=what)) from None
    try:
        parsed = age.parse_identity(secret)
    except Exception:
        raise Malformed(_("{what} does not hold an age identity").format(what=what)) from None
    if parsed.recipient.to_string() != recipient:
        raise Malformed(_("{what} does not match its recipient").format(what=what))
    try:
        return SecretSubkey(secret, Subkey(recipient, valid_from, valid_until, certification))
    except ValueError:
        raise Malformed(_("{what} is not a valid subkey").format(what=what)) from None


def decode_identity(data: bytes) -> Identity:
    """Parse a key file's plaintext; checks every subkey's certification."""
    # TRANSLATORS: names the key file in messages ("the key file is not valid JSON").
    what = _("the key file")
    value = strictjson.loads(data, what=what, max_bytes=MAX_KEY_FILE_BYTES)
    with strictjson.Fields(value, what) as f:
        if f.text("format") != KEY_FORMAT:
            raise Malformed(_("the key file has an unknown format"))
        try:
            seed = base64.b64decode(f.text("signing_seed").encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise Malformed(_("the key file's signing seed is not base64")) from None
        entries = [_decode_subkey(item, i) for i, item in enumerate(f.array("subkeys"), 1)]
        try:
            identity = Identity(
                owner=Owner(f.text("name"), f.text("role"), f.text("organisation")),
                seed=seed,
                created_at=read_instant(f.text("created_at"), what),
                subkeys=tuple(e for e in entries if isinstance(e, SecretSubkey)),
                demo=f.boolean("demo"),
                split_subkeys=tuple(e for e in entries if isinstance(e, Subkey)),
            )
        except ValueError:
            raise Malformed(_("the key file does not hold a valid identity")) from None
    try:
        identity.public.verify_subkeys()
    except BadSignature:
        raise Malformed(_("the key file holds a subkey its signing key did not certify")) from None
    return identity


def work_factor_for(*, demo: bool, env: Mapping[str, str]) -> int:
    """The scrypt work factor for new key files in this home (see the module doc)."""
    default = DEMO_WORK_FACTOR if demo else WORK_FACTOR
    raw = env.get(WORK_FACTOR_ENV)
    if not raw:
        return default
    try:
        factor = int(raw)
    except ValueError:
        raise UsageError(
            # TRANSLATORS: {variable} is an environment variable's name.
            _("{variable} is not a whole number").format(variable=WORK_FACTOR_ENV)
        ) from None
    if not MIN_WORK_FACTOR <= factor <= MAX_WORK_FACTOR:
        raise UsageError(_("{variable} must be between 1 and 22").format(variable=WORK_FACTOR_ENV))
    if factor < WORK_FACTOR and not demo:
        raise UsageError(
            _("{variable} below {minimum} is honoured only in demo homes").format(
                variable=WORK_FACTOR_ENV, minimum=WORK_FACTOR
            ),
            hint=_("unset {variable}").format(variable=WORK_FACTOR_ENV),
        )
    return factor


def _check_passphrase(passphrase: bytes) -> None:
    if not passphrase:
        raise UsageError(_("the passphrase is empty"))


def seal(identity: Identity, passphrase: bytes, *, work_factor: int = WORK_FACTOR) -> bytes:
    """An armored age file of the identity, encrypted to ``passphrase`` (scrypt)."""
    _check_passphrase(passphrase)
    if not MIN_WORK_FACTOR <= work_factor <= MAX_WORK_FACTOR:
        raise UsageError(_("the scrypt work factor must be between 1 and 22"))
    recipient = age.ScryptRecipient(passphrase, work_factor=work_factor)
    return age.encrypt(encode_identity(identity), [recipient], armor=True)


def unseal(data: bytes, passphrase: bytes, *, what: str | None = None) -> Identity:
    """The identity in an age-sealed key file. BadPassphrase for a wrong passphrase.

    ``what`` names the file in messages (default: "the key file", translated)."""
    _check_passphrase(passphrase)
    if what is None:
        what = _("the key file")
    if len(data) > MAX_KEY_FILE_BYTES:
        raise Malformed(_("{what} is too large to be a key file").format(what=what))
    try:
        plaintext = age.decrypt(
            data,
            [age.ScryptIdentity(passphrase, max_work_factor=MAX_WORK_FACTOR)],
            max_size=MAX_KEY_FILE_BYTES,
        )
    except NotRecipient:
        raise BadPassphrase(
            _("the passphrase does not open {what}").format(what=what),
            hint=_("check the passphrase (and --passphrase-file); nothing was changed"),
        ) from None
    except Malformed:
        raise Malformed(_("{what} is not an age-encrypted key file").format(what=what)) from None
    return decode_identity(plaintext)


def check_permissions(path: Path) -> None:
    """Raise KeyPermissions when group or others may access ``path`` (POSIX only)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise NotFound(_("no key file at {path}").format(path=path)) from None
    _check_key_stat(path, st)


def _check_key_stat(path: Path, st: os.stat_result) -> None:
    # As OpenSSH checks a private key: owned by the user, no access for group or others.
    if os.name == "nt":  # pragma: no cover - POSIX modes mean nothing on Windows
        return
    if st.st_uid != os.geteuid():
        raise KeyPermissions(
            _("the key file {path} belongs to another user").format(path=path),
            hint=_("use your own key file, or have its owner run: chown $(id -un) {path}").format(
                path=path
            ),
        )
    if st.st_mode & 0o077:
        raise KeyPermissions(
            _("the key file {path} may be read by other users").format(path=path),
            hint=_("make it private with: chmod 600 {path}").format(path=path),
        )


def write_key_file(
    path: Path,
    identity: Identity,
    passphrase: bytes,
    *,
    work_factor: int = WORK_FACTOR,
    exclusive: bool = False,
) -> None:
    """Seal ``identity`` into ``path`` (atomically, mode 0600)."""
    data = seal(identity, passphrase, work_factor=work_factor)
    try:
        atomic_write(path, data, mode=0o600, exclusive=exclusive)
    except FileExistsError:
        raise AlreadyExists(_("a key file exists already at {path}").format(path=path)) from None


def read_private_file(path: Path, *, limit: int = MAX_KEY_FILE_BYTES) -> bytes:
    """The bytes of a private key file: owner and mode checked, at most ``limit + 1``.

    Opened with ``O_NONBLOCK`` and checked by ``fstat`` before a byte is read, so a FIFO
    or device planted at a key's name is refused instead of hanging the command; the
    owner and mode are checked on the opened file, not only on the name.
    """
    check_permissions(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise NotFound(_("no key file at {path}").format(path=path)) from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise Malformed(_("the key file {name} is not a regular file").format(name=path.name))
        _check_key_stat(path, st)
        return handle.read(limit + 1)


def read_key_file(path: Path, passphrase: bytes) -> Identity:
    """Open the key file at ``path``: permissions first, then the passphrase."""
    data = read_private_file(path)
    return unseal(data, passphrase, what=_("the key file {name}").format(name=path.name))


def sealed_work_factor(data: bytes) -> int | None:
    """The scrypt work factor a sealed key file was made with (None if unreadable)."""
    try:
        stanzas = age.parse_header(data).stanzas
    except Exception:
        return None
    if len(stanzas) != 1 or stanzas[0].type != "scrypt" or len(stanzas[0].args) != 2:
        return None
    try:
        return int(stanzas[0].args[1])
    except ValueError:
        return None
