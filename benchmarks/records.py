"""Records benchmarks: master intake against a bare python-calamine read.

Run: ``python benchmarks/records.py [--rows N] [--runs R] [--only NAME]`` (default
100,000 rows, 3 runs, medians). Each benchmark builds its own synthetic input with
``securexchange.intake.sample`` (not timed), measures a baseline and our code in the same run,
and prints a table and the ratio against its target. Add a benchmark by writing a
function ``(rows, runs) -> list[Line]`` and naming it in ``BENCHMARKS``.

* ``intake``: ``read_master`` (guard + calamine + validation + normalisation) of a
  synthetic .xlsx master against iterating all rows of the same file with calamine.
  Target: at most 2.5x the bare read (wall-clock, the first ratio). The CPU ratio
  counts intake's worker process too: what the work costs, whatever the load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from machine_info import machine


@dataclass(frozen=True)
class Line:
    benchmark: str
    operation: str
    rows: int
    seconds: float
    cpu_seconds: float  # this process and its (finished) workers
    baseline: bool = False
    target_ratio: float | None = None


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (intake's worker
    ends with each read), so that a ratio says what the work cost, load or not."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _median(runs: int, action: Callable[[], object]) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds of ``runs`` runs."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), _cpu()
        action()
        wall.append(time.perf_counter() - start)
        cpu.append(_cpu() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def bench_intake(rows: int, runs: int) -> list[Line]:
    import python_calamine

    from securexchange import normalise
    from securexchange.intake.master import read_master
    from securexchange.intake.sample import generate_master
    from securexchange.sheets.master_write import xlsx_bytes

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "master.xlsx"
        path.write_bytes(xlsx_bytes(generate_master(rows, municipalities=40, seed=1)))

        def bare() -> int:
            book = python_calamine.CalamineWorkbook.from_path(str(path))
            return sum(1 for _ in book.get_sheet_by_index(0).iter_rows())

        def ours() -> int:
            normalise.clear_caches()  # cold: every phone number and address checked anew
            return len(read_master(path).rows)

        assert ours() == rows  # also warms caches of the file system, not of values
        bare_s, bare_cpu = _median(runs, bare)
        ours_s, ours_cpu = _median(runs, ours)
    return [
        Line("intake", "python-calamine iter_rows (baseline)", rows, bare_s, bare_cpu, True),
        Line(
            "intake",
            "read_master (guard+validate+normalise)",
            rows,
            ours_s,
            ours_cpu,
            target_ratio=2.5,
        ),
    ]


BENCHMARKS: dict[str, Callable[[int, int], list[Line]]] = {"intake": bench_intake}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=sorted(BENCHMARKS), default=None)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"command: python benchmarks/records.py {' '.join(sys.argv[1:])}".rstrip())
    print()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print(
        "| benchmark | operation | rows | seconds | rows/s | ratio | CPU s | CPU ratio | target |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    failed = False
    for name, bench in BENCHMARKS.items():
        if args.only and name != args.only:
            continue
        lines = bench(args.rows, args.runs)
        base = next(line for line in lines if line.baseline)
        for line in lines:
            ratio = line.seconds / base.seconds
            cpu_ratio = line.cpu_seconds / base.cpu_seconds
            verdict = "baseline" if line.baseline else ""
            if line.target_ratio is not None:
                ok = ratio <= line.target_ratio
                failed |= not ok
                verdict = f"<= {line.target_ratio:g}x: {'ok' if ok else 'MISSED'}"
            print(
                f"| {line.benchmark} | {line.operation} | {line.rows:,} | "
                f"{line.seconds:.2f} | {line.rows / line.seconds:,.0f} | {ratio:.2f}x | "
                f"{line.cpu_seconds:.2f} | {cpu_ratio:.2f}x | {verdict} |"
            )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
