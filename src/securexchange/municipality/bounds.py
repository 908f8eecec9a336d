"""Clear-text deadlines bounded by what the agency signed (no passphrase needed).

The vault keeps each row's retention deadline, each package's valid-until and each
subkey's validity in clear, so that shredding can run without a key. Anyone who can
edit the state database can move them; a MAC under a key kept in the home would stop
nobody who can read the home. What such a person cannot forge is the agency's
signature: the vault keeps every live package's signed container (``vault_signed``,
payload still encrypted), and each shredding pass verifies it against the pinned root
key and holds every clear-text column to it:

* the package row (id, container hash, sequence, created-at, import deadline,
  valid-until, protocol, record count) must equal the signed manifest;
* every record's retention deadline must lie within the manifest's signed
  earliest/latest retention;
* a subkey's valid-until may not be later than the validity any signed keyring certifies
  for it: a held root-signed keyring (``municipal_keyrings``), or the keyring view of any
  package whose signature verifies, even one whose row disagrees and is shredded;
* a termination's effective day may not be later than the one in its signed notice
  (``vault_signed_notices``, verified with the export key of a verified keyring) or
  the ``terminated_on`` of a held root-signed keyring (``municipal_keyrings``); a
  termination with neither takes effect at once;
* the home's clock may not be behind a time the home's own records prove it has seen
  (signed created-at less the one-day tolerance, imports, shreddings, destructions).

A package that fails is shredded as ``tampered``; a subkey's validity is cut back to
the signed one. Within the manifest's bounds a deadline can still be moved; ``open``
checks every deadline against the copy sealed inside its row
(:func:`vault.read_rows`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from securexchange.artifacts.container import PinnedSigner, open_without_decryption
from securexchange.artifacts.keyring import Keyring, MunicipalityEntry
from securexchange.artifacts.manifest import ArtifactType
from securexchange.artifacts.package_open import OpenedPackage, PackageTrust, open_package
from securexchange.errors import SxError
from securexchange.home.home import Home
from securexchange.municipality import vault
from securexchange.municipality.subkeys import blob, when
from securexchange.scoped import scoped

# As the importer's: a package may be dated up to a day after the home's clock.
FUTURE_TOLERANCE = timedelta(days=1)


@dataclass(frozen=True)
class Bounds:
    """What the signed copies say about the clear-text columns."""

    tampered: frozenset[str]  # live package ids whose row or records disagree
    subkey_until: dict[str, datetime] = field(default_factory=dict)  # signed valid-until
    floor: datetime | None = None  # the home has seen at least this time
    effective: dict[str, str] = field(default_factory=dict)  # protocol -> latest ISO day
    legacy_over: frozenset[str] = frozenset()  # legacy packages past their bound


class Verified:
    """Signed copies this process has verified, by the SHA-256 of the exact bytes and the
    root key they were verified with (the app: a pass runs before every request).

    Verifying is a pure function of those bytes and that key, so its answer is kept,
    not the check skipped: every pass still reads each copy from the vault, hashes it,
    and holds every clear-text column to what it says. A changed copy is verified anew;
    a refusal is never kept (it is checked again next time). Each pass keeps only what
    it read: a copy the vault no longer holds (a shredded package, with its payload)
    leaves memory, and memory never grows past what the vault holds."""

    def __init__(self) -> None:
        self._packages: dict[tuple[bytes, bytes], OpenedPackage] = {}
        self._keyrings: dict[tuple[bytes, bytes], Keyring] = {}

    def _keep(self, read: Verified) -> None:
        self._packages, self._keyrings = read._packages, read._keyrings


_VERIFIED: ContextVar[Verified | None] = ContextVar("verified_copies", default=None)


def remembering(verified: Verified) -> AbstractContextManager[None]:
    """Within the block (this thread or task only), :func:`check` uses and fills
    ``verified``."""
    return scoped(_VERIFIED, verified)


def _open_signed_package(data: bytes, root_key: bytes, read: Verified) -> OpenedPackage:
    """``data`` verified, or its remembered answer; kept in ``read`` (this pass)."""
    memo = _VERIFIED.get()
    key = (hashlib.sha256(data).digest(), root_key)
    opened = memo._packages.get(key) if memo is not None else None
    if opened is None:
        opened = open_package(data, trust=PackageTrust(root_key), identities=None)
    read._packages[key] = opened
    return opened


def _open_held_keyring(document: bytes, signature: str, root_key: bytes, read: Verified) -> Keyring:
    """The keyring verified, or its remembered answer; kept in ``read`` (this pass)."""
    from securexchange.artifacts.keyring import open_keyring

    memo = _VERIFIED.get()
    # The document's length first: "doc\nsig" must not also read as another split.
    digest = hashlib.sha256(len(document).to_bytes(8, "big") + document)
    digest.update(signature.encode("utf-8", "surrogatepass"))
    key = (digest.digest(), root_key)
    keyring = memo._keyrings.get(key) if memo is not None else None
    if keyring is None:
        keyring = open_keyring(document, signature, root_key, min_version=0)
    read._keyrings[key] = keyring
    return keyring


def _agrees(home: Home, package: vault.PackageRow, opened: OpenedPackage) -> bool:
    body = opened.body
    if (
        opened.package_id != package.package_id
        or opened.container_sha256 != package.sha256
        or body.sequence != package.sequence
        or opened.manifest.created_at != package.created_at
        or body.import_deadline != package.import_deadline
        or body.valid_until != package.valid_until
        or body.protocol_id != package.protocol_id
        or body.records != package.records
    ):
        return False
    if body.earliest_retention is None or body.latest_retention is None:
        outside = vault.record_count(home, package.package_id)
    else:
        outside = int(
            home.db.execute(
                "SELECT COUNT(*) FROM vault_records WHERE package_id = ? "
                "AND (retention < ? OR retention > ?)",
                (
                    package.package_id,
                    body.earliest_retention.isoformat(),
                    body.latest_retention.isoformat(),
                ),
            ).fetchone()[0]
        )
    return outside == 0 and vault.record_count(home, package.package_id) <= body.records


def _seen(home: Home) -> list[datetime]:
    """Times the vault's own rows say this home has seen."""
    found: list[datetime] = []
    for query in (
        "SELECT MAX(imported_at) FROM vault_packages",
        "SELECT MAX(shredded_at) FROM vault_packages",
        "SELECT MAX(destroyed_at) FROM vault_subkeys",
        "SELECT MAX(made_at) FROM vault_edits",
        "SELECT MAX(written_at) FROM vault_workbooks",
    ):
        value = home.db.execute(query).fetchone()[0]
        if value is not None:
            try:
                found.append(when(str(value)))
            except SxError:
                continue  # an edited value: the signed floor still holds
    return found


