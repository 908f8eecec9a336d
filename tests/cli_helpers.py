"""Running the real CLI in a subprocess and asserting its error contract."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


# What every `agency terminate` in the tests states: its ground and decision (art. 8).
TERMINATION_GROUND = ("--ground", "breach-of-protocol", "--decision", "CBS 2026-11-30/7")


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI run: no stray home or clock override from the caller."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECUREXCHANGE_HOME", "SECUREXCHANGE_NOW", "SECUREXCHANGE_PASSPHRASE_FILE"}
    }
    # English unless a test asks for Dutch: the suite reads the same on a Dutch machine.
    env["SECUREXCHANGE_LANG"] = "en"
    env.update(extra or {})
    return env


def run_cli(
    args: Sequence[str],
    *,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> CliResult:
    argv = [sys.executable, "-m", "securexchange"]
    if home is not None:
        argv += ["--home", str(home)]
    argv += list(args)
    proc = subprocess.run(
        argv,
        input=stdin,
        capture_output=True,
        text=True,
        env=cli_env(env),
        timeout=timeout,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def assert_single_error(result: CliResult, name: str, code: int) -> None:
    """Exactly one ``error:`` line naming ``name``, at most one ``hint:``, exit ``code``
    (``fout:`` and ``tip:`` in a Dutch run)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("error:", "fout:"))]
    hints = [line for line in lines if line.startswith(("hint:", "tip:"))]
    assert len(errors) == 1, result.stderr
    assert errors[0].split(":", 1)[1].startswith(f" {name}: "), result.stderr
    assert len(hints) <= 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.code == code, (result.code, result.stderr)


def expect_ok(result: CliResult) -> CliResult:
    """``result``, after asserting the command succeeded (stderr shown when not)."""
    assert result.code == 0, result.stderr
    return result


def init_demo_agency(agency: Path, nis: str, name: str, *, until: str = "2030-12-31") -> None:
    """A demo agency home with one registered municipality, through the CLI."""
    expect_ok(run_cli(["agency", "init", "--name", "Agentschap", "--demo"], home=agency))
    expect_ok(
        run_cli(
            [
                "agency",
                "municipality",
                "add",
                "--nis",
                nis,
                "--name",
                name,
                "--protocol-until",
                until,
            ],
            home=agency,
        )
    )


def enrol_demo_staff(tmp: Path, agency: Path, name: str, *, nis: str) -> tuple[Path, str]:
    """A demo staff home made and authorised through the CLI: (home, fingerprint)."""
    import json

    home = tmp / name
    init = ["municipality", "init", "--demo", "--nis", nis, "--name", name]
    init += ["--role", "integratiebeambte", "--agency-key", str(agency / "keys" / "root.card.json")]
    expect_ok(run_cli(init, home=home))
    shown = json.loads(expect_ok(run_cli(["keys", "show", "--json"], home=home)).stdout)
    fingerprint = str(shown["fingerprint"])
    card = str(home / "keys" / "identity.card.json")
    add = ["agency", "recipient", "add", "--nis", nis, "--fingerprint", fingerprint, card]
    expect_ok(run_cli(add, home=agency))
    return home, fingerprint
