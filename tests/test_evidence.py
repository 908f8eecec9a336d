"""The report of measures (issue 20 part 4; protocol art. 6).

The demo's evidence step leaves Antwerpen's report (An Peeters) taken in by the agency;
these tests start from copies of its homes right after that step and drive the CLI as a
subprocess, as a municipality and the agency would.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from demo_homes import copy_home, ok, snapshot_after, sx
from securexchange import strictjson
from securexchange.artifacts import zipstrict
from securexchange.artifacts.container import read_members, seal
from securexchange.artifacts.evidence import (
    EvidenceBody,
    KeyPeriods,
    LogState,
    PackageCounts,
    Shredding,
)
from securexchange.artifacts.evidence_parts import (
    MAX_CHECKPOINTS,
    MAX_COUNT_NAMES,
    MAX_PEOPLE,
    MAX_SHRED_EVENTS,
    MAX_SUBKEYS,
    PACKAGE_STATES,
    Answer,
    Checkpoint,
    KeyPeriod,
    Person,
    ShredEvent,
    Statement,
    declarations,
)
from securexchange.artifacts.keyring import Keyring
from securexchange.artifacts.manifest import MANIFEST, MAX_MANIFEST_SIZE, ArtifactType, Manifest
from securexchange.demo.cast import MUNICIPALITIES, demo_key
from securexchange.errors import Malformed, UsageError
from securexchange.fingerprint import Fingerprint
from securexchange.home.home import HomeKind, open_home
from securexchange.keys.keystore import KeyUse, key_path
from securexchange.municipality.evidence import declaration_lines, parse_declarations

TODAY = datetime.now(UTC).date()
ANTWERPEN = "staff-11002-an-peeters"
COLLEAGUE = "staff-11002-jan-claes"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's homes right after its evidence step (before its clock travels)."""
    return snapshot_after(tmp_path_factory.mktemp("evidence"), "evidence")


def refused(done: subprocess.CompletedProcess[bytes], *names: str) -> str:
    """The one error line, naming one of ``names``, exit 1."""
    err = done.stderr.decode()
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert done.returncode == 1, err
    assert len(errors) == 1 and any(f"error: {n}:" in errors[0] for n in names), err
    return errors[0]


def demo_report(demo: Path) -> Path:
    (path,) = (demo / "evidence").glob("*.sxe")
    return path


def members_of(path: Path) -> dict[str, bytes]:
    return read_members(path.read_bytes())


def manifest_of(path: Path) -> dict[str, Any]:
    value: dict[str, Any] = strictjson.loads(members_of(path)[MANIFEST], what="test")
    return value


def failed_files(folder: Path, demo: Path) -> list[str]:
    card = str(demo / "keyring" / "root.card.json")
    done = sx("audit", "verify", str(folder), "--agency-key", card, "--json")
    report = json.loads(done.stdout)
    return sorted(Path(a["file"]).name for a in report["artifacts"] if a["result"] != "ok")


def make_report(home: Path, out: Path, *declare: str, now: str | None = None) -> Path:
    args = [a for d in declare for a in ("--declare", d)]
    done = ok("--home", str(home), "municipality", "evidence", "--out", str(out), *args, now=now)
    assert Path(done.stdout.decode().strip()) == out
    return out


def held(agency: Path) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = json.loads(
        ok("--home", str(agency), "agency", "evidence", "list", "--json").stdout
    )
    return listed


def audit(folder: Path, demo: Path) -> subprocess.CompletedProcess[bytes]:
    card = str(demo / "keyring" / "root.card.json")
    return sx("audit", "verify", str(folder), "--agency-key", card)


