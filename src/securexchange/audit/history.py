"""Checks across artifacts: the keyring versions seen (the index), package and return
sequences, supersede chains, keyring versions in time."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from securexchange.artifacts.keyring import Keyring, MunicipalityEntry
from securexchange.artifacts.manifest import ArtifactType
from securexchange.audit.findings import (
    CHECK_DUPLICATE,
    CHECK_EQUIVOCATION,
    CHECK_KEYRING_VERSION,
    CHECK_SEQUENCE,
    CHECK_SUPERSEDES,
    ArtifactReport,
    finding,
)
from securexchange.errors import (
    Equivocation,
    Rollback,
    Tampered,
)

# --- keyrings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyringDoc:
    keyring: Keyring
    sha256: str
    report: ArtifactReport | None  # the standalone document's report; None when embedded


class KeyringIndex:
    """Every root-verified keyring document among the inputs (standalone or embedded)."""

    def __init__(self) -> None:
        self.docs: list[KeyringDoc] = []

    def add(self, keyring: Keyring, data: bytes, report: ArtifactReport | None) -> None:
        digest = hashlib.sha256(data).hexdigest()
        if any(d.sha256 == digest and d.report is report for d in self.docs):
            return
        self.docs.append(KeyringDoc(keyring, digest, report))

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

    def _issued_by(self, moment: datetime) -> list[KeyringDoc]:
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


# --- across artifacts -------------------------------------------------------------------


def check_sequences(group: list[ArtifactReport], what: str, *, chain: bool) -> None:
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
                    finding(
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
                    finding(
                        CHECK_EQUIVOCATION,
                        Equivocation,
                        f"another {what} has the same sequence number {seq} with other content",
                    )
                )
    for seq in sorted(present):
        if seq > 1 and seq - 1 not in present:
            for report in present[seq]:
                report.fail(
                    finding(
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
                        finding(
                            CHECK_SUPERSEDES,
                            Tampered,
                            "the predecessor it names (id and SHA-256) is not the "
                            f"{what} with number {seq - 1}",
                        )
                    )


def check_keyring_versions(reports: list[ArtifactReport], index: KeyringIndex) -> None:
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
                finding(
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
                    finding(
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
                    finding(
                        CHECK_KEYRING_VERSION,
                        Rollback,
                        f"version {other.keyring_version} was issued after version "
                        f"{report.keyring_version} (versions go back)",
                    )
                )


def check_package_keyrings(packages: list[ArtifactReport], index: KeyringIndex) -> None:
    """A package carries the newest keyring version issued before it, and versions never
    go back along a municipality's sequence."""
    for report in packages:
        assert report.party_id is not None and report.created_at is not None
        assert report.keyring_version is not None
        newest = index.latest_at(report.party_id, report.created_at)
        if newest is not None and newest[0].version > report.keyring_version:
            report.fail(
                finding(
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
                finding(
                    CHECK_KEYRING_VERSION,
                    Rollback,
                    "it carries an older keyring version than the package it supersedes",
                )
            )


def check_across_artifacts(reports: Sequence[ArtifactReport], index: KeyringIndex) -> None:
    """Every check across artifacts: sequences and supersede chains per municipality,
    return sequences per signer, the keyrings packages carry, keyring versions in time."""
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
        check_sequences(group, "package", chain=True)
        check_package_keyrings([r for r in group if r.verified], index)
    for group in returns.values():
        check_sequences(group, "return", chain=False)
    check_keyring_versions([r for r in verified if r.kind == "keyring"], index)
    check_one_content_per_id(verified)


def check_one_content_per_id(verified: Sequence[ArtifactReport]) -> None:
    """Two files with one artifact id and other content are equivocation, whatever their
    kind (a report of measures or a notice has no sequence number to catch it); the same
    file twice (a copy) is not."""
    contents: dict[str, set[str]] = defaultdict(set)
    for report in verified:
        if report.artifact_id is not None and report.container_sha256 is not None:
            contents[report.artifact_id].add(report.container_sha256)
    for report in verified:
        if report.artifact_id is not None and len(contents[report.artifact_id]) > 1:
            report.fail(
                finding(
                    CHECK_EQUIVOCATION,
                    Equivocation,
                    f"another file has the same id {report.artifact_id} with other content",
                )
            )
