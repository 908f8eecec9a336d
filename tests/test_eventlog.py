"""The log: hash-chained, head mirrored in the state database, ids and counts only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli_helpers import assert_single_error, run_cli
from securexchange.home.home import HomeKind, create_home, open_home
from securexchange.home.log_entries import Action, LogValueRefused
from securexchange.ids import ArtifactKind, new_artifact_id

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _home_with_entries(tmp_path: Path, count: int = 5) -> Path:
    home = tmp_path / "h"
    create_home(home, HomeKind.AGENCY, demo=True, env={})
    with open_home(home, env={}) as opened:
        for i in range(count):
            opened.log.record(
                Action.EXPORT,
                now=T0,
                artifacts=[new_artifact_id(ArtifactKind.PACKAGE)],
                counts={"records": i},
            )
    return home


def _verify(home: Path) -> list[str]:
    with open_home(home, env={}) as opened:
        return [p.what for p in opened.log.verify().problems]


def test_untouched_log_verifies(tmp_path: Path) -> None:
    assert _verify(_home_with_entries(tmp_path)) == []


def _rewrite(home: Path, change: str) -> None:
    path = home / "log.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    if change == "edit":
        entry = json.loads(lines[2])
        entry["counts"]["records"] = 99
        lines[2] = json.dumps(entry, separators=(",", ":"), sort_keys=True).encode() + b"\n"
    elif change == "remove":
        del lines[2]
    elif change == "reorder":
        lines[1], lines[2] = lines[2], lines[1]
    elif change == "truncate":
        lines = lines[:3]
    path.write_bytes(b"".join(lines))


@pytest.mark.parametrize("change", ["edit", "remove", "reorder", "truncate"])
def test_changed_log_is_detected(tmp_path: Path, change: str) -> None:
    home = _home_with_entries(tmp_path)
    _rewrite(home, change)
    assert _verify(home), f"{change} went unnoticed"


def test_truncation_is_detected_even_when_the_remaining_chain_is_valid(tmp_path: Path) -> None:
    home = _home_with_entries(tmp_path)
    _rewrite(home, "truncate")
    assert any("truncated" in what for what in _verify(home))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"artifacts": ["Jan Janssens"]},
        {"artifacts": ["R-ABCDEFGHIJKLMNOPQRST"]},
        {"actor": "jan@example.be"},
        {"counts": {"records": "Jan"}},
        {"counts": {"Jan Janssens": 1}},
        {"counts": {"records": -1}},
        {"error": "the name was Jan"},
    ],
)
def test_log_refuses_anything_but_ids_and_counts(tmp_path: Path, kwargs: dict[str, object]) -> None:
    home = _home_with_entries(tmp_path, 0)
    with open_home(home, env={}) as opened, pytest.raises(LogValueRefused):
        opened.log.record(Action.IMPORT, now=T0, **kwargs)  # type: ignore[arg-type]
    assert not (home / "log.jsonl").exists() or b"Jan" not in (home / "log.jsonl").read_bytes()


def test_a_failing_command_leaves_one_refusal_entry(tmp_path: Path) -> None:
    home = tmp_path / "h"
    create_home(home, HomeKind.AGENCY, demo=False, env={})
    with pytest.raises(LogValueRefused), open_home(home, env={}):
        raise LogValueRefused("boom")
    lines = (home / "log.jsonl").read_bytes().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["action"] == "refusal" and entry["error"] == "SX-INTERNAL"


def test_cli_audit_log_verify_reports_an_edited_log_with_exit_1(tmp_path: Path) -> None:
    home = _home_with_entries(tmp_path)
    assert run_cli(["audit", "log", "--verify"], home=home).code == 0
    _rewrite(home, "edit")
    result = run_cli(["audit", "log", "--verify"], home=home)
    assert_single_error(result, "SX-LOG-BROKEN", 1)


def _signed_home(tmp_path: Path) -> tuple[Path, bytes, str]:
    from securexchange import sshsig
    from securexchange.fingerprint import Fingerprint

    home = _home_with_entries(tmp_path, 3)
    seed = sshsig.generate_signing_seed()
    actor = Fingerprint.of_public_key(sshsig.public_key_from_seed(seed)).display
    with open_home(home, env={}) as opened:
        opened.note_signer(seed, actor)
    return home, seed, actor


def _verify_signed(home: Path, seed: bytes, actor: str) -> list[str]:
    from securexchange import sshsig
    from securexchange.audit.logcheck import checkpoint_verifier

    keys = {actor: sshsig.public_key_from_seed(seed)}
    with open_home(home, env={}) as opened:
        return [p.what for p in opened.log.verify(checkpoint_verifier(keys)).problems]


def test_a_command_with_a_key_unlocked_ends_with_a_verifying_checkpoint(tmp_path: Path) -> None:
    home, seed, actor = _signed_home(tmp_path)
    last = json.loads((home / "log.jsonl").read_bytes().splitlines()[-1])
    assert last["action"] == "checkpoint" and last["actor"] == actor
    assert last["counts"] == {"entries": 3}
    assert _verify_signed(home, seed, actor) == []


def test_a_checkpoint_signed_by_another_key_is_reported(tmp_path: Path) -> None:
    from securexchange import sshsig

    home, _seed, actor = _signed_home(tmp_path)
    assert _verify_signed(home, sshsig.generate_signing_seed(), actor)


def test_cutting_the_log_before_the_checkpoint_is_detected_even_with_a_rewritten_head(
    tmp_path: Path,
) -> None:
    from securexchange.home.statedb import connect, set_setting

    home, seed, actor = _signed_home(tmp_path)
    path = home / "log.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)[:2]
    path.write_bytes(b"".join(lines))
    conn = connect(home / "state.sqlite3")
    set_setting(conn, "log_head_count", "2")
    set_setting(conn, "log_head_hash", json.loads(lines[-1])["hash"])
    conn.close()
    assert any("truncated" in what for what in _verify_signed(home, seed, actor))


def test_checkpoints_cannot_be_written_as_plain_entries(tmp_path: Path) -> None:
    home = _home_with_entries(tmp_path, 0)
    with open_home(home, env={}) as opened, pytest.raises(LogValueRefused):
        opened.log.record(Action.CHECKPOINT, now=T0)
