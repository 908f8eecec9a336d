"""The demo's written notice (issue 20, protocol art. 5): Gent's college decides to end
the protocol; a staff member gives the agency notice; the agency takes it in, which
records the end (three months after receipt) in a root-signed keyring version; Gent's
home takes in that keyring and now counts down to the day its data is destroyed.
"""

from __future__ import annotations

from securexchange.demo.cast import MUNICIPALITIES, check
from securexchange.demo.stage import Stage
from securexchange.i18n import _

GENT = MUNICIPALITIES[1]
DECISION = "CBS Gent 2026/118"


class NoticeStory(Stage):
    def notice(self) -> str:
        from securexchange.agency import protocol_end as agency_end
        from securexchange.agency.registry import publish_keyring
        from securexchange.municipality import protocol_end as municipal_end
        from securexchange.municipality.enrolment import held_keyring
        from securexchange.municipality.importer import import_files
        from securexchange.municipality.vault import terminated

        giver = self._of(GENT.nis)[0]
        self.protocol_notices.mkdir()
        with self._municipal(giver) as home:
            given = municipal_end.give_notice(
                home, self._identity(home), decision=DECISION, out_dir=self.protocol_notices
            )
        with self._agency() as home:
            got = agency_end.import_notice(home, self._root(home), given.path.read_bytes())
            # The version the notice names, beside it, for an auditor.
            publish_keyring(home, self.protocol_notices, version=given.keyring_version)
            publish_keyring(home, self.published)
        view = self.published / f"keyring-{GENT.nis}.json"
        with self._municipal(giver) as home:
            import_files(home, [view], self._identity(home))
            held = held_keyring(home)
            ends = set(terminated(home).values())
        entry = None if held is None else held.municipalities[0]
        check(
            entry is not None
            and entry.terminated_on == got.effective
            and ends == {got.effective.isoformat()},
            _("Gent's keyring does not state the end of its protocol"),
        )
        return _(
            "{staff} gave notice ({decision}); the agency received it on {received}: the "
            "protocol ends on {effective} (keyring version {version})"
        ).format(
            staff=giver.label,
            decision=DECISION,
            received=got.received_on.isoformat(),
            effective=got.effective.isoformat(),
            version=got.keyring_version,
        )
