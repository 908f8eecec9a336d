"""``agency import-return``: verify returns and apply them to the status ledger.

Every file passes, in this order, before anything is applied (promise P6):

1. :func:`securexchange.artifacts.return_open.open_return`, the same verification ``audit verify``
   runs: strict ZIP, a return manifest, its signature by a person authorised for the
   manifest's municipality in the keyring version the return names *and* in the
   agency's current version (a removed person cannot backdate their way in:
   SX-NOT-AUTHORISED), the payload digest, the protocol active when it was made and
   not terminated then or more than 7 days before receipt (SX-PROTOCOL-INACTIVE), and
   exactly one recipient stanza (SX-NOT-AUTHORISED: nobody else may read a return);
2. the body: not dated more than a day ahead (SX-FUTURE), a demo return only in a demo
   home (SX-NOT-AUTHORISED);
3. decryption with the export key's subkeys, the binding frame, then the return
   document: strict JSON with status entries and quality reports from the closed
   vocabularies only (SX-MALFORMED), its repeated fields equal to the manifest's
   (SX-TAMPERED);
4. every record id was sent to that municipality in its latest package or the one
   before (SX-UNKNOWN-RECORD), and no entry is dated after the return was made
   (SX-MALFORMED: the later change wins between signers, so a forged time would);
5. the signer's sequence number: the same delta again is a no-op; the same number or
   delta id with other content is SX-EQUIVOCATION.

Then each signer's returns are applied in their sequence order, whatever the order of
the command line or of arrival, in one transaction: a single refusal leaves the ledger
as it was (and the home's log gains one refusal entry). A return whose predecessor has
not arrived is not an error: verified like any other, it is stored in the state
database as it arrived (still encrypted to the agency) and waits
(:mod:`securexchange.agency.waiting`); the command that brings the predecessor applies
it, verified again. A number lost for good is released with ``skip_gaps`` (logged as
``skip-gap``). Between signers the ledger keeps the later change
(:func:`securexchange.agency.ledger.apply_delta`), so every arrival order ends in the
same current statuses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from securexchange import age
from securexchange.agency import clients, erasures, ledger, vouched, waiting
from securexchange.agency.export_key import unlock_export
from securexchange.agency.return_result import (
    ImportReturns,
    ReturnResult,
)
from securexchange.agency.return_trust import (
    default_sent_records,
    return_trust,
)
from securexchange.artifacts.keyring import MunicipalityEntry
from securexchange.artifacts.manifest import Manifest
from securexchange.artifacts.return_open import OpenedReturn, ReturnTrust, open_return
from securexchange.artifacts.returns import ReturnBody, ReturnDocument, StatusEntry
from securexchange.clock import format_instant, read_instant
from securexchange.errors import (
    Equivocation,
    Future,
    Malformed,
    NotAuthorised,
    Tampered,
    UnknownRecord,
    UsageError,
)
from securexchange.home import statedb
from securexchange.home.atomicio import read_capped
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.keys.keystore import KeySource

FUTURE_TOLERANCE = timedelta(days=1)
MAX_RETURN_BYTES = 64 << 20

# Which record ids a municipality may return: those sent in its latest package or the
# one before. Given the agency home and the municipality's party id.
SentRecords = Callable[[Home, str], frozenset[str]]


@dataclass(frozen=True)
class _Checked:
    """A return that passed steps 1-2 (no key needed yet)."""

    name: str
    data: bytes
    opened: OpenedReturn


@dataclass(frozen=True)
class _Ready:
    """A return that passed every check, waiting to be applied."""

    name: str
    manifest: Manifest
    body: ReturnBody
    entry: MunicipalityEntry
    document: ReturnDocument
    data: bytes


def _check_container(home: Home, name: str, data: bytes, trust: ReturnTrust) -> _Checked:
    opened = open_return(data, trust=trust, identities=None)
    if opened.body.demo and not home.demo:
        raise NotAuthorised(f"{name} was made in a demo home")
    if opened.manifest.created_at > home.now + FUTURE_TOLERANCE:
        raise Future(f"{name} is dated more than a day after this home's clock")
    return _Checked(name, data, opened)


def _decrypt(checked: _Checked, identities: Sequence[age.Identity]) -> _Ready:
    # The container verified in step 1 is decrypted as it is: no second parse.
    opened = checked.opened.decrypt(identities)
    if opened.document is None:  # pragma: no cover - decrypt always sets the document
        raise Malformed(f"{checked.name} has no content")
    return _Ready(
        checked.name, opened.manifest, opened.body, opened.entry, opened.document, checked.data
    )


def _check_records(ready: _Ready, sent: frozenset[str]) -> None:
    for entry in ready.document.entries:
        if entry.record not in sent:
            raise UnknownRecord(
                f"{ready.name} names a record that was not sent to that municipality in its "
                "latest package or the one before",
                hint="nothing was applied; ask the municipality to import the latest package",
            )


def _check_times(ready: _Ready) -> None:
    """No entry is dated after its return was made: the municipal client dates each
    edit by its home's clock, which never goes back, so a later time is a forged one,
    and the later change wins between signers (one dated in 2099 would win forever)."""
    made = ready.manifest.created_at
    for entry in ready.document.entries:
        moment = entry.changed_at if isinstance(entry, StatusEntry) else entry.reported_at
        if moment > made:
            raise Malformed(
                f"{ready.name} holds a change dated after the return was made",
                hint="nothing was applied; the return did not come from the municipal client",
            )


def _equivocation(name: str) -> Equivocation:
    return Equivocation(
        f"{name} reuses a sequence number or delta id with other content",
        hint="nothing was applied; the municipality's client sent two different "
        "returns under one number",
    )


def _same(doc: ReturnDocument, delta_id: str, signer: str, sequence: int, sha256: str) -> bool:
    return (delta_id, signer, sequence, sha256) == (
        doc.delta_id,
        doc.signer,
        doc.sequence,
        doc.sha256,
    )


class _Stored(Protocol):
    """A delta as the ledger or the waiting queue holds it."""

    @property
    def delta_id(self) -> str: ...
    @property
    def signer(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def content_sha256(self) -> str: ...


def _replay(home: Home, ready: _Ready) -> bool:
    """True when this exact delta was applied before; Equivocation for a clash."""
    doc = ready.document
    return _known(
        ready,
        ledger.delta_by_id(home, doc.delta_id),
        ledger.delta_by_sequence(home, doc.signer, doc.sequence),
    )


def _held(home: Home, ready: _Ready) -> bool:
    """True when this exact delta waits already; Equivocation for a clash."""
    doc = ready.document
    return _known(
        ready,
        waiting.by_delta(home, doc.delta_id),
        waiting.by_sequence(home, doc.signer, doc.sequence),
    )


def _known(ready: _Ready, by_id: _Stored | None, by_seq: _Stored | None) -> bool:
    """True when ``by_id`` holds this delta; Equivocation when either row clashes with it
    (the same id, or the same signer and sequence, with other content)."""
    doc = ready.document
    for row in (by_id, by_seq):
        if row is not None and not _same(
            doc, row.delta_id, row.signer, row.sequence, row.content_sha256
        ):
            raise _equivocation(ready.name)
    return by_id is not None


def done_sequences(home: Home, signer: str) -> frozenset[int]:
    """The signer's sequence numbers applied or released as lost."""
    applied = home.db.execute(
        "SELECT sequence FROM ledger_deltas WHERE signer = ?", (signer,)
    ).fetchall()
    return frozenset(int(r[0]) for r in applied) | waiting.skipped(home, signer)


