"""Every ``bash`` block in README.md and docs/guides/*.md runs, so the docs cannot rot.

The blocks of one file run in order in one ``bash`` shell (variables set by one block
are seen by the next), in a fresh temporary directory, with the installed
``securexchange`` first on PATH. A block succeeds (exit 0) unless the comment
``<!-- expect-exit: N -->`` stands right before it; then it must exit with N (it runs
in a subshell, so it changes no variable). Exempt, and checked to be marked so:

- scheduler examples (cron, systemd, Task Scheduler): a ``cron``, ``ini`` or
  ``powershell`` fence, or ``<!-- scheduler-example -->`` right before the block;
- the README's two first commands (install + demo, install + tests), run literally by
  tests/test_readme.py and by CI (.ci/run);
- docs/guides/auditor.md and docs/auditing.md, run block by block on fresh and tampered
  exports by tests/test_audit_docs.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli_helpers import cli_env

REPO = Path(__file__).resolve().parents[1]
FENCE = re.compile(
    r"(?P<before>(?:<!--[^\n]*-->\n)?)^```(?P<lang>[A-Za-z0-9_-]*)\n(?P<body>.*?)^```$",
    re.M | re.S,
)
EXPECT = re.compile(r"<!-- expect-exit: (\d) -->")
SCHEDULER_FENCES = {"cron", "ini", "powershell", "systemd"}
COVERED_ELSEWHERE = {"docs/guides/auditor.md": "tests/test_audit_docs.py"}
README_MARKERS = ("<!-- demo-command -->", "<!-- test-command -->")


@dataclass(frozen=True)
class Block:
    file: str
    line: int
    lang: str
    body: str
    expect: int | None  # None: exempt
    marker: str


def blocks(relative: str) -> list[Block]:
    text = (REPO / relative).read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before, lang, body = match.group("before"), match.group("lang"), match.group("body")
        line = text.count("\n", 0, match.start("lang")) + 1
        exempt = (
            lang in SCHEDULER_FENCES
            or "scheduler-example" in before
            or any(marker in before for marker in README_MARKERS)
        )
        expected = EXPECT.search(before)
        code = None if exempt else int(expected.group(1)) if expected else 0
        found.append(Block(relative, line, lang, body, code, before.strip()))
    return found


def documents() -> list[str]:
    guides = sorted(str(p.relative_to(REPO)) for p in (REPO / "docs" / "guides").glob("*.md"))
    return ["README.md", *guides]


def _script(items: list[Block]) -> str:
    """One bash script: each block in turn, announced on stderr, its exit checked."""
    parts = ["set -uo pipefail", 'fail() { echo "DOCS-FAIL: $1" >&2; exit 97; }']
    for b in items:
        if b.expect is None or b.lang != "bash":
            continue
        where = f"{b.file}:{b.line}"
        parts.append(f"echo '--- {where}' >&2")
        if b.expect == 0:
            # In the main shell so that variables carry over; stop at the first failure.
            parts.append("set -e")
            parts.append(b.body)
            parts.append("set +e")
        else:
            parts.append(f"( set -e\n{b.body}\n)")
            parts.append(f'rc=$?; [ "$rc" -eq {b.expect} ] || fail "{where} exited $rc"')
    parts.append("echo DOCS-OK >&2")
    return "\n".join(parts) + "\n"


def _run(relative: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "securexchange").exists(), "securexchange is not installed in this venv"
    env = cli_env({"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"})
    env["TMPDIR"] = str(tmp)
    env.pop("DEMO", None)
    return subprocess.run(
        ["bash", "-c", _script(blocks(relative))],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


RUNNABLE = [d for d in documents() if d not in COVERED_ELSEWHERE]


@pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("bash", "unzip", "grep", "sed", "dd")),
    reason="a standard tool is missing",
)
@pytest.mark.parametrize("document", RUNNABLE)
def test_every_bash_block_of_the_document_runs_as_documented(document: str, tmp_path: Path) -> None:
    assert any(b.expect is not None for b in blocks(document)), f"{document} has no command"
    result = _run(document, tmp_path)
    assert result.returncode == 0 and "DOCS-OK" in result.stderr, (
        result.stderr[-4000:] + result.stdout[-2000:]
    )


@pytest.mark.parametrize("document", documents())
def test_every_fenced_block_is_bash_output_or_a_marked_exemption(document: str) -> None:
    # A command block in another dialect (```sh, ```console) would escape the run above.
    allowed = {"bash", "text", "json", *SCHEDULER_FENCES}
    for b in blocks(document):
        assert b.lang in allowed, f"{b.file}:{b.line}: a ```{b.lang or '(none)'} block"


def test_the_readme_exempts_only_its_two_ci_commands() -> None:
    exempt = [b for b in blocks("README.md") if b.lang == "bash" and b.expect is None]
    assert [b.marker for b in exempt] == list(README_MARKERS)


def test_documents_run_elsewhere_are_run_there() -> None:
    for document, test in COVERED_ELSEWHERE.items():
        source = (REPO / test).read_text(encoding="utf-8")
        assert Path(document).name in source, (document, test)
