"""age throughput: our streaming encrypt/decrypt against the ``age`` binary (and pyrage).

Run: ``python benchmarks/crypto.py [--size-mib N] [--runs R]`` (default 1024 MiB, 3 runs;
CI's smoke run uses ``--size-mib 16``). One random file is written to a temporary
directory; each tool encrypts it to /dev/null, then decrypts one ciphertext of it (made
by us, to one X25519 recipient) to /dev/null, both read from the page cache. Every
measurement is a separate child process timed wall-clock from spawn to exit (so our
interpreter start-up and imports count against us), with its CPU time (user + system,
every thread, from ``wait4``); our child also reports the time spent inside the
streaming call alone ("in-process"). Our sequential path (``age/stream.py``, what a
one-core machine runs) is measured beside it, so the report shows what the helper
threads buy at the machine's load of the moment. Peak RSS comes from GNU ``/usr/bin/time -f %M``
wrapping each child (a child forked straight from this script would inherit this
script's RSS as its high-water mark), else from ``wait4``. The runs are interleaved
(every tool once, then again), so a busy moment on a shared machine hits every tool
alike; the 1-minute load average is printed before and after each round.

Our package is byte-compiled first (``compileall``), as an installed package is, so no
child pays for compiling it (this machine may set ``PYTHONDONTWRITEBYTECODE``).

Prints, per tool and mode, median wall and CPU seconds, MB/s and peak RSS; then the
ratios age / ours of the medians (above 1: we are faster; CPU: we use less CPU time).
Targets: encrypt >= 1.5x age and decrypt >= 1.5x age in wall clock, our peak RSS <=
64 MiB.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20
OURS_NAME = "securexchange.age"
OURS_ONE_CORE = "ours, sequential"
AGE_NAME = "age binary"
TARGETS = {"encrypt": 1.5, "decrypt": 1.5}

OURS = """
import sys, time
from securexchange import age
from securexchange.age import parallel
mode, src, key, report, cores = sys.argv[1:6]
if cores == "1":  # the sequential path, as on a one-core machine
    parallel.helpers_available = lambda: 0
identity = age.parse_identity(open(key).read().strip())
with open(src, "rb") as fin, open("/dev/null", "wb") as fout:
    start = time.perf_counter()
    if mode == "encrypt":
        age.encrypt_stream(fin, fout, [identity.recipient])
    else:
        age.decrypt_stream(fin, fout, [identity])
    elapsed = time.perf_counter() - start
open(report, "w").write(repr(elapsed))
"""

PYRAGE = """
import sys
import pyrage
mode, src, key = sys.argv[1:4]
identity = pyrage.x25519.Identity.from_str(open(key).read().strip())
data = open(src, "rb").read()
if mode == "encrypt":
    pyrage.encrypt(data, [identity.to_public()])
else:
    pyrage.decrypt(data, [identity])
