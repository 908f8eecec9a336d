"""``securexchange municipality ...``: the municipal client's commands.

Each command is one function in one of this package's modules (``enrolment``, ``vault``,
``returns``, ``retention``; what they share is in ``shared``); this module makes the
``municipality`` group of them. The library is imported inside each function so
``--help`` stays light.
"""

from __future__ import annotations

import click

from securexchange.cli.municipality import (
    app,
    enrolment,
    evidence,
    incidents,
    notices,
    retention,
    returns,
    vault,
)
from securexchange.cli.translated import TranslatedGroup
from securexchange.i18n import _


@click.group(
    cls=TranslatedGroup,
    help=_("The municipal client: keys, import, open, status, return, shred."),
)
def municipality() -> None:
    pass


municipality.add_command(enrolment.init_command)
municipality.add_command(returns.return_command)
municipality.add_command(vault.import_command)
municipality.add_command(vault.open_command)
municipality.add_command(vault.record_id_command)
municipality.add_command(vault.set_status_command)
municipality.add_command(vault.report_quality_command)
municipality.add_command(retention.shred_command)
municipality.add_command(retention.status_command)
municipality.add_command(incidents.incident_group)
municipality.add_command(notices.notice_group)
municipality.add_command(evidence.evidence_command)
municipality.add_command(app.app_command)
