"""``agency evidence``: the municipalities' reports of measures (protocol art. 6).

The agency takes a report in without any key: the signature by a person the keyring
version it names (or the one in force then) lists for the municipality, that person
still listed now, addressed to this agency's root key, the municipality and protocol
that keyring states, made while the protocol was in force, and not older than the
last report kept from that municipality (a replay is SX-ROLLBACK; another container
under a kept id SX-EQUIVOCATION). Kept in ``agency_evidence`` with its container, so
the agency can show it to an auditor later; ``audit verify`` checks the file itself.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

from securexchange.agency.registry import municipality_entry
from securexchange.agency.return_trust import StoredKeyrings
from securexchange.agency.signer_keyring import judge_by
from securexchange.artifacts.container import read_members
from securexchange.artifacts.evidence import (
    EvidenceBody,
    check_access,
    evidence_body,
    verify_evidence,
)
from securexchange.artifacts.manifest import MANIFEST, Manifest
from securexchange.clock import format_instant
from securexchange.errors import Equivocation, Malformed, Rollback, WrongMunicipality
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.i18n import _


@dataclass(frozen=True)
class Held:
    """A report as the agency keeps it."""

    evidence_id: str
    nis: str
    signer: str
    created_at: str
    recorded_at: str
    body: EvidenceBody

    @property
    def declared(self) -> dict[str, int]:
        """How many statements were answered yes, no, unknown, or not declared."""
        return dict(Counter(d.answer.value for d in self.body.declarations))

    def to_json(self) -> dict[str, Any]:
        return {
            "evidence_id": self.evidence_id,
            "nis": self.nis,
            "signer": self.signer,
            "created_at": self.created_at,
            "recorded_at": self.recorded_at,
            "report": self.body.to_json(),
        }


def _judge(home: Home, data: bytes) -> tuple[Manifest, EvidenceBody]:
    stored = StoredKeyrings(home)
    now = home.now
    manifest, body = verify_evidence(data, judge_by(stored, now, evidence_body))
    # Judged by the version in force when it was made; the people with access it lists
    # must be those of the version it names, which this agency issued.
    named = stored.version(body.party_id, body.keyring_version)
    if named is None:
        raise Malformed(_("the report names a keyring version this agency did not issue"))
    check_access(named, body)
    return manifest, body


def import_evidence(home: Home, data: bytes) -> Held:
    """Verify a report (nothing is written before) and keep it."""
    manifest, body = _judge(home, data)
    entry = municipality_entry(home, body.nis)
    if entry.party_id != body.party_id:
        raise WrongMunicipality(_("the report names a party that is not the municipality's"))
    digest = hashlib.sha256(data).hexdigest()
    kept = home.db.execute(
        "SELECT sha256 FROM agency_evidence WHERE evidence_id = ?", (manifest.artifact_id,)
    ).fetchone()
    if kept is not None:
        if str(kept[0]) != digest:
            raise Equivocation(_("another report with the same id is kept already"))
        raise Rollback(_("this report was taken in already"))
    made, recorded = format_instant(manifest.created_at), format_instant(home.now)
    # Each person's home keeps its own log: a report follows that person's last one (so
    # one person dating a report ahead blocks nobody else), and continues its log.
    last = home.db.execute(
        "SELECT created_at, container FROM agency_evidence WHERE party_id = ? AND signer = ? "
        "ORDER BY created_at DESC LIMIT 1",
        (body.party_id, manifest.signer),
    ).fetchone()
    if last is not None:
        if made <= str(last[0]):
            raise Rollback(_("the report is not newer than that person's last one taken in"))
        check_continues(_body_of(bytes(last[1])), body)
    with statedb.transaction(home.db):
        home.db.execute(
            "INSERT INTO agency_evidence (evidence_id, party_id, nis, signer, created_at, "
            "recorded_at, sha256, container) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                manifest.artifact_id,
                body.party_id,
                body.nis,
                manifest.signer,
                made,
                recorded,
                digest,
                data,
            ),
        )
        home.record(Action.EVIDENCE_IMPORT, actor=manifest.signer, artifacts=[manifest.artifact_id])
    return Held(manifest.artifact_id, body.nis, manifest.signer, made, recorded, body)


def check_continues(earlier: EvidenceBody, later: EvidenceBody) -> None:
    """Refuse a report whose home's log does not continue the one an earlier report of
    the same person showed (a log only grows; its signed checkpoints never change), or
    that brings back a key the earlier one showed destroyed."""
    if later.log.entries < earlier.log.entries:
        raise Malformed(_("the report's log is shorter than the one an earlier report showed"))
    seen = {c.seq: c.hash for c in later.log.checkpoints}
    if any(seen.get(c.seq, c.hash) != c.hash for c in earlier.log.checkpoints):
        raise Malformed(_("the report's log checkpoints differ from an earlier report's"))
    destroyed = {k.subkey for k in earlier.key_periods.subkeys if k.destroyed_at is not None}
    if any(k.subkey in destroyed and k.destroyed_at is None for k in later.key_periods.subkeys):
        raise Malformed(_("the report holds a key an earlier report showed destroyed"))


def _body_of(container: bytes) -> EvidenceBody:
    # Verified when it was taken in; kept as it came, read back here for its facts.
    manifest = Manifest.from_json_bytes(read_members(container, names=(MANIFEST,))[MANIFEST])
    return evidence_body(manifest)


def all_held(home: Home) -> list[Held]:
    """Every report kept, oldest first."""
    rows = home.db.execute(
        "SELECT evidence_id, nis, signer, created_at, recorded_at, container "
        "FROM agency_evidence ORDER BY created_at, evidence_id"
    ).fetchall()
    return [
        Held(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), _body_of(bytes(r[5])))
        for r in rows
    ]
