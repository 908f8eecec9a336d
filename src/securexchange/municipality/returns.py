"""``municipality return``: status changes and quality reports back to the agency.

What a return collects: every status change and data-quality report that was not yet
returned (from ``set-status``, ``report-quality`` and the status cells staff edited in
registered workbooks, see :mod:`securexchange.municipality.pending`). Each status entry
carries the status it replaced (its base), so the agency can see two people changing
one record from the same starting point.

The file is encrypted to the agency's export key subkey valid now (listed in the keyring
view this home holds; the hybrid post-quantum one when the agency has one), signed by
the staff member in the returns namespace, and numbered: each signer's returns count 1,
2, 3, ... The number is reserved (one transaction) before the file is written, so a
crash can leave a gap (the agency reports it) but never two different returns under one
number. The entries are marked as sent only after the file is complete: the atomic write
first, then one transaction. A crash in between sends the same entries again next time;
the agency applies a status it holds already without a conflict.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from securexchange import __version__, age
from securexchange.artifacts.container import seal
from securexchange.artifacts.keyring import Keyring
from securexchange.artifacts.manifest import ArtifactType
from securexchange.artifacts.returns import Entry, ReturnBody, make_document
from securexchange.errors import NotAuthorised, NotFound, Stale, UsageError
from securexchange.home import statedb
from securexchange.home.atomicio import atomic_write, output_dir, refuse_non_directory
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.i18n import _
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.keys.identity import Identity, PublicIdentity, Subkey
from securexchange.keys.keystore import KeySource
from securexchange.municipality import subkeys, vouched
from securexchange.municipality.enrolment import held_keyring, home_nis
from securexchange.municipality.pending import collect as collect_pending
from securexchange.municipality.pending import mark_sent

SEQUENCE_SETTING = "return_sequence"
FILE_SUFFIX = ".sxr"
SEQUENCE_DIGITS = 6


def return_file_name(nis: str, signer: str, sequence: int) -> str:
    """``NIS_FINGERPRINT_SEQUENCE.sxr``: names that sort by municipality, sender and
    sequence number (zero-padded to six digits), so ``inbox/*.sxr`` lists each sender's
    returns in the order they were made (the agency applies them in that order anyway)."""
    return f"{nis}_{signer}_{sequence:0{SEQUENCE_DIGITS}d}{FILE_SUFFIX}"


def agency_recipient(
    keyring: Keyring, now: datetime, export: PublicIdentity | None = None
) -> age.PublicRecipient:
    """The agency export key's subkey valid now, as the keyring lists it (or ``export``,
    the keyring's with the subkeys the latest package vouched for): its hybrid
    post-quantum subkey when it has one (the return is then hybrid only), else its
    classic one. One recipient, so hybrid and classic never share the file."""
    subkey = (export or keyring.agency.export).subkey_at(now)
    if subkey is None:
        raise Stale(
            _("the keyring this home holds has no agency encryption key valid now"),
            hint=_("import the agency's latest package or keyring first"),
        )
    return age.parse_recipient(subkey.recipient)


def seal_return(
    *,
    identity: Identity,
    keyring: Keyring,
    delta_id: str,
    sequence: int,
    entries: Sequence[Entry],
    now: datetime,
    demo: bool,
    subkeys: Sequence[Subkey] = (),
    agency: PublicIdentity | None = None,
) -> bytes:
    """The container bytes of one return (pure: no file, no database). ``subkeys``: the
    signer's live subkeys the keyring does not list; ``agency``: the export identity
    with its vouched subkeys (see :func:`agency_recipient`)."""
    entry = keyring.municipalities[0]
    document = make_document(
        delta_id=delta_id,
        municipality=entry.nis,
        signer=identity.fingerprint.display,
        sequence=sequence,
        entries=entries,
    )
    body = ReturnBody(
        party_id=entry.party_id,
        sequence=sequence,
        statuses=len(document.statuses),
        quality_reports=len(document.quality_reports),
        keyring_version=keyring.version,
        demo=demo,
        client_version=__version__,
        subkeys=tuple(subkeys),
    )
    return seal(
        artifact_type=ArtifactType.RETURN,
        artifact_id=delta_id,
        created_at=now,
        municipality=entry.nis,
        body=body,
        signing_seed=identity.seed,
        content=document.to_bytes(),
        recipients=[agency_recipient(keyring, now, agency)],
    )


def _next_sequence(home: Home) -> int:
    value = statedb.get_setting(home.db, SEQUENCE_SETTING)
    return (0 if value is None else int(value)) + 1


def _reserve_sequence(home: Home) -> int:
    with statedb.transaction(home.db):
        sequence = _next_sequence(home)
        statedb.set_setting(home.db, SEQUENCE_SETTING, str(sequence))
    return sequence


@dataclass(frozen=True)
class ReturnMade:
    delta_id: str
    path: Path | None  # None: nothing to return, no file written
    sequence: int
    statuses: int
    quality_reports: int


def make_return(home: Home, source: KeySource, out_dir: Path) -> ReturnMade:
    """Write one return file with everything not yet returned, then mark it sent."""
    nis = home_nis(home)
    keyring = held_keyring(home)
    if keyring is None:
        raise NotFound(
            _("this home holds no keyring from the agency"),
            hint=_("import the agency's package first"),
        )
    refuse_non_directory(out_dir)  # a missing one is created, just before the write
    agency = vouched.agency_export(home, keyring, home.now)
    agency_recipient(keyring, home.now, agency)  # refuse before asking for a passphrase
    items = collect_pending(home, source.passphrase)
    # Unlocking the key tops its subkeys up, as every command that unlocks it does.
    identity = subkeys.split_out(home, source, top_up=True, keyring=keyring)
    carried = vouched.unsent(home, identity, keyring)
    if not items.entries and not vouched.never_sent(home, carried):
        # Nothing, or only changes that were undone (they stay pending, harmlessly: a
        # later change of that record keeps the base the agency knows); and no subkey
        # the agency has not been sent. Otherwise a return carries the new subkeys.
        return ReturnMade("", None, 0, 0, 0)
    entry = keyring.municipalities[0]
    if entry.nis != nis:  # pragma: no cover - import_keyring guarantees it
        raise UsageError(_("the keyring this home holds is another municipality's"))
    if entry.recipient(identity.fingerprint) is None:
        raise NotAuthorised(
            _("your key is not an authorised recipient in the keyring this home holds"),
            hint=_("ask the agency to add your key card, then import the new keyring"),
        )
    output_dir(out_dir, private=True)  # before a sequence number is used up
    taken = out_dir / return_file_name(nis, identity.fingerprint.display, _next_sequence(home))
    if os.path.lexists(taken):
        # Refused before the number is used up: a gap would hold this signer's later
        # returns at the agency. (A file planted in a shared outbox must not do that.)
        raise UsageError(
            _("{file} exists already in the folder the return is written to").format(
                file=taken.name
            ),
            hint=_("move that file away (was it sent?), or write the return to another folder"),
        )
    sequence = _reserve_sequence(home)
    delta_id = new_artifact_id(ArtifactKind.RETURN)
    data = seal_return(
        identity=identity,
        keyring=keyring,
        delta_id=delta_id,
        sequence=sequence,
        entries=items.entries,
        now=home.now,
        demo=home.demo,
        subkeys=carried,
        agency=agency,
    )
    path = out_dir / return_file_name(nis, identity.fingerprint.display, sequence)
    statuses = sum(1 for e in items.entries if e.kind == "status")
    actor = identity.fingerprint.display
    counts = {
        "sequence": sequence,
        "statuses": statuses,
        "quality_reports": len(items.entries) - statuses,
    }
    # A signed return file exists once it is written, before its edits are marked sent:
    # the entry waits as an intent, logged by the next command if a kill comes between
    # (EventLog.intend); the unmarked edits then go out again in the next return.
    home.log.intend(
        Action.RETURN, now=home.now, witness=path, actor=actor, artifacts=[delta_id], counts=counts
    )
    atomic_write(path, data, mode=0o644, exclusive=True)
    with statedb.transaction(home.db):
        mark_sent(home, items, delta_id)
        vouched.mark_sent(home, carried)
        home.record(Action.RETURN, actor=actor, artifacts=[delta_id], counts=counts)
    return ReturnMade(delta_id, path, sequence, statuses, len(items.entries) - statuses)