def check(home: Home) -> Bounds:
    """Verify every live package's signed copy and derive the bounds (reads only)."""
    read = Verified()
    found = _check(home, read)
    if (memo := _VERIFIED.get()) is not None:
        memo._keep(read)
    return found


def _check(home: Home, read: Verified) -> Bounds:
    from securexchange.municipality.enrolment import pinned_root_key

    live = [p for p in vault.packages(home) if p.live]
    seen = _seen(home)
    try:
        root_key: bytes | None = pinned_root_key(home)
    except SxError:
        root_key = None
    held = [] if root_key is None else _held_keyrings(home, root_key, read)
    # A subkey's signed validity holds whatever else in the vault was edited: from every
    # held root-signed keyring, and from every package whose signature verifies, even
    # one whose row disagrees (else editing a record's deadline as well as the subkey's
    # freed the subkey from both).
    until: dict[str, datetime] = {}
    for keyring in held:
        _certified(until, keyring.municipalities)
    _self_certified(until, home, held)
    if not live:
        return Bounds(frozenset(), until, floor=max(seen, default=None))
    if root_key is None:
        # The pinned key was edited or deleted: nothing signed can be verified, so no
        # clear-text deadline can be trusted. Shred (fail closed); refusing instead
        # would stop every pass for as long as the edit stays.
        every = frozenset(p.package_id for p in live)
        return Bounds(every, floor=max(seen, default=None), effective=_unbounded(home))
    tampered: set[str] = set()
    legacy_over: set[str] = set()
    export_keys: set[bytes] = set()
    for package in live:
        data = vault.signed_container(home, package.package_id)
        if data is None:
            bound = vault.legacy_bound(home, package.package_id)
            if bound is not None:
                if bound <= home.now:
                    legacy_over.add(package.package_id)
                continue  # held to its sealed rows at open, and to the bound here
        try:
            if data is None:
                raise LookupError(package.package_id)
            opened = _open_signed_package(data, root_key, read)
        except (SxError, LookupError):
            tampered.add(package.package_id)
            continue
        _certified(until, opened.keyring.municipalities[:1])
        if not _agrees(home, package, opened):
            tampered.add(package.package_id)
            continue
        seen.append(opened.manifest.created_at - FUTURE_TOLERANCE)
        export_keys.add(opened.keyring.agency.export.signing_key)
    floor = max(seen, default=None)
    effective = _effective(home, export_keys, held)
    return Bounds(frozenset(tampered), until, floor, effective, frozenset(legacy_over))


def _unbounded(home: Home) -> dict[str, str]:
    """Every termination takes effect today: no signed copy can vouch for a later day."""
    today = home.now.date().isoformat()
    return {str(r[0]): today for r in home.db.execute("SELECT protocol_id FROM vault_protocols")}