def test_a_report_made_through_the_cli_is_taken_in_and_audited(demo: Path, tmp_path: Path) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    staff = copy_home(demo, COLLEAGUE, tmp_path)
    answers = tmp_path / "answers.txt"
    answers.write_text("# our answers\nphysical-access = yes\n\nsystem-updates=no\n")
    out = tmp_path / "reports" / "ev.sxe"
    done = ok(
        *("--home", str(staff), "municipality", "evidence", "--out", str(out)),
        *("--declare", "disk-encryption=unknown", "--declarations", str(answers)),
    )
    assert b"3 of 6 statements declared; send it to the agency" in done.stderr
    assert out.stat().st_mode & 0o777 == 0o644  # no personal data: readable like a notice
    log = ok("--home", str(staff), "audit", "log", "--json").stdout.decode()
    assert '"evidence"' in log
    done = ok("--home", str(agency), "agency", "evidence", "import", str(out))
    assert b"1 no, 1 unknown, 3 not declared" in done.stderr
    reports = held(agency)
    assert [r["nis"] for r in reports] == ["11002", "11002"]
    # Made within the demo's second, it may sort either side of the demo's report.
    (mine,) = [r for r in reports if r["evidence_id"] == manifest_of(out)["id"]]
    assert mine["report"] == manifest_of(out)["body"]
    table = ok("--home", str(agency), "agency", "evidence", "list").stdout.decode()
    assert table.count("ev-") == 2
    # The auditor: the report with the keyring version it names, and the root card.
    version = manifest_of(out)["body"]["keyring_version"]
    folder = tmp_path / "audit"
    ok(
        "--home",
        str(agency),
        "agency",
        "keyring",
        "publish",
        "--version",
        str(version),
        "--out",
        str(folder),
    )
    shutil.copy(out, folder / out.name)
    done = audit(folder, demo)
    assert done.returncode == 0, done.stderr.decode()
    assert b"artifacts verified" in done.stderr


def test_the_report_names_fingerprints_and_roles_never_names(demo: Path) -> None:
    report = demo_report(demo)
    data = members_of(report)[MANIFEST].lower()  # what the signature covers
    for municipality in MUNICIPALITIES:
        for person in municipality.staff:
            assert person.lower().encode() not in data
            for word in person.split():
                assert len(word) < 4 or word.lower().encode() not in data, word
        assert municipality.name.lower().encode() not in data
    assert re.search(rb"R-[A-Z2-7]{20}", data) is None  # no record id
    assert b"@" not in data  # no e-mail address
    body = manifest_of(report)["body"]
    keyring = Keyring.from_bytes((demo / "evidence" / "keyring-full.json").read_bytes())
    entry = keyring.municipality("11002")
    assert entry is not None
    listed = sorted((p.fingerprint.display, p.owner.role) for p in entry.recipients)
    assert [(p["fingerprint"], p["role"]) for p in body["access"]["people"]] == listed
    assert all(set(p) == {"fingerprint", "role"} for p in body["access"]["people"])
    assert body["agency"] == keyring.agency.root_fingerprint.display
    assert body["key_periods"]["holder"] == manifest_of(report)["signer"]
    assert body["software"].startswith("securexchange ")


def test_declarations_are_marked_as_such_and_observations_as_observed(demo: Path) -> None:
    body = manifest_of(demo_report(demo))["body"]
    answers = {d["statement"]: d["answer"] for d in body["declarations"]}
    assert answers == {
        "disk-encryption": "yes",
        "screen-lock": "yes",
        "physical-access": "not-declared",
        "staff-instructed": "not-declared",
        "backups-excluded": "unknown",
        "system-updates": "not-declared",
    }
    assert {d["kind"] for d in body["declarations"]} == {"declaration"}
    for section in ("key_periods", "access", "shredding", "log", "packages"):
        assert body[section]["kind"] == "observed", section
    assert body["log"]["intact"] is True and body["log"]["checkpoints"]
    assert body["packages"]["states"]["live"] >= 1


