"""The audit report's model: checks, findings, one report per artifact, the whole report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from securexchange import age
from securexchange.errors import (
    ArtifactError,
    BadSignature,
    Malformed,
    NotAuthorised,
    ProtocolInactive,
    Rollback,
    SxError,
    Tampered,
    all_error_classes,
)

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
CHECK_POST_QUANTUM = "post-quantum"

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


def finding(check: str, error: type[SxError] | SxError, why: str | None = None) -> Finding:
    if isinstance(error, SxError):
        return Finding(check, error.name, why if why is not None else error.message)
    return Finding(check, error.name, why or "")


def from_error(error: SxError) -> Finding:
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
    # How many recipient stanzas of each type the payload's header holds, in the order
    # they first appear; None for artifacts without a payload or an unreadable header.
    recipient_types: tuple[tuple[str, int], ...] | None = None

    @property
    def recipients_shown(self) -> str:
        """``2×mlkem768x25519``, ``1×X25519+1×mlkem768x25519`` or ``-``."""
        if not self.recipient_types:
            return "-"
        return "+".join(f"{count}×{kind}" for kind, count in self.recipient_types)

    @property
    def post_quantum_only(self) -> bool:
        return bool(self.recipient_types) and all(
            age.is_post_quantum_stanza(kind) for kind, _ in self.recipient_types or ()
        )

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
            "recipients": None if self.recipient_types is None else dict(self.recipient_types),
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
            "report it within 48 hours (protocol art. 6) with 'municipality incident open' "
            "(or, at the agency, 'agency incident open')",
        )


_ERROR_BY_NAME: dict[str, type[SxError]] = {
    cls.name: cls for cls in all_error_classes() if issubclass(cls, ArtifactError)
}
