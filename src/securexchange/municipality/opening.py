"""``municipality open``, ``set-status`` and ``report-quality``: the vault for people.

``open`` renders the current package's records (with the staff's edits applied) into
the municipal workbook (:func:`securexchange.sheets.workbook.write_workbook`), registers it and
writes it, by default inside ``HOME/workbooks/``. It refuses while the system clock is
more than 24 hours behind the highest time the home has seen (SX-CLOCK-BEHIND), and
once the package is past its valid-until (SX-STALE) until a newer one is imported.

``set-status`` and ``report-quality`` store one edit each, from the closed lists of
:mod:`securexchange.schema`; the record must be in the current package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

from securexchange import age
from securexchange.aside import aside
from securexchange.errors import ClockBehind, NotFound, Stale, Tampered, UsageError
from securexchange.home import statedb
from securexchange.home.atomicio import atomic_write, make_private_dir, output_dir
from securexchange.home.home import Home
from securexchange.home.log_entries import Action
from securexchange.i18n import _, ngettext
from securexchange.ids import ArtifactKind, is_record_id, new_artifact_id
from securexchange.keys.keystore import KeySource
from securexchange.municipality import (
    digests,
    rewrap,
    staff_edits,
    subkeys,
    vault,
    workbook_files,
    workbooks,
)
from securexchange.municipality.enrolment import held_keyring, home_nis
from securexchange.schema import QUALITY_FIELDS
from securexchange.sheets.layout import WorkbookMeta, WorkbookRow
from securexchange.sheets.workbook import write_workbook
from securexchange.vocabularies import ACTIVITY_STATUSES, QUALITY_PROBLEMS, fold


@dataclass(frozen=True)
class Opened:
    workbook_id: str
    path: Path
    records: int
    synced_folder: bool


def unlock(home: Home, source: KeySource) -> dict[str, age.SecretIdentity]:
    """Split the subkeys out of ``identity.key`` if needed; all held subkeys unlocked.

    What is still wrapped to an older subkey moves to the current one: a subkey file is
    destroyed at its valid-until plus a grace whatever is still wrapped to it.
    """
    subkeys.split_out(home, source, top_up=True, keyring=held_keyring(home))
    identities = subkeys.unlock(home, source.passphrase)
    rewrap.rewrap_to_current(home, identities)
    return identities


def vault_rows(
    home: Home,
    package: vault.PackageRow,
    identities: Mapping[str, age.SecretIdentity],
    record_ids: Sequence[str] | None = None,
) -> tuple[WorkbookRow, ...]:
    """The package's records as the agency sent them (all, or those of ``record_ids``),
    each one's clear-text deadline checked against the copy sealed in its row.

    Shredding (without a key) holds the clear column within the signed manifest's
    bounds; inside them only the sealed copy tells. A record whose clear deadline was
    edited, or whose row no longer authenticates under its clear tag (so its sealed
    deadline cannot be read), is shredded at once (its deadline may have passed), the
    shredding logged, and the command refused with SX-TAMPERED.
    """
    key = vault.data_key(home, package.package_id, identities)
    found = vault.read_rows(home, package.package_id, key, record_ids=record_ids)
    if found.edited:
        _shred_edited(home, package, found.edited)
    return found.rows


def current_rows(
    home: Home, package: vault.PackageRow, identities: Mapping[str, age.SecretIdentity]
) -> list[WorkbookRow]:
    """The package's records with the staff's edits applied, every deadline checked."""
    return staff_edits.with_edits(home, vault_rows(home, package, identities), identities)


def _shred_edited(home: Home, package: vault.PackageRow, edited: Sequence[int]) -> None:
    # By rowid: an edited tag (of another type, say) still names its row.
    with statedb.transaction(home.db):
        home.db.executemany(
            "DELETE FROM vault_records WHERE package_id = ? AND rowid = ?",
            ((package.package_id, rowid) for rowid in edited),
        )
        home.record(Action.SHRED, counts={"records": len(edited), "tampered": len(edited)})
    raise Tampered(
        ngettext(
            "{n} record deadline in the state database differs from the sealed record; "
            "that record was shredded",
            "{n} record deadlines in the state database differ from the sealed records; "
            "those records were shredded",
            len(edited),
        ).format(n=len(edited)),
        hint=_(
            "someone edited the state database: report it (protocol art. 6); "
            "run the command again to continue"
        ),
    )


def current(home: Home) -> vault.PackageRow:
    package = vault.current_package(home)
    if package is None:
        raise NotFound(
            _("this home holds no package with records to show"),
            hint=_("import the agency's latest package with 'municipality import FILE'"),
        )
    return package


def readable_package(home: Home) -> vault.PackageRow:
    """The current package, if its records may be shown now (``open``, the app's
    people page): not while the clock is behind (SX-CLOCK-BEHIND), not once the package
    is past its valid-until (SX-STALE)."""
    # In a demo home an honoured SECUREXCHANGE_NOW stands in for the system clock here
    # (ClockReading.behind): a demo travelling forward is not a clock wound back.
    if home.clock.behind:
        raise ClockBehind(
            _("the system clock is more than 24 hours behind the latest time this home has seen"),
            hint=_("correct the computer's date and time; shredding still runs meanwhile"),
        )
    package = current(home)
    if home.now >= package.valid_until:
        raise Stale(
            _("the package is past its valid-until date"),
            hint=_("import a newer package from the agency; nothing was deleted"),
        )
    return package


def open_workbook(home: Home, source: KeySource, out_dir: Path | None = None) -> Opened:
    package = readable_package(home)
    target = out_dir if out_dir is not None else home.paths.workbooks
    if out_dir is None:
        make_private_dir(target)
    else:
        output_dir(target, private=True)  # a plaintext workbook: 0700 when created
    try:
        # The workbook's path is kept (as text) to find and shred it later; a folder
        # name that is not valid UTF-8 (bytes the OS allows) cannot be kept.
        str(target.resolve()).encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            _("the --out folder's path is not valid text (UTF-8)"),
            hint=_("choose a folder whose name has only ordinary characters"),
        ) from None
    return _open(home, source, package, target)


def _open(home: Home, source: KeySource, package: vault.PackageRow, target: Path) -> Opened:
    identities = unlock(home, source)
    recipient = subkeys.current_recipient(home)
    if recipient is None:  # pragma: no cover - unlock listed at least one
        raise NotFound(_("this home holds no encryption subkey"))
    sealed_rows = vault_rows(home, package, identities)
    with statedb.transaction(home.db):
        workbooks.absorb(home, identities, skip_damaged=True)
    # Absorbing only adds edits: the rows read before it stand, with every edit applied.
    rows = staff_edits.with_edits(home, sealed_rows, identities)
    tags = [
        str(r[0])
        for r in home.db.execute(
            "SELECT tag FROM vault_records WHERE package_id = ?", (package.package_id,)
        )
    ]
    workbook_id = new_artifact_id(ArtifactKind.WORKBOOK)
    nis = home_nis(home)
    day = home.now.date().isoformat()
    path = target / workbook_files.file_name(nis, day, workbook_id)
    destroy_by = min((r.retention for r in rows), default=package.valid_until.date())
    ended = vault.terminated(home).get(package.protocol_id)
    if ended is not None:
        # A termination notice destroys everything of the protocol on its effective day,
        # whatever the records' own deadlines: that is the date to tell the reader.
        destroy_by = min(destroy_by, date.fromisoformat(ended))
    meta = WorkbookMeta(
        package_id=package.package_id,
        nis=nis,
        municipality=package.municipality,
        destroy_by=destroy_by,
        demo=home.demo,
        written_at=home.now,
    )
    # The workbook is rendered in a child process while this one registers it (both
    # cores, aside.py). A local file, written again at each open: zlib's fastest level
    # (5,000 rows: 0.64 MB instead of 0.55, 30 ms less).
    render = partial(write_workbook, rows, meta, compresslevel=1)
    with aside(render) as rendered, statedb.transaction(home.db):
        workbooks.register(
            home,
            workbook_id=workbook_id,
            package_id=package.package_id,
            path=path.resolve(),
            rows=rows,
            tags=tags,
            recipient=recipient,
        )
        # Inside the transaction: a workbook that cannot be written is not registered
        # (as when it was written before registering).
        data = rendered.result()
        digests.keep_written_file(home, workbook_id, data)
        # Logged with the registration: a workbook file exists only if it is registered
        # and logged.
        home.record(
            Action.OPEN, artifacts=[package.package_id, workbook_id], counts={"records": len(rows)}
        )
    # Registered first: a crash now leaves a listed workbook without a file, never an
    # unlisted file with personal data.
    atomic_write(path, data, mode=0o600)
    return Opened(workbook_id, path, len(rows), workbook_files.looks_synced(path))


def _rows_of(
    home: Home,
    package: vault.PackageRow,
    identities: Mapping[str, age.SecretIdentity],
    record_ids: Sequence[str],
    every_row: bool,
) -> dict[str, WorkbookRow]:
    """The current rows of ``record_ids`` (those the package holds), with edits.

    ``every_row``: every row of the package is read and its deadline checked, as each
    command that reads the vault does; without it only the rows asked for (the app,
    whose people page checks every row on each view, and a save follows a view)."""
    found = vault_rows(home, package, identities, None if every_row else record_ids)
    wanted = set(record_ids)
    return {
        r.record_id: r
        for r in staff_edits.with_edits(
            home, [r for r in found if r.record_id in wanted], identities
        )
    }


def _find(
    home: Home, record_id: str, identities: dict[str, age.SecretIdentity], every_row: bool
) -> tuple[vault.PackageRow, WorkbookRow]:
    if not is_record_id(record_id):
        raise UsageError(_("a record id looks like R- followed by 20 letters and digits"))
    package = current(home)
    row = _rows_of(home, package, identities, [record_id], every_row).get(record_id)
    if row is None:
        raise NotFound(_("the current package has no record with that id"))
    return package, row


def set_status(home: Home, source: KeySource, record_id: str, status: str) -> bool:
    """Store a status edit; returns False when the record has that status already."""
    return bool(set_statuses(home, source, {record_id: status}))


def set_statuses(
    home: Home, source: KeySource, wanted: Mapping[str, str], *, every_row: bool = True
) -> int:
    """Store a status edit for each record whose status differs from the one wanted
    (the app's table saves many at once); returns how many changed. All or nothing: an
    unknown status or record refuses the whole request before anything is stored.
    ``every_row``: see :func:`_rows_of`."""
    labels: dict[str, str] = {}
    for record_id, status in wanted.items():
        label = ACTIVITY_STATUSES.canonical(status)
        if label is None:
            raise UsageError(
                _("the status is not one of the activity statuses"),
                hint=_("choose one of: {values}").format(
                    values=", ".join(ACTIVITY_STATUSES.values)
                ),
            )
        if not is_record_id(record_id.strip()):
            raise UsageError(_("a record id looks like R- followed by 20 letters and digits"))
        labels[record_id.strip()] = label
    identities = unlock(home, source)
    package = current(home)
    rows = _rows_of(home, package, identities, list(labels), every_row)
    if not labels.keys() <= rows.keys():
        raise NotFound(_("the current package has no record with that id"))
    changed = [(rows[r], label) for r, label in labels.items() if rows[r].status != label]
    if not changed:
        return 0
    recipient = subkeys.current_recipient(home)
    assert recipient is not None
    with statedb.transaction(home.db):
        for row, label in changed:
            staff_edits.add_edit(
                home,
                kind="status",
                record=row.record_id,
                recipient=recipient,
                status=label,
                base=row.status,
            )
        home.record(Action.SET_STATUS, counts={"records": len(changed)})
    return len(changed)


def _pick(value: str, choices: tuple[str, ...]) -> str | None:
    folded = {fold(c): c for c in choices}
    return folded.get(fold(value))


def report_quality(
    home: Home,
    source: KeySource,
    record_id: str,
    field: str,
    problem: str,
    *,
    every_row: bool = True,
) -> None:
    """Store a data-quality report (art. 7) for one field of one record (``every_row``:
    see :func:`_rows_of`)."""
    field_label = _pick(field, QUALITY_FIELDS)
    if field_label is None:
        raise UsageError(
            _("the field is not one of the art. 3 fields"),
            hint=_("choose one of: {values}").format(values=", ".join(QUALITY_FIELDS)),
        )
    problem_label = QUALITY_PROBLEMS.canonical(problem)
    if problem_label is None:
        raise UsageError(
            _("the problem is not one of the art. 7 problems"),
            hint=_("choose one of: {values}").format(values=", ".join(QUALITY_PROBLEMS.values)),
        )
    identities = unlock(home, source)
    _package, row = _find(home, record_id.strip(), identities, every_row)
    recipient = subkeys.current_recipient(home)
    assert recipient is not None
    with statedb.transaction(home.db):
        staff_edits.add_edit(
            home,
            kind="quality",
            record=row.record_id,
            recipient=recipient,
            field=field_label,
            problem=problem_label,
        )
        home.record(Action.REPORT_QUALITY, counts={"reports": 1})
