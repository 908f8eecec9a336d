"""Returns are applied in each sender's sequence order, whatever the order of arrival
(issue 15, item 2): a return whose predecessor is missing waits, ``agency returns
waiting`` shows it, ``--skip-gap`` releases it, and between senders the later change
wins, so every arrival order ends in the same ledger."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import enrol_demo_staff, expect_ok, init_demo_agency, run_cli
from return_flows import (
    Channel,
    add_staff,
    agency_export_source,
    ledger_tables,
    make_channel,
    refresh_keyring,
    seal_delta,
    staff_identity,
    status,
)
from securexchange.agency.return_result import ImportReturns
from securexchange.agency.returns import import_returns
from securexchange.errors import Equivocation, Malformed, Tampered, UsageError
from securexchange.home.home import Home, HomeKind, open_home
from securexchange.municipality.returns import return_file_name

NIS = "11002"
R1 = "R-AAAAAAAAAAAAAAAAAAAA"
R2 = "R-BBBBBBBBBBBBBBBBBBBB"
SENT = frozenset({R1, R2})


def _sent(_home: Home, _party: str) -> frozenset[str]:
    return SENT


def _import(
    agency: Path, *files: tuple[str, bytes], skip: tuple[tuple[str, int], ...] = ()
) -> ImportReturns:
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        return import_returns(
            home, agency_export_source(agency), list(files), sent_records=_sent, skip_gaps=skip
        )


def _rows(agency: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(agency / "state.sqlite3")
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def _current(agency: Path) -> list[tuple[Any, ...]]:
    return _rows(agency, "SELECT record_id, status, signer, delta_id FROM ledger_status")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Channel:
    return make_channel(tmp_path_factory.mktemp("ordering"))


@pytest.fixture
def channel(template: Channel, tmp_path: Path) -> Channel:
    shutil.copytree(template.agency, tmp_path / "agency")
    shutil.copytree(template.staff, tmp_path / "staff")
    return Channel(tmp_path / "agency", tmp_path / "staff", template.party_id)


def _at(record: str, new: str, hour: int) -> dict[str, Any]:
    return {**status(record, new=new), "changed_at": f"2026-01-05T{hour:02d}:00:00Z"}


# --- waiting and later arrival (library, sealed with a real staff key) --------------------


def test_a_return_whose_predecessor_is_missing_waits_and_applies_when_it_arrives_later(
    channel: Channel,
) -> None:
    d1, r1 = seal_delta(channel.staff, [_at(R1, "toegeleid", 10)], sequence=1)
    d2, r2 = seal_delta(channel.staff, [_at(R1, "afgerond", 11)], sequence=2)
    first = _import(channel.agency, ("r2.sxr", r2))
    assert [(r.delta_id, r.applied, r.waits_for) for r in first.results] == [(d2, False, 1)]
    assert _current(channel.agency) == []
    assert _rows(channel.agency, "SELECT delta_id FROM returns_waiting") == [(d2,)]
    # The predecessor comes in a later command: both apply, in sequence order.
    second = _import(channel.agency, ("r1.sxr", r1))
    assert [(r.delta_id, r.applied) for r in second.results] == [(d1, True), (d2, True)]
    assert [(s, d) for _, s, _, d in _current(channel.agency)] == [("afgerond", d2)]
    assert _rows(channel.agency, "SELECT delta_id FROM returns_waiting") == []


def test_a_waiting_return_given_again_still_waits_and_changes_nothing(channel: Channel) -> None:
    _, r2 = seal_delta(channel.staff, [_at(R1, "afgerond", 11)], sequence=2)
    _import(channel.agency, ("r2.sxr", r2))
    before = _rows(channel.agency, "SELECT * FROM returns_waiting")
    again = _import(channel.agency, ("r2.sxr", r2), ("copy.sxr", r2))
    assert [(r.applied, r.waits_for) for r in again.results] == [(False, 1)]
    assert _rows(channel.agency, "SELECT * FROM returns_waiting") == before


def test_a_waiting_return_is_kept_as_it_arrived_still_encrypted(channel: Channel) -> None:
    _, r2 = seal_delta(channel.staff, [_at(R1, "afgerond", 11)], sequence=2)
    _import(channel.agency, ("r2.sxr", r2))
    ((blob,),) = _rows(channel.agency, "SELECT container FROM returns_waiting")
    assert bytes(blob) == r2
    assert R1.encode() not in bytes(blob) and b"afgerond" not in bytes(blob)


def test_an_unverified_file_is_never_kept_waiting(channel: Channel) -> None:
    _, r2 = seal_delta(channel.staff, [_at(R1, "afgerond", 11)], sequence=2)
    at = r2.index(b"age-encryption.org/v1") + 200
    tampered = r2[:at] + bytes([r2[at] ^ 1]) + r2[at + 1 :]
    with pytest.raises(Tampered):
        _import(channel.agency, ("r2.sxr", tampered))
    assert _rows(channel.agency, "SELECT * FROM returns_waiting") == []


def test_a_waiting_return_edited_in_the_state_database_is_refused_when_released(
    channel: Channel,
) -> None:
    _, r1 = seal_delta(channel.staff, [_at(R1, "toegeleid", 10)], sequence=1)
    _, r2 = seal_delta(channel.staff, [_at(R1, "afgerond", 11)], sequence=2)
    _, other = seal_delta(channel.staff, [_at(R1, "gestopt", 12)], sequence=2)
    _import(channel.agency, ("r2.sxr", r2))
    conn = sqlite3.connect(channel.agency / "state.sqlite3")
    with conn:
        conn.execute("UPDATE returns_waiting SET container = ?", (other,))
    conn.close()
    before = ledger_tables(channel.agency)
    with pytest.raises(Tampered):
        _import(channel.agency, ("r1.sxr", r1))
    assert ledger_tables(channel.agency) == before


def test_a_second_return_under_a_waiting_number_is_equivocation(channel: Channel) -> None:
    _, r2 = seal_delta(channel.staff, [_at(R1, "afgerond", 11)], sequence=2)
    _, clash = seal_delta(channel.staff, [_at(R1, "gestopt", 11)], sequence=2)
    _import(channel.agency, ("r2.sxr", r2))
    with pytest.raises(Equivocation):
        _import(channel.agency, ("clash.sxr", clash))
    with pytest.raises(Equivocation):
        _import(channel.agency, ("a.sxr", r2), ("b.sxr", clash))


def test_returns_given_as_r2_r1_do_not_end_in_the_older_status(channel: Channel) -> None:
    """The issue: return 1 (toegeleid) and 2 (afgerond) given as 'r2 r1' ended as toegeleid."""
    _, r1 = seal_delta(channel.staff, [_at(R1, "toegeleid", 10)], sequence=1)
    _, r2 = seal_delta(channel.staff, [_at(R1, "afgerond", 11)], sequence=2)
    result = _import(channel.agency, ("r2.sxr", r2), ("r1.sxr", r1))
    assert sorted((r.sequence, r.applied) for r in result.results) == [(1, True), (2, True)]
    assert [s for _, s, _, _ in _current(channel.agency)] == ["afgerond"]


def test_an_older_change_of_another_sender_arriving_later_does_not_overwrite(
    channel: Channel, tmp_path: Path
) -> None:
    second = tmp_path / "second"
    add_staff(channel.agency, second, name="Jan Janssens")
    refresh_keyring(channel.agency, channel.staff)
    _, newer = seal_delta(channel.staff, [_at(R1, "afgerond", 12)], sequence=1)
    _, older = seal_delta(second, [_at(R1, "toegeleid", 9)], sequence=1)
    _import(channel.agency, ("newer.sxr", newer))
    _import(channel.agency, ("older.sxr", older))
    assert [s for _, s, _, _ in _current(channel.agency)] == ["afgerond"]
    # Both stay in the history, the older flagged as a conflict with what was held.
    history = _rows(channel.agency, "SELECT status, conflict FROM ledger_history ORDER BY id")
    assert history == [("afgerond", 0), ("toegeleid", 1)]


def test_a_change_dated_after_its_return_cannot_win_forever(
    channel: Channel, tmp_path: Path
) -> None:
    future = {**status(R1, new="afgerond"), "changed_at": "2099-01-01T00:00:00Z"}
    _, forged = seal_delta(channel.staff, [future], sequence=1)
    before = ledger_tables(channel.agency)
    with pytest.raises(Malformed):
        _import(channel.agency, ("forged.sxr", forged))
    assert ledger_tables(channel.agency) == before
    assert _rows(channel.agency, "SELECT * FROM returns_waiting") == []


def test_a_tie_in_change_time_goes_to_the_greater_fingerprint_in_any_order(
    channel: Channel, tmp_path: Path
) -> None:
    second = tmp_path / "second"
    add_staff(channel.agency, second, name="Jan Janssens")
    refresh_keyring(channel.agency, channel.staff)
    _, mine = seal_delta(channel.staff, [_at(R1, "afgerond", 12)], sequence=1)
    _, theirs = seal_delta(second, [_at(R1, "gestopt", 12)], sequence=1)
    by_fp = {
        staff_identity(channel.staff).fingerprint.display: "afgerond",
        staff_identity(second).fingerprint.display: "gestopt",
    }
    winner = by_fp[max(by_fp)]
    for order in ((mine, theirs), (theirs, mine)):
        agency = tmp_path / f"agency-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(channel.agency, agency)
        for data in order:
            _import(agency, ("x.sxr", data))
        assert [s for _, s, _, _ in _current(agency)] == [winner]


# --- --skip-gap ------------------------------------------------------------------------------


def test_skip_gap_releases_a_waiting_return_and_the_log_says_who_and_what(
    channel: Channel,
) -> None:
    signer = staff_identity(channel.staff).fingerprint.display
    d3, r3 = seal_delta(channel.staff, [_at(R1, "afgerond", 11)], sequence=3)
    _, r1 = seal_delta(channel.staff, [_at(R1, "toegeleid", 10)], sequence=1)
    _import(channel.agency, ("r3.sxr", r3), ("r1.sxr", r1))
    assert _rows(channel.agency, "SELECT delta_id FROM returns_waiting") == [(d3,)]
    result = _import(channel.agency, skip=((signer, 2),))
    assert [(r.delta_id, r.applied) for r in result.results] == [(d3, True)]
    assert [s for _, s, _, _ in _current(channel.agency)] == ["afgerond"]
    entries = [
        json.loads(line)
        for line in (channel.agency / "log.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    skips = [e for e in entries if e["action"] == "skip-gap"]
    assert [(e["actor"], e["counts"]) for e in skips] == [(signer, {"sequence": 2})]


def test_skip_gap_of_a_number_nothing_waits_for_is_refused(channel: Channel) -> None:
    signer = staff_identity(channel.staff).fingerprint.display
    _, r1 = seal_delta(channel.staff, [_at(R1, "toegeleid", 10)], sequence=1)
    _, r3 = seal_delta(channel.staff, [_at(R1, "afgerond", 11)], sequence=3)
    _import(channel.agency, ("r1.sxr", r1), ("r3.sxr", r3))
    before = ledger_tables(channel.agency)
    for number in (1, 3, 4):  # applied, waiting itself, after every waiting one
        with pytest.raises(UsageError):
            _import(channel.agency, skip=((signer, number),))
    assert ledger_tables(channel.agency) == before
    assert _rows(channel.agency, "SELECT * FROM returns_skipped") == []


def test_a_skipped_return_that_arrives_after_all_does_not_overwrite_its_successor(
    channel: Channel,
) -> None:
    signer = staff_identity(channel.staff).fingerprint.display
    _, r1 = seal_delta(channel.staff, [_at(R1, "toegeleid", 10)], sequence=1)
    _, r2 = seal_delta(channel.staff, [_at(R1, "gestart", 11)], sequence=2)
    _, r3 = seal_delta(channel.staff, [_at(R1, "afgerond", 12)], sequence=3)
    _import(channel.agency, ("r1.sxr", r1), ("r3.sxr", r3))
    _import(channel.agency, skip=((signer, 2),))
    late = _import(channel.agency, ("r2.sxr", r2))
    assert [r.applied for r in late.results] == [True]
    assert [s for _, s, _, _ in _current(channel.agency)] == ["afgerond"]


# --- the CLI: exit code, waiting lines, 'agency returns waiting --json' --------------------


def test_returns_waiting_json_lists_sender_sequence_and_what_it_needs(
    channel: Channel,
) -> None:
    d3, r3 = seal_delta(channel.staff, [_at(R1, "afgerond", 11)], sequence=3)
    _import(channel.agency, ("r3.sxr", r3))
    result = run_cli(["agency", "returns", "waiting", "--json"], home=channel.agency)
    expect_ok(result)
    signer = staff_identity(channel.staff).fingerprint.display
    (row,) = json.loads(result.stdout)["waiting"]
    assert set(row) == {
        "delta",
        "nis",
        "signer",
        "sequence",
        "created_at",
        "received_at",
        "needs",
        "missing",
    }
    assert (row["delta"], row["nis"], row["signer"], row["sequence"]) == (d3, NIS, signer, 3)
    assert (row["needs"], row["missing"]) == (1, 2)
    table = expect_ok(run_cli(["agency", "returns", "waiting"], home=channel.agency))
    assert d3 in table.stdout and "1 return waiting" in table.stderr


def test_import_return_without_files_or_skip_gap_is_a_usage_error(channel: Channel) -> None:
    result = run_cli(["agency", "import-return"], home=channel.agency)
    assert result.code == 2 and "SX-USAGE" in result.stderr


def test_a_badly_written_skip_gap_is_a_usage_error(channel: Channel) -> None:
    for text in ("nocolon", "ABCD:1", "ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ:x", "ABCD:0"):
        result = run_cli(["agency", "import-return", "--skip-gap", text], home=channel.agency)
        assert result.code == 2 and "SX-USAGE" in result.stderr, text


# --- real returns made by the municipal client --------------------------------------------

HOUR = timedelta(hours=1)


def _now_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _staff_home(tmp: Path, agency: Path, name: str) -> Path:
    return enrol_demo_staff(tmp, agency, name, nis=NIS)[0]


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.agency = root / "agency"
        self.returns = root / "returns"
        self.files: dict[str, Path] = {}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """An agency, two staff members (An, Bart) holding one package, and five real
    returns: An's three and Bart's two, all changing one record, at known times."""
    w = World(tmp_path_factory.mktemp("real-returns"))
    init_demo_agency(w.agency, NIS, "Antwerpen")
    an = _staff_home(w.root, w.agency, "An")
    bart = _staff_home(w.root, w.agency, "Bart")
    master = w.root / "master.xlsx"
    expect_ok(
        run_cli(["sample", "--records", "4", "--nis", NIS, "--seed", "4", "--out", str(master)])
    )
    exports = w.root / "exports"
    expect_ok(run_cli(["agency", "export", str(master), "--out", str(exports)], home=w.agency))
    (package,) = sorted(exports.glob("*.sxpkg"))
    for home in (an, bart):
        expect_ok(run_cli(["municipality", "import", str(package)], home=home))
    ((record,),) = _rows(w.agency, "SELECT record_id FROM agency_package_records LIMIT 1")
    w.returns.mkdir()
    start = datetime.now(UTC).replace(microsecond=0) + HOUR
    plan = [  # name, home, status, hours after start
        ("a1", an, "toegeleid", 0.0),
        ("b1", bart, "gestart", 0.5),
        ("a2", an, "afgerond", 1.0),
        ("a3", an, "gestopt", 2.0),
        ("b2", bart, "niet bereikbaar", 3.0),
    ]
    for name, home, new, hours in plan:
        env = {"SECUREXCHANGE_NOW": _now_text(start + hours * HOUR)}
        expect_ok(run_cli(["municipality", "set-status", record, new], home=home, env=env))
        out = w.root / f"out-{name}"
        made = expect_ok(run_cli(["municipality", "return", "--out", str(out)], home=home, env=env))
        w.files[name] = Path(made.stdout.strip())
    return w


def _real_import(agency: Path, names: list[str], world: World) -> None:
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        import_returns(
            home,
            agency_export_source(agency),
            [(n, world.files[n].read_bytes()) for n in names],
        )


def _ledger(agency: Path) -> tuple[object, ...]:
    """The ledger that must not depend on the order of arrival (receipt times and
    numbers, and the conflict flags of the history, describe the arrival itself)."""
    return (
        _rows(
            agency,
            "SELECT party_id, record_id, status, signer, changed_at, delta_id "
            "FROM ledger_status ORDER BY 1, 2",
        ),
        _rows(
            agency,
            "SELECT delta_id, party_id, signer, sequence, content_sha256, created_at, "
            "statuses, quality_reports FROM ledger_deltas ORDER BY 1",
        ),
        _rows(
            agency,
            "SELECT party_id, record_id, status, base, signer, changed_at, delta_id "
            "FROM ledger_history ORDER BY delta_id, record_id",
        ),
        _rows(agency, "SELECT * FROM returns_waiting"),
    )


def test_every_arrival_order_of_two_senders_returns_gives_the_same_ledger(
    world: World, tmp_path: Path
) -> None:
    """Every permutation of An's three returns, interleaved with Bart's two (in their
    order and reversed), one file per command: the same ledger, Bart's last change."""
    an, bart = ["a1", "a2", "a3"], ["b1", "b2"]
    orders: list[list[str]] = []
    for a_order in itertools.permutations(an):
        for b_order in (bart, bart[::-1]):
            for slots in itertools.combinations(range(5), 2):
                a_it, b_it = iter(a_order), iter(b_order)
                orders.append([next(b_it) if i in slots else next(a_it) for i in range(5)])
    # Every order is checked once in one command, and a spread of them file by file.
    ledgers = set()
    for number, order in enumerate(orders):
        agency = tmp_path / f"agency-{number}"
        shutil.copytree(world.agency, agency)
        if number % 8 == 0:
            for name in order:
                _real_import(agency, [name], world)
        else:
            _real_import(agency, order, world)
        ledgers.add(repr(_ledger(agency)))
        shutil.rmtree(agency)
    assert len(ledgers) == 1
    (current, deltas, _, waiting_rows) = eval(ledgers.pop())
    assert len(deltas) == 5 and waiting_rows == []
    assert [row[2] for row in current] == ["niet bereikbaar"]