def _held_keyrings(home: Home, root_key: bytes, read: Verified) -> list[Keyring]:
    """Every keyring the home holds whose root signature verifies."""
    found: list[Keyring] = []
    for document, signature in home.db.execute(
        "SELECT document, signature FROM municipal_keyrings"
    ).fetchall():
        try:
            found.append(_open_held_keyring(blob(document), str(signature), root_key, read))
        except SxError:
            continue
    return found


def _certified(until: dict[str, datetime], entries: Iterable[MunicipalityEntry]) -> None:
    """Hold ``until`` to the earliest valid-until any of ``entries`` certifies."""
    for entry in entries:
        for person in entry.recipients:
            for subkey in person.subkeys:
                known = until.get(subkey.recipient)
                until[subkey.recipient] = (
                    subkey.valid_until if known is None else min(known, subkey.valid_until)
                )


def _self_certified(until: dict[str, datetime], home: Home, held: Iterable[Keyring]) -> None:
    """Hold each held subkey that no held keyring lists to the validity its own
    certification states (issue 19: a pre-issued subkey is on no keyring), kept in
    ``vault_subkey_certs`` or, for a home from before that table, on its card; verified
    with the person's signing key as a held root-signed keyring lists it. A subkey with
    no such bound (its certification deleted or edited) reads as long past, as an
    unreadable time does. Nothing is held to anything in a home that holds no keyring,
    or whose person no held keyring lists yet (not registered)."""
    from securexchange.keys.identity import Subkey
    from securexchange.municipality import subkey_certs, subkeys
    from securexchange.municipality.vouched import own_fingerprint, own_identity

    keyrings = list(held)
    if not keyrings:
        return
    card = own_identity(home)
    me = own_fingerprint(home, card)
    keys = {
        p.signing_key
        for k in keyrings
        for e in k.municipalities
        for p in e.recipients
        if me is not None and p.fingerprint.display == me
    }
    if me is not None and len(keys) != 1:
        return  # not registered yet: no signed key to check anything with
    key = next(iter(keys), None)
    kept = {r[0]: r for r in subkey_certs.kept(home)}
    on_card = (
        {s.recipient: s for s in card.subkeys}
        if card is not None and key is not None and card.signing_key == key
        else {}
    )
    for subkey in subkeys.listed(home):
        if not subkey.held or subkey.recipient in until:
            continue
        bound = subkeys.EDITED_TIME
        row = kept.get(subkey.recipient)
        try:
            if key is not None and row is not None:
                record = Subkey(row[0], when(row[1]), when(row[2]), row[3])
                record.verify(key)
                bound = record.valid_until
            elif subkey.recipient in on_card:  # read_card verified its certification
                bound = on_card[subkey.recipient].valid_until
        except (SxError, ValueError):
            pass  # edited: long past
        until[subkey.recipient] = bound


def _keyring_terminations(held: Iterable[Keyring]) -> dict[str, str]:
    """protocol id -> the latest ``terminated_on`` a held, root-signed keyring says."""
    days: dict[str, str] = {}
    for keyring in held:
        for entry in keyring.municipalities:
            if entry.terminated_on is not None:
                day = entry.terminated_on.isoformat()
                days[entry.protocol_id] = max(day, days.get(entry.protocol_id, day))
    return days


def _effective(home: Home, export_keys: set[bytes], held: Iterable[Keyring]) -> dict[str, str]:
    """protocol id -> the latest effective day its signed notice or keyring allows.

    Every termination the home holds a signed copy of counts, whether or not its clear
    ``vault_protocols`` row is still there: deleting the row (or renaming its protocol)
    must not undo a termination. A row with no signed copy takes effect today.
    """
    today = home.now.date().isoformat()
    by_keyring = _keyring_terminations(held)
    by_notice = _notice_days(home, export_keys)
    rows = {str(r[0]) for r in home.db.execute("SELECT protocol_id FROM vault_protocols")}
    found: dict[str, str] = {}
    for protocol_id in rows | set(by_notice) | set(by_keyring):
        signed = [d for d in (by_notice.get(protocol_id), by_keyring.get(protocol_id)) if d]
        found[protocol_id] = max(signed) if signed else today
    return found


def _notice_days(home: Home, export_keys: set[bytes]) -> dict[str, str]:
    """protocol id (as signed) -> effective day, of every held notice that verifies."""
    from securexchange.artifacts.notice import NoticeBody  # a home rarely holds one

    found: dict[str, str] = {}
    for (container,) in home.db.execute("SELECT container FROM vault_signed_notices").fetchall():
        for key in export_keys:
            try:
                verified = open_without_decryption(
                    blob(container),
                    trust=PinnedSigner(key, frozenset({ArtifactType.NOTICE})),
                    accept=(ArtifactType.NOTICE,),
                )
            except SxError:
                continue
            body = verified.manifest.body
            if isinstance(body, NoticeBody):
                day = body.effective.isoformat()
                found[body.protocol_id] = max(day, found.get(body.protocol_id, day))
                break
    return found
