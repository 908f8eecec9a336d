"""Incidents (issue 20, protocol art. 6 and 9): a municipality reports a breach to the
agency's DPO within 48 hours, both keep a register, and every notice is signed,
encrypted to DPOs only, verified by `audit verify` without a key, and refused when
tampered, replayed into a register that holds it, or misaddressed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from demo_homes import copy_home, snapshot_after, sx
from securexchange.artifacts.keyring import Keyring


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's homes as they are right after its incident step (before its clock
    travels two years ahead)."""
    return snapshot_after(tmp_path_factory.mktemp("incidents"), "incident")


def register(home: Path) -> object:
    done = sx("--home", str(home), "agency", "incident", "list", "--json")
    return json.loads(done.stdout)["incidents"]


def notices(demo: Path) -> list[Path]:
    return sorted((demo / "incidents").glob("*.sxi"), key=lambda p: p.stat().st_mtime_ns)


def test_the_demo_incident_is_closed_in_both_registers(demo: Path) -> None:
    for home, side in (
        (demo / "agency", "agency"),
        (demo / "staff-11002-an-peeters", "municipality"),
    ):
        done = sx("--home", str(home), side, "incident", "list", "--json")
        assert done.returncode == 0, done.stderr
        (item,) = json.loads(done.stdout)["incidents"]
        assert item["closed_at"] is not None
        assert item["reporter"] == "municipality"
        assert item["notices"] == 2
    agency = json.loads(
        sx("--home", str(demo / "agency"), "agency", "incident", "list", "--json").stdout
    )
    (item,) = agency["incidents"]
    assert item["ours"] is False  # the agency's 72 hours run from receipt


