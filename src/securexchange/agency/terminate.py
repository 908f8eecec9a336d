"""``agency terminate``: the signed notice that ends a municipality's protocol (art. 8, 12).

The notice is a container of type ``notice`` (:mod:`securexchange.notice`): no payload,
signed by the export key in the notice namespace, naming the municipality (NIS code and
party id), the protocol and the effective day. The municipal client that imports it
destroys everything of that protocol from the effective day on (at once if it is past)
and refuses later packages of that protocol; a successor protocol has another id and
is not affected.

The registry notes the termination day (``terminated_on``, never moved later), so the
agency's own exports stop sending that protocol's data. The file is written atomically
into the output directory; the log gets the notice id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from securexchange import statedb
from securexchange.agency.registry import _municipality, agency_keys
from securexchange.atomicio import atomic_write
from securexchange.container import seal
from securexchange.errors import NotAuthorised, NotFound
from securexchange.eventlog import Action
from securexchange.home import Home
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.keystore import KeySource
from securexchange.manifest import ArtifactType
from securexchange.notice import NoticeBody

FILE_SUFFIX = ".sxn"


@dataclass(frozen=True)
class Terminated:
    notice_id: str
    path: Path
    protocol_id: str
    effective: date


def terminate(
    home: Home, export_key: KeySource, *, nis: str, effective: date, out_dir: Path
) -> Terminated:
    """Write the termination notice for ``nis``'s protocol, effective ``effective``."""
    entry = _municipality(home, nis.strip())
    if not out_dir.is_dir():
        raise NotFound(f"no directory at {out_dir}")
    keys = agency_keys(home)
    identity = export_key.unlock()
    if identity.signing_key != keys.export.signing_key:
        raise NotAuthorised("the export key file is not the export key the keyring certifies")
    home.note_signer(identity.seed, identity.fingerprint.display)
    notice_id = new_artifact_id(ArtifactKind.NOTICE)
    body = NoticeBody(
        nis=entry.nis,
        party_id=entry.party_id,
        protocol_id=entry.protocol_id,
        effective=effective,
        demo=home.demo,
    )
    data = seal(
        artifact_type=ArtifactType.NOTICE,
        artifact_id=notice_id,
        created_at=home.now,
        municipality=entry.nis,
        body=body,
        signing_seed=identity.seed,
    )
    path = out_dir / f"{notice_id}{FILE_SUFFIX}"
    atomic_write(path, data, mode=0o644, exclusive=True)
    with statedb.transaction(home.db):
        home.db.execute(
            "UPDATE agency_municipalities SET terminated_on = ? WHERE party_id = ? "
            "AND (terminated_on IS NULL OR terminated_on > ?)",
            (effective.isoformat(), entry.party_id, effective.isoformat()),
        )
        home.record(Action.TERMINATE, actor=identity.fingerprint.display, artifacts=[notice_id])
    return Terminated(notice_id, path, entry.protocol_id, effective)
