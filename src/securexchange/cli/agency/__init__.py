"""``securexchange agency ...``: the agency's commands.

Each command is one function in one of this package's modules (``partners``,
``returns``, ``exports``); this module makes the ``agency`` group of them. Commands
parse options, call one library function and print; the library is imported inside the
function so ``--help`` stays light.
"""

from __future__ import annotations

import click

from securexchange.cli.agency import (
    evidence,
    exports,
    incidents,
    partners,
    protocol,
    returns,
    subjects,
)


@click.group()
def agency() -> None:
    """The agency: keys, municipalities, recipients, the keyring, exports."""


agency.add_command(partners.init_command)
agency.add_command(partners.municipality_group)
agency.add_command(partners.recipient_group)
agency.add_command(partners.keyring_group)
agency.add_command(returns.import_return_command)
agency.add_command(returns.returns_group)
agency.add_command(returns.report_command)
agency.add_command(returns.quality_group)
agency.add_command(exports.export_command)
agency.add_command(exports.terminate_command)
agency.add_command(incidents.dpo_group)
agency.add_command(incidents.incident_group)
agency.add_command(protocol.notice_group)
agency.add_command(subjects.subject_command)
agency.add_command(subjects.erase_command)
agency.add_command(evidence.evidence_group)
partners.municipality_group.add_command(protocol.renew_command)
