"""`agency export` end to end: who gets a package, what is in it, what is refused.

Homes are real (work factor 2); the CLI runs in a subprocess with passphrase files.
Time travel uses the library's ``system_now`` (real homes refuse SECUREXCHANGE_NOW).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import sqlite3
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import flows
from cli_helpers import assert_single_error, run_cli
from keys_helpers import EXPORT_PASS, STAFF_PASS, passphrase_file
from securexchange import age, pseudonym, schema
from securexchange.agency.export_result import ExportOptions, SkipReason
from securexchange.artifacts.manifest import PAYLOAD
from securexchange.artifacts.package_open import PackageTrust, open_package
from securexchange.errors import InternalError, NotRecipient
from securexchange.intake import sample
from securexchange.intake.master import read_master
from test_age_pq_interop import node, run_node  # noqa: F401 - node is a fixture

A, B, C, UNREGISTERED = "11002", "44021", "24062", "11001"


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, object]:
    """An agency with A and B (one staff member each) and C (no recipient)."""
    agency = tmp_path / "agency"
    flows.make_agency(agency)
    flows.register(agency, A, "Antwerpen")
    flows.register(agency, B, "Gent")
    flows.register(agency, C, "Leuven")
    staff_a = flows.add_staff(agency, tmp_path / "a", A)
    staff_b = flows.add_staff(agency, tmp_path / "b", B, name="Bart Claes")
    return {
        "agency": agency,
        "a": staff_a,
        "b": staff_b,
        "pass": passphrase_file(tmp_path, "export.pass", EXPORT_PASS),
        "tmp": tmp_path,
    }


def _packages(out: Path, nis: str | None = None) -> list[Path]:
    return sorted(out.glob(f"{nis or '*'}-*.sxpkg"))


def _open(path: Path, agency: Path, staff: flows.Staff | None = None) -> object:
    return open_package(
        path.read_bytes(),
        trust=PackageTrust(flows.root_public_key(agency)),
        identities=None if staff is None else flows.staff_identities(staff),
    )


def _db(agency: Path) -> sqlite3.Connection:
    return sqlite3.connect(agency / "state.sqlite3")


def _export_cli(
    setup: dict[str, object], master: Path, out: Path, *extra: str, allow_missing: bool = True
) -> object:
    """``agency export`` in the fixture's world, where C has an active protocol and no
    recipient: tests of other behaviour accept that (``--allow-missing``)."""
    return run_cli(
        [
            "agency",
            "export",
            str(master),
            "--out",
            str(out),
            "--passphrase-file",
            str(setup["pass"]),
            *extra,
            *(["--allow-missing"] if allow_missing else []),
        ],
        home=setup["agency"],  # type: ignore[arg-type]
    )


# --- who gets a package ---------------------------------------------------------------


def test_each_active_municipality_with_a_recipient_gets_one_package_and_others_are_listed(
    setup: dict[str, object],
) -> None:
    tmp = setup["tmp"]
    assert isinstance(tmp, Path)
    master = flows.write_master(tmp / "m.xlsx", 80, [A, B, C, UNREGISTERED])
    result = _export_cli(setup, master, tmp / "out", "--json")
    assert result.code == 0, result.stderr  # type: ignore[attr-defined]
    report = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert [p["nis"] for p in report["packages"]] == [A, B]
    assert {s["nis"]: s["reason"] for s in report["skipped"]} == {
        C: SkipReason.NO_RECIPIENT.value,
        UNREGISTERED: SkipReason.NOT_REGISTERED.value,
    }
    assert all(s["rows"] > 0 for s in report["skipped"])
    assert [Path(p["file"]).name for p in report["packages"]] == [
        p.name for p in _packages(tmp / "out")
    ]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert "warning: 24062 (Leuven) got no package" in stderr and "skipped 11001" in stderr
    assert "pseudonym.key" in stderr and "back it up" in stderr


def test_an_active_municipality_nobody_can_receive_fails_the_export_after_every_other_package(
    setup: dict[str, object],
) -> None:
    tmp = setup["tmp"]
    assert isinstance(tmp, Path)
    master = flows.write_master(tmp / "m.xlsx", 40, [A, B, C])
    result = _export_cli(setup, master, tmp / "out", allow_missing=False)
    assert_single_error(result, "SX-NO-RECIPIENT", 1)  # type: ignore[arg-type]
    assert "24062" in result.stderr  # type: ignore[attr-defined]
    assert "warning: 24062 (Leuven) got no package: no recipient" in result.stderr  # type: ignore[attr-defined]
    # Every package that could be written was written and published.
    assert [p.name.split("-")[0] for p in _packages(tmp / "out")] == [A, B]
    assert "24062" in result.stdout  # type: ignore[attr-defined]


def test_rows_for_unregistered_codes_alone_keep_the_export_at_exit_0(tmp_path: Path) -> None:
    agency = tmp_path / "agency"
    flows.make_agency(agency)
    flows.register(agency, A, "Antwerpen")
    flows.add_staff(agency, tmp_path / "a", A)
    master = flows.write_master(tmp_path / "m.xlsx", 30, [A, UNREGISTERED])
    setup = {"agency": agency, "pass": passphrase_file(tmp_path, "export.pass", EXPORT_PASS)}
    result = _export_cli(setup, master, tmp_path / "out", "--json", allow_missing=False)
    assert result.code == 0, result.stderr  # type: ignore[attr-defined]
    report = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert [s["reason"] for s in report["skipped"]] == [SkipReason.NOT_REGISTERED.value]


def test_the_table_lists_municipality_records_recipients_and_file(
    setup: dict[str, object],
) -> None:
    tmp = setup["tmp"]
    assert isinstance(tmp, Path)
    master = flows.write_master(tmp / "m.xlsx", 30, [A, B])
    result = _export_cli(setup, master, tmp / "out")
    assert result.code == 0, result.stderr  # type: ignore[attr-defined]
    lines = result.stdout.splitlines()  # type: ignore[attr-defined]
    assert lines[0].split() == ["NIS", "MUNICIPALITY", "RECORDS", "RECIPIENTS", "SEQ", "FILE"]
    assert any(line.startswith(A) and line.endswith(".sxpkg") for line in lines)
    assert any(line.startswith(C) and "skipped: no recipient" in line for line in lines)


def test_an_active_municipality_without_records_gets_an_empty_package(
    setup: dict[str, object],
) -> None:
    tmp, agency, staff_b = setup["tmp"], setup["agency"], setup["b"]
    assert isinstance(tmp, Path) and isinstance(agency, Path)
    assert isinstance(staff_b, flows.Staff)
    master = flows.write_master(tmp / "m.xlsx", 20, [A])
    flows.export(agency, master, tmp / "out")
    (path,) = _packages(tmp / "out", B)
    opened = _open(path, agency, staff_b)
    assert opened.body.records == 0  # type: ignore[attr-defined]
    assert opened.body.earliest_retention is None  # type: ignore[attr-defined]
    assert opened.workbook.startswith(b"PK")  # type: ignore[attr-defined]


def test_an_ended_protocol_gets_no_package_and_is_listed_as_skipped(tmp_path: Path) -> None:
    agency = tmp_path / "agency"
    flows.make_agency(agency)
    today = datetime.now(UTC).date()
    flows.register(agency, A, "Antwerpen", protocol_until=today + timedelta(days=1))
    flows.add_staff(agency, tmp_path / "a", A)
    master = flows.write_master(tmp_path / "m.xlsx", 10, [A])
    later = datetime.now(UTC) + timedelta(days=3)
    result = flows.export(agency, master, tmp_path / "out", system_now=later)
    assert result.packages == ()
    (skipped,) = result.skipped
    assert (skipped.nis, skipped.reason, skipped.rows) == (A, SkipReason.NO_PROTOCOL, 10)
    assert _packages(tmp_path / "out") == []


def test_removing_a_recipient_means_the_next_package_is_not_encrypted_to_them(
    setup: dict[str, object],
) -> None:
    tmp, agency, staff_a = setup["tmp"], setup["agency"], setup["a"]
    assert isinstance(tmp, Path) and isinstance(agency, Path)
    assert isinstance(staff_a, flows.Staff)
    second = flows.add_staff(agency, tmp / "a2", A, name="Chris De Smet")
    master = flows.write_master(tmp / "m.xlsx", 20, [A])
    flows.export(agency, master, tmp / "out1")
    (first,) = _packages(tmp / "out1", A)
    assert _open(first, agency, second).workbook is not None  # type: ignore[attr-defined]
    flows.remove_staff(agency, second)
    flows.export(agency, master, tmp / "out2")
    (after,) = _packages(tmp / "out2", A)
    opened = _open(after, agency, staff_a)
    assert [r.fingerprint for r in opened.body.recipients] == [staff_a.fingerprint]  # type: ignore[attr-defined]
    assert len(age.parse_header(_member(after, PAYLOAD)).stanzas) == 1
    with pytest.raises(NotRecipient):
        _open(after, agency, second)


def test_a_municipality_b_key_cannot_open_a_package_for_a(setup: dict[str, object]) -> None:
    tmp, agency, staff_b = setup["tmp"], setup["agency"], setup["b"]
    assert isinstance(tmp, Path) and isinstance(agency, Path)
    assert isinstance(staff_b, flows.Staff)
    flows.export(agency, flows.write_master(tmp / "m.xlsx", 10, [A]), tmp / "out")
    with pytest.raises(NotRecipient):
        _open(_packages(tmp / "out", A)[0], agency, staff_b)


def test_nis_limits_the_export_and_an_unknown_code_is_not_found(
    setup: dict[str, object],
) -> None:
    tmp = setup["tmp"]
    assert isinstance(tmp, Path)
    master = flows.write_master(tmp / "m.xlsx", 20, [A, B])
    result = _export_cli(setup, master, tmp / "out", "--nis", B, "--json")
    assert result.code == 0, result.stderr  # type: ignore[attr-defined]
    report = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert [p["nis"] for p in report["packages"]] == [B]
    assert report["rows_outside_selection"] > 0
    refused = _export_cli(setup, master, tmp / "out2", "--nis", "11004")
    assert_single_error(refused, "SX-NOT-FOUND", 2)  # type: ignore[arg-type]
    assert not _packages(tmp / "out2")


# --- what is in it --------------------------------------------------------------------


def _member(path: Path, name: str) -> bytes:
    from securexchange.artifacts import zipstrict
    from securexchange.artifacts.manifest import MEMBER_ORDER

    return {m.name: m.data for m in zipstrict.read(path.read_bytes(), MEMBER_ORDER)}[name]


def test_record_ids_are_the_hmac_of_client_and_party_and_retention_follows_the_rule(
    setup: dict[str, object],
) -> None:
    tmp, agency, staff_a = setup["tmp"], setup["agency"], setup["a"]
    assert isinstance(tmp, Path) and isinstance(agency, Path)
    assert isinstance(staff_a, flows.Staff)
    master = flows.write_master(tmp / "m.xlsx", 40, [A])
    result = flows.export(agency, master, tmp / "out")
    (summary,) = [p for p in result.packages if p.nis == A]
    key_doc = json.loads((agency / "keys" / "pseudonym.key").read_bytes())
    assert (agency / "keys" / "pseudonym.key").stat().st_mode & 0o777 == 0o600
    key = base64.b64decode(key_doc["key"])
    opened = _open(summary.file, agency, staff_a)  # type: ignore[arg-type]
    party, until = opened.body.party_id, opened.body.protocol_until  # type: ignore[attr-defined]
    today = datetime.now(UTC).date()
    expected = {}
    for row in read_master(master).rows:
        deadline = schema.retention_deadline(row.certificate_date, 6, until)
        if deadline > today:
            expected[pseudonym.record_id(key, client_id=row.client_id, party_id=party)] = (
                row.client_id,
                deadline,
            )
    conn = _db(agency)
    stored = {
        rid: (cid, date.fromisoformat(ret))
        for rid, cid, ret in conn.execute(
            "SELECT record_id, client_id, retention FROM agency_package_records "
            "WHERE package_id = ?",
            (summary.package_id,),
        )
    }
    conn.close()
    assert stored == expected
    assert summary.records == len(expected) and summary.expired == 40 - len(expected)
    body = opened.body  # type: ignore[attr-defined]
    assert body.records == len(expected)
    assert body.earliest_retention == min(d for _, d in expected.values())
    assert body.latest_retention == max(d for _, d in expected.values())
    assert set(_workbook_record_ids(opened.workbook)) == set(expected)  # type: ignore[attr-defined]


def _workbook_record_ids(data: bytes) -> list[str]:
    import io

    from openpyxl import load_workbook

    from securexchange.sheets.layout import DATA_SHEET, FIRST_DATA_ROW

    wb = load_workbook(io.BytesIO(data), read_only=True)
    ids = [
        str(row[0])
        for row in wb[DATA_SHEET].iter_rows(min_row=FIRST_DATA_ROW, values_only=True)
        if row and row[0]
    ]
    wb.close()
    return ids


def test_sequence_numbers_increase_and_each_package_supersedes_the_last(
    setup: dict[str, object],
) -> None:
    tmp, agency = setup["tmp"], setup["agency"]
    assert isinstance(tmp, Path) and isinstance(agency, Path)
    master = flows.write_master(tmp / "m.xlsx", 10, [A])
    for _ in range(3):
        flows.export(agency, master, tmp / "out")
    files = _packages(tmp / "out", A)
    bodies = [_open(p, agency).body for p in files]  # type: ignore[attr-defined]
    assert [b.sequence for b in bodies] == [1, 2, 3]
    for before, body in zip(files, bodies[1:], strict=False):
        assert body.supersedes.sha256 == hashlib.sha256(before.read_bytes()).hexdigest()
    assert [p.name.split("-")[1] for p in files] == ["00001", "00002", "00003"]


def test_the_log_names_packages_and_counts_but_no_record_or_client_id(
    setup: dict[str, object],
) -> None:
    tmp, agency = setup["tmp"], setup["agency"]
    assert isinstance(tmp, Path) and isinstance(agency, Path)
    master = flows.write_master(tmp / "m.xlsx", 30, [A, B, UNREGISTERED])
    result = flows.export(agency, master, tmp / "out")
    entries = [json.loads(line) for line in (agency / "log.jsonl").read_text().splitlines()]
    (entry,) = [e for e in entries if e["action"] == "export"]
    assert entry["artifacts"] == [p.package_id for p in result.packages]
    assert entry["counts"] == {
        "packages": 2,
        "records": result.records,
        "skipped": len(result.skipped),
    }
    text = (agency / "log.jsonl").read_text()
    conn = _db(agency)
    record_ids = [r for (r,) in conn.execute("SELECT record_id FROM agency_package_records")]
    conn.close()
    assert record_ids and not any(rid in text for rid in record_ids)
    for row in read_master(master).rows:
        assert row.client_id not in text


def test_progress_is_reported_per_package_and_workers_give_the_same_packages(
    setup: dict[str, object],
) -> None:
    tmp, agency = setup["tmp"], setup["agency"]
    assert isinstance(tmp, Path) and isinstance(agency, Path)
    master = flows.write_master(tmp / "m.xlsx", 30, [A, B])
    from securexchange.agency.export import export_master
    from securexchange.home.home import HomeKind, open_home

    seen: list[tuple[int, int]] = []
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        result = export_master(
            home,
            master,
            tmp / "out",
            export_key=flows.export_source(agency),
            options=ExportOptions(workers=2),
            progress=lambda done, total: seen.append((done, total)),
        )
    assert seen == [(0, 2), (1, 2), (2, 2)]
    for summary in result.packages:
        assert _open(summary.file, agency).body.records == summary.records  # type: ignore[arg-type, attr-defined]


# --- what is refused ------------------------------------------------------------------


def test_a_dry_run_writes_nothing_and_asks_for_no_key(setup: dict[str, object]) -> None:
    tmp, agency = setup["tmp"], setup["agency"]
    assert isinstance(tmp, Path) and isinstance(agency, Path)
    master = flows.write_master(tmp / "m.xlsx", 20, [A, B])
    result = run_cli(
        ["agency", "export", str(master), "--out", str(tmp / "out"), "--dry-run", "--json"],
        home=agency,
    )
    # C (no recipient) fails a dry run too: a scheduled check notices before the export.
    assert_single_error(result, "SX-NO-RECIPIENT", 1)
    report = json.loads(result.stdout)
    assert report["dry_run"] and [p["nis"] for p in report["packages"]] == [A, B]
    assert all(p["file"] is None and p["sequence"] == 1 for p in report["packages"])
    assert not (tmp / "out").exists()
    assert not (agency / "keys" / "pseudonym.key").exists()
    conn = _db(agency)
    assert conn.execute("SELECT COUNT(*) FROM agency_packages").fetchone() == (0,)
    conn.close()


def _csv_with_one_bad_row(path: Path) -> Path:
    rows = sample.generate_master(10, nis=[A], seed=3)
    sample.write_master(rows, path)
    lines = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    column = lines[0].index("Niveau Nederlands")
    lines[4][column] = "Z9"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(lines)
    return path


def test_an_invalid_master_is_refused_whole_and_nothing_is_written(
    setup: dict[str, object],
) -> None:
    tmp = setup["tmp"]
    assert isinstance(tmp, Path)
    master = _csv_with_one_bad_row(tmp / "m.csv")
    result = _export_cli(setup, master, tmp / "out")
    assert_single_error(result, "SX-INVALID-MASTER", 2)  # type: ignore[arg-type]
    assert "Z9" not in result.stderr + result.stdout  # type: ignore[attr-defined]
    table = result.stdout.splitlines()  # type: ignore[attr-defined]  # the problem table
    assert table[1].split()[:4] == ["m.csv", "5", "K", "Niveau"]
    assert _packages(tmp / "out") == []


def test_skip_invalid_exports_the_valid_rows_and_reports_the_others(
    setup: dict[str, object],
) -> None:
    tmp = setup["tmp"]
    assert isinstance(tmp, Path)
    master = _csv_with_one_bad_row(tmp / "m.csv")
    result = _export_cli(setup, master, tmp / "out", "--skip-invalid", "--json")
    assert result.code == 0, result.stderr  # type: ignore[attr-defined]
    report = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert report["rows_read"] == 9
    assert [p["row"] for p in report["invalid_rows_skipped"]] == [5]
    assert "1 problem" in result.stderr  # type: ignore[attr-defined]


def test_a_wrong_export_passphrase_is_refused_and_nothing_is_written(
    setup: dict[str, object],
) -> None:
    tmp, agency = setup["tmp"], setup["agency"]
    assert isinstance(tmp, Path) and isinstance(agency, Path)
    master = flows.write_master(tmp / "m.xlsx", 10, [A])
    wrong = passphrase_file(tmp, "wrong.pass", b"not the passphrase")
    result = run_cli(
        [
            "agency",
            "export",
            str(master),
            "--out",
            str(tmp / "out"),
            "--passphrase-file",
            str(wrong),
        ],
        home=agency,
    )
    assert_single_error(result, "SX-BAD-PASSPHRASE", 1)
    assert _packages(tmp / "out") == []
    assert not (agency / "keys" / "pseudonym.key").exists()


def test_a_replaced_pseudonym_key_refuses_the_export(setup: dict[str, object]) -> None:
    tmp, agency = setup["tmp"], setup["agency"]
    assert isinstance(tmp, Path) and isinstance(agency, Path)
    master = flows.write_master(tmp / "m.xlsx", 10, [A])
    flows.export(agency, master, tmp / "out")
    path = agency / "keys" / "pseudonym.key"
    doc = json.loads(path.read_bytes())
    doc["key"] = base64.b64encode(b"\x01" * 32).decode()
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    before = _packages(tmp / "out")
    with pytest.raises(InternalError):
        flows.export(agency, master, tmp / "out")
    assert _packages(tmp / "out") == before
    assert not any((agency / "outbox").iterdir())
    result = _export_cli(setup, master, tmp / "out")
    assert_single_error(result, "SX-INTERNAL", 3)  # type: ignore[arg-type]


def test_a_readable_pseudonym_key_is_refused(setup: dict[str, object]) -> None:
    tmp, agency = setup["tmp"], setup["agency"]
    assert isinstance(tmp, Path) and isinstance(agency, Path)
    master = flows.write_master(tmp / "m.xlsx", 10, [A])
    flows.export(agency, master, tmp / "out")
    (agency / "keys" / "pseudonym.key").chmod(0o644)
    result = _export_cli(setup, master, tmp / "out")
    assert_single_error(result, "SX-KEY-PERMISSIONS", 1)  # type: ignore[arg-type]


# --- with the real tools --------------------------------------------------------------


@pytest.mark.interop
def test_standard_tools_decrypt_verify_hash_and_count_recipients(
    setup: dict[str, object],
    node: str,  # noqa: F811 - the fixture imported from test_age_pq_interop
    ssh_keygen_bin: str,
) -> None:
    tmp, agency, staff_a = setup["tmp"], setup["agency"], setup["a"]
    assert isinstance(tmp, Path) and isinstance(agency, Path)
    assert isinstance(staff_a, flows.Staff)
    master = flows.write_master(tmp / "m.xlsx", 20, [A])
    assert _export_cli(setup, master, tmp / "out").code == 0  # type: ignore[attr-defined]
    (path,) = _packages(tmp / "out", A)
    manifest = json.loads(_unzip(path, "manifest.json"))

    # age -d with the recipient's exported identity
    staff_pass = passphrase_file(tmp, "staff.pass", STAFF_PASS)
    exported = run_cli(
        ["keys", "export", "--age", "--passphrase-file", str(staff_pass)], home=staff_a.home
    )
    assert exported.code == 0, exported.stderr
    identity = tmp / "staff.agekey"
    identity.write_text(exported.stdout)
    identity.chmod(0o600)
    payload = tmp / "payload.age"
    payload.write_bytes(_unzip(path, "payload.age"))
    # The package is hybrid post-quantum, which the reference age on Debian (1.1.1)
    # predates: typage, the age authors' other implementation, decrypts it.
    plain = run_node(node, "decrypt", str(identity), stdin=payload.read_bytes())
    assert plain.startswith(b"SXPAYLOAD1\n") and b"PK\x03\x04" in plain

    # ssh-keygen -Y verify with the published allowed_signers
    published = run_cli(["agency", "keyring", "publish", "--out", str(tmp / "kr")], home=agency)
    assert published.code == 0, published.stderr
    (tmp / "manifest.json").write_bytes(_unzip(path, "manifest.json"))
    (tmp / "manifest.sig").write_bytes(_unzip(path, "manifest.sig"))
    with (tmp / "manifest.json").open("rb") as stdin:
        verified = subprocess.run(
            [
                ssh_keygen_bin,
                "-Y",
                "verify",
                "-f",
                str(tmp / "kr" / "allowed_signers"),
                "-I",
                manifest["signer"],
                "-n",
                "securexchange-package-v1",
                "-s",
                str(tmp / "manifest.sig"),
            ],
            stdin=stdin,
            capture_output=True,
            check=False,
        )
    assert verified.returncode == 0, verified.stderr

    # sha256sum of payload.age equals the manifest's
    digest = subprocess.run(
        ["sh", "-c", f"unzip -p '{path}' payload.age | sha256sum"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    assert digest == manifest["payload"]["sha256"]

    # as many stanzas as recipients, all hybrid post-quantum (everyone's home is new)
    header = _unzip(path, "payload.age").split(b"\n---", 1)[0]
    stanzas = [line for line in header.split(b"\n") if line.startswith(b"-> ")]
    assert all(line.startswith(b"-> mlkem768x25519 ") for line in stanzas)
    assert (
        len(stanzas) == manifest["body"]["recipient_stanzas"] == len(manifest["body"]["recipients"])
    )


def _unzip(path: Path, member: str) -> bytes:
    return subprocess.run(
        ["unzip", "-p", str(path), member], capture_output=True, check=True
    ).stdout


def _csv_with_extra_and_renamed_column(path: Path) -> Path:
    sample.write_master(sample.generate_master(10, nis=[A], seed=4), path)
    lines = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    lines[0][lines[0].index("Telefoon")] = "GSM"
    for i, line in enumerate(lines):
        line.append("Opmerking" if i == 0 else "vrije tekst")
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(lines)
    return path


def test_an_unknown_column_is_refused_unless_dropped_and_mapped_headers_are_read(
    setup: dict[str, object],
) -> None:
    tmp = setup["tmp"]
    assert isinstance(tmp, Path)
    master = _csv_with_extra_and_renamed_column(tmp / "m.csv")
    refused = _export_cli(setup, master, tmp / "out")
    assert_single_error(refused, "SX-INVALID-MASTER", 2)  # type: ignore[arg-type]
    mapping = tmp / "mapping.json"
    mapping.write_text(json.dumps({"GSM": "Telefoon"}))
    result = _export_cli(
        setup, master, tmp / "out", "--drop-column", "Opmerking", "--mapping", str(mapping)
    )
    assert result.code == 0, result.stderr  # type: ignore[attr-defined]
    assert len(_packages(tmp / "out", A)) == 1


def test_a_municipality_whose_recipients_have_no_current_subkey_is_skipped(
    tmp_path: Path,
) -> None:
    from securexchange.keys.identity import period_end

    agency = tmp_path / "agency"
    flows.make_agency(agency)
    flows.register(agency, A, "Antwerpen")
    flows.add_staff(agency, tmp_path / "a", A)
    master = flows.write_master(tmp_path / "m.xlsx", 5, [A])
    # Past the current quarter and the two pre-issued ones.
    end = datetime.now(UTC)
    for _quarter in range(3):
        end = period_end(end)
    result = flows.export(agency, master, tmp_path / "out", system_now=end + timedelta(days=1))
    assert result.packages == ()
    assert [(s.nis, s.reason) for s in result.skipped] == [(A, SkipReason.NO_CURRENT_SUBKEY)]


def test_import_deadline_and_valid_until_never_pass_the_protocols_last_day(
    tmp_path: Path,
) -> None:
    agency = tmp_path / "agency"
    flows.make_agency(agency)
    today = datetime.now(UTC).date()
    flows.register(agency, A, "Antwerpen", protocol_until=today + timedelta(days=5))
    flows.add_staff(agency, tmp_path / "a", A)
    master = flows.write_master(tmp_path / "m.xlsx", 5, [A])
    (summary,) = flows.export(agency, master, tmp_path / "out").packages
    body = _open(summary.file, agency).body  # type: ignore[arg-type, attr-defined]
    over = datetime.combine(today + timedelta(days=6), datetime.min.time(), UTC)
    assert body.import_deadline == body.valid_until == over
    assert body.latest_retention is None or body.latest_retention <= today + timedelta(days=5)


def test_an_export_leaves_the_garbage_collector_as_it_found_it(
    setup: dict[str, object],
) -> None:
    """The intake pauses the collector and keeps the master's rows out of it until the
    export ends (issue 22): afterwards it runs again and nothing stays frozen, also
    when the master is refused."""
    import gc

    from securexchange.agency.export import export_master
    from securexchange.home.home import HomeKind, open_home
    from securexchange.intake.master import MasterProblems

    tmp, agency = setup["tmp"], setup["agency"]
    assert isinstance(tmp, Path) and isinstance(agency, Path)
    good = flows.write_master(tmp / "m.xlsx", 30, [A, B])
    bad = _csv_with_one_bad_row(tmp / "bad.csv")
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        export_master(home, good, tmp / "out", export_key=flows.export_source(agency))
        assert gc.isenabled() and gc.get_freeze_count() == 0
        with pytest.raises(MasterProblems):
            export_master(home, bad, tmp / "out", export_key=flows.export_source(agency))
        assert gc.isenabled() and gc.get_freeze_count() == 0