def _reopen(
    home: Home, row: waiting.Waiting, identities: Sequence[age.Identity], trust: ReturnTrust
) -> _Ready:
    """A waiting return, verified again as it was on arrival (the database is not
    trusted to hold what was checked: the same container, the same delta)."""
    data = waiting.container(home, row.signer, row.sequence)
    at_receipt = replace(trust, received_at=read_instant(row.received_at, "a waiting return"))
    opened = open_return(data, trust=at_receipt, identities=identities)
    if opened.document is None:  # pragma: no cover - open_return decrypts with identities
        raise Malformed("a waiting return has no content")
    ready = _Ready(row.delta_id, opened.manifest, opened.body, opened.entry, opened.document, data)
    doc = ready.document
    if not _same(doc, row.delta_id, row.signer, row.sequence, row.content_sha256):
        raise Tampered("a waiting return in the state database is not the one that arrived")
    return ready


def _apply(home: Home, item: _Ready, file: str) -> ReturnResult:
    doc = item.document
    # A return made before the municipality took in the erasure instruction may still
    # name an erased person: its entries about them are dropped, not applied (the
    # municipality did nothing wrong, so the rest of the return counts).
    gone = erasures.erased_records(home, item.entry.party_id)
    statuses = [e for e in doc.statuses if e.record not in gone]
    reports = [e for e in doc.quality_reports if e.record not in gone]
    applied = ledger.apply_delta(
        home,
        delta_id=doc.delta_id,
        party_id=item.entry.party_id,
        signer=doc.signer,
        sequence=doc.sequence,
        content_sha256=doc.sha256,
        created_at=item.manifest.created_at,
        statuses=statuses,
        quality_reports=reports,
    )
    clients.record_return(
        home, party_id=item.entry.party_id, manifest=item.manifest, version=item.body.client_version
    )
    return ReturnResult(
        file=file,
        delta_id=doc.delta_id,
        nis=item.manifest.municipality,
        signer=doc.signer,
        sequence=doc.sequence,
        applied=True,
        statuses=applied.statuses,
        quality_reports=applied.quality_reports,
        conflicts=applied.conflicts,
        report_ids=applied.report_ids,
        erased=len(doc.statuses) + len(doc.quality_reports) - len(statuses) - len(reports),
    )


