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

:func:`verify_artifacts` is pure over (name, bytes) pairs; :func:`collect` is the small
file walker. Nothing here decrypts, and no function takes a decryption key.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType

from securexchange import age
from securexchange.artifacts.container import MEMBER_LIMITS, open_without_decryption, read_members
from securexchange.artifacts.keyring import Keyring, MunicipalityEntry, open_keyring
from securexchange.artifacts.manifest import MANIFEST, ArtifactType, Manifest
from securexchange.artifacts.notice import NoticeBody
from securexchange.artifacts.package import PackageBody, PackageTrust, open_package
from securexchange.artifacts.returns import ReturnBody, ReturnTrust, open_return
from securexchange.artifacts.zipstrict import DEFAULT_LIMITS
from securexchange.errors import (
    ArtifactError,
    BadSignature,
    Equivocation,
    InternalError,
    Malformed,
    NotAuthorised,
    ProtocolInactive,
    Rollback,
    SxError,
    Tampered,
    all_error_classes,
)
from securexchange.home.atomicio import read_capped
from securexchange.keys.card import MAX_CARD_BYTES, read_card
from securexchange.keys.identity import ROLE_ROOT

ZIP_MAGIC = b"PK\x03\x04"
# Names securexchange gives its containers; a file with one of these is judged as an
# artifact even when its first bytes were damaged (so it fails instead of being skipped).
ARTIFACT_SUFFIXES = (".zip", ".sxpkg", ".sxr", ".sxntc", ".sxn", ".sxp")
# Any keyring format: a newer one is then refused with its own message, not skipped.
KEYRING_MAGIC = b'"format": "securexchange-keyring/'
MAX_FILE_BYTES = DEFAULT_LIMITS.max_total_size
MAX_FILES = 100_000


class _TooLarge(ArtifactError):
    """A file too large to be any artifact (reported as such, not raised to the user)."""


ANONYMOUS_STANZAS_NOTE = (
    f"{' and '.join(age.public_stanza_types())} recipient stanzas are anonymous: the check "
    "proves how many keys a payload is encrypted to, not which; the recipient list is the "
    "agency's signed claim, which only a key holder can confirm by decrypting"
)

# The check names used in findings (what failed).
CHECK_READ = "read"
CHECK_STRUCTURE = "structure"
CHECK_SIGNATURE = "signature"
CHECK_AUTHORISATION = "authorisation"
CHECK_DIGESTS = "payload hash"
CHECK_PROTOCOL = "protocol active"
CHECK_KEYRING_VERSION = "keyring version"
CHECK_SEQUENCE = "sequence"
CHECK_SUPERSEDES = "supersede chain"
CHECK_DUPLICATE = "duplicate"
CHECK_EQUIVOCATION = "equivocation"

_CHECK_OF_ERROR = {
    Malformed.name: CHECK_STRUCTURE,
    Tampered.name: CHECK_DIGESTS,
    BadSignature.name: CHECK_SIGNATURE,
    NotAuthorised.name: CHECK_AUTHORISATION,
    Rollback.name: CHECK_KEYRING_VERSION,
    ProtocolInactive.name: CHECK_PROTOCOL,
}


# --- the report -------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One failed check: which check, the error name it corresponds to, and why."""

    check: str
    error: str
    why: str

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "error": self.error, "why": self.why}


def _finding(check: str, error: type[SxError] | SxError, why: str | None = None) -> Finding:
    if isinstance(error, SxError):
        return Finding(check, error.name, why if why is not None else error.message)
    return Finding(check, error.name, why or "")


def _from_error(error: SxError) -> Finding:
    return Finding(_CHECK_OF_ERROR.get(error.name, CHECK_STRUCTURE), error.name, error.message)


