"""``audit log --verify``: each kind of damage to a log is reported as itself, and only
where it happened; the intact log passes."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from audit_flows import make_world
from cli_helpers import assert_single_error, run_cli
from securexchange import strictjson

LOG = "log.jsonl"


@pytest.fixture(scope="module")
def agency_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An agency home whose log has a dozen entries with signed checkpoints."""
    world = make_world(tmp_path_factory.mktemp("log"))
    lines = (world.agency / LOG).read_bytes().splitlines()
    assert len(lines) >= 9
    return world.agency


def _copy(home: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(home, target)
    return target


def _lines(home: Path) -> list[bytes]:
    return (home / LOG).read_bytes().splitlines(keepends=True)


def _write(home: Path, lines: list[bytes]) -> None:
    (home / LOG).write_bytes(b"".join(lines))


def _rehash(line: bytes, **changes: object) -> bytes:
    """The line with ``changes`` applied and its hash recomputed (a careful forger)."""
    value = json.loads(line)
    value.update(changes)
    del value["hash"]
    value["hash"] = hashlib.sha256(strictjson.dumps_line(value)).hexdigest()
    return strictjson.dumps_line(value) + b"\n"


def _verify(home: Path) -> tuple[list[dict[str, object]], str]:
    result = run_cli(["audit", "log", "--verify", "--json"], home=home)
    findings = json.loads(result.stdout)["findings"]
    if findings:
        assert_single_error(result, "SX-LOG-BROKEN", 1)
    else:
        assert result.code == 0, result.stderr
    return findings, result.stderr


def _issues(findings: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(f["line"], f["issue"]) for f in findings]


def test_an_intact_log_verifies(agency_home: Path, tmp_path: Path) -> None:
    home = _copy(agency_home, tmp_path)
    findings, stderr = _verify(home)
    assert findings == []
    assert "log intact" in stderr


def test_an_edited_entry_is_reported_as_edited_on_its_line(
    agency_home: Path, tmp_path: Path
) -> None:
    home = _copy(agency_home, tmp_path)
    lines = _lines(home)
    value = json.loads(lines[3])
    value["counts"] = {**value["counts"], "forged": 1}
    lines[3] = strictjson.dumps_line(value) + b"\n"
    _write(home, lines)
    findings, _ = _verify(home)
    assert _issues(findings) == [(4, "edited")]


def test_an_edited_entry_with_a_recomputed_hash_breaks_the_next_link(
    agency_home: Path, tmp_path: Path
) -> None:
    home = _copy(agency_home, tmp_path)
    lines = _lines(home)
    lines[3] = _rehash(lines[3], counts={"forged": 1})
    _write(home, lines)
    findings, _ = _verify(home)
    assert _issues(findings) == [(5, "chain broken")]
    assert "entry 4 was changed" in str(findings[0]["what"])


def test_a_removed_entry_is_reported_once_where_it_was(agency_home: Path, tmp_path: Path) -> None:
    home = _copy(agency_home, tmp_path)
    lines = _lines(home)
    del lines[4]
    _write(home, lines)
    findings, _ = _verify(home)
    issues = _issues(findings)
    assert (5, "removed") in issues
    assert all(issue in ("removed", "rewritten") for _, issue in issues)
    assert [line for line, issue in issues if issue == "removed"] == [5]


def test_reordered_entries_are_reported_as_reordered(agency_home: Path, tmp_path: Path) -> None:
    home = _copy(agency_home, tmp_path)
    lines = _lines(home)
    lines[4], lines[5] = lines[5], lines[4]
    _write(home, lines)
    findings, _ = _verify(home)
    assert _issues(findings) == [(5, "reordered"), (6, "reordered")]


def test_a_truncated_log_is_reported_against_the_head_and_the_checkpoint(
    agency_home: Path, tmp_path: Path
) -> None:
    home = _copy(agency_home, tmp_path)
    lines = _lines(home)
    _write(home, lines[:-3])
    findings, _ = _verify(home)
    assert {issue for _, issue in _issues(findings)} == {"truncated"}
    assert any("entries expected" in str(f["what"]) for f in findings)


def test_a_truncated_log_with_a_forged_tail_is_reported_as_rewritten(
    agency_home: Path, tmp_path: Path
) -> None:
    home = _copy(agency_home, tmp_path)
    lines = _lines(home)
    # Cut back three entries and forge a new, well-chained last entry in their place.
    kept = lines[:-3]
    last = json.loads(kept[-1])
    forged = json.loads(lines[-3])
    forged["counts"] = {"forged": 1}
    forged["prev"] = last["hash"]
    tail = _rehash(strictjson.dumps_line(forged | {"hash": "x"}), counts={"forged": 1})
    _write(home, [*kept, tail])
    findings, _ = _verify(home)
    assert {issue for _, issue in _issues(findings)} <= {"truncated", "rewritten"}
    assert findings
