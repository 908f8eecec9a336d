"""The demo's report of measures (issue 20, protocol art. 6): a staff member of
Antwerpen writes the signed report, declaring what the tool cannot see; the agency takes
it in, and an auditor verifies it without any key, with the keyring it names beside it.
"""

from __future__ import annotations

from securexchange.demo.cast import MUNICIPALITIES, check
from securexchange.demo.stage import Stage
from securexchange.i18n import _


class EvidenceStory(Stage):
    def evidence(self) -> str:
        from securexchange.agency.evidence import import_evidence
        from securexchange.agency.registry import publish_keyring
        from securexchange.artifacts.evidence import FILE_SUFFIX
        from securexchange.artifacts.evidence_parts import Answer, Statement
        from securexchange.audit.verify import audit_paths
        from securexchange.municipality.evidence import make_evidence

        staff = self._of(MUNICIPALITIES[0].nis)[0]
        answers = {
            Statement.DISK_ENCRYPTION: Answer.YES,
            Statement.SCREEN_LOCK: Answer.YES,
            Statement.BACKUPS_EXCLUDED: Answer.UNKNOWN,
        }
        self.evidence_dir.mkdir()
        with self._municipal(staff) as home:
            out = self.evidence_dir / f"maatregelen-{staff.municipality.nis}{FILE_SUFFIX}"
            made = make_evidence(home, self._identity(home), answers=answers, out=out)
        with self._agency() as home:
            held = import_evidence(home, made.path.read_bytes())
            # The version the report names, beside it, for an auditor.
            publish_keyring(home, self.evidence_dir, version=made.body.keyring_version)
        report = audit_paths([self.evidence_dir], self.published / "root.card.json")
        check(not report.failed, _("the report of measures does not verify"))
        return _(
            "{staff} wrote a signed report of measures ({subkeys} subkeys, {people} people "
            "with access, {declared} of {statements} statements declared); the agency took "
            "it in, an auditor verified it"
        ).format(
            staff=staff.label,
            subkeys=held.body.key_periods.total,
            people=len(held.body.access),
            declared=len(answers),
            statements=len(held.body.declarations),
        )
