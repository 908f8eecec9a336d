"""``audit verify``: every artifact checked without any decryption key.

The auditor gives files and directories and the agency's root card (pinned out of band).
Every container found (packages, returns, notices) and every keyring document
(``keyring-*.json`` with its ``.sig``, as ``agency keyring publish`` writes them) is
checked on its own, then the set is checked as a whole:

per artifact
    container structure, signature and namespace, signer authorisation under the
    keyring version the artifact names (root-signed by the pinned key; a package
    carries its own view, a return's version must be among the inputs), every member
    digest, recipients within the municipality's authorised recipients and exactly one
    recipient stanza per listed recipient, the protocol active at creation, retention
    deadlines within the protocol, deadlines after creation, and no newer keyring
    version issued before the artifact was made (a rolled-back keyring);
across artifacts
    per municipality the package sequence 1, 2, 3, ... without gaps, duplicates or
    equivocation (two packages with one number), each package naming the id and the
    container hash of its predecessor (the supersede chain); keyring versions
    monotonic in time and one content per version and scope; per signer the return
    sequence likewise.

Recipient stanzas are anonymous: a stanza does not say whom it is for. The count is
checked; *which* keys they are is the agency's signed claim (the body's recipient list),
which only a key holder can confirm by decrypting.

:func:`verify_artifacts` is pure over (name, bytes) pairs; :func:`inputs.collect` is the small
file walker. Nothing here decrypts, and no function takes a decryption key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from types import MappingProxyType

from securexchange import age
from securexchange.artifacts.container import MEMBER_LIMITS, open_without_decryption, read_members
from securexchange.artifacts.keyring import Keyring, open_keyring
from securexchange.artifacts.manifest import MANIFEST, PAYLOAD, ArtifactType, Manifest
from securexchange.artifacts.notice import NoticeBody
from securexchange.artifacts.package import PackageBody
from securexchange.artifacts.package_open import PackageTrust, open_package
from securexchange.artifacts.return_open import ReturnTrust, open_return
from securexchange.artifacts.returns import ReturnBody
from securexchange.artifacts.zipstrict import DEFAULT_LIMITS
from securexchange.audit.findings import (
    ANONYMOUS_STANZAS_NOTE,
    CHECK_AUTHORISATION,
    CHECK_POST_QUANTUM,
    CHECK_READ,
    CHECK_SIGNATURE,
    CHECK_STRUCTURE,
    ArtifactReport,
    AuditReport,
    Skipped,
    finding,
    from_error,
)
from securexchange.audit.history import (
    KeyringIndex,
    check_across_artifacts,
)
from securexchange.audit.inputs import (
    ARTIFACT_SUFFIXES,
    InputFile,
    collect,
    is_container,
    is_keyring_document,
    root_key_from_card,
    sig_name,
)
from securexchange.audit.party_notices import PARTY_NOTICES, check_party_notice
from securexchange.errors import (
    ArtifactError,
    InternalError,
    Malformed,
    NotAuthorised,
    NotPostQuantum,
    SxError,
)
from securexchange.home.atomicio import read_capped
from securexchange.keys.card import MAX_CARD_BYTES


def _check_keyring_document(
    item: InputFile, signature: bytes | None, root_key: bytes, index: KeyringIndex
) -> ArtifactReport:
    report = ArtifactReport(item.name, "keyring")
    assert item.data is not None
    try:
        keyring = Keyring.from_bytes(item.data)
        report.artifact_id = keyring.id
        report.seq = keyring.version
        if keyring.is_view:
            report.municipality = keyring.municipalities[0].nis
            report.party_id = keyring.scope
    except SxError as exc:
        report.fail(from_error(exc))
        return report
    if signature is None:
        report.fail(finding(CHECK_SIGNATURE, Malformed, "the keyring has no .sig file next to it"))
        return report
    try:
        text = signature.decode("ascii")
    except UnicodeDecodeError:
        report.fail(
            finding(CHECK_SIGNATURE, Malformed, "the .sig file is not an armored signature")
        )
        return report
    try:
        verified = open_keyring(item.data, text, root_key, min_version=1)
    except SxError as exc:
        report.fail(from_error(exc))
        return report
    report.created_at = verified.issued_at
    report.keyring_version = verified.version
    report.container_sha256 = hashlib.sha256(item.data).hexdigest()
    report.verified = True
    index.add(verified, item.data, report)
    return report


# --- containers -------------------------------------------------------------------------


def _peek(data: bytes) -> tuple[Manifest, dict[str, bytes]]:
    """The parsed manifest and members of a structurally valid container (no trust yet)."""
    members = read_members(data, limits=DEFAULT_LIMITS)
    if MANIFEST not in members:
        raise Malformed("the container has no manifest")
    try:
        manifest = Manifest.from_json_bytes(members[MANIFEST])
    except SxError as exc:
        if isinstance(exc, ArtifactError):
            raise
        raise Malformed("the container is of a kind this version cannot audit") from None
    return manifest, members


def _salvage_envelope(data: bytes) -> Manifest | None:
    """The manifest of a container whose other members fail their checks, if readable."""
    import io
    import zipfile

    from securexchange.sheets.xlsxguard import DAMAGED_ZIP

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo(MANIFEST)
            if info.file_size > MEMBER_LIMITS[MANIFEST]:
                return None
            return Manifest.from_json_bytes(archive.read(info))
    except (SxError, KeyError, *DAMAGED_ZIP):
        return None


def _fill_envelope(report: ArtifactReport, manifest: Manifest) -> None:
    report.kind = manifest.artifact_type.value
    report.artifact_id = manifest.artifact_id
    report.municipality = manifest.municipality
    report.created_at = manifest.created_at
    report.signer = manifest.signer
    body = manifest.body
    if isinstance(body, PackageBody):
        report.seq = body.sequence
        report.party_id = body.party_id
        report.keyring_version = body.keyring_version
        if body.supersedes is not None:
            report.supersedes = (body.supersedes.package_id, body.supersedes.sha256)
    elif isinstance(body, ReturnBody):
        report.seq = body.sequence
        report.party_id = body.party_id
        report.keyring_version = body.keyring_version
    elif isinstance(body, NoticeBody):
        report.party_id = body.party_id


def _check_package(
    report: ArtifactReport,
    data: bytes,
    root_key: bytes,
    index: KeyringIndex,
    terminations: Mapping[str, date] | None = None,
) -> None:
    """The municipal import's own verification (:func:`open_package`) without a key.

    Run once before the notices are known (the package's keyring view joins the index),
    and again with the verified notices for a package whose protocol one terminates.
    """
    trust = PackageTrust(root_key, terminations=tuple((terminations or {}).items()))
    try:
        opened = open_package(data, trust=trust, identities=None)
    except SxError as exc:
        report.verified = False
        report.fail(from_error(exc))
        return
    report.verified = True
    report.container_sha256 = opened.container_sha256
    report.protocol_id = opened.body.protocol_id
    index.add(opened.keyring, opened.keyring_data, None)


def _check_return(
    report: ArtifactReport, data: bytes, index: KeyringIndex, terminations: Mapping[str, date]
) -> None:
    """The agency's own verification (:func:`open_return`), with what the auditor knows:
    the keyrings and notices among the inputs, and no moment of receipt."""
    trust = ReturnTrust(keyrings=index, terminations=MappingProxyType(dict(terminations)))
    try:
        opened = open_return(data, trust=trust, identities=None)
    except SxError as exc:
        report.fail(from_error(exc))
        return
    report.verified = True
    report.container_sha256 = opened.container_sha256


def _check_notice(
    report: ArtifactReport, data: bytes, manifest: Manifest, index: KeyringIndex
) -> None:
    """A notice signed by the export key of the keyring in force when it was made, for
    a municipality and protocol that keyring lists."""
    body = manifest.body
    if not isinstance(body, NoticeBody):  # the caller dispatched on the manifest's type
        raise InternalError("a notice check was given another artifact")
    keyring = index.latest_any_at(manifest.created_at)
    if keyring is None:
        report.fail(
            finding(
                CHECK_AUTHORISATION,
                NotAuthorised,
                "no keyring issued before the notice is among the inputs to certify its signer",
            )
        )
        return
    export_key = keyring.agency.export.signing_key

    class _Signer:
        def signer_key(self, manifest: Manifest, embedded_key: bytes) -> bytes:
            return export_key

    try:
        open_without_decryption(data, trust=_Signer(), accept=(ArtifactType.NOTICE,))
    except SxError as exc:
        report.fail(from_error(exc))
        return
    report.verified = True
    report.container_sha256 = hashlib.sha256(data).hexdigest()
    found = index.latest_at(body.party_id, manifest.created_at)
    if found is None:
        report.fail(
            finding(
                CHECK_AUTHORISATION,
                NotAuthorised,
                "no keyring among the inputs lists the municipality the notice terminates",
            )
        )
        return
    entry = found[1]
    if (
        entry.nis != body.nis
        or body.nis != manifest.municipality
        or entry.protocol_id != body.protocol_id
    ):
        report.fail(
            finding(
                CHECK_STRUCTURE,
                Malformed,
                "the notice names another municipality or protocol than the keyring",
            )
        )
    # A notice taking effect before the protocol began cancels it: nothing may be
    # shared under it (as allowed_signers says); the agency signs such notices.


def _recipient_types(payload: bytes) -> tuple[tuple[str, int], ...] | None:
    """Stanza types and counts of an age header, read without a key (None if it does
    not parse: the artifact's own checks say why)."""
    try:
        stanzas = age.parse_header(payload).stanzas
    except SxError:
        return None
    counts: dict[str, int] = {}
    for stanza in stanzas:
        counts[stanza.type] = counts.get(stanza.type, 0) + 1
    return tuple(counts.items())


def _check_container(
    item: InputFile, root_key: bytes, index: KeyringIndex
) -> tuple[ArtifactReport, Manifest | None]:
    assert item.data is not None
    report = ArtifactReport(item.name, "unknown")
    report.container_sha256 = hashlib.sha256(item.data).hexdigest()
    try:
        manifest, members = _peek(item.data)
    except SxError as exc:
        report.fail(from_error(exc))
        salvaged = _salvage_envelope(item.data)
        if salvaged is not None:
            # Unverified: used only to say which number this failed file occupies, so
            # that its successor is not also reported as following a gap.
            _fill_envelope(report, salvaged)
        return report, None
    _fill_envelope(report, manifest)
    if PAYLOAD in members:
        report.recipient_types = _recipient_types(members[PAYLOAD])
    if manifest.artifact_type is ArtifactType.PACKAGE:
        _check_package(report, item.data, root_key, index)
    return report, manifest


# --- the whole audit --------------------------------------------------------------------


REQUIRE_PQ_NOTE = (
    "--require-pq judges packages and returns (keyrings and notices carry no encrypted "
    "data); signatures stay Ed25519 (docs/threat-model.md, post-quantum)"
)


def verify_artifacts(
    files: Sequence[InputFile], root_key: bytes, *, require_pq: bool = False
) -> AuditReport:
    """Check every artifact among ``files`` against the pinned ``root_key``. Pure.

    With ``require_pq``, a package or return whose payload has any recipient stanza that
    is not hybrid post-quantum fails too (SX-NOT-POST-QUANTUM): a copy captured today
    would open to whoever later breaks X25519.
    """
    by_name = {f.name: f for f in files}
    index = KeyringIndex()
    reports: list[ArtifactReport] = []
    skipped: list[Skipped] = []
    pending: list[tuple[ArtifactReport, InputFile, Manifest]] = []
    packages_seen: list[tuple[ArtifactReport, InputFile]] = []
    consumed: set[str] = set()
    for item in files:
        if item.name.endswith(".json") and item.data is not None and is_keyring_document(item):
            consumed.add(sig_name(item.name))
    for item in files:
        if item.name in consumed:
            continue
        if item.data is None:
            if item.name.lower().endswith(ARTIFACT_SUFFIXES):
                report = ArtifactReport(item.name, "unknown")
                report.fail(finding(CHECK_READ, Malformed, item.problem or "unreadable"))
                reports.append(report)
            else:
                skipped.append(Skipped(item.name, item.problem or "unreadable"))
            continue
        if is_keyring_document(item):
            sig = by_name.get(sig_name(item.name))
            reports.append(
                _check_keyring_document(item, sig.data if sig else None, root_key, index)
            )
        elif is_container(item):
            report, manifest = _check_container(item, root_key, index)
            reports.append(report)
            if manifest is not None and manifest.artifact_type is ArtifactType.PACKAGE:
                packages_seen.append((report, item))
            if manifest is not None and manifest.artifact_type in (
                ArtifactType.RETURN,
                ArtifactType.NOTICE,
                *PARTY_NOTICES,
            ):
                pending.append((report, item, manifest))
            elif manifest is not None and manifest.artifact_type is ArtifactType.KEYRING:
                report.fail(
                    finding(CHECK_STRUCTURE, Malformed, "keyring containers are not audited here")
                )
        else:
            skipped.append(Skipped(item.name, "not a securexchange artifact"))
    _check_after_keyrings(pending, packages_seen, root_key, index)

    check_across_artifacts(reports, index)

    notes = [ANONYMOUS_STANZAS_NOTE] if any(r.kind == "package" for r in reports) else []
    if require_pq:
        _require_post_quantum(reports)
        notes.append(REQUIRE_PQ_NOTE)
    return AuditReport(tuple(reports), tuple(skipped), tuple(notes))


def _require_post_quantum(reports: Sequence[ArtifactReport]) -> None:
    for report in reports:
        if report.kind not in (ArtifactType.PACKAGE.value, ArtifactType.RETURN.value):
            continue
        if report.post_quantum_only:
            continue
        why = (
            "the payload's recipients could not be read"
            if not report.recipient_types
            else f"the payload is encrypted to {report.recipients_shown}, not to hybrid "
            "post-quantum recipients only"
        )
        report.fail(finding(CHECK_POST_QUANTUM, NotPostQuantum, why))


def _check_after_keyrings(
    pending: Sequence[tuple[ArtifactReport, InputFile, Manifest]],
    packages_seen: Sequence[tuple[ArtifactReport, InputFile]],
    root_key: bytes,
    index: KeyringIndex,
) -> None:
    # Returns and notices need the keyrings of every package and document first, and
    # returns the verified notices: a notice is authoritative before any keyring
    # version records the termination (as it is for the agency's import).
    terminations: dict[str, date] = {}
    for report, item, manifest in pending:
        assert item.data is not None
        body = manifest.body
        if isinstance(body, NoticeBody):
            _check_notice(report, item.data, manifest, index)
            if report.ok and report.verified:
                known = terminations.get(body.protocol_id)
                if known is None or body.effective < known:
                    terminations[body.protocol_id] = body.effective
    for report, item, manifest in pending:
        assert item.data is not None
        if manifest.artifact_type is ArtifactType.RETURN:
            _check_return(report, item.data, index, terminations)
        elif manifest.artifact_type in PARTY_NOTICES:
            check_party_notice(report, item.data, manifest, index)
    for report, item in packages_seen:
        if report.verified and report.protocol_id in terminations:
            assert item.data is not None
            _check_package(report, item.data, root_key, index, terminations)


def audit_paths(
    paths: Sequence[Path], agency_card: Path, *, require_pq: bool = False
) -> AuditReport:
    """Read ``agency_card`` and every file under ``paths``, and verify them."""
    card_data = read_capped(agency_card, limit=MAX_CARD_BYTES, what="agency key card")
    root_key = root_key_from_card(card_data)
    return verify_artifacts(collect(paths), root_key, require_pq=require_pq)
