"""Run every benchmark script in benchmarks/ and write the Markdown for docs/benchmarks.md.

Run: ``python benchmarks/run_all.py [--small | --full] [--out FILE]``. ``--small`` (the
default) uses CI-speed sizes, a smoke test that every script still runs; ``--full``
uses the sizes the numbers in docs/benchmarks.md were measured with (minutes). Each
script runs in its own process with this interpreter; its own output (each prints its
table) is kept verbatim under a heading, after a summary table of what ran, with which
arguments, how long it took and whether it succeeded. Exit 1 if any script failed.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Benchmark:
    script: str
    small: tuple[str, ...]
    full: tuple[str, ...]


# The size options each script takes (read from its argparse); full = its defaults.
BENCHMARKS = (
    Benchmark("startup.py", ("--runs", "5"), ("--runs", "21")),
    Benchmark("crypto.py", ("--size-mib", "16", "--runs", "1"), ("--size-mib", "1024")),
    Benchmark("records.py", ("--rows", "2000", "--runs", "1"), ("--rows", "100000")),
    Benchmark("workbook.py", ("--rows", "2000", "--runs", "1"), ("--rows", "100000")),
    Benchmark("export.py", ("--small",), ("--records", "100000", "--municipalities", "300")),
    Benchmark("municipal.py", ("--records", "500", "--runs", "1"), ("--records", "5000")),
    Benchmark("app.py", ("--small",), ("--records", "5000")),
)


@dataclass(frozen=True)
class Outcome:
    benchmark: Benchmark
    args: tuple[str, ...]
    seconds: float
    code: int
    output: str


def run(benchmark: Benchmark, *, full: bool, timeout: float) -> Outcome:
    args = benchmark.full if full else benchmark.small
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(HERE / benchmark.script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        code, output = proc.returncode, proc.stdout
        if code != 0:
            output += "\n" + proc.stderr[-2000:]
    except subprocess.TimeoutExpired:
        code, output = -1, f"timed out after {timeout:.0f} s"
    return Outcome(benchmark, args, time.perf_counter() - start, code, output.rstrip())


def markdown(outcomes: list[Outcome], *, full: bool) -> str:
    sizes = "full" if full else "small (CI smoke)"
    lines = [
        f"## All benchmarks, {sizes} sizes",
        "",
        f"Measured with `python benchmarks/run_all.py {'--full' if full else '--small'}` on "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}.",
        "",
        "| script | arguments | wall time | result |",
        "|---|---|---:|---|",
    ]
    for o in outcomes:
        result = "ok" if o.code == 0 else f"FAILED (exit {o.code})"
        lines.append(
            f"| `{o.benchmark.script}` | `{' '.join(o.args)}` | {o.seconds:.1f} s | {result} |"
        )
    for o in outcomes:
        lines += ["", f"### `{o.benchmark.script} {' '.join(o.args)}`", "", "```text"]
        lines += [o.output or "(no output)", "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--small", action="store_true", help="CI-speed sizes (the default)")
    size.add_argument("--full", action="store_true", help="the sizes of docs/benchmarks.md")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown here")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per script, seconds")
    args = parser.parse_args()
    outcomes = []
    for benchmark in BENCHMARKS:
        if not (HERE / benchmark.script).exists():
            continue
        outcome = run(benchmark, full=args.full, timeout=args.timeout)
        print(f"{benchmark.script}: {outcome.seconds:.1f} s, exit {outcome.code}", file=sys.stderr)
        outcomes.append(outcome)
    text = markdown(outcomes, full=args.full)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    sys.exit(0 if all(o.code == 0 for o in outcomes) else 1)


if __name__ == "__main__":
    main()
