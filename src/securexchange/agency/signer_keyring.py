"""Which keyring version judges a municipality's signed file at the agency.

The version the sender names (it took its signer and recipients from it), as long as it
was issued by the time the file was made; else the version in force then. A signer
removed since is judged by the newest version issued before the file was made.
"""

from __future__ import annotations

from datetime import datetime

from securexchange.agency.return_trust import StoredKeyrings
from securexchange.artifacts.keyring import Keyring
from securexchange.errors import WrongMunicipality
from securexchange.i18n import _


def keyring_for_signer(
    stored: StoredKeyrings, party_id: str, named_version: int, created_at: datetime
) -> Keyring:
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
