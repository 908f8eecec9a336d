"""``audit verify`` on an incident notice: the checks the receiving party makes, without
any key (signature by a signer the keyring lists, digests, recipients only DPOs and the
signer, at least one DPO of the receiving party, deadlines that follow from the
discovery time)."""

from __future__ import annotations

import hashlib

from securexchange.artifacts.incident import IncidentBody
from securexchange.artifacts.keyring import Keyring
from securexchange.artifacts.manifest import Manifest
from securexchange.audit.findings import CHECK_AUTHORISATION, ArtifactReport, finding, from_error
from securexchange.audit.history import KeyringIndex
from securexchange.errors import NotAuthorised, SxError
from securexchange.incidents.notices import verify


def _keyring(manifest: Manifest, index: KeyringIndex) -> Keyring | None:
    body = manifest.body
    assert isinstance(body, IncidentBody)  # dispatched on the manifest's type
    # The version the sender named, if issued by then; else the newest one in force.
    named = [
        d.keyring
        for d in index.docs
        if d.keyring.version == body.keyring_version
        and d.keyring.issued_at <= manifest.created_at
        and d.keyring.by_party(body.party_id) is not None
    ]
    in_force = index.latest_at(body.party_id, manifest.created_at)
    if named and (in_force is None or named[0].version > in_force[0].version):
        return named[0]
    return None if in_force is None else in_force[0]


def check_incident(
    report: ArtifactReport, data: bytes, manifest: Manifest, index: KeyringIndex
) -> None:
    keyring = _keyring(manifest, index)
    if keyring is None:
        report.fail(
            finding(
                CHECK_AUTHORISATION,
                NotAuthorised,
                "no keyring among the inputs lists the municipality of the incident notice",
            )
        )
        return
    try:
        verify(data, lambda _m: keyring)
    except SxError as exc:
        report.fail(from_error(exc))
        return
    report.verified = True
    report.container_sha256 = hashlib.sha256(data).hexdigest()