def test_audit_verify_checks_incident_notices_without_a_key(demo: Path, tmp_path: Path) -> None:
    card = str(demo / "keyring" / "root.card.json")
    done = sx("audit", "verify", str(demo / "incidents"), "--agency-key", card)
    assert done.returncode == 0, done.stderr
    assert b"6 of 6 artifacts verified" in done.stderr
    victim = tmp_path / "tampered.sxi"
    data = bytearray(notices(demo)[0].read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    done = sx("audit", "verify", str(victim), str(demo / "keyring"), "--agency-key", card)
    assert done.returncode != 0
    assert b"48 hours" in done.stderr


def test_a_tampered_incident_notice_is_refused_and_the_register_is_unchanged(
    demo: Path, tmp_path: Path
) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    before = register(agency)
    victim = tmp_path / "tampered.sxi"
    data = bytearray(notices(demo)[0].read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    done = sx("--home", str(agency), "agency", "incident", "import", str(victim))
    assert done.returncode == 1
    assert b"error: SX-TAMPERED" in done.stderr
    assert register(agency) == before


def test_a_replayed_incident_notice_changes_nothing(demo: Path, tmp_path: Path) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    before = register(agency)
    done = sx("--home", str(agency), "agency", "incident", "import", *map(str, notices(demo)))
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(b"already in the register") == 2
    assert register(agency) == before


def test_a_misaddressed_incident_notice_is_refused(demo: Path, tmp_path: Path) -> None:
    gent = copy_home(demo, "staff-44021-sofie-maes", tmp_path)
    done = sx("--home", str(gent), "municipality", "incident", "import", str(notices(demo)[0]))
    assert done.returncode == 1
    assert b"SX-WRONG-MUNICIPALITY" in done.stderr
    colleague = copy_home(demo, "staff-11002-jan-claes", tmp_path)
    done = sx("--home", str(colleague), "municipality", "incident", "import", str(notices(demo)[0]))
    assert done.returncode == 1
    # Jan Claes holds no keyring listing the DPOs yet, or is not a DPO: refused either way.
    assert b"SX-NOT-RECIPIENT" in done.stderr or b"SX-NOT-AUTHORISED" in done.stderr


def test_an_incident_opened_through_the_cli_reaches_the_agency_dpo(
    demo: Path, tmp_path: Path
) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    staff = copy_home(demo, "staff-11002-an-peeters", tmp_path)
    out = tmp_path / "out"
    form = b"aard: een laptop met de kluis is gestolen\npersonen: 40\nrecords: ~40\n"
    done = sx(
        "--home",
        str(staff),
        "municipality",
        "incident",
        "open",
        "--discovered",
        "2026-01-01T09:00+00:00",
        "--form",
        "-",
        "--out",
        str(out),
        stdin=form,
    )
    assert done.returncode == 0, done.stderr
    assert b"48 hours after discovery have passed" in done.stderr  # demo clock is later
    path = Path(done.stdout.decode().strip())
    assert b"laptop" not in path.read_bytes()  # the details travel encrypted only
    status = json.loads(sx("--home", str(staff), "municipality", "status", "--json").stdout)
    (shown_open,) = status["incidents"]
    assert shown_open["ours"] and shown_open["agency_due"] == "2026-01-03T09:00:00Z"
    text = sx("--home", str(staff), "municipality", "status").stdout.decode()
    assert f"Open incident {shown_open['incident']}" in text and "h late" in text
    done = sx("--home", str(agency), "agency", "incident", "import", str(path))
    assert done.returncode == 0, done.stderr
    listed = json.loads(sx("--home", str(agency), "agency", "incident", "list", "--json").stdout)
    opened = [i for i in listed["incidents"] if i["closed_at"] is None]
    assert len(opened) == 1 and opened[0]["discovered_at"] == "2026-01-01T09:00:00Z"
    assert opened[0]["notify_agency_by"] == "2026-01-03T09:00:00Z"
    shown = sx("--home", str(agency), "agency", "incident", "show", opened[0]["incident"])
    assert shown.returncode == 0, shown.stderr
    assert b"een laptop met de kluis is gestolen" in shown.stdout
    assert b"40" in shown.stdout


def test_a_note_on_an_incident_the_other_party_reported_is_refused(
    demo: Path, tmp_path: Path
) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    (item,) = json.loads(sx("--home", str(agency), "agency", "incident", "list", "--json").stdout)[
        "incidents"
    ]
    done = sx(
        "--home",
        str(agency),
        "agency",
        "incident",
        "note",
        item["incident"],
        "--form",
        "-",
        "--out",
        str(tmp_path / "o"),
        stdin=b"maatregelen: x\n",
    )
    assert done.returncode == 2
    assert b"only the party that reported an incident" in done.stderr


def test_a_keyring_with_data_protection_officers_states_format_3(demo: Path) -> None:
    # The version the notices were made by, published beside them.
    keyring = Keyring.from_bytes((demo / "incidents" / "keyring-full.json").read_bytes())
    assert keyring.agency.dpo is not None
    entry = keyring.municipality("11002")
    assert entry is not None and len(entry.dpos) == 1
    assert keyring.to_json()["format"] == "securexchange-keyring/3"
    assert all(r.owner.role != "dpo" for r in entry.readers)


def test_an_incident_notice_encrypted_to_someone_it_does_not_list_is_refused(
    demo: Path, tmp_path: Path
) -> None:
    """Signed by the right person, listing only the DPOs, but with one more age stanza:
    its payload could be read by someone the body hides."""
    from dataclasses import replace
    from datetime import timedelta

    from securexchange.age import parse_recipient
    from securexchange.artifacts.container import read_members, seal
    from securexchange.artifacts.incident import IncidentBody
    from securexchange.artifacts.manifest import MANIFEST, ArtifactType, Manifest
    from securexchange.demo.cast import demo_key
    from securexchange.home.home import HomeKind, open_home
    from securexchange.ids import ArtifactKind, new_artifact_id
    from securexchange.keys.keystore import KeyUse, key_path
    from securexchange.municipality import subkeys

    opening = notices(demo)[0]
    manifest = Manifest.from_json_bytes(read_members(opening.read_bytes())[MANIFEST])
    body = manifest.body
    assert isinstance(body, IncidentBody)
    staff = copy_home(demo, "staff-11002-an-peeters", tmp_path)
    with open_home(staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        signer = subkeys.split_out(home, demo_key(key_path(home, KeyUse.IDENTITY)))
    assert signer.fingerprint.display == manifest.signer
    listed = [parse_recipient(r.subkey) for r in body.recipients]
    # A stanza names no one: one more, for whomever, is all a keyless reader can see.
    hidden = parse_recipient(body.recipients[0].subkey)
    forged = tmp_path / "forged.sxi"
    forged_id = new_artifact_id(ArtifactKind.INCIDENT)
    body = replace(body, incident=forged_id)  # an opening names itself
    forged.write_bytes(
        seal(
            artifact_type=ArtifactType.INCIDENT,
            artifact_id=forged_id,
            created_at=manifest.created_at + timedelta(seconds=1),
            municipality=manifest.municipality,
            body=body,
            signing_seed=signer.seed,
            content=b"what the stranger reads",
            recipients=[*listed, hidden],
        )
    )
    folder = tmp_path / "audit"
    shutil.copytree(demo / "incidents", folder)
    shutil.copy(forged, folder / forged.name)
    card = str(demo / "keyring" / "root.card.json")
    done = sx("audit", "verify", str(folder), "--agency-key", card)
    assert done.returncode == 1
    assert b"6 of 7 artifacts verified" in done.stderr, done.stderr.decode()
    assert b"forged.sxi: structure" in done.stderr
    agency = copy_home(demo, "agency", tmp_path)
    done = sx("--home", str(agency), "agency", "incident", "import", str(forged))
    assert done.returncode == 1 and b"SX-MALFORMED" in done.stderr
