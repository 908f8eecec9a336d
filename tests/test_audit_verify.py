"""``audit verify``: a corpus of packages, returns and keyrings over three
municipalities, and one mutation at a time; exactly the mutated item is flagged."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit_flows import (
    NIS_CODES,
    World,
    make_package,
    make_return,
    make_world,
    publish,
    view,
)
from cli_helpers import assert_single_error, run_cli
from flows import add_staff, remove_staff
from securexchange.artifacts import zipstrict
from securexchange.artifacts.container import MEMBER_LIMITS
from securexchange.artifacts.manifest import MEMBER_ORDER, PAYLOAD
from securexchange.audit.findings import ANONYMOUS_STANZAS_NOTE, AuditReport
from securexchange.audit.verify import audit_paths

A, B, C = NIS_CODES


@dataclass
class Corpus:
    world: World
    clean: Path  # the directory with every artifact and both published keyrings
    staff2_fingerprint: str
    extra: dict[str, bytes]  # artifacts made for mutations, not in the clean corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    tmp = tmp_path_factory.mktemp("corpus")
    world = make_world(tmp)
    staff2 = add_staff(world.agency, tmp / "staff2", A, name="Bert Claes")
    out = tmp / "clean"
    (out / "packages").mkdir(parents=True)
    (out / "returns").mkdir()
    for nis, count in ((A, 3), (B, 2), (C, 2)):
        for _ in range(count):
            make_package(world, nis)
    for nis in NIS_CODES:
        (out / "returns" / f"{nis}-1.sxr").write_bytes(make_return(world, nis, 1))
    (out / "returns" / f"{A}-2.sxr").write_bytes(make_return(world, A, 2))
    (out / "returns" / "staff2-1.sxr").write_bytes(make_return(world, A, 1, staff=staff2))
    publish(world, out / "keyring-v1")
    version_before = view(world, A)[0].version
    remove_staff(world.agency, staff2)
    publish(world, out / "keyring-v2")
    make_package(world, A)  # A-4 carries the newer keyring
    for nis, made in world.packages.items():
        for i, data in enumerate(made, 1):
            (out / "packages" / f"{nis}-{i}.sxp").write_bytes(data)
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    extra = {
        # made after the removal, naming the version the person's home still held
        "removed-signer": make_return(
            world, A, 2, staff=staff2, keyring_version=version_before, created_at=later
        ),
        # a second package number 2 for A, with the real export key (equivocation)
        "equivocating": make_package(
            world, A, sequence=2, supersedes=world.packages[A][0], workbook=b"other"
        ),
        # a fifth package for A carrying the keyring version before the removal
        "rolled-back": make_package(
            world,
            A,
            sequence=5,
            supersedes=world.packages[A][3],
            keyring_version=version_before,
            created_at=later,
        ),
        # the next package for B, sealed to classic companion subkeys only
        "classic": make_package(
            world, B, sequence=3, supersedes=world.packages[B][1], post_quantum=False
        ),
    }
    return Corpus(world, out, staff2.fingerprint, extra)


def _copy(corpus: Corpus, tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(corpus.clean, target)
    return target


def _audit(corpus: Corpus, directory: Path) -> AuditReport:
    return audit_paths([directory], corpus.world.root_card)


def _flagged(report: AuditReport) -> dict[str, set[str]]:
    return {Path(a.file).name: {f.error for f in a.findings} for a in report.failed}


def _replace_member(data: bytes, name: str, value: bytes) -> bytes:
    members = zipstrict.read(data, MEMBER_ORDER, member_limits=MEMBER_LIMITS)
    return zipstrict.write(
        [zipstrict.Member(m.name, value if m.name == name else m.data) for m in members]
    )


def _member(data: bytes, name: str) -> bytes:
    members = zipstrict.read(data, MEMBER_ORDER, member_limits=MEMBER_LIMITS)
    return next(m.data for m in members if m.name == name)


def test_the_clean_corpus_passes_every_check(corpus: Corpus) -> None:
    report = _audit(corpus, corpus.clean)
    assert _flagged(report) == {}
    kinds = sorted(a.kind for a in report.artifacts)
    assert kinds.count("package") == 8
    assert kinds.count("return") == 5
    assert kinds.count("keyring") == 8  # full + 3 views, two versions
    assert {Path(s.file).name for s in report.skipped} == {"allowed_signers", "root.card.json"}
    assert ANONYMOUS_STANZAS_NOTE in report.notes


def test_a_flipped_payload_byte_flags_only_that_package(corpus: Corpus, tmp_path: Path) -> None:
    d = _copy(corpus, tmp_path)
    path = d / "packages" / f"{A}-2.sxp"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert _flagged(_audit(corpus, d)) == {f"{A}-2.sxp": {"SX-TAMPERED"}}


def test_a_dropped_package_is_a_gap_flagged_on_its_successor(
    corpus: Corpus, tmp_path: Path
) -> None:
    d = _copy(corpus, tmp_path)
    (d / "packages" / f"{B}-1.sxp").unlink()
    assert _flagged(_audit(corpus, d)) == {f"{B}-2.sxp": {"SX-ROLLBACK"}}


def test_a_duplicated_package_flags_the_copy(corpus: Corpus, tmp_path: Path) -> None:
    d = _copy(corpus, tmp_path)
    (d / "zz").mkdir()
    shutil.copy(d / "packages" / f"{C}-1.sxp", d / "zz" / "copy.sxp")
    assert _flagged(_audit(corpus, d)) == {"copy.sxp": {"SX-ROLLBACK"}}


def test_two_packages_with_one_sequence_number_flag_the_one_outside_the_chain(
    corpus: Corpus, tmp_path: Path
) -> None:
    d = _copy(corpus, tmp_path)
    (d / "packages" / "forged.sxp").write_bytes(corpus.extra["equivocating"])
    assert _flagged(_audit(corpus, d)) == {"forged.sxp": {"SX-EQUIVOCATION"}}


def test_equivocation_at_the_end_of_a_chain_flags_both(corpus: Corpus, tmp_path: Path) -> None:
    d = _copy(corpus, tmp_path)
    for name in (f"{A}-3.sxp", f"{A}-4.sxp"):
        (d / "packages" / name).unlink()
    (d / "packages" / "forged.sxp").write_bytes(corpus.extra["equivocating"])
    assert _flagged(_audit(corpus, d)) == {
        "forged.sxp": {"SX-EQUIVOCATION"},
        f"{A}-2.sxp": {"SX-EQUIVOCATION"},
    }


def test_swapped_payloads_flag_both_packages(corpus: Corpus, tmp_path: Path) -> None:
    d = _copy(corpus, tmp_path)
    one, two = d / "packages" / f"{A}-1.sxp", d / "packages" / f"{B}-1.sxp"
    a, b = one.read_bytes(), two.read_bytes()
    one.write_bytes(_replace_member(a, PAYLOAD, _member(b, PAYLOAD)))
    two.write_bytes(_replace_member(b, PAYLOAD, _member(a, PAYLOAD)))
    assert _flagged(_audit(corpus, d)) == {
        f"{A}-1.sxp": {"SX-TAMPERED"},
        f"{B}-1.sxp": {"SX-TAMPERED"},
    }


def test_a_return_signed_by_a_removed_staff_key_is_not_authorised(
    corpus: Corpus, tmp_path: Path
) -> None:
    d = _copy(corpus, tmp_path)
    (d / "returns" / "late.sxr").write_bytes(corpus.extra["removed-signer"])
    assert _flagged(_audit(corpus, d)) == {"late.sxr": {"SX-NOT-AUTHORISED"}}


def test_a_return_whose_keyring_version_is_missing_cannot_be_authorised(
    corpus: Corpus, tmp_path: Path
) -> None:
    d = _copy(corpus, tmp_path)
    shutil.rmtree(d / "keyring-v1")
    shutil.rmtree(d / "packages")
    flagged = _flagged(_audit(corpus, d))
    assert flagged and set(flagged) <= {f"{n}-1.sxr" for n in NIS_CODES} | {
        f"{A}-2.sxr",
        "staff2-1.sxr",
    }
    assert all(errors == {"SX-NOT-AUTHORISED"} for errors in flagged.values())


def test_a_package_carrying_a_rolled_back_keyring_is_a_rollback(
    corpus: Corpus, tmp_path: Path
) -> None:
    d = _copy(corpus, tmp_path)
    (d / "packages" / f"{A}-5.sxp").write_bytes(corpus.extra["rolled-back"])
    assert _flagged(_audit(corpus, d)) == {f"{A}-5.sxp": {"SX-ROLLBACK"}}


def test_a_keyring_document_with_a_changed_byte_is_a_bad_signature(
    corpus: Corpus, tmp_path: Path
) -> None:
    d = _copy(corpus, tmp_path)
    path = d / "keyring-v2" / "keyring-full.json"
    path.write_bytes(path.read_bytes().replace(b'"demo": false', b'"demo": true '))
    assert _flagged(_audit(corpus, d)) == {"keyring-full.json": {"SX-BAD-SIGNATURE"}}


def test_a_keyring_document_without_its_signature_is_flagged(
    corpus: Corpus, tmp_path: Path
) -> None:
    d = _copy(corpus, tmp_path)
    (d / "keyring-v2" / f"keyring-{B}.sig").unlink()
    assert _flagged(_audit(corpus, d)) == {f"keyring-{B}.json": {"SX-MALFORMED"}}


def test_the_cli_prints_the_table_and_json_and_passes_the_clean_corpus(corpus: Corpus) -> None:
    card = str(corpus.world.root_card)
    result = run_cli(["audit", "verify", str(corpus.clean), "--agency-key", card])
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == [
        "file",
        "type",
        "id",
        "municipality",
        "seq",
        "recipients",
        "result",
    ]
    assert "FAILED" not in result.stdout
    assert "anonymous" in result.stdout
    as_json = run_cli(["audit", "verify", str(corpus.clean), "--agency-key", card, "--json"])
    value = json.loads(as_json.stdout)
    assert value["ok"] is True
    assert len(value["artifacts"]) == 21


def test_the_cli_fails_with_one_error_line_after_the_table(corpus: Corpus, tmp_path: Path) -> None:
    d = _copy(corpus, tmp_path)
    (d / "packages" / "forged.sxp").write_bytes(corpus.extra["equivocating"])
    result = run_cli(["audit", "verify", str(d), "--agency-key", str(corpus.world.root_card)])
    assert_single_error(result, "SX-EQUIVOCATION", 1)
    failed = [line for line in result.stdout.splitlines() if line.endswith("FAILED")]
    assert len(failed) == 1 and "forged.sxp" in failed[0]
    assert "equivocation: SX-EQUIVOCATION:" in result.stdout


def test_the_cli_refuses_a_card_that_is_not_the_agency_root(corpus: Corpus) -> None:
    staff_card = corpus.world.staff[A].card
    result = run_cli(["audit", "verify", str(corpus.clean), "--agency-key", str(staff_card)])
    assert_single_error(result, "SX-NOT-AUTHORISED", 1)


def test_another_agency_root_card_fails_every_artifact(corpus: Corpus, tmp_path: Path) -> None:
    other = make_world(tmp_path / "other", codes=(A,))
    report = audit_paths([corpus.clean], other.root_card)
    assert len(report.failed) == len(report.artifacts)


def test_verify_takes_no_decryption_key_option() -> None:
    result = run_cli(["audit", "verify", "--help"])
    assert result.code == 0
    assert "--identity" not in result.stdout and "--key " not in result.stdout
    assert "--passphrase" not in result.stdout


def test_every_payload_shows_its_recipient_types_and_the_clean_corpus_is_hybrid_only(
    corpus: Corpus,
) -> None:
    report = _audit(corpus, corpus.clean)
    for artifact in report.artifacts:
        if artifact.kind in ("package", "return"):
            assert artifact.recipient_types is not None
            assert artifact.post_quantum_only, artifact.file
            assert artifact.to_json()["recipients"] == dict(artifact.recipient_types)
        else:
            assert artifact.recipient_types is None and artifact.recipients_shown == "-"
    returns = [a for a in report.artifacts if a.kind == "return"]
    assert {a.recipients_shown for a in returns} == {"1×mlkem768x25519"}
    assert _flagged(audit_paths([corpus.clean], corpus.world.root_card, require_pq=True)) == {}


def test_require_pq_fails_a_package_sealed_to_classic_subkeys_and_only_that_one(
    corpus: Corpus, tmp_path: Path
) -> None:
    d = _copy(corpus, tmp_path)
    (d / "packages" / f"{B}-3.sxp").write_bytes(corpus.extra["classic"])
    # Without the flag a classic package is a valid package: it only shows its types.
    plain = _audit(corpus, d)
    assert _flagged(plain) == {}
    (classic,) = [a for a in plain.artifacts if Path(a.file).name == f"{B}-3.sxp"]
    assert classic.recipients_shown == "1×X25519"
    strict = audit_paths([d], corpus.world.root_card, require_pq=True)
    assert _flagged(strict) == {f"{B}-3.sxp": {"SX-NOT-POST-QUANTUM"}}

    card = str(corpus.world.root_card)
    result = run_cli(["audit", "verify", str(d), "--agency-key", card, "--require-pq"])
    assert_single_error(result, "SX-NOT-POST-QUANTUM", 1)
    failed = [line for line in result.stdout.splitlines() if line.endswith("FAILED")]
    assert len(failed) == 1 and f"{B}-3.sxp" in failed[0] and "1×X25519" in failed[0]
    assert "post-quantum: SX-NOT-POST-QUANTUM:" in result.stdout
    as_json = run_cli(["audit", "verify", str(d), "--agency-key", card, "--json"])
    assert as_json.code == 0
    listed = {Path(a["file"]).name: a for a in json.loads(as_json.stdout)["artifacts"]}
    assert listed[f"{B}-3.sxp"]["recipients"] == {"X25519": 1}
    assert listed[f"{A}-1.sxp"]["recipients"] == {"mlkem768x25519": 2}  # two staff then
