"""The demo's incident (issue 20): a staff member reports a breach to the agency within
48 hours, both DPOs take the notice into their registers, and it is closed.

The agency makes its DPO key and enrols Antwerpen's DPO (keyring format 3); a staff
member's home takes in the new keyring, opens the incident, adds nothing personal to
any log, and closes it once the agency's DPO has read it.
"""

from __future__ import annotations

from datetime import timedelta

from securexchange.demo.cast import MUNICIPALITIES, Staff, check
from securexchange.demo.stage import Stage
from securexchange.i18n import _
from securexchange.keys.keyfile import DEMO_PASSPHRASE, DEMO_WORK_FACTOR

DPO_NAME = "Els Wouters"
# A synthetic form: no real person, as every demo value.
FORM = (
    "aard: een gedeelde werkmap met inburgeraars stond een dag open voor alle collega's\n"
    "categorieen: inburgeraars (identificatie, contact, traject)\n"
    "personen: 12\n"
    "records: 12\n"
    "contact: dpo@antwerpen.example\n"
    "gevolgen: inzage door collega's zonder die functie; geen verspreiding vastgesteld\n"
    "maatregelen: toegang ingetrokken, map verwijderd, collega's ingelicht\n"
)


class IncidentStory(Stage):
    def _enrol_dpo(self) -> Staff:
        from securexchange.agency.changes import add_recipient
        from securexchange.agency.dpo_key import init_dpo
        from securexchange.municipality.enrolment import init_municipality

        first = MUNICIPALITIES[0]
        dpo = Staff(first, DPO_NAME, self.dir / "dpo-11002")
        card = (self.agency / "keys" / "root.card.json").read_bytes()
        made = init_municipality(
            dpo.home,
            env=self.env,
            nis=first.nis,
            name=DPO_NAME,
            role="dpo",
            agency_card=card,
            passphrase=lambda: DEMO_PASSPHRASE,
            demo=True,
            work_factor=DEMO_WORK_FACTOR,
        )
        with self._agency() as home:
            init_dpo(
                home,
                self._root(home),
                name="AgII DPO",
                passphrase=DEMO_PASSPHRASE,
                work_factor=DEMO_WORK_FACTOR,
            )
            add_recipient(
                home,
                self._root(home),
                nis=first.nis,
                fingerprint=made.fingerprint.display,
                card_data=made.card.read_bytes(),
            )
        return dpo

    def _take_keyring(self, staff: Staff) -> None:
        from securexchange.agency.registry import view_for
        from securexchange.municipality.enrolment import import_keyring

        with self._agency() as home:
            view = view_for(home, staff.municipality.nis)
        with self._municipal(staff) as home:
            import_keyring(home, view.data, view.signature)

    def incident(self) -> str:
        from securexchange.agency import incidents as agency_incidents
        from securexchange.agency.registry import publish_keyring
        from securexchange.artifacts.incident import IncidentDetails, Phase
        from securexchange.incidents.form import parse_form
        from securexchange.incidents.notices import Draft
        from securexchange.municipality import incidents as municipal_incidents

        dpo = self._enrol_dpo()
        reporter = self._of(MUNICIPALITIES[0].nis)[0]
        for person in (reporter, dpo):
            self._take_keyring(person)
        self.incidents.mkdir()
        with self._municipal(reporter) as home:
            discovered = home.now - timedelta(hours=3)
            draft = Draft(Phase.OPEN, parse_form(FORM.encode()), discovered_at=discovered)
            opened = municipal_incidents.send(home, self._identity(home), draft, self.incidents)
        with self._agency() as home:
            agency_incidents.receive(home, opened.data)
            shown = agency_incidents.show(home, self._dpo_key(home), opened.incident_id)
        check(
            shown[0][2] is not None and shown[0][2].people == 12,
            _("the agency's DPO cannot read it"),
        )
        with self._municipal(dpo) as home:
            municipal_incidents.receive(home, opened.data)
        with self._municipal(reporter) as home:
            close = Draft(
                Phase.CLOSE, IncidentDetails(measures="afgesloten"), incident_id=opened.incident_id
            )
            closed = municipal_incidents.send(home, self._identity(home), close, self.incidents)
        with self._agency() as home:
            got = agency_incidents.receive(home, closed.data)
            # The version an auditor checks them by, beside them: later versions follow.
            publish_keyring(home, self.incidents)
        check(not got.incident.open, _("the agency's register does not show the incident closed"))
        return _(
            "{staff} reported a breach 3 hours after discovery (deadline 48 h); both DPOs "
            "registered it; closed"
        ).format(staff=reporter.label)