def test_returns_of_one_sender_in_reverse_order_end_in_the_newest_status(
    world: World, tmp_path: Path
) -> None:
    agency = tmp_path / "agency"
    shutil.copytree(world.agency, agency)
    _real_import(agency, ["a2"], world)
    assert _current(agency) == []
    _real_import(agency, ["a1"], world)
    assert [s for _, s, _, _ in _current(agency)] == ["afgerond"]


def test_import_return_with_a_waiting_return_exits_0_and_says_what_it_waits_for(
    world: World, tmp_path: Path
) -> None:
    agency = tmp_path / "agency"
    shutil.copytree(world.agency, agency)
    result = run_cli(["agency", "import-return", str(world.files["a2"])], home=agency)
    assert result.code == 0, result.stderr
    assert re.search(r"waiting: ret-\S+ \(\S+ number 2\) needs sequence 1 first", result.stderr)
    assert "waiting for 1" in result.stdout
    both = run_cli(
        ["agency", "import-return", "--json", str(world.files["a1"]), str(world.files["a2"])],
        home=agency,
    )
    assert both.code == 0, both.stderr
    rows = json.loads(both.stdout)["returns"]
    assert sorted((r["sequence"], r["applied"], r["waits_for"]) for r in rows) == [
        (1, True, None),
        (2, True, None),
    ]
    assert "waiting:" not in both.stderr


def test_return_file_names_carry_nis_sender_and_sequence_and_sort(world: World) -> None:
    pattern = re.compile(r"^(\d{5})_((?:[A-Z2-7]{4}-){6}[A-Z2-7]{2})_(\d{6})\.sxr$")
    parsed = {n: pattern.fullmatch(p.name) for n, p in world.files.items()}
    assert all(parsed.values()), [p.name for p in world.files.values()]
    an = [parsed[n] for n in ("a1", "a2", "a3")]
    assert [m.group(3) for m in an if m] == ["000001", "000002", "000003"]
    assert {m.group(1) for m in parsed.values() if m} == {NIS}
    assert len({m.group(2) for m in parsed.values() if m}) == 2
    names = [world.files[n].name for n in ("a1", "a2", "a3")]
    assert sorted(names) == names
    fp = "ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ"
    numbered = [return_file_name(NIS, fp, n) for n in (1, 2, 9, 10, 99, 100, 999_999)]
    assert sorted(numbered) == numbered