@dataclass
class ArtifactReport:
    """What one input file is and which of its checks failed."""

    file: str
    kind: str  # package, return, notice, keyring, or "unknown" when not even parsed
    artifact_id: str | None = None
    municipality: str | None = None  # NIS code
    seq: int | None = None
    findings: list[Finding] = field(default_factory=list)
    # Facts for the cross-artifact checks (not printed).
    created_at: datetime | None = None
    container_sha256: str | None = None
    party_id: str | None = None
    signer: str | None = None
    keyring_version: int | None = None
    supersedes: tuple[str, str] | None = None
    protocol_id: str | None = None
    verified: bool = False

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def result(self) -> str:
        return "ok" if self.ok else "FAILED"

    def fail(self, finding: Finding) -> None:
        if finding not in self.findings:
            self.findings.append(finding)

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "type": self.kind,
            "id": self.artifact_id,
            "municipality": self.municipality,
            "seq": self.seq,
            "result": self.result,
            "failures": [f.to_json() for f in self.findings],
        }


@dataclass(frozen=True)
class Skipped:
    file: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"file": self.file, "reason": self.reason}


@dataclass(frozen=True)
class AuditReport:
    artifacts: tuple[ArtifactReport, ...]
    skipped: tuple[Skipped, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.artifacts)

    @property
    def failed(self) -> tuple[ArtifactReport, ...]:
        return tuple(a for a in self.artifacts if not a.ok)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "artifacts": [a.to_json() for a in self.artifacts],
            "skipped": [s.to_json() for s in self.skipped],
            "notes": list(self.notes),
        }

    def require_ok(self) -> None:
        """Raise an ArtifactError of the first failure's name unless everything passed."""
        failed = self.failed
        if not failed:
            return
        first = failed[0]
        finding = first.findings[0]
        error_type = _ERROR_BY_NAME.get(finding.error, Malformed)
        raise error_type(
            f"{len(failed)} of {len(self.artifacts)} artifacts failed verification "
            f"(first: {first.file}: {finding.check})",
            hint="a changed, forged or missing artifact is a security incident: "
            "report it within 48 hours (protocol art. 6)",
        )


_ERROR_BY_NAME: dict[str, type[SxError]] = {
    cls.name: cls for cls in all_error_classes() if issubclass(cls, ArtifactError)
}


# --- inputs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InputFile:
    """One file given to the auditor: its display name and bytes (``None``: unreadable)."""

    name: str
    data: bytes | None
    problem: str | None = None


def _walk(path: Path) -> Iterable[Path]:
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and not child.is_symlink():
                yield child
    else:
        yield path


def collect(paths: Sequence[Path]) -> list[InputFile]:
    """Every regular file under ``paths`` (directories recursively), in sorted order.

    Files larger than a container may be are not read (they are judged by their name
    alone). Raises nothing for unreadable files: they are reported.
    """
    files: list[InputFile] = []
    seen: set[Path] = set()
    for root in paths:
        for path in _walk(root):
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            if len(files) >= MAX_FILES:
                break
            # Capped, and only regular files: /dev/zero or a FIFO named on the command
            # line must not stall the audit of a whole directory.
            try:
                data = read_capped(path, limit=MAX_FILE_BYTES, what="file", too_large=_TooLarge)
            except _TooLarge:
                files.append(InputFile(str(path), None, "the file is larger than any artifact"))
            except SxError:
                files.append(InputFile(str(path), None, "the file cannot be read"))
            else:
                files.append(InputFile(str(path), data))
    return files


def root_key_from_card(data: bytes) -> bytes:
    """The agency root key from its card (the one municipalities pin). Raises
    Malformed/BadSignature for a bad card and NotAuthorised for another key's card."""
    card = read_card(data)
    if card.owner.role != ROLE_ROOT or not card.owner.is_agency:
        raise NotAuthorised(
            "the --agency-key card is not the agency's root key card",
            hint="use root.card.json from 'agency keyring publish' (fingerprint checked by phone)",
        )
    return card.identity.signing_key


def _is_container(item: InputFile) -> bool:
    assert item.data is not None
    return item.data.startswith(ZIP_MAGIC) or item.name.lower().endswith(ARTIFACT_SUFFIXES)


