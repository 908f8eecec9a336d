"""The whole story of the brief on synthetic data, as ``securexchange demo`` runs it.

An agency and three municipalities (two staff members in the first), each in its own
``--demo`` home under one directory, go through every workflow the CLI offers: keyring,
export, import, open, status typed into the workbook file, return, the agency's import
and report, a data-quality report and its resolution, the audit (clean, then a tampered
copy refused), an incident reported and closed, a written notice given by Gent and
recorded in the keyring, a report of measures taken in by the agency, a termination
notice, and time
passing with records shredded and subkeys destroyed. Each step calls the same library
functions the CLI commands call, checks its own outcome and raises :class:`DemoFailed`
when it did not do what it should.

Library code never prints: :func:`run_demo` yields one :class:`Step` per step and the
CLI prints them. Time travel uses the clock override the CLI honours in demo homes
(``SECUREXCHANGE_NOW``), passed as the environment of the homes the demo opens; the
caller's own environment is never read or changed.
"""

from __future__ import annotations

import re
import shutil
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
    personal_values,
)
from securexchange.demo.evidence_story import EvidenceStory
from securexchange.demo.incident_story import IncidentStory
from securexchange.demo.notice_story import NoticeStory
from securexchange.home.home import HomeKind, open_home
from securexchange.i18n import _, ngettext
from securexchange.intake import sample
from securexchange.keys.keyfile import DEMO_PASSPHRASE, DEMO_WORK_FACTOR

if TYPE_CHECKING:
    pass


