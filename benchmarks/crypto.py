"""age throughput: our streaming encrypt/decrypt against the ``age`` binary (and pyrage).

Run: ``python benchmarks/crypto.py [--size-mib N] [--runs R]`` (default 1024 MiB, 3 runs;
CI's smoke run uses ``--size-mib 16``). One random file is written to a temporary
directory; each tool encrypts it to /dev/null, then decrypts one ciphertext of it (made
by us, to one X25519 recipient) to /dev/null. Every measurement is a separate child
process timed wall-clock from spawn to exit (so our interpreter start-up, ~60 ms, counts
against us); our child also reports the time spent inside the streaming call alone
("in-process"). Peak RSS comes from GNU ``/usr/bin/time -f %M`` wrapping each child (a
child forked straight from this script would inherit this script's RSS as its high-water
mark), else from ``wait4``. Prints best and median MB/s per tool, the ratios ours/age,
and our peak RSS. Targets: decrypt >= 1.5x age, encrypt >= 1.0x age, our peak
RSS <= 64 MiB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIB = 1 << 20

OURS = """
import sys, time
from securexchange import age
mode, src, key, report = sys.argv[1:5]
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


def run_child(argv: list[str], rss_file: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one child process."""
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
    return elapsed, kib * 1024


def make_plaintext(path: Path, size_mib: int) -> None:
    with path.open("wb") as f:
        for _ in range(size_mib):
            f.write(os.urandom(MIB))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from securexchange import age

    age_bin = shutil.which("age")
    try:
        import pyrage  # type: ignore[import-not-found]  # noqa: F401

        have_pyrage = True
    except ImportError:
        have_pyrage = False

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        plain, cipher, key = d / "plain", d / "plain.age", d / "key.txt"
        make_plaintext(plain, args.size_mib)
        identity = age.X25519Identity.generate()
        key.write_text(identity.to_string() + "\n")
        with plain.open("rb") as fin, cipher.open("wb") as fout:
            age.encrypt_stream(fin, fout, [identity.recipient])
        recipient = identity.recipient.to_string()
        report, rss_file = d / "report", d / "rss"

        tools: dict[str, dict[str, list[str]]] = {
            "securexchange.age": {
                mode: [sys.executable, "-c", OURS, mode, str(src), str(key), str(report)]
                for mode, src in (("encrypt", plain), ("decrypt", cipher))
            }
        }
        if age_bin:
            tools["age 1.1.1 binary"] = {
                "encrypt": [age_bin, "-r", recipient, "-o", "/dev/null", str(plain)],
                "decrypt": [age_bin, "-d", "-i", str(key), "-o", "/dev/null", str(cipher)],
            }
        if have_pyrage:
            tools["pyrage (in memory)"] = {
                mode: [sys.executable, "-c", PYRAGE, mode, str(src), str(key)]
                for mode, src in (("encrypt", plain), ("decrypt", cipher))
            }

        results: dict[tuple[str, str], list[float]] = {}
        inner: dict[str, list[float]] = {}
        rss: dict[tuple[str, str], int] = {}
        size_mb = args.size_mib * MIB / 1e6
        for _ in range(args.runs):  # interleaved, so a busy moment hits every tool alike
            for tool, modes in tools.items():
                for mode, argv in modes.items():
                    seconds, peak = run_child(argv, rss_file)
                    results.setdefault((tool, mode), []).append(size_mb / seconds)
                    if tool == "securexchange.age":
                        inside = float(report.read_text())
                        inner.setdefault(mode, []).append(size_mb / inside)
                    rss[(tool, mode)] = max(rss.get((tool, mode), 0), peak)

    print(f"file: {args.size_mib} MiB random, {args.runs} runs, python {sys.version.split()[0]}")
    print(
        f"{'tool':20} {'mode':8} {'best MB/s':>10} {'median MB/s':>12} {'peak RSS MiB':>13}"
        "   (wall clock, process start to exit)"
    )
    for (tool, mode), speeds in results.items():
        print(
            f"{tool:20} {mode:8} {max(speeds):10.0f} {statistics.median(speeds):12.0f}"
            f" {rss[(tool, mode)] / MIB:13.1f}"
        )
    for mode, speeds in inner.items():
        print(
            f"{'ours, in-process':20} {mode:8} {max(speeds):10.0f}"
            f" {statistics.median(speeds):12.0f}   (streaming call only, no start-up)"
        )
    if age_bin:
        print()
        for mode, target in (("encrypt", 1.0), ("decrypt", 1.5)):
            ours = results[("securexchange.age", mode)]
            theirs = results[("age 1.1.1 binary", mode)]
            best = max(ours) / max(theirs)
            median = statistics.median(ours) / statistics.median(theirs)
            inside = statistics.median(inner[mode]) / statistics.median(theirs)
            print(
                f"ours/age {mode}: best {best:.2f}x, median {median:.2f}x wall clock;"
                f" median {inside:.2f}x in-process (target >= {target}x)"
            )
    else:
        print("\nage binary not found: no ratios")
    if not have_pyrage:
        print("pyrage not importable: skipped")
    peak = max(v for (tool, _), v in rss.items() if tool == "securexchange.age")
    print(f"our peak RSS: {peak / MIB:.1f} MiB (target <= 64 MiB)")


if __name__ == "__main__":
    main()
