"""``agency evidence ...``: the municipalities' reports of measures (protocol art. 6)."""

from __future__ import annotations

from pathlib import Path

import click

from securexchange.cli.agency.shared import agency_home
from securexchange.cli.common import (
    CliState,
    echo_json,
    json_option,
    note,
    pass_state,
    print_table,
    read_input,
    shown,
)


@click.group("evidence")
def evidence_group() -> None:
    """Reports of measures (art. 6) the municipalities sent: take one in, list them."""


@evidence_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@pass_state
def import_command(state: CliState, *, file: Path) -> None:
    """Verify a municipality's report of measures and keep it (no key needed): signed by
    a person the keyring lists for it, addressed to this agency, newer than the last one.

    \b
    Example:
      securexchange agency evidence import inbox/ev-....sxe
    """
    from securexchange.agency.evidence import import_evidence
    from securexchange.artifacts.evidence import MAX_EVIDENCE_BYTES

    data = read_input(file, limit=MAX_EVIDENCE_BYTES, what="report of measures")
    with agency_home(state) as home:
        held = import_evidence(home, data)
    declared = held.declared
    note(
        f"{shown(file.name)}: report {held.evidence_id} of municipality {held.nis}, made "
        f"{held.created_at} by {held.signer}: {held.body.key_periods.total} subkey(s), "
        f"{held.body.shredding.total} shred event(s), log of {held.body.log.entries} "
        f"entries ({'intact' if held.body.log.intact else 'NOT intact'}); declarations: "
        f"{declared.get('yes', 0)} yes, {declared.get('no', 0)} no, "
        f"{declared.get('unknown', 0)} unknown, {declared.get('not-declared', 0)} not declared"
    )
    if not held.body.log.intact:
        note("warning: the municipality's home found its own log changed; ask it why")


@evidence_group.command("list")
@json_option
@pass_state
def list_command(state: CliState, *, as_json: bool) -> None:
    """The reports kept; --json gives each report in full."""
    from securexchange.agency.evidence import all_held

    with agency_home(state, read_only=True) as home:
        rows = all_held(home)
    if as_json:
        echo_json([r.to_json() for r in rows])
        return
    print_table(
        ["REPORT", "NIS", "MADE", "SIGNER", "SOFTWARE", "SUBKEYS", "SHREDS", "LOG", "YES/NO/?/-"],
        [
            [
                r.evidence_id,
                r.nis,
                r.created_at,
                r.signer,
                r.body.software.removeprefix("securexchange "),
                str(r.body.key_periods.total),
                str(r.body.shredding.total),
                f"{r.body.log.entries}{'' if r.body.log.intact else ' (!)'}",
                "/".join(
                    str(r.declared.get(a, 0)) for a in ("yes", "no", "unknown", "not-declared")
                ),
            ]
            for r in rows
        ],
    )
