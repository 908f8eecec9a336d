"""The warnings of a shredding pass, in the user's language: shown by every municipal
command before its own output, and on every page of the app."""

from __future__ import annotations

from securexchange.i18n import _
from securexchange.municipality.retention import ShredReport


def shred_warnings(report: ShredReport) -> list[str]:
    """What a shredding pass must tell its user (every command's, and the app's)."""
    found: list[str] = []
    if report.workbooks_pending:
        found.append(
            _(
                "warning: {n} workbook(s) past their deadline could not be removed; close "
                "them in Excel (see 'municipality status')"
            ).format(n=report.workbooks_pending)
        )
    if report.lost:
        found.append(
            _(
                "warning: lost {packages} package(s), {edits} unreturned edit(s) and "
                "{workbooks} workbook harvest(s): their subkey reached its destruction date "
                "before any command unlocked the key to move them to the current one"
            ).format(
                packages=report.lost_packages,
                edits=report.lost_edits,
                workbooks=report.lost_workbooks,
            )
        )
    if report.tampered:
        found.append(
            _(
                "warning: {n} package(s) or subkey(s) in the state database disagreed with "
                "what the agency signed (the database was edited): shredded, or held to "
                "the signed dates; report it (protocol art. 6)"
            ).format(n=report.tampered)
        )
    if report.clock_moved:
        found.append(
            _(
                "warning: the home's clock mark was behind times its own records prove it "
                "has seen (edited, or restored from a backup); it was moved forward"
            )
        )
    if report.subkey_files_pending:
        found.append(
            _(
                "warning: {n} destroyed subkey file(s) could not be removed yet; retried at "
                "every command (see 'municipality status')"
            ).format(n=report.subkey_files_pending)
        )
    return found
