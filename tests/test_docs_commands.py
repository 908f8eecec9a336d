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
- docs/auditing.md, run block by block on fresh and tampered exports by
  tests/test_audit_docs.py (docs/guides/auditor.md sets up its own trial and runs here).

PowerShell is for the steps staff take on Windows; it cannot run in CI, so each
``powershell`` block is followed at once by its ``bash`` twin, which runs, and every
``securexchange`` command line of a PowerShell block (and the ``-Argument`` of a
scheduled task that runs it) is parsed with the real click command tree: an unknown
command or option, or a missing argument, fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from cli_helpers import cli_env

REPO = Path(__file__).resolve().parents[1]
FENCE = re.compile(
    r"(?P<before>(?:<!--[^\n]*-->\n)?)^```(?P<lang>[A-Za-z0-9_-]*)\n(?P<body>.*?)^```$",
    re.M | re.S,
)
EXPECT = re.compile(r"<!-- expect-exit: (\d) -->")
SCHEDULER_FENCES = {"cron", "ini", "powershell", "systemd"}
COVERED_ELSEWHERE: dict[str, str] = {}
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


def _run(relative: str, tmp: Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "securexchange").exists(), "securexchange is not installed in this venv"
    path = os.environ.get("PATH", "")
    if relative == "README.md":
        # As after the README's first command: securexchange is in the checkout's .venv,
        # not on PATH; the walk-through must say how to reach it (it activates .venv).
        assert (bin_dir / "activate").exists(), "the tests run outside a virtual environment"
        (tmp / ".venv").symlink_to(bin_dir.parent, target_is_directory=True)
        dirs = [d for d in path.split(os.pathsep) if d and Path(d).resolve() != bin_dir.resolve()]
        path = os.pathsep.join(dirs)
    else:
        path = f"{bin_dir}{os.pathsep}{path}"
    env = cli_env({"PATH": path, "SECUREXCHANGE_LANG": lang})
    env["TMPDIR"] = str(tmp)
    for name in ("DEMO", "VIRTUAL_ENV"):
        env.pop(name, None)
    return subprocess.run(
        ["bash", "-c", _script(blocks(relative))],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


RUNNABLE = [d for d in documents() if d not in COVERED_ELSEWHERE]
# The municipal guide is for staff who may read either language: it runs in both.
IN_BOTH_LANGUAGES = {"docs/guides/gemeente.md"}
RUNS = [
    pytest.param(d, lang, id=f"{d}-{lang}")
    for d in RUNNABLE
    for lang in (("nl", "en") if d in IN_BOTH_LANGUAGES else ("en",))
]


@pytest.mark.slow  # real homes: every passphrase costs a full scrypt (about a minute each)
@pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("bash", "unzip", "grep", "sed", "dd", "ssh-keygen")),
    reason="a standard tool is missing",
)
@pytest.mark.parametrize(("document", "lang"), RUNS)
def test_every_bash_block_of_the_document_runs_as_documented(
    document: str, lang: str, tmp_path: Path
) -> None:
    assert any(b.expect is not None for b in blocks(document)), f"{document} has no command"
    result = _run(document, tmp_path, lang)
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


# --- PowerShell: twins and parsing ------------------------------------------------------

PS_CONTINUATION = re.compile(r"`[ \t]*\n")
PS_COMMAND = re.compile(
    r"^\s*(?:\$\w+\s*=\s*)?&?\s*(?:\"[^\"]*\\)?securexchange(?:\.exe)?\"?\s+(?P<args>.*)$"
)
PS_ARGUMENT = re.compile(r"-Argument\s+\"(?P<args>[^\"]*)\"")


def powershell_commands(body: str) -> list[list[str]]:
    """The argument lists of every ``securexchange`` run a PowerShell block contains."""
    import shlex

    found = []
    for full in PS_CONTINUATION.sub(" ", body).splitlines():
        line = full.split(" #", 1)[0]
        for pattern in (PS_COMMAND, PS_ARGUMENT):
            match = pattern.search(line)
            if match and not line.lstrip().startswith("#"):
                found.append(shlex.split(match.group("args").replace("`", "")))
    return found


def parse_command_line(args: list[str]) -> None:
    """Parse ``securexchange ARGS`` with the real command tree (nothing runs)."""
    from securexchange.cli.main import cli

    try:
        ctx = cli.make_context("securexchange", list(args))
    except click.exceptions.Exit as done:  # --version, --help: parsed, and nothing to run
        assert done.exit_code == 0, args
        return
    command: click.Command = cli
    rest = [*ctx._protected_args, *ctx.args]
    while isinstance(command, click.Group) and rest:
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        ctx = sub.make_context(name, rest, parent=ctx)
        command, rest = sub, [*ctx._protected_args, *ctx.args]
    assert not isinstance(command, click.Group), f"{args}: no command, only a group"


def powershell_blocks() -> list[tuple[Block, Block | None]]:
    pairs = []
    for document in documents():
        found = blocks(document)
        for i, b in enumerate(found):
            if b.lang == "powershell":
                pairs.append((b, found[i + 1] if i + 1 < len(found) else None))
    return pairs


def test_every_powershell_block_has_a_bash_twin_right_after_it() -> None:
    pairs = powershell_blocks()
    assert pairs, "no PowerShell block: staff on Windows have nothing to copy"
    for ps, twin in pairs:
        where = f"{ps.file}:{ps.line}"
        assert twin is not None and twin.lang == "bash" and twin.expect is not None, (
            f"{where}: a ```powershell block without a runnable ```bash twin"
        )
        lines = (REPO / ps.file).read_text(encoding="utf-8").splitlines()
        closing = ps.line + ps.body.count("\n")  # 0-based index of the closing fence
        between = [x.strip() for x in lines[closing + 1 : twin.line - 1]]
        assert all(not x or x.startswith("<!--") for x in between), (
            f"{where}: text between a ```powershell block and its bash twin"
        )


def test_every_securexchange_line_of_the_powershell_blocks_parses() -> None:
    seen = 0
    for ps, _twin in powershell_blocks():
        for args in powershell_commands(ps.body):
            seen += 1
            try:
                parse_command_line(args)
            except (click.UsageError, AssertionError) as error:
                pytest.fail(f"{ps.file}:{ps.line}: securexchange {' '.join(args)}: {error}")
    assert seen, "no securexchange command in any PowerShell block"


@pytest.mark.parametrize(
    "line",
    [
        "securexchange municipality no-such-command",
        "securexchange municipality import --no-such-option x.sxpkg",
        "securexchange municipality set-status R-AAAAAAAAAAAAAAAAAAAA",
        '$a = New-ScheduledTaskAction -Execute $exe -Argument "municipality shred --now"',
    ],
)
def test_the_powershell_parser_refuses_a_wrong_command_line(line: str) -> None:
    (args,) = powershell_commands(line)
    with pytest.raises((click.UsageError, AssertionError)):
        parse_command_line(args)
