"""Written notice, termination grounds and renewal (issue 20 part 2; protocol art. 5, 8, 12).

The demo's notice step leaves Gent's notice taken in by the agency; these tests start from
copies of its homes right after that step and drive the CLI as a subprocess.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from demo_homes import copy_home, ok, snapshot_after, sx
from securexchange.artifacts.keyring import Keyring, MunicipalityEntry
from securexchange.artifacts.protocol_notice import ProtocolNoticeBody
from securexchange.artifacts.protocol_terms import EndGround, add_months, notice_effective
from securexchange.errors import Malformed

TODAY = datetime.now(UTC).date()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's homes right after its notice step (before its clock travels)."""
    return snapshot_after(tmp_path_factory.mktemp("notices"), "notice")


def gent_notice(demo: Path) -> Path:
    (path,) = (demo / "protocol-notices").glob("pn-*.sxo")
    return path


def entry_of(agency: Path, nis: str) -> dict[str, object]:
    listed = json.loads(
        ok("--home", str(agency), "agency", "municipality", "list", "--json").stdout
    )
    (row,) = [r for r in listed if r["nis"] == nis]
    return dict(row)


def latest_keyring(agency: Path, out: Path) -> Keyring:
    ok("--home", str(agency), "agency", "keyring", "publish", "--out", str(out))
    return Keyring.from_bytes((out / "keyring-full.json").read_bytes())


def test_gents_notice_ends_its_protocol_three_months_after_the_agency_received_it(
    demo: Path, tmp_path: Path
) -> None:
    keyring = Keyring.from_bytes((demo / "keyring" / "keyring-full.json").read_bytes())
    gent = keyring.municipality("44021")
    assert gent is not None and gent.ending is not None
    assert gent.ending.ground is EndGround.NOTICE_BY_MUNICIPALITY
    assert gent.ending.decision == "CBS Gent 2026/118"
    assert gent.ending.notice_id == gent_notice(demo).stem
    assert gent.ending.notice_received_on == TODAY
    assert gent.terminated_on == notice_effective(TODAY) == add_months(TODAY, 3)
    assert keyring.to_json()["format"] == "securexchange-keyring/3"
    # Gent's home took that keyring in: its own view states the end as well.
    staff = demo / "staff-44021-sofie-maes"
    listed = json.loads(ok("--home", str(staff), "municipality", "notice", "list", "--json").stdout)
    assert [(n["kind"], n["given_by"], n["ours"]) for n in listed] == [
        ("notice", "municipality", True)
    ]


def test_audit_verifies_the_notice_and_refuses_a_tampered_copy(demo: Path, tmp_path: Path) -> None:
    card = str(demo / "keyring" / "root.card.json")
    done = ok("audit", "verify", str(demo / "protocol-notices"), "--agency-key", card)
    assert b"5 of 5 artifacts verified" in done.stderr
    folder = tmp_path / "tampered"
    shutil.copytree(demo / "protocol-notices", folder)
    victim = folder / gent_notice(demo).name
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    done = sx("audit", "verify", str(folder), "--agency-key", card)
    assert done.returncode == 1
    assert b"4 of 5 artifacts verified" in done.stderr
    agency = copy_home(demo, "agency", tmp_path)
    before = ok("--home", str(agency), "agency", "notice", "list", "--json").stdout
    done = sx("--home", str(agency), "agency", "notice", "import", str(victim))
    assert done.returncode == 1
    assert b"error: SX-TAMPERED" in done.stderr or b"error: SX-MALFORMED" in done.stderr
    assert ok("--home", str(agency), "agency", "notice", "list", "--json").stdout == before


def test_a_replayed_notice_changes_nothing_and_signs_no_keyring(demo: Path, tmp_path: Path) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    before = latest_keyring(agency, tmp_path / "before").version
    done = ok("--home", str(agency), "agency", "notice", "import", str(gent_notice(demo)))
    assert b"kept already; nothing changed" in done.stderr
    assert latest_keyring(agency, tmp_path / "after").version == before


