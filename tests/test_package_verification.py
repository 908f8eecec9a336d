"""One verification of a package: the municipal import and ``audit verify`` both call
:func:`securexchange.artifacts.package_open.open_package`, so a package one refuses the other fails.

Packages are sealed with the agency's real export key and keyring view
(tests/audit_flows.py), as a stolen export key or a faulty export could make them.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from audit_flows import World, make_package, make_world, publish
from flows import export_source, root_public_key
from securexchange.agency.terminate import terminate
from securexchange.artifacts.package_open import PackageTrust, open_package
from securexchange.artifacts.protocol_terms import EndGround
from securexchange.audit.verify import audit_paths
from securexchange.errors import Stale
from securexchange.home.home import HomeKind, open_home

NIS = "11002"


@pytest.fixture
def world(tmp_path: Path) -> World:
    made = make_world(tmp_path, (NIS,))
    # Keyrings are dated in whole seconds; let the artifacts come after every version.
    time.sleep(1.1)
    return made


def _flagged(world: World, directory: Path) -> dict[str, set[str]]:
    report = audit_paths([directory], world.root_card)
    return {Path(a.file).name: {f.error for f in a.findings} for a in report.failed}


def test_a_package_made_on_the_termination_day_fails_audit_given_the_notice(
    world: World, tmp_path: Path
) -> None:
    out = publish(world, tmp_path / "audit")
    with open_home(world.agency, env={}, expect=HomeKind.AGENCY) as home:
        terminate(
            home,
            export_source(world.agency),
            nis=NIS,
            effective=datetime.now(UTC).date(),
            out_dir=out,
            ground=EndGround.BREACH_OF_PROTOCOL,
            decision="CBS 2026-11-30/7",
        )
    late = make_package(world, NIS)  # the export key is enough to make one
    (out / "1.sxp").write_bytes(late)
    assert _flagged(world, out) == {"1.sxp": {"SX-PROTOCOL-INACTIVE"}}


def test_a_package_holding_an_already_due_record_is_refused_by_open_package_as_by_audit(
    world: World, tmp_path: Path
) -> None:
    data = make_package(world, NIS, earliest_retention=date(2020, 1, 1))
    with pytest.raises(Stale):
        open_package(data, trust=PackageTrust(root_public_key(world.agency)), identities=None)
    out = publish(world, tmp_path / "audit")
    (out / "1.sxp").write_bytes(data)
    assert _flagged(world, out) == {"1.sxp": {"SX-STALE"}}
