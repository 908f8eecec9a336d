"""A municipal home's encryption subkeys, each in its own file, destroyable without a key.

``keys/identity.key`` (:mod:`securexchange.keys.keystore`) seals the signing seed and every
subkey in one passphrase-protected file. Shredding runs without a passphrase (from a
scheduler), yet it must be able to destroy a subkey whose validity has ended, so that
every copy of an old package anywhere becomes undecryptable. One file cannot be
rewritten without its passphrase; so the municipal client keeps each subkey secret in
its own file instead::

    HOME/keys/subkeys/sk-<16 hex>.key   age, scrypt-sealed to the staff passphrase,
                                        holding one age identity (strict JSON)

The first time a command unlocks ``identity.key`` (import, open, ...), its subkeys are
*split out*: each is written to its own file (atomically, 0600, the same passphrase and
scrypt work factor), listed in ``vault_subkeys``, and only then ``identity.key`` is
re-sealed without them. Destroying a subkey is deleting its file (and, in the caller's
transaction, every data key wrapped to it): no passphrase needed.

**When a subkey file is destroyed.** At the first shred after its ``valid_until`` once
nothing in the vault is wrapped to it, and at the latest at ``valid_until`` +
:data:`DESTROY_GRACE` (30 days, the import deadline of a package made on the subkey's
last day) *whatever is still wrapped to it*: packages, unreturned edits, workbooks.
Nothing a user can create (a workbook Excel holds, an edit never returned, a stale
package) may keep a key alive; every command that unlocks the key before then moves
live data to the current subkey (``vault.rewrap_to_current``), and what was not moved
is reported as lost. A file that cannot be removed does not postpone destruction: the
subkey is marked destroyed (nothing reads it any more), the file is retried at every
shred, and ``status`` says so until it is gone.

Only the secrets move: ``identity.key`` keeps each split-out subkey's public record
(recipient, validity, certification; ``identity`` null in the file), so ``keys rotate``
adds only the missing periods and the card keeps listing the current subkey. Records
whose validity has ended are dropped the next time ``identity.key`` is re-sealed here.
``keys export --age`` reads the current subkey from its file (the hybrid post-quantum one
of the period when there is one). New data keys, edits and workbook expectations are
wrapped to that hybrid subkey, and ``vault.rewrap_to_current`` moves what was wrapped to
its classic companion (or an older subkey) onto it. File names are a hash of the
recipient (``sk-`` and 16 hex digits), so a ~1,960-character hybrid recipient names a
file as short as a classic one, and old homes' files keep their names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from securexchange import strictjson
from securexchange.artifacts.package import DEFAULT_IMPORT_DAYS
from securexchange.clock import LATEST, format_instant, parse_instant
from securexchange.errors import BadPassphrase, Malformed, NotAuthorised, NotRecipient, UsageError
from securexchange.home import safefs, statedb
from securexchange.home.atomicio import atomic_write, make_private_dir
from securexchange.home.home import Home
from securexchange.i18n import _
from securexchange.municipality import subkey_certs

if TYPE_CHECKING:
    from securexchange import age
    from securexchange.artifacts.keyring import Keyring
    from securexchange.keys.identity import Identity
    from securexchange.keys.keystore import KeySource, Rotation

# As keystore's (not imported here: shredding and status need no key machinery).
MAX_KEY_FILE_BYTES = 256 * 1024
MAX_WORK_FACTOR = 22

# The latest a subkey file is kept after its validity ends, whatever is wrapped to it:
# the import deadline of a package made on the subkey's last valid day.
DESTROY_GRACE = timedelta(days=DEFAULT_IMPORT_DAYS)

SUBKEY_FORMAT = "securexchange-subkey/1"
SUBKEY_DIR = "subkeys"


@dataclass(frozen=True)
class HeldSubkey:
    """A subkey as the vault lists it (public facts only)."""

    recipient: str
    file: str
    valid_from: datetime
    valid_until: datetime
    destroyed_at: datetime | None

    @property
    def held(self) -> bool:
        return self.destroyed_at is None

    @property
    def destroy_by(self) -> datetime:
        """The latest moment its file is kept (whatever is still wrapped to it)."""
        return self.valid_until + DESTROY_GRACE


# What an unreadable time in the vault reads as. The vault never writes one: someone
# edited the database. Raising would stop every command, shredding included, for as
# long as the edit stays (a deletion postponed by a state a user can create); reading
# it as long past fails closed instead: whatever deadline it held has come, and a
# package row holding it no longer agrees with its signed copy (shredded as tampered).
EDITED_TIME = datetime(1970, 1, 1, tzinfo=UTC)


def when(text: str) -> datetime:
    """A timestamp this vault wrote (``YYYY-MM-DDTHH:MM:SSZ``); an edited one that does
    not parse, or lies beyond :data:`clock.LATEST`, reads as :data:`EDITED_TIME`."""
    try:
        moment = parse_instant(text)
    except UsageError:
        return EDITED_TIME
    # Beyond the clock's end no deadline is real, and adding a grace period overflows.
    return EDITED_TIME if moment >= LATEST else moment


def blob(value: object) -> bytes:
    """A blob this vault wrote (signed copy, sealed row, wrapped key); an edited one of
    another type reads as empty, which fails its verification by name (never TypeError)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return b""


