"""Private key files: identities encrypted at rest in ``HOME/keys/``.

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

Passphrases are bytes handed in by the caller (the CLI asks for them); they are never
logged, echoed or kept beyond the call.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from securexchange import age, sshsig, strictjson
from securexchange.clock import format_instant, read_instant
from securexchange.errors import (
    AlreadyExists,
    BadPassphrase,
    BadSignature,
    InternalError,
    KeyPermissions,
    Malformed,
    NotFound,
    NotRecipient,
    UsageError,
)
from securexchange.home.atomicio import atomic_write
from securexchange.home.eventlog import Action
from securexchange.home.home import Home, HomeKind
from securexchange.keys.card import Card, make_card, read_card
from securexchange.keys.identity import Identity, Owner, SecretSubkey, Subkey
from securexchange.keys.passphrase_policy import check_new_passphrase

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

# File names inside HOME/keys/.
ROOT_KEY = "root.key"
EXPORT_KEY = "export.key"
IDENTITY_KEY = "identity.key"
ROOT_CARD = "root.card.json"
EXPORT_CARD = "export.card.json"
IDENTITY_CARD = "identity.card.json"
PINNED_AGENCY_CARD = "agency-root.card.json"


# --- the plaintext document ---------------------------------------------------------


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
    what = f"the key file's subkey {number}"
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
            raise Malformed(f"{what} is not a valid subkey") from None
    try:
        parsed = age.X25519Identity.from_string(secret)
    except Exception:
        raise Malformed(f"{what} does not hold an age identity") from None
    if parsed.recipient.to_string() != recipient:
        raise Malformed(f"{what} does not match its recipient")
    try:
        return SecretSubkey(secret, Subkey(recipient, valid_from, valid_until, certification))
    except ValueError:
        raise Malformed(f"{what} is not a valid subkey") from None


def decode_identity(data: bytes) -> Identity:
    """Parse a key file's plaintext; checks every subkey's certification."""
    value = strictjson.loads(data, what="the key file", max_bytes=MAX_KEY_FILE_BYTES)
    with strictjson.Fields(value, "the key file") as f:
        if f.text("format") != KEY_FORMAT:
            raise Malformed("the key file has an unknown format")
        try:
            seed = base64.b64decode(f.text("signing_seed").encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise Malformed("the key file's signing seed is not base64") from None
        entries = [_decode_subkey(item, i) for i, item in enumerate(f.array("subkeys"), 1)]
        try:
            identity = Identity(
                owner=Owner(f.text("name"), f.text("role"), f.text("organisation")),
                seed=seed,
                created_at=read_instant(f.text("created_at"), "the key file"),
                subkeys=tuple(e for e in entries if isinstance(e, SecretSubkey)),
                demo=f.boolean("demo"),
                split_subkeys=tuple(e for e in entries if isinstance(e, Subkey)),
            )
        except ValueError:
            raise Malformed("the key file does not hold a valid identity") from None
    try:
        identity.public.verify_subkeys()
    except BadSignature:
        raise Malformed("the key file holds a subkey its signing key did not certify") from None
    return identity


# --- sealing ------------------------------------------------------------------------


def work_factor_for(*, demo: bool, env: Mapping[str, str]) -> int:
    """The scrypt work factor for new key files in this home (see the module doc)."""
    default = DEMO_WORK_FACTOR if demo else WORK_FACTOR
    raw = env.get(WORK_FACTOR_ENV)
    if not raw:
        return default
    try:
        factor = int(raw)
    except ValueError:
        raise UsageError(f"{WORK_FACTOR_ENV} is not a whole number") from None
    if not MIN_WORK_FACTOR <= factor <= MAX_WORK_FACTOR:
        raise UsageError(f"{WORK_FACTOR_ENV} must be between 1 and 22")
    if factor < WORK_FACTOR and not demo:
        raise UsageError(
            f"{WORK_FACTOR_ENV} below {WORK_FACTOR} is honoured only in demo homes",
            hint=f"unset {WORK_FACTOR_ENV}",
        )
    return factor


def _check_passphrase(passphrase: bytes) -> None:
    if not passphrase:
        raise UsageError("the passphrase is empty")


def seal(identity: Identity, passphrase: bytes, *, work_factor: int = WORK_FACTOR) -> bytes:
    """An armored age file of the identity, encrypted to ``passphrase`` (scrypt)."""
    _check_passphrase(passphrase)
    if not MIN_WORK_FACTOR <= work_factor <= MAX_WORK_FACTOR:
        raise UsageError("the scrypt work factor must be between 1 and 22")
    recipient = age.ScryptRecipient(passphrase, work_factor=work_factor)
    return age.encrypt(encode_identity(identity), [recipient], armor=True)


def unseal(data: bytes, passphrase: bytes, *, what: str = "the key file") -> Identity:
    """The identity in an age-sealed key file. BadPassphrase for a wrong passphrase."""
    _check_passphrase(passphrase)
    if len(data) > MAX_KEY_FILE_BYTES:
        raise Malformed(f"{what} is too large to be a key file")
    try:
        plaintext = age.decrypt(
            data,
            [age.ScryptIdentity(passphrase, max_work_factor=MAX_WORK_FACTOR)],
            max_size=MAX_KEY_FILE_BYTES,
        )
    except NotRecipient:
        raise BadPassphrase(
            f"the passphrase does not open {what}",
            hint="check the passphrase (and --passphrase-file); nothing was changed",
        ) from None
    except Malformed:
        raise Malformed(f"{what} is not an age-encrypted key file") from None
    return decode_identity(plaintext)


# --- files --------------------------------------------------------------------------


def check_permissions(path: Path) -> None:
    """Raise KeyPermissions when group or others may access ``path`` (POSIX only)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise NotFound(f"no key file at {path}") from None
    _check_key_stat(path, st)


