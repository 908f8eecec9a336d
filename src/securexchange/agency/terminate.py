"""``agency terminate``: the signed notice that ends a municipality's protocol (art. 8, 12).

The notice is a container of type ``notice`` (:mod:`securexchange.artifacts.notice`): no payload,
signed by the export key in the notice namespace, naming the municipality (NIS code and
party id), the protocol and the effective day. The municipal client that imports it
destroys everything of that protocol from the effective day on (at once if it is past)
and refuses later packages of that protocol; a successor protocol has another id and
is not affected.

The registry notes the termination day (``terminated_on``, never moved later) with its
ground from the closed list (art. 8: a breach of the protocol, of the GDPR or of other
data-protection law; art. 12: the term passed or the legal basis disappeared) and the
decision behind it, so the agency's own exports stop sending that protocol's data and the
next keyring version states why it ended.

A log entry exists if and only if its change committed, and a file's rename cannot
commit with the database: so the signed notice is kept in the agency's state database
(``agency_notices``) in the same transaction as the registry change and its log entry,
and only then written to the output directory. A kill in between leaves the notice
committed but not yet written; the same command again (same municipality and day)
writes the kept notice instead of signing a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from securexchange.agency.protocol_end import record_ending, reference
from securexchange.agency.registry import agency_keys, municipality_entry
from securexchange.artifacts.container import seal
from securexchange.artifacts.manifest import ArtifactType
from securexchange.artifacts.notice import NoticeBody
from securexchange.artifacts.protocol_terms import EndGround, Ending
from securexchange.errors import NotAuthorised, UsageError
from securexchange.home import statedb
from securexchange.home.atomicio import atomic_write, output_dir, refuse_non_directory
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.i18n import _
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.keys.keystore import KeySource

FILE_SUFFIX = ".sxn"


@dataclass(frozen=True)
class Terminated:
    notice_id: str
    path: Path
    protocol_id: str
    effective: date
    again: bool = False  # a notice issued before for that day, written again


def terminate(
    home: Home,
    export_key: KeySource,
    *,
    nis: str,
    effective: date,
    out_dir: Path,
    ground: EndGround,
    decision: str | None,
) -> Terminated:
    """Write the termination notice for ``nis``'s protocol, effective ``effective``, for
    ``ground`` (``decision``: the reference of the decision; optional only by law)."""
    if ground.is_notice:
        raise UsageError(
            _("a written notice is given with 'agency notice give', not as a termination")
        )
    if decision is None and not ground.by_law:
        raise UsageError(_("a termination names the decision behind it (--decision)"))
    ending = Ending(ground, None if decision is None else reference(decision, "--decision"))
    entry = municipality_entry(home, nis.strip())
    refuse_non_directory(out_dir)  # a missing one is created, just before the write
    keys = agency_keys(home)
    identity = export_key.unlock()
    if identity.signing_key != keys.export.signing_key:
        raise NotAuthorised("the export key file is not the export key the keyring certifies")
    home.note_signer(identity.seed, identity.fingerprint.display)
    kept = home.db.execute(
        "SELECT notice_id, container FROM agency_notices WHERE protocol_id = ? AND effective = ?",
        (entry.protocol_id, effective.isoformat()),
    ).fetchone()
    if kept is not None:
        path = _write(out_dir, str(kept[0]), bytes(kept[1]))
        return Terminated(str(kept[0]), path, entry.protocol_id, effective, again=True)
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
    with statedb.transaction(home.db):
        record_ending(home, entry, ending, effective)
        home.db.execute(
            "INSERT INTO agency_notices (notice_id, protocol_id, effective, container) "
            "VALUES (?, ?, ?, ?)",
            (notice_id, entry.protocol_id, effective.isoformat(), data),
        )
        home.record(Action.TERMINATE, actor=identity.fingerprint.display, artifacts=[notice_id])
    path = _write(out_dir, notice_id, data)
    return Terminated(notice_id, path, entry.protocol_id, effective)


def _write(out_dir: Path, notice_id: str, data: bytes) -> Path:
    output_dir(out_dir, private=False)  # a notice names a protocol, no person
    path = out_dir / f"{notice_id}{FILE_SUFFIX}"
    atomic_write(path, data, mode=0o644)
    return path