def test_a_declaration_outside_the_closed_list_is_a_usage_error(demo: Path, tmp_path: Path) -> None:
    staff = copy_home(demo, COLLEAGUE, tmp_path)
    out = tmp_path / "ev.sxe"
    for declare in ("disk-encryption=maybe", "my-own-words=yes", "disk-encryption"):
        done = sx(
            *("--home", str(staff), "municipality", "evidence", "--out", str(out)),
            "--declare",
            declare,
        )
        assert done.returncode == 2 and b"error: SX-USAGE" in done.stderr, done.stderr
        assert b"maybe" not in done.stderr and b"my-own-words" not in done.stderr
    assert not out.exists()
    with pytest.raises(UsageError):
        parse_declarations(["screen-lock=yes", "screen-lock=no"])
    with pytest.raises(UsageError):
        parse_declarations(["screen-lock=not-declared"])
    assert parse_declarations(declaration_lines("# x\n\n screen-lock = no \n")) == {
        Statement.SCREEN_LOCK: Answer.NO
    }
    assert parse_declarations(
        ["physical-access=yes", "staff-instructed=no", "system-updates=unknown"]
    ) == {
        Statement.PHYSICAL_ACCESS: Answer.YES,
        Statement.STAFF_INSTRUCTED: Answer.NO,
        Statement.SYSTEM_UPDATES: Answer.UNKNOWN,
    }