def number(value: object) -> int:
    """A count this vault wrote; an edited one that is not an integer reads as -1, which
    no signed manifest states (so the row disagrees with its signed copy)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.strip().lstrip("-").isdigit():
        return int(value)
    return -1


def subkey_dir(home: Home) -> Path:
    return home.paths.keys / SUBKEY_DIR


def file_name(recipient: str) -> str:
    # Same as ASCII for every real recipient; an edited one never raises.
    digest = hashlib.sha256(recipient.encode("utf-8", "surrogatepass")).hexdigest()
    return "sk-" + digest[:16] + ".key"


def listed(home: Home) -> list[HeldSubkey]:
    """Every subkey the vault knows, oldest first."""
    rows = home.db.execute(
        "SELECT recipient, file, valid_from, valid_until, destroyed_at FROM vault_subkeys "
        "ORDER BY valid_from, recipient"
    ).fetchall()
    # The file name is derived from the recipient, never taken from the ``file`` column:
    # an edited column ("", "../identity.key", "/etc/passwd") would name another file to
    # read, or none at all.
    return [
        HeldSubkey(
            str(r[0]),
            file_name(str(r[0])),
            when(str(r[2])),
            when(str(r[3])),
            None if r[4] is None else when(str(r[4])),
        )
        for r in rows
    ]


def post_quantum(recipient: str) -> bool:
    """A hybrid post-quantum subkey (age's registry tells by the prefix); an edited
    recipient the registry does not know reads as classic."""
    from securexchange import age

    try:
        return age.is_post_quantum_recipient(recipient)
    except age.AgeKeyError:
        return False


def current_recipient(home: Home) -> str | None:
    """The held subkey to wrap new data to: valid now (latest-starting, and of those the
    hybrid post-quantum one, so data at rest moves to it: issue 18), else the held one
    that ends last (hybrid first again). None when no subkey is held."""
    held = [s for s in listed(home) if s.held]
    valid = [s for s in held if s.valid_from <= home.now < s.valid_until]
    if valid:
        return max(valid, key=lambda s: (s.valid_from, post_quantum(s.recipient))).recipient
    if held:
        return max(held, key=lambda s: (s.valid_until, post_quantum(s.recipient))).recipient
    return None


def _encode(identity: str, recipient: str, valid_from: datetime, valid_until: datetime) -> bytes:
    return strictjson.dumps(
        {
            "format": SUBKEY_FORMAT,
            "identity": identity,
            "recipient": recipient,
            "valid_from": format_instant(valid_from),
            "valid_until": format_instant(valid_until),
        }
    )


def _decode(data: bytes, what: str) -> age.SecretIdentity:
    from securexchange import age

    value = strictjson.loads(data, what=what, max_bytes=MAX_KEY_FILE_BYTES)
    with strictjson.Fields(value, what) as f:
        if f.text("format") != SUBKEY_FORMAT:
            raise Malformed(_("{what} has an unknown format").format(what=what))
        secret = f.text("identity")
        recipient = f.text("recipient")
        f.text("valid_from")
        f.text("valid_until")
    try:
        parsed = age.parse_identity(secret)
    except Exception:
        raise Malformed(_("{what} does not hold an age identity").format(what=what)) from None
    if parsed.recipient.to_string() != recipient:
        raise Malformed(_("{what} does not match its recipient").format(what=what))
    return parsed


def rotate(home: Home, source: KeySource, keyring: Keyring | None) -> Rotation:
    """``keys rotate`` in a municipal home: add the missing subkeys and split them out
    at once.

    Split at once so that no subkey secret waits in ``identity.key`` for the next
    command that unlocks the key: until split out, shredding (which has no passphrase)
    could not destroy it.
    """
    from securexchange.keys.keystore import rotate_identity
    from securexchange.municipality.horizon import access_ended, effective_horizon
    from securexchange.municipality.vouched import own_fingerprint

    me = own_fingerprint(home)
    if me is not None and access_ended(home, keyring, me):
        # Shredding destroys every subkey of such a home: none is made again.
        raise NotAuthorised(
            _("you may no longer receive packages: removed from the keyring, or protocol over"),
            hint=_("ask the agency; a new authorisation needs a new keyring"),
        )
    # At least the next period, as 'keys rotate' always did, and up to the horizon.
    horizon = max(effective_horizon(home, keyring), 1)
    rotation = rotate_identity(home, source, horizon=horizon)
    # Every time, not only when something was added: a rotation whose split was cut
    # short is finished by the next ``keys rotate`` (split_out is idempotent).
    split_out(home, source)
    return rotation


def split_out(
    home: Home, source: KeySource, *, top_up: bool = False, keyring: Keyring | None = None
) -> Identity:
    """Unlock ``identity.key`` and move its subkeys into their own files (see above).

    With ``top_up`` (every command that unlocks the key to work with the vault), first
    add the subkeys missing within the home's horizon (:mod:`.horizon`; ``keyring``: a
    verified view being imported, or the one held).
    Returns the identity (its subkeys public records only once split; expired records
    dropped). Notes the signer for the log
    checkpoint. Crash-safe: files first, then the table, then the re-sealed key file;
    a rerun finishes what a killed one started.
    """
    from securexchange import age
    from securexchange.keys.keyfile import WORK_FACTOR, sealed_work_factor

    identity = source.unlock()
    home.note_signer(identity.seed, identity.fingerprint.display)
    subkey_certs.remember_identity(home, identity.fingerprint.display)
    if top_up:
        from securexchange.municipality import horizon

        identity = horizon.top_up(home, source, identity, keyring)
    if not identity.subkeys:
        subkey_certs.keep(home, identity.split_subkeys)  # homes split before them
        pruned = identity.without_expired_split(home.now)
        if pruned != identity:
            source.store(pruned)
        return pruned
    passphrase = source.passphrase()
    factor = source.work_factor
    if factor is None:
        factor = sealed_work_factor(source.path.read_bytes()) or WORK_FACTOR
    directory = subkey_dir(home)
    make_private_dir(directory)
    known = {s.recipient for s in listed(home)}
    for secret in identity.subkeys:
        public = secret.public
        if public.recipient in known:
            continue  # split before (or destroyed): never written again
        sealed = age.encrypt(
            _encode(secret.identity, public.recipient, public.valid_from, public.valid_until),
            [age.ScryptRecipient(passphrase, work_factor=factor)],
            armor=True,
        )
        atomic_write(directory / file_name(public.recipient), sealed, mode=0o600)
    with statedb.transaction(home.db):
        for secret in identity.subkeys:
            public = secret.public
            home.db.execute(
                "INSERT OR IGNORE INTO vault_subkeys (recipient, file, valid_from, valid_until, "
                "state) VALUES (?, ?, ?, ?, 'held')",
                (
                    public.recipient,
                    file_name(public.recipient),
                    format_instant(public.valid_from),
                    format_instant(public.valid_until),
                ),
            )
        subkey_certs.keep(home, [*identity.split_subkeys, *(s.public for s in identity.subkeys)])
    stripped = identity.split(s.public.recipient for s in identity.subkeys)
    stripped = stripped.without_expired_split(home.now)
    source.store(stripped)
    return stripped


def unlock(
    home: Home, passphrase: Callable[[], bytes], recipients: Iterable[str] | None = None
) -> dict[str, age.SecretIdentity]:
    """The held subkeys (all, or those of ``recipients``) as age identities."""
    from securexchange.keys.keyfile import read_private_file

    wanted = None if recipients is None else set(recipients)
    found: dict[str, age.SecretIdentity] = {}
    for subkey in listed(home):
        if not subkey.held or (wanted is not None and subkey.recipient not in wanted):
            continue
        path = subkey_dir(home) / subkey.file
        if not path.exists():
            continue
        plaintext = _open_sealed(read_private_file(path), [passphrase()], subkey.file)
        found[subkey.recipient] = _decode(
            plaintext, _("the subkey file {file}").format(file=subkey.file)
        )
    return found


def _open_sealed(data: bytes, passphrases: list[bytes], file: str) -> bytes:
    """The plaintext of a subkey file sealed under one of ``passphrases``."""
    from securexchange import age

    try:
        return age.decrypt(
            data,
            [age.ScryptIdentity(p, max_work_factor=MAX_WORK_FACTOR) for p in passphrases],
            max_size=MAX_KEY_FILE_BYTES,
        )
    except NotRecipient:
        raise BadPassphrase(
            _("the passphrase does not open the subkey file {file}").format(file=file),
            hint=_("check the passphrase (and --passphrase-file); nothing was changed"),
        ) from None


def change_passphrase(
    home: Home, source: KeySource, new_passphrase: Callable[[], bytes]
) -> Identity:
    """``keys passwd`` in a municipal home: the subkey files, then ``identity.key``."""
    from securexchange.keys import keystore

    def reseal_files(old: bytes, new: bytes, work_factor: int) -> None:
        reseal(home, old, new, work_factor=work_factor)

    return keystore.change_passphrase(home, source, new_passphrase, reseal_also=reseal_files)


def export_age_identity(home: Home, source: KeySource) -> str:
    """``keys export --age`` in a municipal home, whose current subkey has its own file."""
    from securexchange.keys import keystore

    def current() -> str | None:
        recipient = current_recipient(home)
        valid = any(
            s.recipient == recipient and s.valid_from <= home.now < s.valid_until
            for s in listed(home)
        )
        if recipient is None or not valid:
            return None
        return unlock(home, source.passphrase, [recipient])[recipient].to_string()

    return keystore.export_age_identity(home, source, split_out=current)


def reseal(home: Home, old: bytes, new: bytes, *, work_factor: int) -> int:
    """Seal every held subkey file under ``new`` (``keys passwd``); returns how many.

    Called before ``identity.key`` is re-sealed. Each file is replaced atomically; a file
    that ``new`` opens already (a killed earlier run) is left as it is, so running the
    change again with the old passphrase finishes it.
    """
    from securexchange import age
    from securexchange.keys.keyfile import read_private_file

    count = 0
    for subkey in listed(home):
        path = subkey_dir(home) / subkey.file
        if not subkey.held or not path.exists():
            continue
        data = read_private_file(path)
        try:
            plaintext = _open_sealed(data, [old], subkey.file)
        except BadPassphrase:
            _open_sealed(data, [new], subkey.file)  # a killed run sealed it already
            continue
        sealed = age.encrypt(
            plaintext, [age.ScryptRecipient(new, work_factor=work_factor)], armor=True
        )
        atomic_write(path, sealed, mode=0o600)
        count += 1
    return count


def destroy(home: Home, recipient: str) -> str | None:
    """Delete a subkey's file and mark it destroyed (inside the caller's transaction).

    The caller deletes every data key wrapped to it in the same transaction. The file
    is removed first: a crash afterwards leaves a row marked held whose file is gone,
    which :func:`unlock` skips and the next shred marks destroyed. A file that cannot be
    removed does not keep the key: it is marked destroyed all the same (:func:`unlock`
    never reads it again), and :func:`retry_leftovers` tries the file at every shred.
    Returns the file's problem, or None when it is gone.
    """
    # Overwritten before unlinking (useful on plain disks, no guarantee on SSDs and
    # copy-on-write filesystems: docs/threat-model.md). No link below the home is
    # followed: a symlinked subkey file is unlinked, its target left alone (safefs).
    problem = safefs.remove(
        home.paths.root,
        (home.paths.keys.name, SUBKEY_DIR, file_name(recipient)),
        fill=safefs.random_bytes,
    )
    home.db.execute(
        "UPDATE vault_subkeys SET state = 'destroyed', destroyed_at = ? WHERE recipient = ?",
        (format_instant(home.now), recipient),
    )
    return problem


def file_present(home: Home, subkey: HeldSubkey) -> bool:
    return safefs.exists(subkey_dir(home) / subkey.file)


def leftover_files(home: Home) -> list[Path]:
    """Subkey files no held subkey owns: of destroyed subkeys (a removal that failed, or
    a file restored from a backup) and of subkeys the vault does not list (a split cut
    short: ``identity.key`` still holds those secrets and the next split rewrites them).
    """
    directory = subkey_dir(home)
    try:
        names = sorted(entry.name for entry in directory.iterdir())
    except OSError:
        return []
    held = {s.file for s in listed(home) if s.held}
    return [
        directory / name
        for name in names
        if name.startswith("sk-") and name.endswith(".key") and name not in held
    ]


def retry_leftovers(home: Home) -> int:
    """Remove every leftover subkey file; returns how many are still there."""
    return sum(
        safefs.remove(home.paths.root, (home.paths.keys.name, SUBKEY_DIR, path.name)) is not None
        for path in leftover_files(home)
    )