def test_the_agencys_notice_runs_from_the_municipalitys_receipt(demo: Path, tmp_path: Path) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    staff = copy_home(demo, "staff-11002-an-peeters", tmp_path)
    gent = copy_home(demo, "staff-44021-sofie-maes", tmp_path)
    given = ok(
        "--home",
        str(agency),
        *("agency", "notice", "give", "--nis", "11002"),
        *("--decision", "RvB AgII 2026/77", "--out", str(tmp_path / "out")),
    )
    notice = Path(given.stdout.decode().strip())
    assert entry_of(agency, "11002")["terminated_on"] is None  # nothing runs before receipt
    # Misaddressed: another municipality's home refuses it, nothing kept.
    done = sx("--home", str(gent), "municipality", "notice", "import", str(notice), "--out", "x")
    assert done.returncode == 1 and b"SX-WRONG-MUNICIPALITY" in done.stderr
    taken = ok(
        "--home",
        str(staff),
        "municipality",
        "notice",
        "import",
        str(notice),
        "--out",
        str(tmp_path / "receipts"),
    )
    receipt = Path(taken.stdout.decode().strip())
    status = json.loads(ok("--home", str(staff), "municipality", "status", "--json").stdout)
    assert [(n["given_by"], n["received_on"], n["effective"]) for n in status["notices"]] == [
        ("agency", TODAY.isoformat(), notice_effective(TODAY).isoformat())
    ]
    again = ok(
        "--home",
        str(staff),
        "municipality",
        "notice",
        "import",
        str(notice),
        "--out",
        str(tmp_path / "receipts-2"),
    )
    assert Path(again.stdout.decode().strip()).read_bytes() == receipt.read_bytes()
    # The receipt is not a notice the agency's staff could give the municipality back.
    done = sx("--home", str(staff), "municipality", "notice", "import", str(receipt), "--out", "y")
    assert done.returncode == 1 and b"SX-MALFORMED" in done.stderr
    ok("--home", str(agency), "agency", "notice", "import", str(receipt))
    row = entry_of(agency, "11002")
    assert row["terminated_on"] == notice_effective(TODAY).isoformat()
    assert row["ending"] == {
        "ground": "notice-by-agency",
        "decision": "RvB AgII 2026/77",
        "notice": {"id": notice.stem, "received_on": TODAY.isoformat()},
    }


def test_a_termination_records_its_ground_and_names_its_decision(
    demo: Path, tmp_path: Path
) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    out = str(tmp_path / "out")
    base = ("--home", str(agency), "agency", "terminate", "--nis", "11002", "--out", out)
    done = sx(*base, "--effective", "2027-06-01", "--ground", "breach-of-gdpr")
    assert done.returncode == 2 and b"names the decision" in done.stderr
    done = sx(*base, "--effective", "2027-06-01", "--ground", "notice-by-agency")
    assert done.returncode == 2  # a notice is not a termination: not in the closed list
    ok(*base, "--effective", "2027-06-01", "--ground", "legal-basis-gone")  # by law: no decision
    assert entry_of(agency, "11002")["ending"] == {
        "ground": "legal-basis-gone",
        "decision": None,
        "notice": None,
    }


def test_a_renewal_is_a_new_protocol_with_the_same_people(demo: Path, tmp_path: Path) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    staff = copy_home(demo, "staff-11002-an-peeters", tmp_path)
    old = entry_of(agency, "11002")
    ok(
        "--home",
        str(agency),
        *("agency", "municipality", "renew", "--nis", "11002", "--until", "2031-12-31"),
        *("--protocol-ref", "AgII-PR-2027-011"),
    )
    new = entry_of(agency, "11002")
    assert new["protocol_id"] != old["protocol_id"]
    assert (new["renews"], new["protocol_ref"]) == (old["protocol_id"], "AgII-PR-2027-011")
    assert new["protocol_until"] == "2031-12-31" and new["recipients"] == old["recipients"]
    exports = tmp_path / "exports"
    ok(
        "--home",
        str(agency),
        "agency",
        "export",
        str(demo / "demo-master.xlsx"),
        "--out",
        str(exports),
    )
    (package,) = exports.glob("11002-*")
    published = tmp_path / "keyring"
    ok("--home", str(agency), "agency", "keyring", "publish", "--out", str(published))
    ok("--home", str(staff), "municipality", "import", str(published / "keyring-11002.json"))
    ok("--home", str(staff), "municipality", "import", str(package))  # no new enrolment
    # Gent gave notice: its protocol ends, it is not renewed.
    done = sx(
        "--home",
        str(agency),
        *("agency", "municipality", "renew", "--nis", "44021", "--until", "2031-12-31"),
        *("--protocol-ref", "X-1"),
    )
    assert done.returncode == 1 and b"SX-PROTOCOL-INACTIVE" in done.stderr