def test_a_tampered_report_is_refused_and_flagged_by_the_audit(demo: Path, tmp_path: Path) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    staff = copy_home(demo, COLLEAGUE, tmp_path)
    good = make_report(staff, tmp_path / "good.sxe", "screen-lock=yes")
    members = members_of(good)
    edited = members[MANIFEST].replace(b'"answer": "yes"', b'"answer": "no"', 1)
    assert edited != members[MANIFEST]
    sig = bytearray(members["manifest.sig"])
    sig[len(sig) // 2] = ord("A") if sig[len(sig) // 2] != ord("A") else ord("B")
    variants = {
        "manifest": {MANIFEST: edited, "manifest.sig": members["manifest.sig"]},
        "signature": {MANIFEST: members[MANIFEST], "manifest.sig": bytes(sig)},
    }
    before = held(agency)
    version = manifest_of(good)["body"]["keyring_version"]
    folder = tmp_path / "audit"
    ok(
        "--home",
        str(agency),
        "agency",
        "keyring",
        "publish",
        "--version",
        str(version),
        "--out",
        str(folder),
    )
    for name, parts in variants.items():
        path = tmp_path / f"{name}.sxe"
        path.write_bytes(zipstrict.write([zipstrict.Member(n, d) for n, d in parts.items()]))
        done = sx("--home", str(agency), "agency", "evidence", "import", str(path))
        refused(done, "SX-BAD-SIGNATURE", "SX-MALFORMED", "SX-TAMPERED")
        shutil.copy(path, folder / path.name)
    flipped = bytearray(good.read_bytes())
    flipped[len(flipped) // 3] ^= 0x01
    (tmp_path / "flipped.sxe").write_bytes(bytes(flipped))
    refused(
        sx("--home", str(agency), "agency", "evidence", "import", str(tmp_path / "flipped.sxe")),
        "SX-BAD-SIGNATURE",
        "SX-MALFORMED",
        "SX-TAMPERED",
    )
    shutil.copy(tmp_path / "flipped.sxe", folder / "flipped.sxe")
    assert held(agency) == before  # nothing kept of a refused report
    shutil.copy(good, folder / good.name)
    assert audit(folder, demo).returncode == 1
    assert failed_files(folder, demo) == ["flipped.sxe", "manifest.sxe", "signature.sxe"]


def test_a_replayed_or_older_report_is_refused(demo: Path, tmp_path: Path) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    staff = copy_home(demo, COLLEAGUE, tmp_path)
    # The demo's own report, again.
    line = refused(
        sx("--home", str(agency), "agency", "evidence", "import", str(demo_report(demo))),
        "SX-ROLLBACK",
    )
    assert "taken in already" in line
    older = make_report(staff, tmp_path / "older.sxe")
    time.sleep(1.1)  # manifests carry whole seconds
    newer = make_report(staff, tmp_path / "newer.sxe")
    ok("--home", str(agency), "agency", "evidence", "import", str(newer))
    line = refused(
        sx("--home", str(agency), "agency", "evidence", "import", str(older)), "SX-ROLLBACK"
    )
    assert "not newer than that person's last one" in line
    assert len(held(agency)) == 2


def _signed_by_an(
    demo: Path, tmp_path: Path, *, evidence_id: str | None = None, **changes: Any
) -> Path:
    """A report of An Peeters's home with ``changes`` to its body, signed with her key."""
    from securexchange.ids import ArtifactKind, new_artifact_id
    from securexchange.municipality import subkeys
    from securexchange.municipality.enrolment import held_keyring
    from securexchange.municipality.evidence import observe

    staff = copy_home(demo, ANTWERPEN, tmp_path)
    with open_home(staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        signer = subkeys.split_out(home, demo_key(key_path(home, KeyUse.IDENTITY)))
        keyring = held_keyring(home)
        assert keyring is not None
        body = observe(home, keyring, keyring.municipalities[0], signer.fingerprint.display, {})
        now = home.now
    body = replace(body, **changes)
    data = seal(
        artifact_type=ArtifactType.EVIDENCE,
        artifact_id=evidence_id or new_artifact_id(ArtifactKind.EVIDENCE),
        created_at=now + timedelta(seconds=2),
        municipality=body.nis,
        body=body,
        signing_seed=signer.seed,
    )
    path = tmp_path / "forged.sxe"
    path.write_bytes(data)
    return path


def test_a_report_for_another_agency_is_refused(demo: Path, tmp_path: Path) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    other = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG"
    path = _signed_by_an(demo, tmp_path, agency=other)
    line = refused(
        sx("--home", str(agency), "agency", "evidence", "import", str(path)), "SX-NOT-RECIPIENT"
    )
    assert "another agency" in line
    folder = tmp_path / "audit"
    shutil.copytree(demo / "evidence", folder)
    shutil.copy(path, folder / path.name)
    assert failed_files(folder, demo) == ["forged.sxe"]


def test_a_report_for_another_protocol_or_with_other_people_is_refused(
    demo: Path, tmp_path: Path
) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    path = _signed_by_an(demo, tmp_path / "a", protocol_id="protocol-" + "a" * 26)
    refused(
        sx("--home", str(agency), "agency", "evidence", "import", str(path)),
        "SX-WRONG-MUNICIPALITY",
    )
    path = _signed_by_an(demo, tmp_path / "b", access=())
    refused(sx("--home", str(agency), "agency", "evidence", "import", str(path)), "SX-MALFORMED")
    assert len(held(agency)) == 1


def test_shredding_and_destroyed_keys_reach_the_report(demo: Path, tmp_path: Path) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    staff = copy_home(demo, ANTWERPEN, tmp_path)
    later = (TODAY + timedelta(days=250)).isoformat()
    out = make_report(staff, tmp_path / "later.sxe", now=later)
    body = manifest_of(out)["body"]
    destroyed = [k for k in body["key_periods"]["subkeys"] if k["destroyed_at"] is not None]
    assert destroyed and all(k["valid_until"] <= k["destroyed_at"] for k in destroyed)
    events = body["shredding"]["events"]
    assert {e["action"] for e in events} >= {"subkey-destroy"}
    destroying = [e for e in events if e["action"] == "subkey-destroy"]
    assert sum(e["counts"]["subkeys"] for e in destroying) == len(destroyed)
    assert body["shredding"]["total"] == len(events)
    ok("--home", str(agency), "agency", "evidence", "import", str(out), now=later)


def test_no_report_once_the_protocol_has_ended(demo: Path, tmp_path: Path) -> None:
    gent = copy_home(demo, "staff-44021-sofie-maes", tmp_path)
    after = (TODAY + timedelta(days=120)).isoformat()  # Gent's notice ends it before
    done = sx(
        "--home", str(gent), "municipality", "evidence", "--out", str(tmp_path / "x.sxe"), now=after
    )
    refused(done, "SX-PROTOCOL-INACTIVE")
    assert not (tmp_path / "x.sxe").exists()


def test_the_largest_report_fits_its_manifest() -> None:
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    fingerprint = "ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ"
    counts = tuple((f"count_{chr(97 + i)}", 10**9) for i in range(MAX_COUNT_NAMES))
    body = EvidenceBody(
        nis="11002",
        party_id="party-" + "a" * 26,
        protocol_id="protocol-" + "b" * 26,
        agency=fingerprint,
        keyring_version=10**6,
        software="securexchange 9999.9999.9999.9999rc9999",
        key_periods=KeyPeriods(
            fingerprint,
            tuple(
                KeyPeriod(
                    f"sk-{i:016x}",
                    True,
                    moment + timedelta(days=i),
                    moment + timedelta(days=i + 1),
                    moment + timedelta(days=i + 2),
                )
                for i in range(MAX_SUBKEYS)
            ),
            10**9,
        ),
        access=tuple(
            sorted(
                (
                    Person(Fingerprint.of_public_key(bytes([i]) * 32).display, "r" * 64)
                    for i in range(MAX_PEOPLE)
                ),
                key=lambda p: p.fingerprint,
            )
        ),
        shredding=Shredding(
            tuple(
                ShredEvent(i + 1, moment, "subkey-destroy", counts) for i in range(MAX_SHRED_EVENTS)
            ),
            10**9,
        ),
        log=LogState(
            10**9,
            "f" * 64,
            True,
            tuple(Checkpoint(i + 1, moment, "e" * 64, fingerprint) for i in range(MAX_CHECKPOINTS)),
            10**9,
        ),
        packages=PackageCounts(tuple((s, 10**9) for s in PACKAGE_STATES), 10**9),
        declarations=declarations({s: Answer.UNKNOWN for s in Statement}),
        demo=False,
    )
    manifest = Manifest(
        artifact_type=ArtifactType.EVIDENCE,
        artifact_id="ev-" + "c" * 26,
        created_at=moment,
        municipality="11002",
        signer=fingerprint,
        body=body,
    )
    data = manifest.to_json_bytes()
    assert len(data) < MAX_MANIFEST_SIZE * 3 // 4  # room to spare under the cap
    assert Manifest.from_json_bytes(data) == manifest


def test_a_body_outside_its_shapes_is_malformed() -> None:
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        KeyPeriod("sk-1", False, moment, moment + timedelta(days=1), None)
    with pytest.raises(ValueError):
        KeyPeriod("sk-" + "0" * 16, False, moment, moment, None)
    with pytest.raises(ValueError):
        Person("ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ", "")
    with pytest.raises(ValueError):
        ShredEvent(1, moment, "open", ())
    with pytest.raises(ValueError):
        PackageCounts((("live", 1),), 0)
    value = {
        "kind": "observed",
        "holder": "ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ",
        "subkeys": [],
        "total": 0,
    }
    assert KeyPeriods.from_json(value).total == 0
    with pytest.raises(Malformed):
        KeyPeriods.from_json({**value, "kind": "declaration"})
    with pytest.raises(Malformed):
        KeyPeriods.from_json({**value, "name": "An Peeters"})


def test_an_edited_log_is_reported_as_not_intact(demo: Path, tmp_path: Path) -> None:
    staff = copy_home(demo, COLLEAGUE, tmp_path)
    log = staff / "log.jsonl"
    lines = log.read_text(encoding="utf-8").split("\n")
    edited = [i for i, line in enumerate(lines) if '"action":"shred"' in line]
    assert edited, "the demo's homes have shredded (the workbook of the notice step)"
    lines[edited[0]] = lines[edited[0]].replace('"counts":{', '"counts":{"Not A Count":3,', 1)
    log.write_text("\n".join(lines), encoding="utf-8")
    body = manifest_of(make_report(staff, tmp_path / "ev.sxe"))["body"]
    assert body["log"]["intact"] is False
    assert all("Not A Count" not in e["counts"] for e in body["shredding"]["events"])


def test_a_report_never_replaces_a_file_nor_goes_into_the_home(demo: Path, tmp_path: Path) -> None:
    staff = copy_home(demo, COLLEAGUE, tmp_path)
    taken = tmp_path / "taken.sxe"
    taken.write_bytes(b"someone's file")
    made = '"action":"evidence"'
    before = (staff / "log.jsonl").read_text().count(made)
    for out in (taken, staff / "state.sqlite3", staff / "report.sxe"):
        done = sx("--home", str(staff), "municipality", "evidence", "--out", str(out))
        assert done.returncode == 2, done.stderr.decode()
    assert taken.read_bytes() == b"someone's file"
    assert not (staff / "report.sxe").exists()
    assert (staff / "log.jsonl").read_text().count(made) == before  # none for no report
    ok("--home", str(staff), "municipality", "status")  # the home is intact


def test_the_audit_refuses_a_report_without_the_keyring_version_it_names(
    demo: Path, tmp_path: Path
) -> None:
    """Who holds access is judged by the version the report names; given only an earlier
    version, the audit cannot check the list, so it does not pass the report."""
    agency = copy_home(demo, "agency", tmp_path)
    report = demo_report(demo)
    named = manifest_of(report)["body"]["keyring_version"]
    folder = tmp_path / "audit"
    ok(
        *("--home", str(agency), "agency", "keyring", "publish"),
        *("--version", str(named - 1), "--out", str(folder)),
    )
    shutil.copy(report, folder / report.name)
    assert failed_files(folder, demo) == [report.name]


def test_a_report_whose_log_does_not_continue_the_last_one_is_refused(
    demo: Path, tmp_path: Path
) -> None:
    """The agency holds the demo's report of An Peeters's home; a newer one of hers whose
    log is shorter (rewritten since) is refused."""
    agency = copy_home(demo, "agency", tmp_path)
    shown = manifest_of(demo_report(demo))["body"]["log"]
    assert shown["entries"] > 1
    rewritten = LogState(1, "0" * 64, True, (), 0)
    path = _signed_by_an(demo, tmp_path, log=rewritten, shredding=Shredding((), 0))
    line = refused(
        sx("--home", str(agency), "agency", "evidence", "import", str(path)), "SX-MALFORMED"
    )
    assert "shorter" in line


def test_a_report_that_contradicts_itself_is_refused(demo: Path, tmp_path: Path) -> None:
    agency = copy_home(demo, "agency", tmp_path)
    path = _signed_by_an(demo, tmp_path)
    body = Manifest.from_json_bytes(members_of(path)[MANIFEST]).body
    assert isinstance(body, EvidenceBody)
    (first, *rest) = body.key_periods.subkeys
    early = replace(first, destroyed_at=first.valid_from - timedelta(days=1))
    periods = replace(body.key_periods, subkeys=(early, *rest))
    path = _signed_by_an(demo, tmp_path / "again", key_periods=periods)
    line = refused(
        sx("--home", str(agency), "agency", "evidence", "import", str(path)), "SX-MALFORMED"
    )
    assert "contradicts itself" in line


def test_the_software_field_holds_a_release_number_and_nothing_else() -> None:
    from securexchange.artifacts.evidence import SOFTWARE_RE

    assert SOFTWARE_RE.fullmatch("securexchange 0.1.0")
    assert SOFTWARE_RE.fullmatch("securexchange 1.2.3rc1")
    assert SOFTWARE_RE.fullmatch("securexchange 1.2.3.dev4")
    assert not SOFTWARE_RE.fullmatch("securexchange Jan.Peeters-R-ABCDEFGHIJKLMNOPQRST")
    assert not SOFTWARE_RE.fullmatch("securexchange 0.1.0+jan.peeters")


def test_the_audit_flags_two_reports_with_one_id_and_other_content(
    demo: Path, tmp_path: Path
) -> None:
    from securexchange.ids import ArtifactKind, new_artifact_id

    agency = copy_home(demo, "agency", tmp_path)
    shared_id = new_artifact_id(ArtifactKind.EVIDENCE)
    first = _signed_by_an(demo, tmp_path / "one", evidence_id=shared_id)
    second = _signed_by_an(
        demo, tmp_path / "two", evidence_id=shared_id, software="securexchange 9.9.9"
    )
    assert first.read_bytes() != second.read_bytes()
    named = manifest_of(first)["body"]["keyring_version"]
    folder = tmp_path / "audit"
    ok(
        *("--home", str(agency), "agency", "keyring", "publish"),
        *("--version", str(named), "--out", str(folder)),
    )
    shutil.copy(first, folder / "one.sxe")
    shutil.copy(second, folder / "two.sxe")
    assert failed_files(folder, demo) == ["one.sxe", "two.sxe"]