def _result(item: _Ready, **fields: object) -> ReturnResult:
    doc = item.document
    return ReturnResult(
        file=item.name,
        delta_id=doc.delta_id,
        nis=item.manifest.municipality,
        signer=doc.signer,
        sequence=doc.sequence,
        applied=False,
        **fields,  # type: ignore[arg-type]
    )


def _check_skip(home: Home, signer: str, sequence: int) -> None:
    """A number may be released as lost only if a waiting return needs it: it is not
    applied, not skipped, not waiting itself, and a waiting return comes after it."""
    done = done_sequences(home, signer)
    held = [w.sequence for w in waiting.waiting(home, signer)]
    if sequence in done or sequence in held or not held or sequence > max(held):
        raise UsageError(
            f"no waiting return of {signer} needs sequence number {sequence}",
            hint="see 'agency returns waiting' for what waits for what",
        )


def _skip_gaps(home: Home, skips: Sequence[tuple[str, int]]) -> None:
    for signer, sequence in skips:
        _check_skip(home, signer, sequence)
        waiting.skip(home, signer, sequence, home.now)
        home.record(Action.SKIP_GAP, actor=signer, counts={"sequence": sequence})


def _log(home: Home, result: ReturnResult) -> None:
    home.record(
        Action.IMPORT_RETURN,
        actor=result.signer,
        artifacts=[result.delta_id],
        counts={
            "sequence": result.sequence,
            "applied": int(result.applied),
            "waiting": int(result.waits_for is not None),
            "statuses": result.statuses,
            "quality_reports": result.quality_reports,
            "conflicts": result.conflicts,
        },
    )


def import_returns(
    home: Home,
    export: KeySource,
    files: Sequence[tuple[str, bytes]],
    *,
    sent_records: SentRecords = default_sent_records,
    skip_gaps: Sequence[tuple[str, int]] = (),
) -> ImportReturns:
    """Verify every file, then apply each signer's returns in sequence order, in one
    transaction (or none). A return whose predecessor has not arrived (nor been
    released with ``skip_gaps``) is stored and waits; it is applied, verified again,
    in the command that brings its predecessor.

    ``files`` are (display name, bytes) pairs; their order does not matter.
    ``skip_gaps`` are (signer fingerprint, sequence number) pairs declared lost.
    """
    trust = return_trust(home)
    checked = [_check_container(home, name, data, trust) for name, data in files]
    for signer, sequence in skip_gaps:  # a usage error before the key is unlocked
        _check_skip(home, signer, sequence)
    identity = unlock_export(home, export)
    identities = [age.parse_identity(s.identity) for s in identity.subkeys]
    ready = [_decrypt(c, identities) for c in checked]
    sent_cache: dict[str, frozenset[str]] = {}
    for item in ready:
        party = item.entry.party_id
        if party not in sent_cache:
            sent_cache[party] = sent_records(home, party)
        _check_records(item, sent_cache[party])
        _check_times(item)

    # Every waiting return that this command may release is verified again before the
    # transaction: nothing is written before everything that may be applied passed.
    signers = [*(r.document.signer for r in ready), *(s for s, _ in skip_gaps)]
    stored = {
        (row.signer, row.sequence): _reopen(home, row, identities, trust)
        for signer in dict.fromkeys(signers)
        for row in waiting.waiting(home, signer)
    }
    with statedb.transaction(home.db):
        _skip_gaps(home, skip_gaps)
        for item in ready:
            _accept_subkeys(home, item)
        results = _order_and_apply(home, ready, stored, list(dict.fromkeys(signers)))
        # In the transaction that applies the returns: the log names a delta if and
        # only if the ledger holds it (after the commit, a kill lost the entry).
        for result in results:
            _log(home, result)
    return ImportReturns(tuple(results), tuple(skip_gaps))


