"""``audit verify`` on the notices the parties send each other, without any key: an
incident notice (signature by a signer the keyring lists, digests, recipients only DPOs
and the signer, at least one DPO of the receiving party, deadlines that follow from the
discovery time) and a written notice or its receipt (signature by the export key or a
person listed for the municipality, the protocol and municipality the keyring names,
an effective day three months after receipt), and a municipality's report of measures
(signature by a person listed for the municipality, addressed to the agency whose
keyring is given, made while the protocol was in force, the people with access those
of the keyring version it names)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from securexchange.artifacts.evidence import check_access, evidence_body, verify_evidence
from securexchange.artifacts.incident import incident_body
from securexchange.artifacts.keyring import Keyring
from securexchange.artifacts.manifest import ArtifactType, Manifest
from securexchange.artifacts.protocol_notice import protocol_notice_body
from securexchange.audit.findings import CHECK_AUTHORISATION, ArtifactReport, finding, from_error
from securexchange.audit.history import KeyringIndex
from securexchange.ending import notices as protocol_notices
from securexchange.errors import NotAuthorised, SxError
from securexchange.incidents import notices as incident_notices

PARTY_NOTICES = (ArtifactType.INCIDENT, ArtifactType.PROTOCOL_NOTICE, ArtifactType.EVIDENCE)


def _keyring(
    index: KeyringIndex, party_id: str, named_version: int, created_at: datetime
) -> Keyring | None:
    # The version the sender named, if issued by then; else the newest one in force.
    named = [
        d.keyring
        for d in index.docs
        if d.keyring.version == named_version
        and d.keyring.issued_at <= created_at
        and d.keyring.by_party(party_id) is not None
    ]
    in_force = index.latest_at(party_id, created_at)
    if named and (in_force is None or named[0].version > in_force[0].version):
        return named[0]
    return None if in_force is None else in_force[0]


def _named(index: KeyringIndex, party_id: str, version: int) -> Keyring | None:
    for doc in index.docs:
        if doc.keyring.version == version and doc.keyring.by_party(party_id) is not None:
            return doc.keyring
    return None


def check_party_notice(
    report: ArtifactReport, data: bytes, manifest: Manifest, index: KeyringIndex
) -> None:
    try:
        if manifest.artifact_type is ArtifactType.INCIDENT:
            body = incident_body(manifest)
            party_id, version = body.party_id, body.keyring_version
        elif manifest.artifact_type is ArtifactType.EVIDENCE:
            evidence = evidence_body(manifest)
            party_id, version = evidence.party_id, evidence.keyring_version
        else:
            notice = protocol_notice_body(manifest)
            party_id, version = notice.party_id, notice.keyring_version
    except SxError as exc:
        report.fail(from_error(exc))
        return
    keyring = _keyring(index, party_id, version, manifest.created_at)
    if keyring is None:
        report.fail(
            finding(
                CHECK_AUTHORISATION,
                NotAuthorised,
                "no keyring among the inputs lists the municipality of the notice or report",
            )
        )
        return
    try:
        if manifest.artifact_type is ArtifactType.INCIDENT:
            incident_notices.verify(data, lambda _m: keyring)
        elif manifest.artifact_type is ArtifactType.EVIDENCE:
            _, evidence = verify_evidence(data, lambda _m: keyring)
            named = _named(index, evidence.party_id, evidence.keyring_version)
            if named is None:
                # Who holds access is judged by the version the report names: without
                # it the report is not verified (the agency's import always has it).
                report.fail(
                    finding(
                        CHECK_AUTHORISATION,
                        NotAuthorised,
                        f"the keyring version {evidence.keyring_version} the report names is "
                        "not among the inputs: add it (agency keyring publish --version N)",
                    )
                )
                return
            check_access(named, evidence)
        else:
            protocol_notices.verify(data, lambda _m: keyring)
    except SxError as exc:
        report.fail(from_error(exc))
        return
    report.verified = True
    report.container_sha256 = hashlib.sha256(data).hexdigest()