def _is_keyring_document(item: InputFile) -> bool:
    assert item.data is not None
    return item.name.endswith(".json") and (
        KEYRING_MAGIC in item.data[:4096] or Path(item.name).name.startswith("keyring-")
    )


def _sig_name(json_name: str) -> str:
    return json_name[: -len(".json")] + ".sig"


# --- keyrings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _KeyringDoc:
    keyring: Keyring
    sha256: str
    report: ArtifactReport | None  # the standalone document's report; None when embedded


class _KeyringIndex:
    """Every root-verified keyring document among the inputs (standalone or embedded)."""

    def __init__(self) -> None:
        self.docs: list[_KeyringDoc] = []

    def add(self, keyring: Keyring, data: bytes, report: ArtifactReport | None) -> None:
        digest = hashlib.sha256(data).hexdigest()
        if any(d.sha256 == digest and d.report is report for d in self.docs):
            return
        self.docs.append(_KeyringDoc(keyring, digest, report))

    def entry(self, party_id: str, version: int) -> tuple[Keyring, MunicipalityEntry] | None:
        """The municipality's entry in keyring ``version`` (full keyring or its view)."""
        for doc in self.docs:
            entry = doc.keyring.by_party(party_id)
            if doc.keyring.version == version and entry is not None:
                return doc.keyring, entry
        return None

    # KnownKeyrings (securexchange.artifacts.returns), for open_return.
    def version(self, party_id: str, version: int) -> Keyring | None:
        found = self.entry(party_id, version)
        return None if found is None else found[0]

    def in_force(self, party_id: str, moment: datetime) -> Keyring | None:
        found = self.latest_at(party_id, moment)
        return None if found is None else found[0]

    def newest_version(self) -> int:
        return max((d.keyring.version for d in self.docs), default=0)

    def latest_at(
        self, party_id: str, moment: datetime
    ) -> tuple[Keyring, MunicipalityEntry] | None:
        """The newest version holding the municipality issued at or before ``moment``."""
        docs = [d for d in self._issued_by(moment) if d.keyring.by_party(party_id) is not None]
        if not docs:
            return None
        newest = max(docs, key=lambda d: d.keyring.version)
        entry = newest.keyring.by_party(party_id)
        assert entry is not None
        return newest.keyring, entry

    def latest_any_at(self, moment: datetime) -> Keyring | None:
        docs = self._issued_by(moment)
        return max(docs, key=lambda d: d.keyring.version).keyring if docs else None

    def _issued_by(self, moment: datetime) -> list[_KeyringDoc]:
        """The documents in force at ``moment``: issued strictly before it, since times
        are whole seconds and within one second the order is unknown (the artifact gets
        the benefit of the doubt against a same-second change); only when none was
        issued before, the oldest version issued in that same second (the artifact may
        have been made before every later change of that second)."""
        before = [d for d in self.docs if d.keyring.issued_at < moment]
        if before:
            return before
        same = [d for d in self.docs if d.keyring.issued_at == moment]
        return [min(same, key=lambda d: d.keyring.version)] if same else []


