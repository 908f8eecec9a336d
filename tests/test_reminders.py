"""Coming events (issue 19, reminders): one function says what happens within the
reminder window, and status, the agency's municipality list and the export report show
it, in the user's language."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cli_helpers import expect_ok, run_cli
from securexchange.reminders import REMIND_AHEAD, Event, EventKind, coming, describe

NOW = datetime(2027, 6, 1, 9, tzinfo=UTC)
NIS = "11002"


def test_only_events_from_today_to_the_end_of_the_window_are_returned_by_date() -> None:
    assert timedelta(days=30) <= REMIND_AHEAD
    last = NOW.date() + REMIND_AHEAD
    events = coming(
        NOW,
        keys_until=[("An", datetime(2027, 7, 1, tzinfo=UTC))],  # midnight: last day 30 June
        protocol_ends=[(NIS, last), ("44021", last + timedelta(days=1))],
        terminations=[("71016", NOW.date() - timedelta(days=1))],  # past: not coming
        shredding=[(date(2027, 6, 1), 12), (date(2027, 6, 2), 0)],  # none on 2 June
    )
    assert events == (
        Event(EventKind.SHREDDING, date(2027, 6, 1), records=12),
        Event(EventKind.KEYS_RUN_OUT, date(2027, 6, 30), "An"),
        Event(EventKind.PROTOCOL_ENDS, last, NIS),
    )


def test_each_event_is_said_in_english() -> None:
    shred = Event(EventKind.SHREDDING, date(2027, 3, 1), records=12)
    mine = Event(EventKind.KEYS_RUN_OUT, date(2027, 6, 30))
    assert describe(shred) == "12 records are destroyed on 1 March 2027"
    assert describe(mine).startswith("your keys for packages run out after 30 June 2027")


def test_each_event_is_said_in_dutch(dutch: None) -> None:
    shred = Event(EventKind.SHREDDING, date(2027, 3, 1), records=12)
    mine = Event(EventKind.KEYS_RUN_OUT, date(2027, 6, 30))
    assert describe(shred) == "12 dossiers worden vernietigd op 1 maart 2027"
    assert describe(mine).startswith("uw sleutels voor pakketten lopen af na 30 juni 2027")


def _world(tmp: Path, *, until: str) -> tuple[Path, Path]:
    at = {"SECUREXCHANGE_NOW": "2027-01-15T10:00:00Z"}
    agency, staff = tmp / "agency", tmp / "an"
    expect_ok(run_cli(["agency", "init", "--name", "Agentschap", "--demo"], home=agency, env=at))
    add = ["agency", "municipality", "add", "--nis", NIS, "--name", "Antwerpen"]
    expect_ok(run_cli([*add, "--protocol-until", until], home=agency, env=at))
    init = ["municipality", "init", "--demo", "--nis", NIS, "--name", "An", "--role"]
    init += ["integratiebeambte", "--horizon", "1"]
    init += ["--agency-key", str(agency / "keys" / "root.card.json")]
    expect_ok(run_cli(init, home=staff, env=at))
    shown = json.loads(expect_ok(run_cli(["keys", "show", "--json"], home=staff, env=at)).stdout)
    card = str(staff / "keys" / "identity.card.json")
    recipient = ["agency", "recipient", "add", "--nis", NIS, "--fingerprint"]
    expect_ok(run_cli([*recipient, str(shown["fingerprint"]), card], home=agency, env=at))
    return agency, staff


def test_status_reminds_staff_before_their_keys_run_out(tmp_path: Path) -> None:
    _, staff = _world(tmp_path, until="2030-12-31")
    # Enrolled in January with a horizon of one quarter: keys until 30 June.
    march = {"SECUREXCHANGE_NOW": "2027-03-01T10:00:00Z"}
    quiet = expect_ok(run_cli(["municipality", "status", "--json"], home=staff, env=march))
    assert json.loads(quiet.stdout)["coming"] == []
    june = {"SECUREXCHANGE_NOW": "2027-06-01T10:00:00Z"}
    document = json.loads(
        expect_ok(run_cli(["municipality", "status", "--json"], home=staff, env=june)).stdout
    )
    assert document["coming"] == [
        {"kind": "keys-run-out", "on": "2027-06-30", "who": "", "records": 0}
    ]
    dutch = expect_ok(run_cli(["--lang", "nl", "municipality", "status"], home=staff, env=june))
    assert "Binnenkort:" in dutch.stdout
    assert "uw sleutels voor pakketten lopen af na 30 juni 2027" in dutch.stdout


def test_the_agency_list_and_the_export_name_a_protocol_ending_and_keys_running_out(
    tmp_path: Path,
) -> None:
    agency, _ = _world(tmp_path, until="2027-07-10")
    june = {"SECUREXCHANGE_NOW": "2027-06-01T10:00:00Z"}
    listed = expect_ok(run_cli(["agency", "municipality", "list"], home=agency, env=june))
    assert "coming up:" in listed.stdout
    assert "the data-sharing protocol of 11002 ends on 10 July 2027" in listed.stdout
    assert "the keys of An (11002) run out after 30 June 2027" in listed.stdout
    rows = json.loads(
        expect_ok(
            run_cli(["agency", "municipality", "list", "--json"], home=agency, env=june)
        ).stdout
    )
    assert [e["kind"] for e in rows[0]["coming"]] == ["keys-run-out", "protocol-ends"]

    master = tmp_path / "master.xlsx"
    expect_ok(run_cli(["sample", "--records", "3", "--nis", NIS, "--out", str(master)]))
    export = ["agency", "export", str(master), "--out", str(tmp_path / "out")]
    exported = expect_ok(run_cli(export, home=agency, env=june))
    assert "reminder: the data-sharing protocol of 11002 ends on 10 July 2027" in exported.stderr
    assert "reminder: the keys of An (11002) run out after 30 June 2027" in exported.stderr