def _accept_subkeys(home: Home, item: _Ready) -> None:
    """Keep the signer's pre-issued subkeys the return carries (issue 19): the signer
    is authorised in the current keyring (open_return), so a removed person's are never
    kept; a forged or second key for a slot refuses the whole command."""
    signer = item.manifest.signer
    person = next((r for r in item.entry.recipients if r.fingerprint.display == signer), None)
    if person is None:  # pragma: no cover - open_return found the signer there
        raise NotAuthorised(f"{item.name}: the signer is not in the current keyring")
    vouched.accept(
        home,
        person,
        party_id=item.entry.party_id,
        subkeys=item.body.subkeys,
        source=item.document.delta_id,
    )


def _sort_files(
    home: Home, ready: Sequence[_Ready]
) -> tuple[dict[int, ReturnResult], dict[tuple[str, int], tuple[int, _Ready]]]:
    """The no-ops (index in ``ready`` -> result: replays) and the returns new in this
    command by (signer, sequence); the same file given twice counts once, and two files
    for one number or one delta id are equivocation."""
    outcome: dict[int, ReturnResult] = {}
    fresh: dict[tuple[str, int], tuple[int, _Ready]] = {}
    for index, item in enumerate(ready):
        doc = item.document
        if _replay(home, item):
            outcome[index] = _result(item)
            continue
        key = (doc.signer, doc.sequence)
        earlier = fresh.get(key)
        if earlier is not None or any(
            r.document.delta_id == doc.delta_id for _, r in fresh.values()
        ):
            if earlier is None or earlier[1].document.sha256 != doc.sha256:
                raise _equivocation(item.name)
            continue  # the same file twice in one command: reported once
        if _held(home, item):
            continue  # released below if its predecessor is here now, else still waiting
        fresh[key] = (index, item)
    return outcome, fresh


def _order_and_apply(
    home: Home,
    ready: Sequence[_Ready],
    reopened: dict[tuple[str, int], _Ready],
    signers: Sequence[str],
) -> list[ReturnResult]:
    """Sort the files into no-ops, returns to apply and returns to keep waiting, then
    apply each signer's in sequence order (inside the caller's transaction)."""
    outcome, fresh = _sort_files(home, ready)
    applied: list[ReturnResult] = []
    waits: list[ReturnResult] = []
    for signer in signers:
        done = done_sequences(home, signer)
        stored = {w.sequence: w for w in waiting.waiting(home, signer)}
        mine = {seq: pair for (s, seq), pair in fresh.items() if s == signer}
        # A number released as lost that arrives after all: applied at once (late).
        for sequence in sorted(n for n in mine if n in done):
            _, item = mine.pop(sequence)
            applied.append(_apply(home, item, item.name))
        while True:
            needed = waiting.next_needed(done)
            if needed in mine:
                _, item = mine.pop(needed)
                applied.append(_apply(home, item, item.name))
            elif needed in stored:
                row = stored.pop(needed)
                item = reopened[(signer, needed)]
                names = [r.name for r in ready if r.document.delta_id == row.delta_id]
                applied.append(_apply(home, item, names[0] if names else ""))
                waiting.remove(home, signer, needed)
            else:
                break
            done = done | {needed}
        held = frozenset(stored) | frozenset(mine)
        for sequence in sorted(mine):
            _, item = mine[sequence]
            doc = item.document
            waiting.store(
                home,
                waiting.Waiting(
                    signer=signer,
                    sequence=sequence,
                    delta_id=doc.delta_id,
                    party_id=item.entry.party_id,
                    nis=item.manifest.municipality,
                    content_sha256=doc.sha256,
                    created_at=format_instant(item.manifest.created_at),
                    received_at=format_instant(home.now),
                ),
                item.data,
            )
        for sequence in sorted(held):
            name = mine[sequence][1].name if sequence in mine else None
            if name is None:
                row = stored[sequence]
                names = [r.name for r in ready if r.document.delta_id == row.delta_id]
                if not names:
                    continue  # waits still, and nobody gave it again: nothing to say
                name = names[0]
            waits.append(
                ReturnResult(
                    file=name,
                    delta_id=mine[sequence][1].document.delta_id
                    if sequence in mine
                    else stored[sequence].delta_id,
                    nis=mine[sequence][1].manifest.municipality
                    if sequence in mine
                    else stored[sequence].nis,
                    signer=signer,
                    sequence=sequence,
                    applied=False,
                    waits_for=waiting.next_needed(done),
                    missing=waiting.missing_count(done, held, sequence),
                )
            )
    return [*outcome.values(), *applied, *waits]


def read_return_file(path: Path) -> bytes:
    """A return file's bytes, capped before reading."""
    return read_capped(path, limit=MAX_RETURN_BYTES, what="return file")
