"""Which keyring version judges a municipality's signed file at the agency.

The version the sender names (it took its signer and recipients from it), as long as it
was issued by the time the file was made; else the version in force then. A signer
removed since is judged by the newest version issued before the file was made.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from securexchange.agency.return_trust import StoredKeyrings
from securexchange.artifacts.keyring import Keyring
from securexchange.artifacts.manifest import Manifest
from securexchange.errors import Future, NotAuthorised, WrongMunicipality
from securexchange.i18n import _


def keyring_for_signer(
    stored: StoredKeyrings,
    party_id: str,
    named_version: int,
    created_at: datetime,
    *,
    signer: str,
    now: datetime | None,
) -> Keyring:
    """With ``now`` (taking a file in; not when reading one kept), also refuses a
    file dated more than a day ahead (Future), and one whose signer the keyring in
    force now no longer lists (NotAuthorised): a person removed cannot backdate a file
    to when they were listed."""
    if now is not None:
        _still_listed(stored, party_id, created_at, signer=signer, now=now)
    found = stored.in_force(party_id, created_at)
    named = stored.version(party_id, named_version)
    if (
        named is not None
        and named.issued_at <= created_at
        and (found is None or named.version > found.version)
    ):
        found = named
    if found is None:
        raise WrongMunicipality(_("the file is for a municipality this agency had not registered"))
    return found


def _still_listed(
    stored: StoredKeyrings, party_id: str, created_at: datetime, *, signer: str, now: datetime
) -> None:
    if created_at > now + timedelta(days=1):
        raise Future(_("the file is dated more than a day in the future"))
    current = stored.in_force(party_id, now)
    entry = None if current is None else current.by_party(party_id)
    listed = set() if entry is None else {p.fingerprint.display for p in entry.recipients}
    if current is not None:
        listed.add(current.agency.export.fingerprint.display)
    if signer not in listed:
        raise NotAuthorised(
            _("the file is signed by someone the keyring in force does not list for it")
        )


class _Named(Protocol):
    """A body that names its party and the keyring version it was made under."""

    @property
    def party_id(self) -> str: ...

    @property
    def keyring_version(self) -> int: ...


def judge_by(
    stored: StoredKeyrings, now: datetime | None, body_of: Callable[[Manifest], _Named]
) -> Callable[[Manifest], Keyring]:
    """The keyring-for-manifest function a verifier takes: :func:`keyring_for_signer`
    for the party and version ``body_of`` reads from the manifest."""

    def keyring_for(manifest: Manifest) -> Keyring:
        body = body_of(manifest)
        return keyring_for_signer(
            stored,
            body.party_id,
            body.keyring_version,
            manifest.created_at,
            signer=manifest.signer,
            now=now,
        )

    return keyring_for