def _check_keyring_document(
    item: InputFile, signature: bytes | None, root_key: bytes, index: _KeyringIndex
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
        report.fail(_from_error(exc))
        return report
    if signature is None:
        report.fail(_finding(CHECK_SIGNATURE, Malformed, "the keyring has no .sig file next to it"))
        return report
    try:
        text = signature.decode("ascii")
    except UnicodeDecodeError:
        report.fail(
            _finding(CHECK_SIGNATURE, Malformed, "the .sig file is not an armored signature")
        )
        return report
    try:
        verified = open_keyring(item.data, text, root_key, min_version=1)
    except SxError as exc:
        report.fail(_from_error(exc))
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
    index: _KeyringIndex,
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
        report.fail(_from_error(exc))
        return
    report.verified = True
    report.container_sha256 = opened.container_sha256
    report.protocol_id = opened.body.protocol_id
    index.add(opened.keyring, opened.keyring_data, None)


def _check_return(
    report: ArtifactReport, data: bytes, index: _KeyringIndex, terminations: Mapping[str, date]
) -> None:
    """The agency's own verification (:func:`open_return`), with what the auditor knows:
    the keyrings and notices among the inputs, and no moment of receipt."""
    trust = ReturnTrust(keyrings=index, terminations=MappingProxyType(dict(terminations)))
    try:
        opened = open_return(data, trust=trust, identities=None)
    except SxError as exc:
        report.fail(_from_error(exc))
        return
    report.verified = True
    report.container_sha256 = opened.container_sha256


def _check_notice(
    report: ArtifactReport, data: bytes, manifest: Manifest, index: _KeyringIndex
) -> None:
    """A notice signed by the export key of the keyring in force when it was made, for
    a municipality and protocol that keyring lists."""
    body = manifest.body
    if not isinstance(body, NoticeBody):  # the caller dispatched on the manifest's type
        raise InternalError("a notice check was given another artifact")
    keyring = index.latest_any_at(manifest.created_at)
    if keyring is None:
        report.fail(
            _finding(
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
        report.fail(_from_error(exc))
        return
    report.verified = True
    report.container_sha256 = hashlib.sha256(data).hexdigest()
    found = index.latest_at(body.party_id, manifest.created_at)
    if found is None:
        report.fail(
            _finding(
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
            _finding(
                CHECK_STRUCTURE,
                Malformed,
                "the notice names another municipality or protocol than the keyring",
            )
        )
    # A notice taking effect before the protocol began cancels it: nothing may be
    # shared under it (as allowed_signers says); the agency signs such notices.


def _check_container(
    item: InputFile, root_key: bytes, index: _KeyringIndex
) -> tuple[ArtifactReport, Manifest | None]:
    assert item.data is not None
    report = ArtifactReport(item.name, "unknown")
    report.container_sha256 = hashlib.sha256(item.data).hexdigest()
    try:
        manifest, _ = _peek(item.data)
    except SxError as exc:
        report.fail(_from_error(exc))
        salvaged = _salvage_envelope(item.data)
        if salvaged is not None:
            # Unverified: used only to say which number this failed file occupies, so
            # that its successor is not also reported as following a gap.
            _fill_envelope(report, salvaged)
        return report, None
    _fill_envelope(report, manifest)
    if manifest.artifact_type is ArtifactType.PACKAGE:
        _check_package(report, item.data, root_key, index)
    return report, manifest


# --- across artifacts -------------------------------------------------------------------


def _check_sequences(group: list[ArtifactReport], what: str, *, chain: bool) -> None:
    """Sequence 1, 2, ... without gaps, duplicates or equivocation (and for packages the
    supersede chain: each names its predecessor's id and container hash)."""
    present: dict[int, list[ArtifactReport]] = defaultdict(list)
    by_seq: dict[int, list[ArtifactReport]] = defaultdict(list)
    for report in group:
        assert report.seq is not None
        present[report.seq].append(report)
        if report.verified:
            by_seq[report.seq].append(report)
    present, by_seq = dict(present), dict(by_seq)  # no more keys made by reading
    # Duplicates: the very same artifact given twice (same id, same bytes).
    for reports in by_seq.values():
        first_by_hash: dict[str, ArtifactReport] = {}
        for report in reports:
            assert report.container_sha256 is not None
            earlier = first_by_hash.get(report.container_sha256)
            if earlier is None:
                first_by_hash[report.container_sha256] = report
            else:
                report.fail(
                    _finding(
                        CHECK_DUPLICATE,
                        Rollback,
                        f"the same {what} as {Path(earlier.file).name} (a replayed copy)",
                    )
                )
    successors: dict[int, list[ArtifactReport]] = by_seq
    for seq, reports in sorted(by_seq.items()):
        distinct = {r.container_sha256: r for r in reports}
        if len(distinct) > 1:
            named: set[str] = set()
            if chain:
                for successor in successors.get(seq + 1, []):
                    if successor.supersedes is not None:
                        named.add(successor.supersedes[1])
            genuine = named & set(distinct)
            for digest, report in distinct.items():
                if genuine and digest in genuine:
                    continue
                report.fail(
                    _finding(
                        CHECK_EQUIVOCATION,
                        Equivocation,
                        f"another {what} has the same sequence number {seq} with other content",
                    )
                )
    for seq in sorted(present):
        if seq > 1 and seq - 1 not in present:
            for report in present[seq]:
                report.fail(
                    _finding(
                        CHECK_SEQUENCE,
                        Rollback,
                        f"{what} number {seq - 1} is missing before this one (a gap)",
                    )
                )
        if chain and seq > 1 and seq - 1 in by_seq:
            predecessors = {r.artifact_id: r for r in by_seq[seq - 1]}
            hashes = {r.container_sha256 for r in by_seq[seq - 1]}
            for report in by_seq.get(seq, []):
                if report.supersedes is None:
                    continue
                pid, digest = report.supersedes
                if pid not in predecessors or digest not in hashes:
                    report.fail(
                        _finding(
                            CHECK_SUPERSEDES,
                            Tampered,
                            "the predecessor it names (id and SHA-256) is not the "
                            f"{what} with number {seq - 1}",
                        )
                    )


def _check_keyring_versions(reports: list[ArtifactReport], index: _KeyringIndex) -> None:
    """One content per version and scope (standalone and embedded documents alike), a
    view that agrees with the full keyring of its version, and versions issued in
    increasing time."""
    docs: dict[tuple[int, str], set[str]] = defaultdict(set)
    for doc in index.docs:
        docs[(doc.keyring.version, doc.keyring.scope)].add(doc.sha256)
    full = {d.keyring.version: d.keyring for d in index.docs if not d.keyring.is_view}
    for report in reports:
        assert report.keyring_version is not None
        scope = report.party_id or "full"
        if len(docs[(report.keyring_version, scope)]) > 1:
            report.fail(
                _finding(
                    CHECK_EQUIVOCATION,
                    Equivocation,
                    f"another keyring document of version {report.keyring_version} "
                    "for the same scope has other content",
                )
            )
        whole = full.get(report.keyring_version)
        if report.party_id is not None and whole is not None:
            view = next(d.keyring for d in index.docs if d.report is report).by_party(
                report.party_id
            )
            if view != whole.by_party(report.party_id):
                report.fail(
                    _finding(
                        CHECK_EQUIVOCATION,
                        Equivocation,
                        "the view differs from the full keyring of the same version",
                    )
                )
    for report in reports:
        assert report.created_at is not None and report.keyring_version is not None
        for other in reports:
            assert other.created_at is not None and other.keyring_version is not None
            if (
                other.keyring_version < report.keyring_version
                and other.created_at > report.created_at
            ):
                other.fail(
                    _finding(
                        CHECK_KEYRING_VERSION,
                        Rollback,
                        f"version {other.keyring_version} was issued after version "
                        f"{report.keyring_version} (versions go back)",
                    )
                )


def _check_package_keyrings(packages: list[ArtifactReport], index: _KeyringIndex) -> None:
    """A package carries the newest keyring version issued before it, and versions never
    go back along a municipality's sequence."""
    for report in packages:
        assert report.party_id is not None and report.created_at is not None
        assert report.keyring_version is not None
        newest = index.latest_at(report.party_id, report.created_at)
        if newest is not None and newest[0].version > report.keyring_version:
            report.fail(
                _finding(
                    CHECK_KEYRING_VERSION,
                    Rollback,
                    f"it carries keyring version {report.keyring_version} although version "
                    f"{newest[0].version} was issued before it was made",
                )
            )
    by_hash = {r.container_sha256: r for r in packages}
    for report in packages:
        assert report.keyring_version is not None
        predecessor = by_hash.get(report.supersedes[1]) if report.supersedes else None
        if predecessor is not None and report.keyring_version < (predecessor.keyring_version or 0):
            report.fail(
                _finding(
                    CHECK_KEYRING_VERSION,
                    Rollback,
                    "it carries an older keyring version than the package it supersedes",
                )
            )


# --- the whole audit --------------------------------------------------------------------


def verify_artifacts(files: Sequence[InputFile], root_key: bytes) -> AuditReport:
    """Check every artifact among ``files`` against the pinned ``root_key``. Pure."""
    by_name = {f.name: f for f in files}
    index = _KeyringIndex()
    reports: list[ArtifactReport] = []
    skipped: list[Skipped] = []
    pending: list[tuple[ArtifactReport, InputFile, Manifest]] = []
    packages_seen: list[tuple[ArtifactReport, InputFile]] = []
    consumed: set[str] = set()
    for item in files:
        if item.name.endswith(".json") and item.data is not None and _is_keyring_document(item):
            consumed.add(_sig_name(item.name))
    for item in files:
        if item.name in consumed:
            continue
        if item.data is None:
            if item.name.lower().endswith(ARTIFACT_SUFFIXES):
                report = ArtifactReport(item.name, "unknown")
                report.fail(_finding(CHECK_READ, Malformed, item.problem or "unreadable"))
                reports.append(report)
            else:
                skipped.append(Skipped(item.name, item.problem or "unreadable"))
            continue
        if _is_keyring_document(item):
            sig = by_name.get(_sig_name(item.name))
            reports.append(
                _check_keyring_document(item, sig.data if sig else None, root_key, index)
            )
        elif _is_container(item):
            report, manifest = _check_container(item, root_key, index)
            reports.append(report)
            if manifest is not None and manifest.artifact_type is ArtifactType.PACKAGE:
                packages_seen.append((report, item))
            if manifest is not None and manifest.artifact_type in (
                ArtifactType.RETURN,
                ArtifactType.NOTICE,
            ):
                pending.append((report, item, manifest))
            elif manifest is not None and manifest.artifact_type is ArtifactType.KEYRING:
                report.fail(
                    _finding(CHECK_STRUCTURE, Malformed, "keyring containers are not audited here")
                )
        else:
            skipped.append(Skipped(item.name, "not a securexchange artifact"))
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
    for report, item in packages_seen:
        if report.verified and report.protocol_id in terminations:
            assert item.data is not None
            _check_package(report, item.data, root_key, index, terminations)

    # A file that failed its own checks still occupies its sequence number (it is
    # flagged already); only verified ones take part in the content comparisons.
    verified = [r for r in reports if r.verified]
    packages: dict[str, list[ArtifactReport]] = defaultdict(list)
    returns: dict[str, list[ArtifactReport]] = defaultdict(list)
    for report in reports:
        if report.seq is None:
            continue
        if report.kind == ArtifactType.PACKAGE.value and report.party_id is not None:
            packages[report.party_id].append(report)
        elif report.kind == ArtifactType.RETURN.value and report.signer is not None:
            returns[report.signer].append(report)
    for group in packages.values():
        _check_sequences(group, "package", chain=True)
        _check_package_keyrings([r for r in group if r.verified], index)
    for group in returns.values():
        _check_sequences(group, "return", chain=False)
    _check_keyring_versions([r for r in verified if r.kind == "keyring"], index)

    notes = [ANONYMOUS_STANZAS_NOTE] if any(r.kind == "package" for r in reports) else []
    return AuditReport(tuple(reports), tuple(skipped), tuple(notes))


def audit_paths(paths: Sequence[Path], agency_card: Path) -> AuditReport:
    """Read ``agency_card`` and every file under ``paths``, and verify them."""
    card_data = read_capped(agency_card, limit=MAX_CARD_BYTES, what="agency key card")
    root_key = root_key_from_card(card_data)
    return verify_artifacts(collect(paths), root_key)
