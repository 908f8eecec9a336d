"""The whole story of the brief on synthetic data, as ``securexchange demo`` runs it.

An agency and three municipalities (two staff members in the first), each in its own
``--demo`` home under one directory, go through every workflow the CLI offers: keyring,
export, import, open, status typed into the workbook file, return, the agency's import
and report, a data-quality report and its resolution, the audit (clean, then a tampered
copy refused), a termination notice, and time passing with records shredded and
subkeys destroyed. Each step calls the same library functions the CLI commands call,
checks its own outcome and raises :class:`DemoFailed` when it did not do what it should.

Library code never prints: :func:`run_demo` yields one :class:`Step` per step and the
CLI prints them. Time travel uses the clock override the CLI honours in demo homes
(``SECUREXCHANGE_NOW``), passed as the environment of the homes the demo opens; the
caller's own environment is never read or changed.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from securexchange.clock import OVERRIDE_ENV
from securexchange.demo.cast import (
    AGENCY_NAME,
    MUNICIPALITIES,
    RECORDS,
    SEED,
    STATUS_SET,
    STATUS_TYPED,
    DemoFailed,
    Staff,
    check,
    demo_key,
    personal_values,
    slug,
)
from securexchange.home.home import Home, HomeKind, open_home
from securexchange.intake import sample
from securexchange.keys.keyfile import DEMO_PASSPHRASE, DEMO_WORK_FACTOR
from securexchange.keys.keystore import KeySource, KeyUse, key_path
from securexchange.wording import counted

if TYPE_CHECKING:
    from securexchange.municipality.status import VaultStatus


class _Story:
    """The demo's directory, homes and clock; one method per step."""

    def __init__(self, directory: Path, today: datetime) -> None:
        self.dir = directory
        self.today = today.date()
        self.env: dict[str, str] = {}  # the homes' environment: no override until time passes
        self.agency = directory / "agency"
        self.master = directory / "demo-master.xlsx"
        self.exports = directory / "exports"
        self.exports_again = directory / "exports-2"
        self.published = directory / "keyring"
        self.returns = directory / "returns"
        self.notices = directory / "notices"
        self.audit = directory / "audit-tampered"
        self.report = directory / "agency-report.xlsx"
        self.protocol_until = date(self.today.year + 2, 12, 31)
        self.future = self.protocol_until + timedelta(days=1)
        self.staff: list[Staff] = [
            Staff(m, person, directory / f"staff-{m.nis}-{slug(person)}")
            for m in MUNICIPALITIES
            for person in m.staff
        ]
        self.workbooks: dict[str, Path] = {}
        self.master_rows: sample.Rows = []
        self.where: Path | None = None  # a step that wrote somewhere else says so here

    # --- helpers ----------------------------------------------------------------------

    @contextmanager
    def _agency(self) -> Iterator[Home]:
        with open_home(self.agency, env=self.env, expect=HomeKind.AGENCY) as home:
            yield home

    @contextmanager
    def _municipal(self, staff: Staff) -> Iterator[Home]:
        """As every municipal command: open the home and shred before anything else."""
        from securexchange.municipality.retention import shred

        with open_home(staff.home, env=self.env, expect=HomeKind.MUNICIPALITY) as home:
            shred(home)
            yield home

    def _root(self, home: Home) -> KeySource:
        return demo_key(key_path(home, KeyUse.ROOT))

    def _export_key(self, home: Home) -> KeySource:
        return demo_key(key_path(home, KeyUse.EXPORT))

    def _identity(self, home: Home) -> KeySource:
        return demo_key(key_path(home, KeyUse.IDENTITY))

    def _of(self, nis: str) -> list[Staff]:
        return [s for s in self.staff if s.municipality.nis == nis]

    def _status(self, staff: Staff) -> VaultStatus:
        from securexchange.municipality.status import status

        with self._municipal(staff) as home:
            return status(home)

    # --- the steps --------------------------------------------------------------------

    def master_file(self) -> str:
        codes = [m.nis for m in MUNICIPALITIES]
        self.master_rows = sample.generate_master(RECORDS, nis=codes, seed=SEED)
        sample.write_master(self.master_rows, self.master)
        check(self.master.is_file(), "the synthetic master was not written")
        return f"{RECORDS} synthetic newcomers over {len(codes)} municipalities"

    def agency_home(self) -> str:
        from securexchange.agency.changes import init_agency

        made = init_agency(
            self.agency,
            env=self.env,
            name=AGENCY_NAME,
            demo=True,
            root_passphrase=DEMO_PASSPHRASE,
            export_passphrase=DEMO_PASSPHRASE,
            work_factor=DEMO_WORK_FACTOR,
        )
        check(made.root_card.is_file(), "the agency has no root key card")
        return f"demo agency home, root key {made.root_fingerprint.display}"

    def municipalities(self) -> str:
        from securexchange.agency.changes import add_municipality

        version = 0
        with self._agency() as home:
            for m in MUNICIPALITIES:
                _entry, version = add_municipality(
                    home,
                    self._root(home),
                    nis=m.nis,
                    name=m.name,
                    protocol_until=self.protocol_until,
                )
        check(version == 1 + len(MUNICIPALITIES), "a municipality was not registered")
        names = ", ".join(m.name for m in MUNICIPALITIES)
        return f"{names} registered, protocols until {self.protocol_until}"

    def staff_homes(self) -> str:
        from securexchange.agency.changes import add_recipient
        from securexchange.agency.registry import list_recipients
        from securexchange.municipality.enrolment import init_municipality

        card = (self.agency / "keys" / "root.card.json").read_bytes()
        for staff in self.staff:
            made = init_municipality(
                staff.home,
                env=self.env,
                nis=staff.municipality.nis,
                name=staff.name,
                role="integratiebeambte",
                agency_card=card,
                passphrase=lambda: DEMO_PASSPHRASE,
                demo=True,
                work_factor=DEMO_WORK_FACTOR,
            )
            with self._agency() as home:
                add_recipient(
                    home,
                    self._root(home),
                    nis=staff.municipality.nis,
                    fingerprint=made.fingerprint.display,
                    card_data=made.card.read_bytes(),
                )
        with self._agency() as home:
            listed = list_recipients(home)
        check(len(listed) == len(self.staff), "not every staff card was authorised")
        return f"{len(self.staff)} staff homes (two in {MUNICIPALITIES[0].name}), cards authorised"

    def keyring(self) -> str:
        from securexchange.agency.registry import publish_keyring

        with self._agency() as home:
            published = publish_keyring(home, self.published)
        check((self.published / "allowed_signers").is_file(), "no allowed_signers published")
        # Every registration and every authorised card was one root-signed version.
        return (
            f"version {published.version} (one per change so far), "
            f"{counted(len(published.files), 'file')} incl. allowed_signers"
        )

    def _export(self, out: Path) -> tuple[int, int, int]:
        """Packages written, records in them, and rows left out as past their deadline."""
        from securexchange.agency.export import export_master

        with self._agency() as home:
            result = export_master(home, self.master, out, export_key=self._export_key(home))
        files = [p.file for p in result.packages if p.file is not None]
        check(len(files) == len(MUNICIPALITIES), "not every municipality got a package")
        check(all(f.is_file() for f in files), "a package file is missing")
        return len(files), result.records, sum(p.expired for p in result.packages)

    def export(self) -> str:
        packages, records, expired = self._export(self.exports)
        check(records > 0, "the export holds no records")
        check(records + expired == RECORDS, "a master row is neither exported nor accounted for")
        return (
            f"{counted(packages, 'signed, encrypted package')}, {counted(records, 'record')}"
            f" ({expired} of the {RECORDS} rows are past their retention deadline: left out)"
        )

    def _import_all(self, directory: Path, staff: list[Staff]) -> int:
        from securexchange.municipality.importer import import_files

        imported = 0
        for person in staff:
            (package,) = sorted(directory.glob(f"{person.municipality.nis}-*"))
            with self._municipal(person) as home:
                done = import_files(home, [package], self._identity(home))
            check(all(d.changed for d in done), f"{person.label} did not import its package")
            imported += sum(d.records for d in done)
        return imported

    def imports(self) -> str:
        records = self._import_all(self.exports, self.staff)
        return (
            f"{len(self.staff)} staff homes verified and imported their package"
            f" ({counted(records, 'record')} in all: both "
            f"{MUNICIPALITIES[0].name} homes hold {MUNICIPALITIES[0].name}'s)"
        )

    def open(self) -> str:
        from securexchange.municipality.opening import open_workbook

        for staff in self.staff:
            with self._municipal(staff) as home:
                opened = open_workbook(home, self._identity(home))
            check(opened.path.is_file(), f"{staff.label}: no workbook written")
            self.workbooks[staff.label] = opened.path
        self.where = self.workbooks[self.staff[0].label].parent
        return f"{len(self.workbooks)} DEMO workbooks, registered for shredding, one per home"

    def edit_workbook(self) -> str:
        """Type a status into the workbook file, as a staff member does in Excel."""
        from securexchange.sheets.by_hand import type_status

        staff = self.staff[0]
        path = self.workbooks[staff.label]
        typed = type_status(path, STATUS_TYPED, rows=2)
        check(typed == 2, "the workbook has fewer than two records")
        self.where = path
        return f"{staff.label} typed '{STATUS_TYPED}' for {counted(typed, 'record')} in {path.name}"

    def _first_record(self, staff: Staff) -> str:
        from securexchange.schema import HEADER_RECORD_ID
        from securexchange.sheets.by_hand import column_texts

        ids = column_texts(self.workbooks[staff.label], HEADER_RECORD_ID)
        if not ids:
            raise DemoFailed(f"demo step failed: {staff.label}'s workbook holds no record")
        return ids[0]

    def set_status(self) -> str:
        from securexchange.municipality.opening import set_status

        changed = 0
        for staff in self.staff[2:]:
            record = self._first_record(staff)
            with self._municipal(staff) as home:
                changed += set_status(home, self._identity(home), record, STATUS_SET)
        check(changed == len(self.staff) - 2, "a status was not stored")
        return f"'{STATUS_SET}' stored for one record in {changed} other homes (set-status)"

    def quality_report(self) -> str:
        from securexchange.municipality.opening import report_quality

        staff = self.staff[1]
        record = self._first_record(staff)
        with self._municipal(staff) as home:
            report_quality(home, self._identity(home), record, "Telefoon", "verouderd")
        return f"{staff.label} reported an outdated phone number (art. 7)"

    def make_returns(self) -> str:
        from securexchange.municipality.returns import make_return

        self.returns.mkdir()
        statuses = reports = files = 0
        for staff in self.staff:
            with self._municipal(staff) as home:
                made = make_return(home, self._identity(home), self.returns)
            check(made.path is not None, f"{staff.label} had nothing to return")
            statuses += made.statuses
            reports += made.quality_reports
            files += 1
        check(statuses == 2 + len(self.staff) - 2, "not every status edit was returned")
        check(reports == 1, "the quality report was not returned")
        return (
            f"{counted(files, 'signed, encrypted return')}: "
            f"{counted(statuses, 'status', 'statuses')}, {counted(reports, 'quality report')}"
        )

    def agency_import(self) -> str:
        from securexchange.agency.returns import import_returns

        files = [(p.name, p.read_bytes()) for p in sorted(self.returns.iterdir())]
        with self._agency() as home:
            result = import_returns(home, self._export_key(home), files)
        applied = [r for r in result.results if r.applied]
        check(len(applied) == len(files), "a return was not applied")
        statuses = sum(r.statuses for r in applied)
        return (
            f"{counted(len(applied), 'return')} verified and applied "
            f"({counted(statuses, 'status', 'statuses')} in the ledger)"
        )

    def agency_report(self) -> str:
        from securexchange.agency.report import write_report

        with self._agency() as home:
            summary = write_report(home, self.report)
        check(self.report.is_file() and summary.statuses > 0, "the report holds no status")
        check(summary.open_reports == 1, "the quality report is not in the report")
        return (
            "DEMO report for counsellors: "
            f"{counted(summary.statuses, 'status', 'statuses')}, 1 open quality report"
        )

    def quality_resolved(self) -> str:
        from securexchange.agency.quality import list_reports, resolve

        with self._agency() as home:
            listing = list_reports(home)
            check(len(listing.rows) == 1, "the agency does not list the quality report")
            row = resolve(home, listing.rows[0].report_id, "gecorrigeerd")
        check(row.outcome == "gecorrigeerd", "the report was not resolved")
        return f"{row.report_id} resolved 'gecorrigeerd' (due {row.due_on}: two weeks)"

    def export_again(self) -> str:
        """The next export supersedes the first and carries the outcome to the workbook."""
        from securexchange.municipality.opening import open_workbook
        from securexchange.schema import HEADER_OUTCOME
        from securexchange.sheets.by_hand import column_texts

        packages, _records, _expired = self._export(self.exports_again)
        staff = self.staff[1]
        self._import_all(self.exports_again, self._of(staff.municipality.nis))
        with self._municipal(staff) as home:
            opened = open_workbook(home, self._identity(home))
        self.workbooks[staff.label] = opened.path
        self.where = opened.path
        outcomes = column_texts(opened.path, HEADER_OUTCOME)
        check(outcomes == ["gecorrigeerd"], "the outcome did not reach the workbook")
        return (
            f"{packages} superseding packages; {staff.label}'s new workbook shows "
            "'Afhandeling melding: gecorrigeerd'"
        )

    def _audit(self, paths: list[Path]) -> tuple[int, int]:
        from securexchange.audit.verify import audit_paths

        report = audit_paths(paths, self.published / "root.card.json")
        return len(report.artifacts), len(report.failed)

    def audit_verify(self) -> str:
        checked, failed = self._audit(
            [self.exports, self.exports_again, self.returns, self.published]
        )
        check(failed == 0 and checked >= 2 * len(MUNICIPALITIES) + len(self.staff), "audit failed")
        return f"{checked} artifacts verified without any decryption key"

    def audit_tampered(self) -> str:
        shutil.copytree(self.exports, self.audit)
        shutil.copytree(self.published, self.audit / "keyring")
        (victim,) = sorted(self.audit.glob(f"{MUNICIPALITIES[0].nis}-*"))
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0x01
        victim.write_bytes(bytes(data))
        checked, failed = self._audit([self.audit])
        check(failed == 1, "the tampered copy was not refused")
        return f"one flipped bit in a copy of {victim.name}: refused, {checked - failed} others ok"

    def terminate(self) -> str:
        from securexchange.agency.terminate import terminate
        from securexchange.municipality.importer import import_files

        last = MUNICIPALITIES[-1]
        self.notices.mkdir()
        with self._agency() as home:
            done = terminate(
                home,
                self._export_key(home),
                nis=last.nis,
                effective=self.today,
                out_dir=self.notices,
            )
        for staff in self._of(last.nis):
            with self._municipal(staff) as home:
                import_files(home, [done.path], self._identity(home))
            state = self._status(staff)
            check(
                all(p.records == 0 for p in state.packages),
                f"{staff.label} kept records after the termination notice",
            )
            check(not self.workbooks[staff.label].exists(), "a terminated workbook is left")
        return f"{last.name}'s protocol ends today: its vault and workbook were destroyed"

    def time_passes(self) -> str:
        from securexchange.municipality.retention import shred

        self.env = {OVERRIDE_ENV: self.future.isoformat()}
        records = subkeys = workbooks = 0
        for staff in self.staff:
            with open_home(staff.home, env=self.env, expect=HomeKind.MUNICIPALITY) as home:
                report = shred(home, log_always=True)
            records += report.records
            subkeys += report.subkeys
            workbooks += report.workbooks
        check(records > 0, "no record was shredded")
        check(subkeys > 0, "no subkey was destroyed")
        for staff in self.staff:
            held = [k for k in self._status(staff).subkeys if k.state == "held"]
            check(held == [], f"{staff.label} still holds a subkey")
        left = [w for w in self.workbooks.values() if w.exists()]
        check(left == [], "a workbook survived its deadline")
        return (
            f"clock at {self.future}: {counted(records, 'record')}, "
            f"{counted(workbooks, 'workbook')} shredded, {counted(subkeys, 'subkey')} "
            "destroyed (old copies of packages are now undecryptable)"
        )

    def logs(self) -> str:
        from securexchange.audit.logcheck import log_findings

        homes = [self.agency, *(s.home for s in self.staff)]
        entries = 0
        for root in homes:
            with open_home(root, env=self.env) as home:
                result, findings = log_findings(home)
            check(findings == (), f"the log of {root.name} does not verify")
            entries += len(result.entries)
        personal = personal_values(self.master_rows)
        for log in self.dir.rglob("*.jsonl"):
            text = log.read_text(encoding="utf-8")
            check(re.search(r"R-[A-Z2-7]{20}", text) is None, f"a record id in {log}")
            check(not any(v in text for v in personal), f"personal data in {log}")
        return (
            f"{len(homes)} logs, {counted(entries, 'entry', 'entries')}: "
            "chains intact, no personal data"
        )