class _Story(IncidentStory, NoticeStory, EvidenceStory):
    """The demo's steps, one method each."""

    # --- the steps --------------------------------------------------------------------

    def master_file(self) -> str:
        codes = [m.nis for m in MUNICIPALITIES]
        self.master_rows = sample.generate_master(RECORDS, nis=codes, seed=SEED)
        sample.write_master(self.master_rows, self.master)
        check(self.master.is_file(), _("the synthetic master was not written"))
        return _("{newcomers} synthetic newcomers over {municipalities} municipalities").format(
            newcomers=RECORDS, municipalities=len(codes)
        )

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
        check(made.root_card.is_file(), _("the agency has no root key card"))
        return _("demo agency home, root key {fingerprint}").format(
            fingerprint=made.root_fingerprint.display
        )

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
        check(version == 1 + len(MUNICIPALITIES), _("a municipality was not registered"))
        names = ", ".join(m.name for m in MUNICIPALITIES)
        return _("{names} registered, protocols until {until}").format(
            names=names, until=self.protocol_until
        )

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
        check(len(listed) == len(self.staff), _("not every staff card was authorised"))
        return _("{homes} staff homes (two in {municipality}), cards authorised").format(
            homes=len(self.staff), municipality=MUNICIPALITIES[0].name
        )

    def keyring(self) -> str:
        from securexchange.agency.registry import publish_keyring

        with self._agency() as home:
            published = publish_keyring(home, self.published)
        check((self.published / "allowed_signers").is_file(), _("no allowed_signers published"))
        # Every registration and every authorised card was one root-signed version.
        files = len(published.files)
        return _("version {version} (one per change so far), {files} incl. allowed_signers").format(
            version=published.version,
            files=ngettext("{n} file", "{n} files", files).format(n=files),
        )

    def _export(self, out: Path) -> tuple[int, int, int]:
        """Packages written, records in them, and rows left out as past their deadline."""
        from securexchange.agency.export import export_master

        with self._agency() as home:
            result = export_master(home, self.master, out, export_key=self._export_key(home))
        files = [p.file for p in result.packages if p.file is not None]
        check(len(files) == len(MUNICIPALITIES), _("not every municipality got a package"))
        check(all(f.is_file() for f in files), _("a package file is missing"))
        return len(files), result.records, sum(p.expired for p in result.packages)

    def export(self) -> str:
        packages, records, expired = self._export(self.exports)
        check(records > 0, _("the export holds no records"))
        check(records + expired == RECORDS, _("a master row is neither exported nor accounted for"))
        return _(
            "{packages}, {records} ({expired} of the {rows} rows are past their retention "
            "deadline: left out)"
        ).format(
            packages=ngettext(
                "{n} signed, encrypted package", "{n} signed, encrypted packages", packages
            ).format(n=packages),
            records=ngettext("{n} record", "{n} records", records).format(n=records),
            expired=expired,
            rows=RECORDS,
        )

    def _import_all(self, directory: Path, staff: list[Staff]) -> int:
        from securexchange.municipality.importer import import_files

        imported = 0
        for person in staff:
            (package,) = sorted(directory.glob(f"{person.municipality.nis}-*"))
            with self._municipal(person) as home:
                done = import_files(home, [package], self._identity(home))
            check(
                all(d.changed for d in done),
                _("{staff} did not import its package").format(staff=person.label),
            )
            imported += sum(d.records for d in done)
        return imported

    def imports(self) -> str:
        records = self._import_all(self.exports, self.staff)
        return _(
            "{homes} staff homes verified and imported their package ({records} in all: both "
            "{municipality} homes hold {municipality}'s)"
        ).format(
            homes=len(self.staff),
            records=ngettext("{n} record", "{n} records", records).format(n=records),
            municipality=MUNICIPALITIES[0].name,
        )

    def open(self) -> str:
        from securexchange.municipality.opening import open_workbook

        for staff in self.staff:
            with self._municipal(staff) as home:
                opened = open_workbook(home, self._identity(home))
            check(
                opened.path.is_file(), _("{staff}: no workbook written").format(staff=staff.label)
            )
            self.workbooks[staff.label] = opened.path
        self.where = self.workbooks[self.staff[0].label].parent
        return _("{workbooks} DEMO workbooks, registered for shredding, one per home").format(
            workbooks=len(self.workbooks)
        )

    def edit_workbook(self) -> str:
        """Type a status into the workbook file, as a staff member does in Excel."""
        from securexchange.sheets.by_hand import type_status

        staff = self.staff[0]
        path = self.workbooks[staff.label]
        typed = type_status(path, STATUS_TYPED, rows=2)
        check(typed == 2, _("the workbook has fewer than two records"))
        self.where = path
        return _("{staff} typed '{status}' for {records} in {file}").format(
            staff=staff.label,
            status=STATUS_TYPED,
            records=ngettext("{n} record", "{n} records", typed).format(n=typed),
            file=path.name,
        )

    def _first_record(self, staff: Staff) -> str:
        from securexchange.schema import HEADER_RECORD_ID
        from securexchange.sheets.by_hand import column_texts

        ids = column_texts(self.workbooks[staff.label], HEADER_RECORD_ID)
        if not ids:
            what = _("{staff}'s workbook holds no record").format(staff=staff.label)
            raise DemoFailed(_("demo step failed: {what}").format(what=what))
        return ids[0]

    def set_status(self) -> str:
        from securexchange.municipality.opening import set_status

        changed = 0
        for staff in self.staff[2:]:
            record = self._first_record(staff)
            with self._municipal(staff) as home:
                changed += set_status(home, self._identity(home), record, STATUS_SET)
        check(changed == len(self.staff) - 2, _("a status was not stored"))
        return _("'{status}' stored for one record in {homes} other homes (set-status)").format(
            status=STATUS_SET, homes=changed
        )

    def quality_report(self) -> str:
        from securexchange.municipality.opening import report_quality

        staff = self.staff[1]
        record = self._first_record(staff)
        with self._municipal(staff) as home:
            report_quality(home, self._identity(home), record, "Telefoon", "verouderd")
        return _("{staff} reported an outdated phone number (art. 7)").format(staff=staff.label)

    def make_returns(self) -> str:
        from securexchange.municipality.returns import make_return

        self.returns.mkdir()
        statuses = reports = files = 0
        for staff in self.staff:
            with self._municipal(staff) as home:
                made = make_return(home, self._identity(home), self.returns)
            check(
                made.path is not None,
                _("{staff} had nothing to return").format(staff=staff.label),
            )
            statuses += made.statuses
            reports += made.quality_reports
            files += 1
        check(statuses == 2 + len(self.staff) - 2, _("not every status edit was returned"))
        check(reports == 1, _("the quality report was not returned"))
        # TRANSLATORS: the three counts made just above ("4 signed, encrypted returns", ...).
        return _("{returns}: {statuses}, {reports}").format(
            returns=ngettext(
                "{n} signed, encrypted return", "{n} signed, encrypted returns", files
            ).format(n=files),
            statuses=ngettext("{n} status", "{n} statuses", statuses).format(n=statuses),
            reports=ngettext("{n} quality report", "{n} quality reports", reports).format(
                n=reports
            ),
        )

    def agency_import(self) -> str:
        from securexchange.agency.returns import import_returns

        files = [(p.name, p.read_bytes()) for p in sorted(self.returns.iterdir())]
        with self._agency() as home:
            result = import_returns(home, self._export_key(home), files)
        applied = [r for r in result.results if r.applied]
        check(len(applied) == len(files), _("a return was not applied"))
        statuses = sum(r.statuses for r in applied)
        return _("{returns} verified and applied ({statuses} in the ledger)").format(
            returns=ngettext("{n} return", "{n} returns", len(applied)).format(n=len(applied)),
            statuses=ngettext("{n} status", "{n} statuses", statuses).format(n=statuses),
        )

    def agency_report(self) -> str:
        from securexchange.agency.report import write_report

        with self._agency() as home:
            summary = write_report(home, self.report)
        check(self.report.is_file() and summary.statuses > 0, _("the report holds no status"))
        check(summary.open_reports == 1, _("the quality report is not in the report"))
        return _("DEMO report for counsellors: {statuses}, 1 open quality report").format(
            statuses=ngettext("{n} status", "{n} statuses", summary.statuses).format(
                n=summary.statuses
            )
        )

    def quality_resolved(self) -> str:
        from securexchange.agency.quality import list_reports, resolve

        with self._agency() as home:
            listing = list_reports(home)
            check(len(listing.rows) == 1, _("the agency does not list the quality report"))
            row = resolve(home, listing.rows[0].report_id, "gecorrigeerd")
        check(row.outcome == "gecorrigeerd", _("the report was not resolved"))
        # TRANSLATORS: {outcome} is the outcome as the workbook spells it, in Dutch.
        return _("{report} resolved '{outcome}' (due {due}: two weeks)").format(
            report=row.report_id, outcome=row.outcome, due=row.due_on
        )

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
        check(outcomes == ["gecorrigeerd"], _("the outcome did not reach the workbook"))
        # TRANSLATORS: {cell} is a column and its value as the (Dutch) workbook shows them.
        return _("{packages} superseding packages; {staff}'s new workbook shows '{cell}'").format(
            packages=packages, staff=staff.label, cell="Afhandeling melding: gecorrigeerd"
        )

    def _audit(self, paths: list[Path]) -> tuple[int, int]:
        from securexchange.audit.verify import audit_paths

        report = audit_paths(paths, self.published / "root.card.json")
        return len(report.artifacts), len(report.failed)

    def audit_verify(self) -> str:
        checked, failed = self._audit(
            [self.exports, self.exports_again, self.returns, self.published]
        )
        check(
            failed == 0 and checked >= 2 * len(MUNICIPALITIES) + len(self.staff),
            _("audit failed"),
        )
        return _("{artifacts} artifacts verified without any decryption key").format(
            artifacts=checked
        )

    def audit_tampered(self) -> str:
        shutil.copytree(self.exports, self.audit)
        shutil.copytree(self.published, self.audit / "keyring")
        (victim,) = sorted(self.audit.glob(f"{MUNICIPALITIES[0].nis}-*"))
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0x01
        victim.write_bytes(bytes(data))
        checked, failed = self._audit([self.audit])
        check(failed == 1, _("the tampered copy was not refused"))
        return _("one flipped bit in a copy of {file}: refused, {others} others ok").format(
            file=victim.name, others=checked - failed
        )

    def terminate(self) -> str:
        from securexchange.agency.terminate import terminate
        from securexchange.artifacts.protocol_terms import EndGround
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
                ground=EndGround.BREACH_OF_PROTOCOL,
                decision="RvB 2026/41",
            )
        for staff in self._of(last.nis):
            with self._municipal(staff) as home:
                import_files(home, [done.path], self._identity(home))
            state = self._status(staff)
            check(
                all(p.records == 0 for p in state.packages),
                _("{staff} kept records after the termination notice").format(staff=staff.label),
            )
            check(not self.workbooks[staff.label].exists(), _("a terminated workbook is left"))
        return _(
            "{municipality}'s protocol ends today: its vault and workbook were destroyed"
        ).format(municipality=last.name)

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
        check(records > 0, _("no record was shredded"))
        check(subkeys > 0, _("no subkey was destroyed"))
        for staff in self.staff:
            held = [k for k in self._status(staff).subkeys if k.state == "held"]
            check(held == [], _("{staff} still holds a subkey").format(staff=staff.label))
        left = [w for w in self.workbooks.values() if w.exists()]
        check(left == [], _("a workbook survived its deadline"))
        return _(
            "clock at {date}: {records}, {workbooks} shredded, {subkeys} destroyed (old copies "
            "of packages are now undecryptable)"
        ).format(
            date=self.future,
            records=ngettext("{n} record", "{n} records", records).format(n=records),
            workbooks=ngettext("{n} workbook", "{n} workbooks", workbooks).format(n=workbooks),
            subkeys=ngettext("{n} subkey", "{n} subkeys", subkeys).format(n=subkeys),
        )

    def logs(self) -> str:
        from securexchange.audit.logcheck import log_findings

        homes = [self.agency, *(s.home for s in self.staff)]
        entries = 0
        for root in homes:
            with open_home(root, env=self.env) as home:
                result, findings = log_findings(home)
            check(findings == (), _("the log of {home} does not verify").format(home=root.name))
            entries += len(result.entries)
        personal = personal_values(self.master_rows)
        for log in self.dir.rglob("*.jsonl"):
            text = log.read_text(encoding="utf-8")
            check(
                re.search(r"R-[A-Z2-7]{20}", text) is None,
                _("a record id in {log}").format(log=log),
            )
            check(
                not any(v in text for v in personal),
                _("personal data in {log}").format(log=log),
            )
        return _("{logs} logs, {entries}: chains intact, no personal data").format(
            logs=len(homes),
            entries=ngettext("{n} entry", "{n} entries", entries).format(n=entries),
        )
