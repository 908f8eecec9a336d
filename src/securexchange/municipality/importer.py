"""``municipality import FILE...``: packages, keyrings and termination notices.

A package passes every check before anything is written, in this order:

1. the container (strict ZIP, exact members) and the signature by the export key that
   the package's keyring view certifies, that view signed by the root key this home
   pinned at ``init``; every member's digest (``package_open.open_package``);
2. the keyring version is not below the one held (SX-ROLLBACK);
3. the municipality is ours (SX-WRONG-MUNICIPALITY); we are a recipient
   (SX-NOT-RECIPIENT); not dated more than a day ahead (SX-FUTURE); its protocol was not
   terminated by now (SX-PROTOCOL-INACTIVE; one made on or after the termination day,
   or while the protocol was not active, was refused in step 1 as audit does);
4. the sequence number is above the last one imported: a file imported before (same
   hash, even if superseded since) is a harmless no-op, the same number with another
   hash SX-EQUIVOCATION, a lower number SX-ROLLBACK;
5. the import deadline has not passed (SX-STALE);
6. decryption in memory with the subkey the package names, the binding fields, and the
   workbook's rows (count and deadlines against the manifest).

Then one transaction stores the package in the vault (:mod:`.vault`), shreds the one
it supersedes (edits typed in its workbooks absorbed first; status edits of records
still present carry over), marks the quality reports it answers
(:mod:`.quality_answers`), and logs the import. A refusal writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from securexchange import age
from securexchange.artifacts.container import (
    PinnedSigner,
    ReadContainer,
    open_without_decryption,
    read_container,
)
from securexchange.artifacts.manifest import ArtifactType
from securexchange.artifacts.notice import NoticeBody
from securexchange.artifacts.package import DEFAULT_MAX_PAYLOAD
from securexchange.artifacts.package_open import (
    OpenedPackage,
    PackageTrust,
    open_package,
    package_limits,
)
from securexchange.errors import (
    Equivocation,
    Future,
    Malformed,
    NotFound,
    NotRecipient,
    ProtocolInactive,
    Rollback,
    Stale,
    SxError,
    Tampered,
    WrongKind,
    WrongMunicipality,
)
from securexchange.home import statedb
from securexchange.home.atomicio import read_capped
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.i18n import _
from securexchange.keys.card import read_card
from securexchange.keys.keystore import IDENTITY_CARD, KeySource
from securexchange.keys.vouching import REPORT_HINT
from securexchange.municipality import (
    arrivals,
    erasure,
    quality_answers,
    retention,
    rewrap,
    sealing,
    staff_edits,
    subkeys,
    vault,
    vouched,
    workbooks,
)
from securexchange.municipality.claimed_type import claimed_type
from securexchange.municipality.enrolment import (
    held_keyring,
    held_keyring_version,
    home_nis,
    import_keyring,
    import_package_keyring,
    pinned_root_key,
)
from securexchange.municipality.refusals import CHANGED, with_staff_meaning
from securexchange.municipality.terminations import keyring_termination, record_termination
from securexchange.sheets.package_read import read_package_rows

FUTURE_TOLERANCE = timedelta(days=1)
MAX_FILE = DEFAULT_MAX_PAYLOAD + (8 << 20)


@dataclass(frozen=True)
class Imported:
    """What importing one file did."""

    path: Path
    kind: str  # package | keyring | notice
    artifact_id: str
    changed: bool
    records: int = 0
    erased: int = 0  # records erased at the agency's instruction (issue 20)


def _read(path: Path) -> bytes:
    return read_capped(path, limit=MAX_FILE, what=_("file"))


def import_files(
    home: Home,
    paths: Sequence[Path],
    source: KeySource,
    *,
    on_imported: Callable[[Imported], None] | None = None,
) -> list[Imported]:
    """Import each file in turn, each on its own; the first refusal stops.

    Not all-or-nothing: a package's import shreds what it supersedes and is logged on
    its own, and a later refusal cannot undo that. So the files before the refused one
    stay imported and are reported as they are done (``on_imported``, called after each
    file's commit); the refused file and every file after it are not imported.
    """
    done: list[Imported] = []
    for path in paths:
        try:
            item = import_file(home, path, source)
        except SxError as exc:
            raise with_staff_meaning(exc) from None
        done.append(item)
        if on_imported is not None:
            on_imported(item)
    return done


def import_file(home: Home, path: Path, source: KeySource) -> Imported:
    data = _read(path)
    if not data.startswith(b"PK"):
        return _import_keyring_file(home, path, data)
    return import_data(home, path, data, source)


def import_data(home: Home, path: Path, data: bytes, source: KeySource) -> Imported:
    """A package or notice whose bytes the caller read (the app's uploads): nothing is
    read from disk, ``path`` only names it. A keyring is :func:`import_keyring_pair`."""
    if not data.startswith(b"PK"):
        raise Malformed(_("{file} is not a package or a notice").format(file=path.name))
    # Read once, with a package's caps: the type the manifest claims picks the
    # verification, which then works on these members (no second parse).
    read = read_container(data, limits=package_limits())
    kind = claimed_type(read, path.name)
    if kind is ArtifactType.PACKAGE:
        return import_package(home, path, read, source)
    if kind is ArtifactType.NOTICE:
        return import_notice(home, path, read)
    raise WrongKind(
        _("{file} is not a package, keyring or notice for a municipality").format(file=path.name)
    )


# --- keyrings -----------------------------------------------------------------------


def _import_keyring_file(home: Home, path: Path, data: bytes) -> Imported:
    """A published keyring view: ``keyring-NIS.json`` with ``keyring-NIS.sig`` beside it
    (either may be named)."""
    json_path = path.with_suffix(".json")
    sig_path = path.with_suffix(".sig")
    if path.suffix not in (".json", ".sig") or not json_path.exists() or not sig_path.exists():
        raise Malformed(
            _("{file} is neither a container nor a keyring with its .sig beside it").format(
                file=path.name
            )
        )
    document = data if path == json_path else _read(json_path)
    return import_keyring_pair(home, path, document, _read(sig_path))


def import_keyring_pair(home: Home, path: Path, document: bytes, signature: bytes) -> Imported:
    """A keyring view and its signature, read by the caller (``path`` names them)."""
    sig_path = path.with_suffix(".sig")
    try:
        result = import_keyring(home, document, signature.decode("ascii"))
    except UnicodeDecodeError:
        raise Malformed(
            _("{file} is not an armored signature").format(file=sig_path.name)
        ) from None
    if keyring_termination(home, result.keyring, hashlib.sha256(document).hexdigest()):
        retention.shred(home)
    return Imported(path, "keyring", result.keyring.id, result.changed)


# --- packages -----------------------------------------------------------------------


def _own_fingerprint(home: Home) -> str:
    try:
        card = read_card((home.paths.keys / IDENTITY_CARD).read_bytes())
    except FileNotFoundError:
        raise NotFound(_("this home has no key card"), hint=_("run 'municipality init'")) from None
    return card.fingerprint.display


def check_package(home: Home, opened: OpenedPackage) -> tuple[str, bool]:
    """Steps 3-5 on a verified package. Returns (our subkey, already imported)."""
    body = opened.body
    manifest = opened.manifest
    if body.nis != home_nis(home) or manifest.municipality != home_nis(home):
        raise WrongMunicipality(
            _("the package is addressed to another municipality"),
            hint=_("nothing was imported; send the file back to the agency and delete it"),
        )
    ours = _own_fingerprint(home)
    mine = [r for r in body.recipients if r.fingerprint == ours]
    if not mine:
        raise NotRecipient(
            _("the package is not encrypted to your key"),
            hint=_("ask the agency whether your key card is registered for this municipality"),
        )
    if manifest.created_at > home.now + FUTURE_TOLERANCE:
        raise Future(
            _("the package is dated more than a day in the future"),
            hint=_("check this computer's date and time; if they are right, tell the agency"),
        )
    # open_package refused a package made on or after the termination; this home's
    # clock decides whether the termination has come since.
    days = [vault.terminated(home).get(body.protocol_id)]
    ended = opened.keyring.municipalities[0].terminated_on  # the view's own word
    days.append(None if ended is None else ended.isoformat())
    effective = min((d for d in days if d is not None), default=None)
    if effective is not None and home.now.date().isoformat() >= effective:
        raise ProtocolInactive(
            _("the protocol this package belongs to was terminated"),
            hint=_("the agency's termination notice was imported; no packages are accepted"),
        )
    imported = {p.sha256 for p in vault.packages(home)}
    if opened.container_sha256 in imported:
        # This very file was imported before (maybe since superseded): harmless.
        return mine[0].subkey, True
    latest = vault.latest_package(home)
    if latest is not None:
        if body.sequence == latest.sequence:
            raise Equivocation(
                _("another package with the same sequence number was imported before"),
                hint=_(REPORT_HINT),
            )
        if body.sequence < latest.sequence:
            raise Rollback(
                _("the package is older than one imported before"),
                hint=_("import the newest package the agency sent"),
            )
    if home.now > body.import_deadline:
        raise Stale(
            _("the package's import deadline has passed"),
            hint=_("a late package is not a data breach: ask the agency for a new export"),
        )
    return mine[0].subkey, False


def _check_rows(opened: OpenedPackage, rows: Sequence[object]) -> None:
    from securexchange.sheets.layout import WorkbookRow

    body = opened.body
    typed = [r for r in rows if isinstance(r, WorkbookRow)]
    if len(typed) != body.records:
        raise Tampered(
            _("the package's workbook does not hold the records its manifest states"),
            hint=_(CHANGED),
        )
    for row in typed:
        if (
            body.earliest_retention is None
            or body.latest_retention is None
            or not body.earliest_retention <= row.retention <= body.latest_retention
        ):
            raise Tampered(
                _("a record's retention deadline disagrees with the manifest"),
                hint=_(CHANGED),
            )
    if opened.erased and any(row.record_id in opened.erased for row in typed):
        raise Malformed(_("the package holds a record it asks to erase"), hint=_(CHANGED))


def import_package(home: Home, path: Path, read: ReadContainer, source: KeySource) -> Imported:
    root = pinned_root_key(home)
    held = max(1, held_keyring_version(home))
    ended = tuple((p, date.fromisoformat(d)) for p, d in vault.terminated(home).items())
    trust = PackageTrust(root, held, terminations=ended)
    opened = open_package(read, trust=trust, identities=None)
    subkey, again = check_package(home, opened)
    if again:
        return Imported(path, "package", opened.package_id, False, opened.body.records)
    vouched.refuse_foreign_in_package(home, opened.keyring, opened.body.recipients)

    subkeys.split_out(home, source, top_up=True, keyring=opened.keyring)
    identities = subkeys.unlock(home, source.passphrase)
    if subkey not in identities:
        raise NotRecipient(
            _("the subkey this package is encrypted to is no longer held"),
            hint=_("it was destroyed after its validity ended; ask the agency for a new export"),
        )
    opened = opened.decrypt([identities[subkey]])
    if opened.workbook is None:  # pragma: no cover - decrypt always sets the workbook
        raise Malformed(_("the package has no payload"))
    rows = read_package_rows(opened.workbook, records=opened.body.records)
    _check_rows(opened, rows)
    # The package's keyring view becomes the held keyring (same checks as a keyring file).
    import_package_keyring(home, opened)
    erased = store_package(home, opened, rows, identities, read.data)
    with statedb.transaction(home.db):
        vouched.keep_agency_subkeys(home, opened.body.agency_subkeys)
    keyring_termination(home, opened.keyring, hashlib.sha256(opened.keyring_data).hexdigest())
    retention.shred(home, identities=identities)
    if opened.erased:
        # The shredding pass absorbed the old workbooks once more: nothing typed there
        # about an erased record may stay to be returned.
        with statedb.transaction(home.db):
            erasure.drop_edits(home, frozenset(opened.erased), identities)
    return Imported(path, "package", opened.package_id, True, len(rows), erased)


def store_package(
    home: Home,
    opened: OpenedPackage,
    rows: Sequence[object],
    identities: Mapping[str, age.SecretIdentity],
    container: bytes,
) -> int:
    """Store the package, shred what it supersedes, carry out its erasures; returns the
    number of erased records."""
    from securexchange.sheets.layout import WorkbookRow

    body = opened.body
    recipient = subkeys.current_recipient(home)
    if recipient is None:  # pragma: no cover - split_out listed at least one
        raise NotRecipient(_("this home holds no encryption subkey"))
    key = sealing.new_data_key()
    typed = [r for r in rows if isinstance(r, WorkbookRow)]
    older = [p for p in vault.packages(home) if p.live]
    with statedb.transaction(home.db):
        workbooks.absorb(home, identities, skip_damaged=True)
        vault.insert_package(
            home,
            package=vault.PackageRow(
                package_id=opened.package_id,
                sequence=body.sequence,
                sha256=opened.container_sha256,
                protocol_id=body.protocol_id,
                party_id=body.party_id,
                municipality=body.municipality_name,
                created_at=opened.manifest.created_at,
                imported_at=home.now,
                import_deadline=body.import_deadline,
                valid_until=body.valid_until,
                records=body.records,
                demo=body.demo,
                state=vault.LIVE,
                shredded_at=None,
            ),
            data_key=key,
            recipient=recipient,
            rows=typed,
            container=container,
        )
        arrivals.note(home, opened.package_id, key, typed, older=older, identities=identities)
        erased = erasure.carry_out(
            home,
            opened.erased,
            [p.package_id for p in older],
            identities,
            until=body.protocol_until,
        )
        shredded = sum(vault.shred_package(home, p.package_id, vault.SUPERSEDED) for p in older)
        staff_edits.drop_returned_before(home, opened.manifest.created_at)
        answered = quality_answers.match(
            home,
            identities,
            package_id=opened.package_id,
            created_at=opened.manifest.created_at,
            rows=typed,
        )
        rewrap.rewrap(home, identities, recipient)
        counts = {
            "sequence": body.sequence,
            "records": len(typed),
            "superseded": len(older),
            "records_shredded": shredded,
        }
        if answered:
            counts["quality_answered"] = answered
        _record_import(home, opened.package_id, counts, erased)
    return erased.records


def _record_import(
    home: Home, package_id: str, counts: dict[str, int], erased: erasure.Erased
) -> None:
    home.record(Action.IMPORT, artifacts=[package_id], counts=counts)
    if erased.instructions:
        home.record(
            Action.ERASE,
            artifacts=[package_id],
            counts={
                "instructions": erased.instructions,
                "records": erased.records,
                "edits": erased.edits,
            },
        )


def import_notice(home: Home, path: Path, read: ReadContainer) -> Imported:
    """A termination notice (art. 8, 12): signed by the export key of the keyring held."""
    keyring = held_keyring(home)
    if keyring is None:
        raise NotFound(
            _("this home holds no keyring to check the notice against"),
            hint=_("import the agency's latest package or keyring first"),
        )
    verified = open_without_decryption(
        read,
        trust=PinnedSigner(keyring.agency.export.signing_key, frozenset({ArtifactType.NOTICE})),
        accept=(ArtifactType.NOTICE,),
    )
    body = verified.manifest.body
    if not isinstance(body, NoticeBody):
        raise Malformed(_("{file} is not a termination notice").format(file=path.name))
    nis = home_nis(home)
    entry = keyring.municipalities[0]
    if body.nis != nis or verified.manifest.municipality != nis or body.party_id != entry.party_id:
        raise WrongMunicipality(_("the notice is addressed to another municipality"))
    if verified.manifest.created_at > home.now + FUTURE_TOLERANCE:
        raise Future(_("the notice is dated more than a day in the future"))
    notice_id = verified.manifest.artifact_id
    if not record_termination(
        home,
        protocol_id=body.protocol_id,
        source_id=notice_id,
        sha256=verified.container_sha256,
        effective=body.effective,
        signed_notice=read.data,
    ):
        # The same notice again, or a later date than one held: termination never
        # moves later.
        return Imported(path, "notice", notice_id, False)
    retention.shred(home)
    return Imported(path, "notice", notice_id, True)