"""


GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds, spawn to exit
    cpu: float  # seconds, user + system, all threads (and the time wrapper, ~1 ms)
    rss: int  # bytes, peak


def run_child(argv: list[str], rss_file: Path) -> Sample:
    """Wall and CPU seconds and peak RSS of one child process."""
    timed = os.access(GNU_TIME, os.X_OK)
    if timed:
        argv = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *argv]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[0]} failed: {stderr.strip()}")
    kib = int(rss_file.read_text().split()[-1]) if timed else usage.ru_maxrss
    # wait4 reports the child with the descendants it waited for (time's child).
    return Sample(elapsed, usage.ru_utime + usage.ru_stime, kib * 1024)


def make_plaintext(path: Path, size_mib: int) -> None:
    with path.open("wb") as f:
        for _ in range(size_mib):
            f.write(os.urandom(MIB))


def age_version(age_bin: str) -> str:
    proc = subprocess.run([age_bin, "--version"], capture_output=True, text=True, check=False)
    return proc.stdout.strip() or "?"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (5 min {five:.2f}) on {os.cpu_count()} CPUs"


def report(
    samples: dict[tuple[str, str], list[Sample]], inner: dict[str, list[float]], size_mib: int
) -> None:
    size_mb = size_mib * MIB / 1e6
    print(
        f"{'tool':20} {'mode':8} {'wall s':>7} {'CPU s':>7} {'MB/s':>6} {'best MB/s':>9}"
        f" {'peak RSS MiB':>12}   (medians; wall clock from process start to exit)"
    )
    for (tool, mode), runs in samples.items():
        wall = statistics.median(s.wall for s in runs)
        cpu = statistics.median(s.cpu for s in runs)
        best = min(s.wall for s in runs)
        print(
            f"{tool:20} {mode:8} {wall:7.3f} {cpu:7.3f} {size_mb / wall:6.0f}"
            f" {size_mb / best:9.0f} {max(s.rss for s in runs) / MIB:12.1f}"
        )
    for label, seconds in inner.items():
        inside = statistics.median(seconds)
        mode, tool = label.split(", ", 1)
        print(
            f"{'  in-process':20} {mode:8} {inside:7.3f} {'':7} {size_mb / inside:6.0f}"
            f" {size_mb / min(seconds):9.0f}   ({tool}: the streaming call alone)"
        )
    if not any(tool == AGE_NAME for tool, _ in samples):
        print("\nage binary not found: no ratios")
        return
    print()
    for mode, target in TARGETS.items():
        ours, theirs = samples[(OURS_NAME, mode)], samples[(AGE_NAME, mode)]
        wall = statistics.median(s.wall for s in theirs) / statistics.median(s.wall for s in ours)
        cpu = statistics.median(s.cpu for s in theirs) / statistics.median(s.cpu for s in ours)
        inside = statistics.median(s.wall for s in theirs) / statistics.median(
            inner[f"{mode}, {OURS_NAME}"]
        )
        one = statistics.median(s.wall for s in samples[(OURS_ONE_CORE, mode)])
        gain = one / statistics.median(s.wall for s in ours)
        verdict = "met" if wall >= target else "MISSED"
        print(
            f"age/ours {mode}: {wall:.2f}x wall clock (target >= {target}x: {verdict}),"
            f" {cpu:.2f}x CPU time, {inside:.2f}x for the streaming call alone;"
            f" the helper threads: {gain:.2f}x against our sequential path"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from securexchange import age

    compileall.compile_dir(Path(age.__file__).parents[1], quiet=1)
    age_bin = shutil.which("age")
    try:
        import pyrage  # type: ignore[import-not-found]  # noqa: F401

        have_pyrage = True
    except ImportError:
        have_pyrage = False

    samples: dict[tuple[str, str], list[Sample]] = {}
    inner: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        plain, cipher, key = d / "plain", d / "plain.age", d / "key.txt"
        make_plaintext(plain, args.size_mib)
        identity = age.X25519Identity.generate()
        key.write_text(identity.to_string() + "\n")
        with plain.open("rb") as fin, cipher.open("wb") as fout:
            age.encrypt_stream(fin, fout, [identity.recipient])
        recipient = identity.recipient.to_string()
        inside_file, rss_file = d / "report", d / "rss"

        tools: dict[str, dict[str, list[str]]] = {
            name: {
                mode: [
                    *(sys.executable, "-c", OURS, mode, str(src), str(key), str(inside_file)),
                    cores,
                ]
                for mode, src in (("encrypt", plain), ("decrypt", cipher))
            }
            for name, cores in ((OURS_NAME, "all"), (OURS_ONE_CORE, "1"))
        }
        if age_bin:
            print(f"{AGE_NAME}: {age_bin}, version {age_version(age_bin)}")
            tools[AGE_NAME] = {
                "encrypt": [age_bin, "-r", recipient, "-o", "/dev/null", str(plain)],
                "decrypt": [age_bin, "-d", "-i", str(key), "-o", "/dev/null", str(cipher)],
            }
        if have_pyrage:
            tools["pyrage (in memory)"] = {
                mode: [sys.executable, "-c", PYRAGE, mode, str(src), str(key)]
                for mode, src in (("encrypt", plain), ("decrypt", cipher))
            }

        for run in range(args.runs):  # interleaved, so a busy moment hits every tool alike
            print(f"round {run + 1}: before, {load()}", flush=True)
            for tool, modes in tools.items():
                for mode, argv in modes.items():
                    samples.setdefault((tool, mode), []).append(run_child(argv, rss_file))
                    if tool in (OURS_NAME, OURS_ONE_CORE):
                        inner.setdefault(f"{mode}, {tool}", []).append(
                            float(inside_file.read_text())
                        )
        print(f"after the last round, {load()}")

    print(f"file: {args.size_mib} MiB random, {args.runs} runs, python {sys.version.split()[0]}")
    report(samples, inner, args.size_mib)
    if not have_pyrage:
        print("pyrage not importable: skipped")
    peak = max(
        s.rss
        for (tool, _), runs in samples.items()
        if tool in (OURS_NAME, OURS_ONE_CORE)
        for s in runs
    )
    print(f"our peak RSS: {peak / MIB:.1f} MiB (target <= 64 MiB)")


if __name__ == "__main__":
    main()
