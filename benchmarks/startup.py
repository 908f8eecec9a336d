"""Start-up cost of ``securexchange --help`` against a bare ``import click``.

Run: ``python benchmarks/startup.py [--runs N]``. Prints a table of median wall times
measured in this run and the ratio; the target is ``--help`` <= 1.5x ``import click``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def _median_ms(argv: list[str], runs: int) -> float:
    subprocess.run(argv, capture_output=True, check=True)  # warm the page cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    py = sys.executable
    cases = [
        ("python -c pass", [py, "-c", "pass"]),
        ("python -c 'import click' (baseline)", [py, "-c", "import click"]),
        ("python -m securexchange --help", [py, "-m", "securexchange", "--help"]),
        (
            "python -m securexchange --help --lang en",
            [py, "-m", "securexchange", "--lang", "en", "--help"],
        ),
        (
            "python -m securexchange --help --lang nl",
            [py, "-m", "securexchange", "--lang", "nl", "--help"],
        ),
        ("python -m securexchange --version", [py, "-m", "securexchange", "--version"]),
    ]
    script = shutil.which("securexchange")
    if script:
        cases.append(("securexchange --help (console script)", [script, "--help"]))
    results = [(name, _median_ms(argv, args.runs)) for name, argv in cases]
    baseline = results[1][1]
    width = max(len(name) for name, _ in results)
    print(f"{'case'.ljust(width)}  median ms  x import click")
    for name, ms in results:
        print(f"{name.ljust(width)}  {ms:9.1f}  {ms / baseline:13.2f}")
    # The Dutch --help reads the catalog: shown, but the target is the English one's.
    helps = [ms for name, ms in results if "--help" in name and "--lang nl" not in name]
    print(f"\ntarget: --help <= 1.50x import click; worst measured: {max(helps) / baseline:.2f}x")


if __name__ == "__main__":
    main()
