"""One verification of a return, two verifiers: the agency's import and ``audit verify``
call :func:`securexchange.artifacts.return_open.open_return` and must reach the same verdict.

Each attack is sealed with a real staff key and judged by both: the agency through
``import_returns``, the auditor through ``verify_artifacts`` given the agency's signed
keyrings (every version) and any termination notice.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from return_flows import (
    Channel,
    agency_export_source,
    ledger_tables,
    make_channel,
    seal_delta,
    staff_keyring,
    status,
)
from securexchange import age
from securexchange.age.format import Stanza
from securexchange.agency.registry import signed_keyrings
from securexchange.agency.returns import import_returns
from securexchange.agency.terminate import terminate
from securexchange.artifacts.protocol_terms import EndGround
from securexchange.audit.inputs import InputFile
from securexchange.audit.verify import verify_artifacts
from securexchange.errors import SxError
from securexchange.home.home import Home, HomeKind, open_home

R1 = "R-AAAAAAAAAAAAAAAAAAAA"
NIS = "11002"


def _sent(_home: Home, _party: str) -> frozenset[str]:
    return frozenset({R1})


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Channel:
    made = make_channel(tmp_path_factory.mktemp("verification"))
    # Keyrings are dated in whole seconds and a same-second order is unknown: let the
    # artifacts below come after every version.
    time.sleep(1.1)
    return made


@pytest.fixture
def channel(template: Channel, tmp_path: Path) -> Channel:
    shutil.copytree(template.agency, tmp_path / "agency")
    shutil.copytree(template.staff, tmp_path / "staff")
    return Channel(tmp_path / "agency", tmp_path / "staff", template.party_id)


def _env(at: datetime | None) -> dict[str, str]:
    return {} if at is None else {"SECUREXCHANGE_NOW": at.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _agency_verdict(channel: Channel, data: bytes, *, at: datetime | None = None) -> str | None:
    """The error name the agency's import gives (None: applied); the ledger is checked
    to be untouched by a refusal."""
    before = ledger_tables(channel.agency)
    try:
        with open_home(channel.agency, env=_env(at), expect=HomeKind.AGENCY) as home:
            import_returns(
                home,
                agency_export_source(channel.agency),
                [("hostile.sxr", data)],
                sent_records=_sent,
            )
    except SxError as exc:
        assert ledger_tables(channel.agency) == before
        return exc.name
    return None


def _audit_verdict(channel: Channel, data: bytes, notices: list[Path] = []) -> set[str]:  # noqa: B006
    """The error names ``audit verify`` gives the return (empty: verified), with every
    keyring version the agency issued and the notices among its inputs."""
    files: list[InputFile] = []
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        (latest,) = home.db.execute("SELECT MAX(version) FROM agency_keyrings").fetchone()
        for version in range(1, int(latest) + 1):
            full = signed_keyrings(home, version)[0]
            files.append(InputFile(f"v{version}/keyring-full.json", full.data))
            files.append(InputFile(f"v{version}/keyring-full.sig", full.signature.encode()))
        root = full.keyring.agency.root_key
    files += [InputFile(str(p), p.read_bytes()) for p in notices]
    files.append(InputFile("returns/hostile.sxr", data))
    report = verify_artifacts(files, root)
    (ret,) = [a for a in report.artifacts if a.kind == "return"]
    assert all(a.ok for a in report.artifacts if a.kind != "return"), report.to_json()
    return {f.error for f in ret.findings}


def _both(channel: Channel, data: bytes, **kw: datetime) -> tuple[str | None, set[str]]:
    return _agency_verdict(channel, data, **kw), _audit_verdict(channel, data)


# --- item 9: one rule per artifact kind ---------------------------------------------------


class _MalformedX25519:
    """A 'recipient' that writes a syntactically odd X25519 stanza (the signer knows the
    file key, so the header MAC over it is valid)."""

    # It shares the file with the agency's hybrid subkey (age refuses to mix kinds).
    post_quantum = True

    def wrap(self, file_key: bytes) -> Stanza:
        return Stanza("X25519", ("not-a-share",), b"\x00" * 32)


def test_a_genuine_return_passes_the_agency_and_the_audit(channel: Channel) -> None:
    _, data = seal_delta(channel.staff, [status(R1)])
    assert _both(channel, data) == (None, set())


def test_a_return_also_encrypted_to_a_third_party_is_refused_by_agency_and_audit(
    channel: Channel,
) -> None:
    stranger = age.MLKEM768X25519Identity.generate().recipient
    _, data = seal_delta(channel.staff, [status(R1)], extra_recipients=[stranger])
    assert _both(channel, data) == ("SX-NOT-AUTHORISED", {"SX-NOT-AUTHORISED"})


def test_a_return_with_a_malformed_second_stanza_is_refused_by_agency_and_audit(
    channel: Channel,
) -> None:
    _, data = seal_delta(channel.staff, [status(R1)], extra_recipients=[_MalformedX25519()])
    assert _both(channel, data) == ("SX-MALFORMED", {"SX-MALFORMED"})


def test_a_return_whose_only_stanza_is_malformed_is_refused_by_agency_and_audit(
    channel: Channel,
) -> None:
    _, data = seal_delta(channel.staff, [status(R1)], only_recipients=[_MalformedX25519()])
    assert _both(channel, data) == ("SX-MALFORMED", {"SX-MALFORMED"})


def test_a_return_naming_a_keyring_version_that_did_not_yet_authorise_its_signer_is_refused(
    channel: Channel,
) -> None:
    # The staff member was added in the newest version; the version before lists the
    # municipality without them. The agency checked only its current keyring, the audit
    # only the named one: now both check both.
    version = staff_keyring(channel.staff).version
    _, data = seal_delta(channel.staff, [status(R1)], body={"keyring_version": version - 1})
    assert _both(channel, data) == ("SX-NOT-AUTHORISED", {"SX-NOT-AUTHORISED"})


# --- item 8: termination reaches the return channel and the audit -------------------------


def _terminate(channel: Channel, effective: date, tmp_path: Path) -> Path:
    out = tmp_path / "notices"
    out.mkdir(exist_ok=True)
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        done = terminate(
            home,
            agency_export_source(channel.agency),
            nis=NIS,
            effective=effective,
            out_dir=out,
            ground=EndGround.BREACH_OF_PROTOCOL,
            decision="CBS 2026-11-30/7",
        )
    return done.path


def test_a_return_made_on_the_termination_day_is_refused_by_the_agency_and_failed_by_audit(
    channel: Channel, tmp_path: Path
) -> None:
    _, data = seal_delta(channel.staff, [status(R1)])
    notice = _terminate(channel, datetime.now(UTC).date(), tmp_path)
    assert _agency_verdict(channel, data) == "SX-PROTOCOL-INACTIVE"
    assert _audit_verdict(channel, data, [notice]) == {"SX-PROTOCOL-INACTIVE"}


def test_a_return_received_more_than_7_days_after_termination_is_refused(
    channel: Channel, tmp_path: Path
) -> None:
    _, data = seal_delta(channel.staff, [status(R1)])  # made before the termination
    today = datetime.now(UTC).replace(microsecond=0)
    notice = _terminate(channel, today.date() + timedelta(days=1), tmp_path)
    late = today + timedelta(days=9)
    assert _agency_verdict(channel, data, at=late) == "SX-PROTOCOL-INACTIVE"
    # The auditor does not know when it arrived: made before the end, it verifies.
    assert _audit_verdict(channel, data, [notice]) == set()


def test_a_return_received_within_7_days_of_termination_is_applied(
    channel: Channel, tmp_path: Path
) -> None:
    _, data = seal_delta(channel.staff, [status(R1)])
    today = datetime.now(UTC).replace(microsecond=0)
    _terminate(channel, today.date() + timedelta(days=1), tmp_path)
    assert _agency_verdict(channel, data, at=today + timedelta(days=6)) is None


def test_terminate_needs_no_root_key_and_the_next_root_signed_version_records_it(
    channel: Channel, tmp_path: Path
) -> None:
    from return_flows import add_staff
    from securexchange.agency.registry import view_for

    effective = datetime.now(UTC).date() + timedelta(days=30)
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        before = view_for(home, NIS).keyring
    _terminate(channel, effective, tmp_path)  # the export key only: no new version yet
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        assert view_for(home, NIS).keyring.version == before.version
    add_staff(channel.agency, tmp_path / "other", name="Bert Claes")  # a root-signed change
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        after = view_for(home, NIS).keyring
    assert after.version > before.version
    assert after.municipalities[0].terminated_on == effective


def test_a_return_received_more_than_7_days_after_its_protocol_ended_is_refused(
    tmp_path: Path,
) -> None:
    from keys_helpers import make_agency
    from return_flows import add_staff, register_demo

    agency, staff = tmp_path / "agency", tmp_path / "staff"
    make_agency(agency, demo=True)
    today = datetime.now(UTC).replace(microsecond=0)
    register_demo(agency, NIS, protocol_until=today.date())  # today is its last day
    add_staff(agency, staff)
    time.sleep(1.1)
    _, data = seal_delta(staff, [status(R1)])
    # Like a termination on the day after the last: 7 days of grace, then refused (a
    # copy of the home for each moment: a home's clock never goes back).
    shutil.copytree(agency, tmp_path / "agency-late")
    early = Channel(agency, staff, "")
    late = Channel(tmp_path / "agency-late", staff, "")
    assert _agency_verdict(early, data, at=today + timedelta(days=5)) is None
    assert _agency_verdict(late, data, at=today + timedelta(days=9)) == "SX-PROTOCOL-INACTIVE"
