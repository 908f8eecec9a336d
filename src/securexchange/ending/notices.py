"""Written notices (protocol art. 5) and receipts: what both sides do alike.

Each side's workflow (``agency/protocol_end.py``, ``municipality/protocol_end.py``) says
who signs and which keyring it trusts; this module seals a notice (and checks that the
keyring lists its signer before anything is kept), verifies a received one before
anything is written, and keeps both in the ``protocol_notices`` table of either home.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from securexchange.artifacts.container import (
    JudgedSigner,
    PinnedSigner,
    open_without_decryption,
    seal,
)
from securexchange.artifacts.incident import Reporter
from securexchange.artifacts.keyring import Keyring
from securexchange.artifacts.manifest import ArtifactType, Manifest
from securexchange.artifacts.protocol_notice import (
    NoticeKind,
    ProtocolNoticeBody,
    notice_signer,
    protocol_notice_body,
)
from securexchange.clock import format_instant
from securexchange.errors import Equivocation
from securexchange.home.atomicio import atomic_write, output_dir, refuse_non_directory
from securexchange.home.home import Home
from securexchange.i18n import _
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.keys.identity import Identity

FILE_SUFFIX = ".sxo"
MAX_NOTICE_BYTES = 1 << 20

_COLUMNS = (
    "notice_id, kind, given_by, ours, party_id, protocol_id, decision, answers, received_on, "
    "effective, created_at"
)


@dataclass(frozen=True)
class Held:
    """A notice or receipt as a home keeps it."""

    notice_id: str
    kind: NoticeKind
    given_by: Reporter
    ours: bool
    party_id: str
    protocol_id: str
    decision: str | None
    answers: str | None
    received_on: date | None  # the day the receiving side took the notice in
    effective: date | None  # received_on + 3 months
    created_at: str

    def to_json(self) -> dict[str, object]:
        return {
            "notice_id": self.notice_id,
            "kind": self.kind.value,
            "given_by": self.given_by.value,
            "ours": self.ours,
            "protocol_id": self.protocol_id,
            "decision": self.decision,
            "answers": self.answers,
            "received_on": None if self.received_on is None else self.received_on.isoformat(),
            "effective": None if self.effective is None else self.effective.isoformat(),
            "created_at": self.created_at,
        }


def _held(row: tuple[object, ...]) -> Held:
    (notice_id, kind, given_by, ours, party_id, protocol_id, decision, answers) = row[:8]
    received, effective, created_at = row[8:]
    return Held(
        notice_id=str(notice_id),
        kind=NoticeKind(str(kind)),
        given_by=Reporter(str(given_by)),
        ours=bool(ours),
        party_id=str(party_id),
        protocol_id=str(protocol_id),
        decision=None if decision is None else str(decision),
        answers=None if answers is None else str(answers),
        received_on=None if received is None else date.fromisoformat(str(received)),
        effective=None if effective is None else date.fromisoformat(str(effective)),
        created_at=str(created_at),
    )


def seal_notice(
    home: Home, body: ProtocolNoticeBody, *, signer: Identity, keyring: Keyring
) -> tuple[str, bytes]:
    """The signed container of ``body``; refused unless ``keyring`` lists ``signer``
    for it (so nothing is kept that the other side would refuse)."""
    notice_id = new_artifact_id(ArtifactKind.PROTOCOL_NOTICE)
    data = seal(
        artifact_type=ArtifactType.PROTOCOL_NOTICE,
        artifact_id=notice_id,
        created_at=home.now,
        municipality=body.nis,
        body=body,
        signing_seed=signer.seed,
    )
    verified = open_without_decryption(
        data, trust=PinnedSigner(signer.signing_key), accept=(ArtifactType.PROTOCOL_NOTICE,)
    )
    notice_signer(keyring, verified.manifest)
    return notice_id, data


def verify(
    data: bytes, keyring_for: Callable[[Manifest], Keyring]
) -> tuple[Manifest, ProtocolNoticeBody]:
    """Verify a notice or receipt without a key: structure, the signature by the signer
    ``keyring_for(manifest)`` lists for that party, and the body."""

    trust = JudgedSigner(lambda m: notice_signer(keyring_for(m), m).signing_key)
    verified = open_without_decryption(data, trust=trust, accept=(ArtifactType.PROTOCOL_NOTICE,))
    return verified.manifest, protocol_notice_body(verified.manifest)


def record(
    home: Home,
    manifest: Manifest,
    body: ProtocolNoticeBody,
    data: bytes,
    *,
    ours: bool,
    received_on: date | None,
    effective: date | None,
) -> None:
    """Keep a notice or receipt (inside the caller's transaction)."""
    home.db.execute(
        f"INSERT INTO protocol_notices ({_COLUMNS}, recorded_at, sha256, container) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            manifest.artifact_id,
            body.kind.value,
            body.given_by.value,
            int(ours),
            body.party_id,
            body.protocol_id,
            body.decision,
            body.answers,
            None if received_on is None else received_on.isoformat(),
            None if effective is None else effective.isoformat(),
            format_instant(manifest.created_at),
            format_instant(home.now),
            hashlib.sha256(data).hexdigest(),
            data,
        ),
    )


def held(home: Home, notice_id: str) -> Held | None:
    row = home.db.execute(
        f"SELECT {_COLUMNS} FROM protocol_notices WHERE notice_id = ?",  # noqa: S608
        (notice_id,),
    ).fetchone()
    return None if row is None else _held(tuple(row))


def container(home: Home, notice_id: str) -> bytes:
    (data,) = home.db.execute(
        "SELECT container FROM protocol_notices WHERE notice_id = ?", (notice_id,)
    ).fetchone()
    return bytes(data)


def same_again(home: Home, manifest: Manifest, data: bytes) -> bool:
    """True when this very container is kept already; a different container under the
    same id is Equivocation."""
    row = home.db.execute(
        "SELECT sha256 FROM protocol_notices WHERE notice_id = ?", (manifest.artifact_id,)
    ).fetchone()
    if row is None:
        return False
    if str(row[0]) != hashlib.sha256(data).hexdigest():
        raise Equivocation(_("another protocol notice with the same id is kept already"))
    return True


def all_held(home: Home) -> list[Held]:
    rows = home.db.execute(
        f"SELECT {_COLUMNS} FROM protocol_notices ORDER BY created_at, notice_id"  # noqa: S608
    ).fetchall()
    return [_held(tuple(r)) for r in rows]


def find(home: Home, **where: str | int) -> list[Held]:
    """Kept notices whose columns equal ``where`` (column names are ours, not input)."""
    clause = " AND ".join(f"{name} = ?" for name in where)
    rows = home.db.execute(
        f"SELECT {_COLUMNS} FROM protocol_notices WHERE {clause} "  # noqa: S608
        "ORDER BY created_at, notice_id",
        tuple(where.values()),
    ).fetchall()
    return [_held(tuple(r)) for r in rows]


def prepare_out(out_dir: Path) -> None:
    """Refuse or make ``out_dir`` before anything is kept: a folder that cannot be made
    fails the command while nothing was recorded yet."""
    refuse_non_directory(out_dir)
    output_dir(out_dir, private=False)  # a notice names a protocol and a decision, no person


def write(out_dir: Path, notice_id: str, data: bytes) -> Path:
    """Write a notice or receipt as ``<id>.sxo`` in ``out_dir`` (0644: no personal data)."""
    output_dir(out_dir, private=False)
    path = out_dir / f"{notice_id}{FILE_SUFFIX}"
    atomic_write(path, data, mode=0o644)
    return path