def _check_key_stat(path: Path, st: os.stat_result) -> None:
    # As OpenSSH checks a private key: owned by the user, no access for group or others.
    if os.name == "nt":  # pragma: no cover - POSIX modes mean nothing on Windows
        return
    if st.st_uid != os.geteuid():
        raise KeyPermissions(
            f"the key file {path} belongs to another user",
            hint=f"use your own key file, or have its owner run: chown $(id -un) {path}",
        )
    if st.st_mode & 0o077:
        raise KeyPermissions(
            f"the key file {path} may be read by other users",
            hint=f"make it private with: chmod 600 {path}",
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
        raise AlreadyExists(f"a key file exists already at {path}") from None


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
        raise NotFound(f"no key file at {path}") from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise Malformed(f"the key file {path.name} is not a regular file")
        _check_key_stat(path, st)
        return handle.read(limit + 1)


def read_key_file(path: Path, passphrase: bytes) -> Identity:
    """Open the key file at ``path``: permissions first, then the passphrase."""
    data = read_private_file(path)
    return unseal(data, passphrase, what=f"the key file {path.name}")


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


@dataclass(frozen=True)
class KeySource:
    """Where a private key is and how to get its passphrase, opened only when needed.

    ``passphrase`` is called when first needed, after every check that needs no key has
    passed, so a refused request never asks for a passphrase (the CLI's callable asks
    at most once). ``work_factor`` is for re-sealing: None keeps the factor the file was
    made with (chosen when the key was created: 18 in real homes).
    """

    path: Path
    passphrase: Callable[[], bytes]
    work_factor: int | None = None

    def unlock(self) -> Identity:
        return read_key_file(self.path, self.passphrase())

    def store(self, identity: Identity, passphrase: bytes | None = None) -> None:
        """Write ``identity`` back (with ``passphrase``, or the same one again)."""
        factor = self.work_factor
        if factor is None:
            try:
                factor = sealed_work_factor(self.path.read_bytes())
            except FileNotFoundError:
                factor = None
        write_key_file(
            self.path,
            identity,
            passphrase if passphrase is not None else self.passphrase(),
            work_factor=factor if factor is not None else WORK_FACTOR,
        )


# --- a home's keys (the ``keys`` commands) --------------------------------------------


class KeyUse(StrEnum):
    """Which of a home's keys: a municipal staff identity, or the agency's two keys."""

    IDENTITY = "identity"
    ROOT = "root"
    EXPORT = "export"


_KEY_FILES = {KeyUse.IDENTITY: IDENTITY_KEY, KeyUse.ROOT: ROOT_KEY, KeyUse.EXPORT: EXPORT_KEY}
_CARD_FILES = {KeyUse.IDENTITY: IDENTITY_CARD, KeyUse.ROOT: ROOT_CARD, KeyUse.EXPORT: EXPORT_CARD}


def home_uses(home: Home) -> tuple[KeyUse, ...]:
    """The keys a home holds, the one whose fingerprint identifies the home first."""
    if home.info.kind is HomeKind.AGENCY:
        return (KeyUse.ROOT, KeyUse.EXPORT)
    return (KeyUse.IDENTITY,)


def main_use(home: Home) -> KeyUse:
    return home_uses(home)[0]


def check_use(home: Home, use: KeyUse) -> None:
    if use not in home_uses(home):
        raise UsageError(f"a {home.info.kind.value} home has no {use.value} key")


def key_path(home: Home, use: KeyUse, explicit: Path | None = None) -> Path:
    """The private key file; ``explicit`` (``--root-key``) only for the root key."""
    check_use(home, use)
    if explicit is not None and use is KeyUse.ROOT:
        return explicit
    return home.paths.keys / _KEY_FILES[use]


def card_path(home: Home, use: KeyUse) -> Path:
    check_use(home, use)
    return home.paths.keys / _CARD_FILES[use]


def rewrite_work_factor(home: Home, env: Mapping[str, str]) -> int | None:
    """The work factor for re-sealing a home's key file: the environment's, if set
    (validated as for new keys), else None (keep the file's own)."""
    if not env.get(WORK_FACTOR_ENV):
        return None
    return work_factor_for(demo=home.demo, env=env)


def home_card(home: Home, use: KeyUse) -> Card:
    """The verified public card of one of this home's keys."""
    path = card_path(home, use)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no key card at {path}") from None
    return read_card(data)


def pinned_agency_card(home: Home) -> Card | None:
    """The agency root card a municipal home pinned at ``init`` (None elsewhere)."""
    path = home.paths.keys / PINNED_AGENCY_CARD
    if home.info.kind is not HomeKind.MUNICIPALITY or not path.exists():
        return None
    return read_card(path.read_bytes())


def rotate_identity(home: Home, source: KeySource) -> int:
    """Add the next (and if missing the current) subkey of a municipal identity,
    rewrite its card; returns how many subkeys were added (0: nothing to do).

    Subkeys split out into their own files (municipal homes) count by their public
    records in the key file: rotation adds only the periods that are missing, and the
    card keeps listing the current split-out subkey. ``keys rotate`` splits a new
    subkey out at once (:func:`securexchange.municipality.subkeys.rotate`)."""
    check_use(home, KeyUse.IDENTITY)
    identity = source.unlock()
    home.note_signer(identity.seed, identity.fingerprint.display)
    rotated, added = identity.rotated(home.now)
    if added == 0:
        return 0
    actor, counts = rotated.fingerprint.display, {"subkeys_added": added}
    # The key file's replacement cannot commit with the log: the entry waits as an
    # intent, logged by the next command if a kill comes between (EventLog.intend).
    home.log.intend(
        Action.KEY_ROTATE, now=home.now, witness=source.path, actor=actor, counts=counts
    )
    source.store(rotated)
    atomic_write(card_path(home, KeyUse.IDENTITY), make_card(rotated, now=home.now), mode=0o644)
    home.record(Action.KEY_ROTATE, actor=actor, counts=counts)
    return added


def change_passphrase(
    home: Home,
    source: KeySource,
    new_passphrase: Callable[[], bytes],
    *,
    reseal_also: Callable[[bytes, bytes, int], None] | None = None,
) -> Identity:
    """Re-seal a key file under a new passphrase (same keys); the old one is checked
    before the new one is asked for.

    ``reseal_also(old, new, work_factor)`` re-seals the files sealed with the same
    passphrase first (a municipal home's subkey files: call
    :func:`securexchange.municipality.subkeys.change_passphrase`, which passes it)."""
    if home.demo:
        raise UsageError("keys in a demo home have no passphrase to change")
    if home.info.kind is HomeKind.MUNICIPALITY and reseal_also is None:
        # Its subkey files would stay sealed under the old passphrase.
        raise InternalError("a municipal home changes its passphrase through its subkeys")
    identity = source.unlock()
    home.note_signer(identity.seed, identity.fingerprint.display)
    new = new_passphrase()
    check_new_passphrase(new, (identity.owner.name, identity.owner.role))
    # The key file's replacement cannot commit with the log: the entry waits as an
    # intent, logged by the next command if a kill comes between (EventLog.intend).
    actor = identity.fingerprint.display
    home.log.intend(Action.KEY_PASSWD, now=home.now, witness=source.path, actor=actor)
    if reseal_also is not None:
        # First the other files, then the key file, so a kill between leaves a state the
        # same command (old passphrase) finishes.
        factor = source.work_factor
        if factor is None:
            factor = sealed_work_factor(source.path.read_bytes()) or WORK_FACTOR
        reseal_also(source.passphrase(), new, factor)
    source.store(identity, new)
    home.record(Action.KEY_PASSWD, actor=actor)
    return identity


def export_card(home: Home, use: KeyUse) -> bytes:
    """The card file of one of this home's keys, verified, as it should be sent."""
    card = home_card(home, use)
    data = card_path(home, use).read_bytes()
    home.record(Action.KEY_EXPORT, actor=card.fingerprint.display, counts={"cards": 1})
    return data


def export_ssh_line(home: Home, use: KeyUse) -> str:
    card = home_card(home, use)
    home.record(Action.KEY_EXPORT, actor=card.fingerprint.display, counts={"ssh_keys": 1})
    return sshsig.ssh_public_key_line(card.identity.signing_key, f"securexchange-{use.value}")


def export_age_identity(
    home: Home, source: KeySource, *, split_out: Callable[[], str | None] | None = None
) -> str:
    """The current subkey as an age identity (``AGE-SECRET-KEY-1...``).

    A secret: the caller prints it on stdout only, and warns that an exported copy is
    out of reach of shredding (it still opens every package made for that subkey).
    ``split_out`` finds a current subkey kept in its own file (a municipal home:
    :func:`securexchange.municipality.subkeys.export_age_identity` passes it).
    """
    identity = source.unlock()
    home.note_signer(identity.seed, identity.fingerprint.display)
    subkey = identity.secret_subkey_at(home.now)
    secret = subkey.identity if subkey is not None else split_out() if split_out else None
    if secret is None:
        raise NotFound(
            "this key has no subkey valid now", hint="run 'securexchange keys rotate' first"
        )
    home.record(Action.KEY_EXPORT, actor=identity.fingerprint.display, counts={"age_identities": 1})
    return secret
