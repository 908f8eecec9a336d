"""Subkeys that travel without the root key are accepted only when their holder vouched
for them (issue 19): a subkey for a person certified by the export key, by a colleague
or by a removed person is refused by the export, the municipal import and ``audit
verify``; a second key for one person and period is SX-EQUIVOCATION; and a home raises
the alarm for a key named for its person that it never made.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli_helpers import assert_single_error, expect_ok, run_cli
from municipal_flows import (
    World,
    fingerprint,
    make_package,
    make_world,
    muni,
    other_world,
    person,
    remove,
)
from return_flows import agency_export_source, make_channel, seal_delta
from securexchange import age, sshsig
from securexchange.agency.returns import import_returns
from securexchange.clock import format_instant
from securexchange.errors import BadSignature, Equivocation, Malformed
from securexchange.home.home import HomeKind, open_home
from securexchange.keys.card import read_card
from securexchange.keys.identity import Subkey, certification_message, period_end
from securexchange.keys.keyfile import DEMO_PASSPHRASE, read_key_file

FAR = (datetime.now(UTC) + timedelta(days=300)).date()
SIGNERS = ("export key", "colleague", "removed person")


def _seed(path: Path) -> bytes:
    return read_key_file(path, DEMO_PASSPHRASE).seed


def _certified(seed: bytes, holder: bytes, start: datetime, end: datetime) -> Subkey:
    """A fresh hybrid subkey for ``holder`` whose certification ``seed`` made."""
    recipient = age.MLKEM768X25519Identity.generate().recipient.to_string()
    message = certification_message(holder, recipient, start, end)
    return Subkey(recipient, start, end, sshsig.sign(seed, message, sshsig.NAMESPACE_CARD))


def _holder_key(staff: Path) -> bytes:
    return read_key_file(staff / "keys" / "identity.key", DEMO_PASSPHRASE).signing_key


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def _forger(world: World, tmp: Path, signer: str) -> bytes:
    """The signing seed of the given forger."""
    if signer == "export key":
        return _seed(world.agency / "keys" / "export.key")
    colleague = other_world(world, tmp, nis=world.nis, name=signer.title())
    seed = _seed(colleague.staff / "keys" / "identity.key")
    if signer == "removed person":
        remove(colleague)
    return seed


def _now_slot() -> tuple[datetime, datetime]:
    """A span the keyring gives no slot to: the period after the ones pre-issued."""
    start = datetime.now(UTC).replace(microsecond=0)
    return start, period_end(start)


@pytest.mark.parametrize("signer", SIGNERS)
def test_a_package_naming_a_subkey_its_holder_did_not_certify_is_refused_by_import_and_audit(
    world: World, tmp_path: Path, signer: str
) -> None:
    seed = _forger(world, tmp_path, signer)
    start, end = _now_slot()
    forged = _certified(seed, _holder_key(world.staff), start, end)
    made = make_package(
        world,
        [person(1, FAR)],
        subkeys={fingerprint(world.staff): forged},
        only=[fingerprint(world.staff)],
    )
    assert_single_error(muni(world, "import", str(made.path)), "SX-BAD-SIGNATURE", 1)
    audit = run_cli(
        [
            "audit",
            "verify",
            str(made.path),
            "--agency-key",
            str(world.agency / "keys" / "root.card.json"),
        ]
    )
    assert audit.code == 1 and "SX-BAD-SIGNATURE" in audit.stdout + audit.stderr


def test_a_package_naming_an_agency_return_subkey_the_export_key_did_not_certify_is_refused(
    world: World,
) -> None:
    start, end = _now_slot()
    staff_seed = _seed(world.staff / "keys" / "identity.key")
    export_key = read_key_file(world.agency / "keys" / "export.key", DEMO_PASSPHRASE).signing_key
    start, end = _coming_slot()
    forged = _certified(staff_seed, export_key, start, end)
    made = make_package(world, [person(1, FAR)], agency_subkeys=[forged])
    assert_single_error(muni(world, "import", str(made.path)), "SX-BAD-SIGNATURE", 1)


def test_a_second_key_for_a_slot_the_keyring_lists_is_equivocation_at_import(world: World) -> None:
    # Made with the person's own signing key (a stolen key file): certified, but the
    # keyring already gives that person a hybrid subkey for now.
    start, end = _now_slot()
    seed = _seed(world.staff / "keys" / "identity.key")
    second = _certified(seed, _holder_key(world.staff), start, end)
    made = make_package(world, [person(1, FAR)], subkeys={fingerprint(world.staff): second})
    assert_single_error(muni(world, "import", str(made.path)), "SX-EQUIVOCATION", 1)


def test_a_home_raises_the_alarm_for_a_key_named_for_its_person_that_it_never_made(
    world: World,
) -> None:
    # Beyond the periods pre-issued at enrolment, a thief with the person's key file
    # certifies a subkey of their own; the agency, fooled, encrypts to it.
    seed = _seed(world.staff / "keys" / "identity.key")
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=300)
    start = later.replace(hour=0, minute=0, second=0)
    stolen = _certified(seed, _holder_key(world.staff), start, period_end(start))
    made = make_package(
        world,
        [person(1, FAR + timedelta(days=200))],
        created_at=later,
        subkeys={fingerprint(world.staff): stolen},
    )
    result = muni(world, "import", str(made.path), now=format_instant(later + timedelta(hours=1)))
    assert_single_error(result, "SX-EQUIVOCATION", 1)
    assert "never made" in result.stderr
    tables = sqlite3.connect(world.staff / "state.sqlite3")
    try:
        assert tables.execute("SELECT COUNT(*) FROM vault_packages").fetchone()[0] == 0
    finally:
        tables.close()


@pytest.mark.parametrize("signer", SIGNERS)
def test_an_export_refuses_a_kept_subkey_its_holder_did_not_certify(
    world: World, tmp_path: Path, signer: str
) -> None:
    seed = _forger(world, tmp_path, signer)
    start, end = _coming_slot()  # a slot the keyring leaves free: only the signature decides
    holder = fingerprint(world.staff)
    forged = _certified(seed, _holder_key(world.staff), start, end)
    conn = sqlite3.connect(world.agency / "state.sqlite3")
    try:
        with conn:
            conn.execute(
                "INSERT INTO agency_subkeys VALUES (?, ?, 'party', ?, ?, ?, 'edited', ?)",
                (
                    forged.recipient,
                    holder,
                    format_instant(forged.valid_from),
                    format_instant(forged.valid_until),
                    forged.certification,
                    format_instant(start),
                ),
            )
    finally:
        conn.close()
    master = tmp_path / "master.xlsx"
    expect_ok(
        run_cli(
            ["sample", "--records", "4", "--nis", world.nis, "--seed", "1", "--out", str(master)]
        )
    )
    result = run_cli(
        ["agency", "export", str(master), "--out", str(tmp_path / "exports"), "--json"],
        home=world.agency,
    )
    assert result.code != 0, result.stderr
    report = json.loads(result.stdout)
    assert report["packages"] == []
    (skipped,) = [s for s in report["skipped"] if s["nis"] == world.nis]
    assert skipped["reason"] == "a key for packages not vouched for by its holder"


def _kept(agency: Path) -> list[str]:
    conn = sqlite3.connect(agency / "state.sqlite3")
    try:
        rows = conn.execute("SELECT recipient FROM agency_subkeys ORDER BY recipient")
        return [str(r[0]) for r in rows]
    finally:
        conn.close()


def _import_returns(agency: Path, *files: tuple[str, bytes]) -> None:
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        import_returns(home, agency_export_source(agency), list(files))


def _coming_slot() -> tuple[datetime, datetime]:
    """A period after the ones the keyring lists (enrolment pre-issued two)."""
    start = period_end(datetime.now(UTC) + timedelta(days=300))
    return start, period_end(start)


def test_a_return_carrying_a_subkey_its_signer_did_not_certify_is_refused_and_nothing_kept(
    tmp_path: Path,
) -> None:
    channel = make_channel(tmp_path)
    start, end = _coming_slot()
    forged = _certified(
        _seed(channel.agency / "keys" / "export.key"), _holder_key(channel.staff), start, end
    )
    before = _kept(channel.agency)  # the enrolment card's pre-issued subkeys
    _, data = seal_delta(channel.staff, [], body={"subkeys": (forged,)})
    with pytest.raises(BadSignature):
        _import_returns(channel.agency, ("forged.sxr", data))
    assert _kept(channel.agency) == before and forged.recipient not in before


def test_a_return_carrying_a_second_key_for_a_period_is_equivocation_and_the_first_stays(
    tmp_path: Path,
) -> None:
    channel = make_channel(tmp_path)
    start, end = _coming_slot()
    seed, holder = _seed(channel.staff / "keys" / "identity.key"), _holder_key(channel.staff)
    first, second = (_certified(seed, holder, start, end) for _ in range(2))
    before = _kept(channel.agency)
    _, one = seal_delta(channel.staff, [], sequence=1, body={"subkeys": (first,)})
    _import_returns(channel.agency, ("one.sxr", one))
    assert _kept(channel.agency) == sorted([*before, first.recipient])
    _, two = seal_delta(channel.staff, [], sequence=2, body={"subkeys": (second,)})
    with pytest.raises(Equivocation):
        _import_returns(channel.agency, ("two.sxr", two))
    assert _kept(channel.agency) == sorted([*before, first.recipient])


def test_a_colleague_claiming_someone_elses_key_for_packages_is_equivocation_not_a_crash(
    world: World, tmp_path: Path
) -> None:
    # B certifies, as B's own, a subkey recipient the agency keeps for A (A's card).
    colleague = other_world(world, tmp_path, nis=world.nis, name="Bad Colleague")
    card = read_card((world.staff / "keys" / "identity.card.json").read_bytes())
    victim = max(card.identity.subkeys, key=lambda s: s.valid_from)
    start = period_end(victim.valid_until)  # a slot B has none for
    end = period_end(start)
    seed, key = _seed(colleague.staff / "keys" / "identity.key"), _holder_key(colleague.staff)
    message = certification_message(key, victim.recipient, start, end)
    squat = Subkey(victim.recipient, start, end, sshsig.sign(seed, message, sshsig.NAMESPACE_CARD))
    _, data = seal_delta(colleague.staff, [], body={"subkeys": (squat,)})
    path = tmp_path / "squat.sxr"
    path.write_bytes(data)
    result = run_cli(["agency", "import-return", str(path)], home=world.agency)
    assert_single_error(result, "SX-EQUIVOCATION", 1)
    assert "claimed by two people" in result.stderr


@pytest.mark.parametrize(
    "span",
    ["a century", "an hour", "beyond the horizon"],
)
def test_a_subkey_that_is_not_one_coming_quarter_is_refused(tmp_path: Path, span: str) -> None:
    channel = make_channel(tmp_path)
    start = period_end(datetime.now(UTC) + timedelta(days=200))
    end = {
        "a century": start.replace(year=start.year + 100),
        "an hour": start + timedelta(hours=1),
        "beyond the horizon": period_end(start),
    }[span]
    if span == "beyond the horizon":
        start = start.replace(year=start.year + 3)
        end = period_end(start)
    seed, holder = _seed(channel.staff / "keys" / "identity.key"), _holder_key(channel.staff)
    odd = _certified(seed, holder, start, end)
    before = _kept(channel.agency)
    _, data = seal_delta(channel.staff, [], body={"subkeys": (odd,)})
    with pytest.raises(Malformed):
        _import_returns(channel.agency, ("odd.sxr", data))
    assert _kept(channel.agency) == before


def test_the_alarm_holds_for_a_stolen_key_that_expired_before_the_import(world: World) -> None:
    # A two-day subkey would be refused by shape; a stolen key's subkey for the rest of
    # a quarter that ends before the import is as short-lived as it gets.
    seed = _seed(world.staff / "keys" / "identity.key")
    later = period_end(datetime.now(UTC) + timedelta(days=300)) - timedelta(days=1)
    stolen = _certified(seed, _holder_key(world.staff), later, period_end(later))
    made = make_package(
        world,
        [person(1, FAR + timedelta(days=200))],
        created_at=later + timedelta(hours=1),
        subkeys={fingerprint(world.staff): stolen},
    )
    result = muni(world, "import", str(made.path), now=format_instant(later + timedelta(days=2)))
    assert_single_error(result, "SX-EQUIVOCATION", 1)
    assert "never made" in result.stderr
