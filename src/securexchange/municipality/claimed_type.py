"""Which file ``municipality import`` was given: the type an unsigned manifest claims,
before any verification, so the right one applies and any other kind is named with the
command that takes it."""

from __future__ import annotations

from securexchange import strictjson
from securexchange.artifacts.container import ReadContainer
from securexchange.artifacts.manifest import (
    FORMAT_FAMILY,
    FORMAT_VERSION,
    MANIFEST,
    MAX_MANIFEST_SIZE,
    ArtifactType,
    claimed_what,
)
from securexchange.errors import Malformed, WrongKind
from securexchange.formatversion import refuse_newer
from securexchange.i18n import N_, _


def claimed_type(read: ReadContainer, name: str) -> ArtifactType:
    """The type an unsigned manifest claims, and nothing else of it: which verification
    applies. Every other field is read only by that verification, after the signature."""
    members = read.members
    if MANIFEST not in members:
        raise Malformed(_("{file} has no manifest").format(file=name))
    refuse_newer(
        members[MANIFEST],
        family=FORMAT_FAMILY,
        known=FORMAT_VERSION,
        what=claimed_what(members[MANIFEST]),
        max_bytes=MAX_MANIFEST_SIZE,
    )
    value = strictjson.loads(members[MANIFEST], what="manifest.json", max_bytes=MAX_MANIFEST_SIZE)
    claimed = value.get("type") if isinstance(value, dict) else None
    try:
        kind = ArtifactType(str(claimed))
    except ValueError:
        raise Malformed(
            _("{file}: manifest.json has no known artifact type").format(file=name)
        ) from None
    if kind not in (ArtifactType.PACKAGE, ArtifactType.NOTICE):
        raise WrongKind(_(_NOT_FOR_A_MUNICIPALITY[kind]).format(file=name))
    return kind


_NOT_FOR_A_MUNICIPALITY = {
    ArtifactType.RETURN: N_(
        "{file} is a return, not a package, keyring or notice for a municipality"
    ),
    ArtifactType.KEYRING: N_(
        "{file} is a keyring container, not a package, keyring or notice for a municipality"
    ),
    ArtifactType.INCIDENT: N_(
        "{file} is an incident notice: take it in with 'municipality incident import'"
    ),
    ArtifactType.PROTOCOL_NOTICE: N_(
        "{file} is a written notice of the protocol: take it in with 'municipality notice import'"
    ),
    ArtifactType.EVIDENCE: N_(
        "{file} is a report of measures, for the agency: 'agency evidence import' takes it in"
    ),
}
