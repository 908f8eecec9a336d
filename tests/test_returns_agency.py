"""``agency import-return``: what the agency refuses, and what it applies to its ledger.

Hostile deltas are sealed with a real staff key (tests/return_flows.py), so each refusal
below comes from the agency's validation, not from a signature that fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import assert_single_error, run_cli
from return_flows import (
    Channel,
    add_staff,
    agency_export_source,
    ledger_tables,
    make_channel,
    quality,
    refresh_keyring,
    register_demo,
    seal_delta,
    status,
    write,
)
from securexchange.agency import ledger
from securexchange.agency.changes import remove_recipient
from securexchange.agency.return_result import ImportReturns
from securexchange.agency.returns import import_returns
from securexchange.errors import Equivocation, UnknownRecord
from securexchange.home.home import Home, HomeKind, open_home
from securexchange.keys.keyfile import DEMO_PASSPHRASE
from securexchange.keys.keystore import KeySource

R1 = "R-AAAAAAAAAAAAAAAAAAAA"
R2 = "R-BBBBBBBBBBBBBBBBBBBB"
NEVER_SENT = "R-CCCCCCCCCCCCCCCCCCCC"
SENT = frozenset({R1, R2})


def _sent(_home: Home, _party: str) -> frozenset[str]:
    return SENT


def _import(channel: Channel, *files: tuple[str, bytes]) -> ImportReturns:
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        return import_returns(
            home, agency_export_source(channel.agency), list(files), sent_records=_sent
        )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Channel:
    return make_channel(tmp_path_factory.mktemp("returns"))


@pytest.fixture
def channel(template: Channel, tmp_path: Path) -> Channel:
    import shutil

    shutil.copytree(template.agency, tmp_path / "agency")
    shutil.copytree(template.staff, tmp_path / "staff")
    return Channel(tmp_path / "agency", tmp_path / "staff", template.party_id)


# --- refusals through the CLI -------------------------------------------------------------


def _refused(channel: Channel, tmp_path: Path, data: bytes, name: str, code: int = 1) -> None:
    before = ledger_tables(channel.agency)
    path = write(tmp_path, "hostile.sxr", data)
    result = run_cli(["agency", "import-return", str(path)], home=channel.agency)
    assert_single_error(result, name, code)
    assert ledger_tables(channel.agency) == before
    assert R1 not in result.stderr and "Peeters" not in result.stderr


def test_a_delta_with_a_name_in_an_entry_is_refused(channel: Channel, tmp_path: Path) -> None:
    entry = {**status(R1), "naam": "Peeters"}
    _, data = seal_delta(channel.staff, [entry])
    _refused(channel, tmp_path, data, "SX-MALFORMED")


def test_a_delta_with_an_address_instead_of_a_status_is_refused(
    channel: Channel, tmp_path: Path
) -> None:
    entry = {"kind": "address", "record": R1, "adres": "Kerkstraat 1"}
    _, data = seal_delta(channel.staff, [entry])
    _refused(channel, tmp_path, data, "SX-MALFORMED")


def test_a_delta_with_an_extra_top_level_key_is_refused(channel: Channel, tmp_path: Path) -> None:
    _, data = seal_delta(channel.staff, [status(R1)], document={"note": "x"})
    _refused(channel, tmp_path, data, "SX-MALFORMED")


def test_a_delta_with_an_unknown_status_is_refused(channel: Channel, tmp_path: Path) -> None:
    _, data = seal_delta(channel.staff, [status(R1, new="verhuisd")])
    _refused(channel, tmp_path, data, "SX-MALFORMED")


def test_a_quality_report_outside_the_six_problems_is_refused(
    channel: Channel, tmp_path: Path
) -> None:
    _, data = seal_delta(channel.staff, [quality(R1, problem="vervelend")])
    _refused(channel, tmp_path, data, "SX-MALFORMED")


def test_a_quality_report_on_a_field_outside_art_3_is_refused(
    channel: Channel, tmp_path: Path
) -> None:
    _, data = seal_delta(channel.staff, [quality(R1, field="Rijksregisternummer")])
    _refused(channel, tmp_path, data, "SX-MALFORMED")


def test_a_signer_removed_from_the_current_keyring_is_not_authorised(
    channel: Channel, tmp_path: Path
) -> None:
    _, data = seal_delta(channel.staff, [status(R1)])  # made while still authorised
    from return_flows import staff_identity

    fingerprint = staff_identity(channel.staff).fingerprint.display
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        remove_recipient(
            home,
            KeySource(channel.agency / "keys" / "root.key", lambda: DEMO_PASSPHRASE),
            nis="11002",
            fingerprint=fingerprint,
        )
    _refused(channel, tmp_path, data, "SX-NOT-AUTHORISED")


def test_a_staff_member_of_another_municipality_cannot_return_for_this_one(
    channel: Channel, tmp_path: Path
) -> None:
    register_demo(channel.agency, "44021", "Gent")
    other = tmp_path / "gent"
    add_staff(channel.agency, other, nis="44021", name="Jan Janssens")
    # Gent's staff member claims to send for Antwerpen: not a recipient of Antwerpen.
    _, data = seal_delta(other, [status(R1)], municipality="11002")
    _refused(channel, tmp_path, data, "SX-NOT-AUTHORISED")


def test_a_tampered_byte_is_refused(channel: Channel, tmp_path: Path) -> None:
    _, data = seal_delta(channel.staff, [status(R1)])
    at = data.index(b"age-encryption.org/v1") + 200
    tampered = data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]
    _refused(channel, tmp_path, tampered, "SX-TAMPERED")


def test_binding_fields_that_disagree_with_the_manifest_are_refused(
    channel: Channel, tmp_path: Path
) -> None:
    _, data = seal_delta(channel.staff, [status(R1)], document={"sequence": 7})
    _refused(channel, tmp_path, data, "SX-TAMPERED")


def test_counts_that_disagree_with_the_manifest_are_refused(
    channel: Channel, tmp_path: Path
) -> None:
    _, data = seal_delta(channel.staff, [status(R1)], body={"statuses": 0, "quality_reports": 1})
    _refused(channel, tmp_path, data, "SX-TAMPERED")


def test_a_delta_dated_days_ahead_is_refused(channel: Channel, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    ahead = datetime.now(UTC) + timedelta(days=3)
    _, data = seal_delta(channel.staff, [status(R1)], created_at=ahead)
    _refused(channel, tmp_path, data, "SX-FUTURE")


def test_a_package_is_not_a_return(channel: Channel, tmp_path: Path) -> None:
    _refused(channel, tmp_path, b"PK\x03\x04 not a container at all", "SX-MALFORMED")


# --- the ledger (library, with the sent records given) -----------------------------------


def test_a_valid_delta_is_applied_with_who_when_and_which_delta(channel: Channel) -> None:
    delta, data = seal_delta(channel.staff, [status(R1), quality(R2)])
    result = _import(channel, ("a.sxr", data))
    assert [r.applied for r in result.results] == [True]
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        rows = ledger.statuses(home)
        reports = ledger.quality_reports(home)
    assert [(r.record_id, r.status, r.delta_id) for r in rows] == [(R1, "gecontacteerd", delta)]
    assert rows[0].changed_at == "2026-01-05T10:00:00Z"
    assert [(q.record_id, q.field, q.problem) for q in reports] == [(R2, "Adres", "verouderd")]
    assert reports[0].report_id.startswith("qr-")


def test_the_same_delta_again_changes_nothing(channel: Channel) -> None:
    _, data = seal_delta(channel.staff, [status(R1)])
    _import(channel, ("a.sxr", data))
    before = ledger_tables(channel.agency)
    again = _import(channel, ("a.sxr", data))
    assert [r.applied for r in again.results] == [False]
    assert ledger_tables(channel.agency) == before


def test_a_reused_sequence_number_with_other_content_is_equivocation(channel: Channel) -> None:
    _, first = seal_delta(channel.staff, [status(R1)], sequence=1)
    _import(channel, ("a.sxr", first))
    before = ledger_tables(channel.agency)
    _, second = seal_delta(channel.staff, [status(R2)], sequence=1)
    with pytest.raises(Equivocation):
        _import(channel, ("b.sxr", second))
    assert ledger_tables(channel.agency) == before


def test_a_record_never_sent_refuses_the_whole_file(channel: Channel) -> None:
    _, data = seal_delta(channel.staff, [status(R1), status(NEVER_SENT)])
    with pytest.raises(UnknownRecord):
        _import(channel, ("a.sxr", data))
    assert ledger_tables(channel.agency)["ledger_status"] == []


def test_one_refused_file_applies_none_of_the_batch(channel: Channel) -> None:
    _, good = seal_delta(channel.staff, [status(R1)], sequence=1)
    _, bad = seal_delta(channel.staff, [status(NEVER_SENT)], sequence=2)
    with pytest.raises(UnknownRecord):
        _import(channel, ("good.sxr", good), ("bad.sxr", bad))
    assert ledger_tables(channel.agency)["ledger_deltas"] == []


def test_two_staff_changing_a_record_from_the_same_base_make_one_conflict(
    channel: Channel, tmp_path: Path
) -> None:
    second = tmp_path / "second"
    add_staff(channel.agency, second, name="Jan Janssens")
    refresh_keyring(channel.agency, channel.staff)
    _, first = seal_delta(channel.staff, [status(R1, new="gecontacteerd")])
    # The later change wins between senders (an hour later here, whatever the order).
    later = {**status(R1, new="niet bereikbaar"), "changed_at": "2026-01-05T11:00:00Z"}
    _, other = seal_delta(second, [later])
    result = _import(channel, ("a.sxr", first), ("b.sxr", other))
    assert [r.conflicts for r in result.results] == [0, 1]
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        rows = ledger.history(home)
        current = ledger.statuses(home)
    assert [r.conflict for r in rows] == [False, True]
    assert rows[1].previous == "gecontacteerd" and rows[1].base == "nog niet gecontacteerd"
    assert [r.status for r in current] == ["niet bereikbaar"]


def test_a_gap_in_sequence_numbers_waits_not_refused(channel: Channel) -> None:
    _, data = seal_delta(channel.staff, [status(R1)], sequence=3)
    result = _import(channel, ("a.sxr", data))
    assert [(r.applied, r.waits_for, r.missing) for r in result.results] == [(False, 1, 2)]
    assert ledger_tables(channel.agency)["ledger_status"] == []


def test_the_log_names_the_delta_and_counts_never_a_record(channel: Channel) -> None:
    delta, data = seal_delta(channel.staff, [status(R1), quality(R2)])
    _import(channel, ("a.sxr", data))
    log = (channel.agency / "log.jsonl").read_text(encoding="utf-8")
    assert delta in log
    assert R1 not in log and R2 not in log