def test_an_ending_earlier_than_three_months_after_receipt_is_malformed(demo: Path) -> None:
    keyring = Keyring.from_bytes((demo / "keyring" / "keyring-full.json").read_bytes())
    gent = keyring.municipality("44021")
    assert gent is not None
    value = gent.to_json()
    value["terminated_on"] = (notice_effective(TODAY).replace(day=1)).isoformat()
    if date.fromisoformat(str(value["terminated_on"])) >= notice_effective(TODAY):
        value["terminated_on"] = TODAY.isoformat()
    with pytest.raises(Malformed):
        MunicipalityEntry.from_json(value, 1)


def test_a_receipt_whose_effective_day_is_not_three_months_later_is_malformed() -> None:
    value = {
        "kind": "receipt",
        "given_by": "municipality",
        "municipality": {"nis": "11002", "party_id": "party-" + "a" * 26},
        "protocol_id": "protocol-" + "b" * 26,
        "keyring_version": 3,
        "decision": None,
        "answers": "pn-" + "c" * 26,
        "received_on": "2027-01-31",
        "effective": "2027-04-30",
        "demo": True,
    }
    assert ProtocolNoticeBody.from_json(value).effective == date(2027, 4, 30)
    value["effective"] = "2027-04-29"
    with pytest.raises(Malformed):
        ProtocolNoticeBody.from_json(value)


def _signed_by_sofie(demo: Path, tmp_path: Path, **changes: object) -> Path:
    """Gent's notice with ``changes`` to its body, signed with Sofie Maes's key."""
    from dataclasses import replace
    from datetime import timedelta

    from securexchange.artifacts.container import read_members, seal
    from securexchange.artifacts.manifest import MANIFEST, ArtifactType, Manifest
    from securexchange.demo.cast import demo_key
    from securexchange.home.home import HomeKind, open_home
    from securexchange.ids import ArtifactKind, new_artifact_id
    from securexchange.keys.keystore import KeyUse, key_path
    from securexchange.municipality import subkeys

    manifest = Manifest.from_json_bytes(read_members(gent_notice(demo).read_bytes())[MANIFEST])
    body = manifest.body
    assert isinstance(body, ProtocolNoticeBody)
    staff = copy_home(demo, "staff-44021-sofie-maes", tmp_path)
    with open_home(staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        signer = subkeys.split_out(home, demo_key(key_path(home, KeyUse.IDENTITY)))
    path = tmp_path / "forged.sxo"
    path.write_bytes(
        seal(
            artifact_type=ArtifactType.PROTOCOL_NOTICE,
            artifact_id=new_artifact_id(ArtifactKind.PROTOCOL_NOTICE),
            created_at=manifest.created_at + timedelta(seconds=1),
            municipality=manifest.municipality,
            body=replace(body, **changes),
            signing_seed=signer.seed,
        )
    )
    return path


def test_a_notice_of_another_protocol_or_an_unissued_keyring_version_is_refused(
    demo: Path, tmp_path: Path
) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    other = _signed_by_sofie(demo, tmp_path / "a", protocol_id="protocol-" + "a" * 26)
    done = sx("--home", str(agency), "agency", "notice", "import", str(other))
    assert done.returncode == 1 and b"SX-WRONG-MUNICIPALITY" in done.stderr, done.stderr
    assert b"another protocol" in done.stderr
    unissued = _signed_by_sofie(demo, tmp_path / "b", keyring_version=999)
    done = sx("--home", str(agency), "agency", "notice", "import", str(unissued))
    assert done.returncode == 1 and b"SX-MALFORMED" in done.stderr, done.stderr
    assert b"did not issue" in done.stderr
