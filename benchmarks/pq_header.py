"""Post-quantum header cost: mlkem768x25519 (age 1.3 hybrid) against X25519 at the age layer.

Run: ``python benchmarks/pq_header.py [--runs R] [--reps N] [--parts abcd] ...``
(``--small`` for a smoke run of a few seconds). Every part measures the hybrid recipient
type and the X25519 baseline in the same run, interleaved, each in turn first (the order
rotates every run), so that load from other work on the machine hits both alike;
figures are medians and every ratio is hybrid / X25519 (or ours / the ``age`` binary)
from the same run.

(a) One recipient: wrap (encapsulate) and unwrap (decapsulate) of one 16-byte file key,
    unwrap of a stanza addressed to another key (what a reader pays for each stanza
    before its own), and the recipient string handling the export does per recipient
    (``age.parse_recipient``; ``age.is_recipient_string``, the check a manifest's
    recipient entry makes). Median microseconds of ``--runs`` x ``--reps`` calls, each
    timed alone.
(b) A header of N recipients (``--recipients``, default 1, 5, 64): ``age.encrypt`` of a
    small payload (``--small-payload`` bytes) to N recipients, and ``age.decrypt`` with
    the identity of the last stanza (the worst case: every stanza before it is tried).
    Median milliseconds, and the header size in bytes.
(c) An export at the age layer: ``--municipalities`` files (300), each encrypted to its
    own ``--per-file`` recipients (5), payload ``--payload-bytes`` (50,000: a package for
    the 333 records a municipality gets from 100,000 over 300 holds a ~42 KB workbook,
    docs/benchmarks.md). Per run, in seconds for all files: the recipient strings
    checked (``is_recipient_string``) and parsed (``parse_recipient``), as
    ``agency/export.py`` and ``artifacts/package.py`` do for each package, then the
    encryption; and each file decrypted by its last recipient (the municipal side).
    Medians of ``--export-runs`` runs.
(d) Payload throughput of a ``--size-mib`` random file (64 MiB): our ``encrypt_stream``
    / ``decrypt_stream`` to one hybrid recipient, to one X25519 recipient, and the
    ``age`` binary to the X25519 recipient (Debian's age 1.1.1 predates the hybrid
    type). As in ``benchmarks/crypto.py``, each measurement is a child process timed
    from spawn to exit (our start-up counts against us), output to /dev/null; our child
    also reports the streaming call alone ("in-process"), and each process's MB per CPU
    second (user + system, which other work moves less than wall time). Median MB/s of
    ``--payload-runs`` runs and the ratios hybrid/X25519 and ours/age. Run it so that
    the children find compiled bytecode (``env -u PYTHONDONTWRITEBYTECODE``, with
    ``PYTHONPYCACHEPREFIX`` set or after ``python -m compileall -q src``), as crypto.py.

Nothing here is a target or a test assertion: the script prints what it measured.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from crypto import MIB, OURS, make_plaintext
from machine_info import machine
from securexchange import age

BASELINE = "X25519"
HYBRID = "mlkem768x25519"
FILE_KEY = bytes(range(16))
T = TypeVar("T")


@dataclass(frozen=True)
class Kind:
    name: str
    generate: Callable[[], age.SecretIdentity]


KINDS = (
    Kind(BASELINE, age.X25519Identity.generate),
    Kind(HYBRID, age.MLKEM768X25519Identity.generate),
)


def rotated(items: Sequence[T], run: int) -> list[T]:
    """``items`` started at ``run`` (mod its length): each goes first in turn, so no
    kind always runs right after the same other one (caches, a burst of load)."""
    k = run % len(items)
    return [*items[k:], *items[:k]]


def sample_us(op: Callable[[], object], reps: int) -> list[float]:
    """Microseconds of ``reps`` calls of ``op``, each timed alone (GC off meanwhile)."""
    gc.collect()
    gc.disable()
    try:
        out = []
        for _ in range(reps):
            start = time.perf_counter_ns()
            op()
            out.append((time.perf_counter_ns() - start) / 1000)
        return out
    finally:
        gc.enable()


def timed_s(op: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    op()
    return time.perf_counter() - start


def ratio(hybrid: float, baseline: float) -> str:
    return f"{hybrid / baseline:.2f}x" if baseline > 0 else "-"


def table(title: str, header: Sequence[str], rows: list[list[str]], text_columns: int = 1) -> None:
    """A Markdown table: the first ``text_columns`` columns left, numbers right."""
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i < text_columns else "---:" for i in range(len(header))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


# --- (a) one recipient ------------------------------------------------------------------


def part_a(runs: int, reps: int) -> None:
    string_reps = max(2, reps // 10)  # a hybrid string is ~1,960 characters of Bech32
    ops: dict[str, dict[str, Callable[[], object]]] = {}
    sizes: dict[str, tuple[int, int, int]] = {}
    for kind in KINDS:
        identity, other = kind.generate(), kind.generate()
        recipient = identity.recipient
        text = recipient.to_string()
        stanza = recipient.wrap(FILE_KEY)
        foreign = other.recipient.wrap(FILE_KEY)
        assert identity.unwrap((stanza,)) == FILE_KEY
        assert identity.unwrap((foreign,)) is None
        ops[kind.name] = {
            "wrap one file key (encapsulate)": partial(recipient.wrap, FILE_KEY),
            "unwrap its stanza (decapsulate)": partial(identity.unwrap, (stanza,)),
            "unwrap another key's stanza (None)": partial(identity.unwrap, (foreign,)),
            "parse_recipient of the string": partial(age.parse_recipient, text),
            "is_recipient_string (manifest check)": partial(age.is_recipient_string, text),
        }
        sizes[kind.name] = (len(text), len(identity.to_string()), len(stanza.encode()))
    samples: dict[tuple[str, str], list[float]] = {}
    for run in range(runs):
        for kind in rotated(KINDS, run):
            for label, op in ops[kind.name].items():
                n = string_reps if label.startswith(("parse", "is_")) else reps
                samples.setdefault((kind.name, label), []).extend(sample_us(op, n))
    rows = []
    for label in ops[BASELINE]:
        base = statistics.median(samples[(BASELINE, label)])
        hyb = statistics.median(samples[(HYBRID, label)])
        rows.append([label, f"{base:,.1f}", f"{hyb:,.1f}", ratio(hyb, base)])
    table(
        f"(a) one recipient, median µs ({runs} runs x {reps} calls; string rows"
        f" {runs} x {string_reps})",
        ["operation", f"{BASELINE} µs (baseline)", f"{HYBRID} µs", "ratio"],
        rows,
    )
    rows = [
        [what, f"{sizes[BASELINE][i]:,}", f"{sizes[HYBRID][i]:,}"]
        for i, what in enumerate(
            ("recipient string, characters", "identity string, characters", "stanza, bytes")
        )
    ]
    table("sizes", ["what", BASELINE, HYBRID], rows)


# --- (b) a header of N recipients -------------------------------------------------------


def part_b(runs: int, reps: int, counts: Sequence[int], payload_size: int) -> None:
    payload = os.urandom(payload_size)
    rows = []
    for n in counts:
        per_run = max(5, reps // max(n, 1))
        ops: dict[str, dict[str, Callable[[], object]]] = {}
        header_bytes: dict[str, int] = {}
        for kind in KINDS:
            identities = [kind.generate() for _ in range(n)]
            recipients = [i.recipient for i in identities]
            last = [identities[-1]]
            data = age.encrypt(payload, recipients)
            assert age.decrypt(data, last) == payload
            header_bytes[kind.name] = age.parse_header(data).length
            ops[kind.name] = {
                "encrypt": partial(age.encrypt, payload, recipients),
                "decrypt (last stanza)": partial(age.decrypt, data, last),
            }
        samples: dict[tuple[str, str], list[float]] = {}
        for run in range(runs):
            for kind in rotated(KINDS, run):
                for label, op in ops[kind.name].items():
                    samples.setdefault((kind.name, label), []).extend(sample_us(op, per_run))
        medians = {key: statistics.median(v) / 1000 for key, v in samples.items()}
        for label in (*ops[BASELINE], "encrypt + decrypt"):
            if label == "encrypt + decrypt":
                base = sum(v for (k, _), v in medians.items() if k == BASELINE)
                hyb = sum(v for (k, _), v in medians.items() if k == HYBRID)
            else:
                base, hyb = medians[(BASELINE, label)], medians[(HYBRID, label)]
            rows.append(
                [
                    str(n),
                    label,
                    f"{base:,.3f}",
                    f"{hyb:,.3f}",
                    ratio(hyb, base),
                    f"{header_bytes[BASELINE]:,} / {header_bytes[HYBRID]:,}",
                ]
            )
    table(
        f"(b) a header of N recipients, {payload_size:,}-byte payload, median ms"
        f" ({runs} runs; encrypt + decrypt = sum of the two medians)",
        [
            "recipients",
            "operation",
            f"{BASELINE} ms (baseline)",
            f"{HYBRID} ms",
            "ratio",
            "header bytes X25519 / hybrid",
        ],
        rows,
        text_columns=2,
    )


# --- (c) an export at the age layer -----------------------------------------------------


def _check_strings(strings: list[list[str]]) -> None:
    for row in strings:
        for text in row:
            assert age.is_recipient_string(text)


def _parse_strings(strings: list[list[str]], out: list[list[age.PublicRecipient]]) -> None:
    out.extend([age.parse_recipient(t) for t in row] for row in strings)


def _encrypt_files(
    payload: bytes, recipients: list[list[age.PublicRecipient]], out: list[bytes]
) -> None:
    out.extend(age.encrypt(payload, r) for r in recipients)


def _decrypt_files(files: list[bytes], identities: list[list[age.SecretIdentity]]) -> None:
    for data, ids in zip(files, identities, strict=True):
        age.decrypt(data, [ids[-1]])


def part_c(runs: int, municipalities: int, per_file: int, payload_size: int) -> None:
    payload = os.urandom(payload_size)
    setup_start = time.perf_counter()
    keys: dict[str, list[list[age.SecretIdentity]]] = {}
    texts: dict[str, list[list[str]]] = {}
    for kind in KINDS:
        keys[kind.name] = [
            [kind.generate() for _ in range(per_file)] for _ in range(municipalities)
        ]
        texts[kind.name] = [[i.recipient.to_string() for i in ids] for ids in keys[kind.name]]
    print(
        f"\n(c) setup, not timed: {municipalities * per_file:,} identities of each kind"
        f" ({time.perf_counter() - setup_start:.1f} s)"
    )
    phases = ("check strings", "parse strings", "encrypt", "decrypt (last recipient)")
    totals: dict[tuple[str, str], list[float]] = {}
    sizes: dict[str, int] = {}
    for run in range(runs):
        for kind in rotated(KINDS, run):
            strings, identities = texts[kind.name], keys[kind.name]
            parsed: list[list[age.PublicRecipient]] = []
            files: list[bytes] = []
            steps: tuple[Callable[[], object], ...] = (
                partial(_check_strings, strings),
                partial(_parse_strings, strings, parsed),
                partial(_encrypt_files, payload, parsed, files),
                partial(_decrypt_files, files, identities),
            )
            for phase, op in zip(phases, steps, strict=True):
                totals.setdefault((kind.name, phase), []).append(timed_s(op))
            sizes[kind.name] = sum(len(f) for f in files)
    medians = {key: statistics.median(v) for key, v in totals.items()}
    rows = []
    for phase in (*phases[:3], "export's age layer (check + parse + encrypt)", phases[3]):
        if phase.startswith("export's"):
            base = sum(medians[(BASELINE, p)] for p in phases[:3])
            hyb = sum(medians[(HYBRID, p)] for p in phases[:3])
            label = f"**{phase}**"
        else:
            base, hyb = medians[(BASELINE, phase)], medians[(HYBRID, phase)]
            label = phase
        rows.append(
            [
                label,
                f"{base:.3f}",
                f"{hyb:.3f}",
                ratio(hyb, base),
                f"{base / municipalities * 1000:.2f} / {hyb / municipalities * 1000:.2f}",
            ]
        )
    table(
        f"(c) export at the age layer: {municipalities} files x {per_file} recipients,"
        f" {payload_size:,}-byte payload, median seconds of {runs} runs",
        [
            "phase",
            f"{BASELINE} s (baseline)",
            f"{HYBRID} s",
            "ratio",
            "ms per file X25519 / hybrid",
        ],
        rows,
    )
    extra = sizes[HYBRID] - sizes[BASELINE]
    print(
        f"\nbytes written: {sizes[BASELINE]:,} ({BASELINE}) / {sizes[HYBRID]:,} ({HYBRID}),"
        f" +{extra:,} bytes, +{extra / municipalities:,.0f} a file"
        f" (+{extra / sizes[BASELINE] * 100:.1f}%)"
    )


# --- (d) payload throughput -------------------------------------------------------------


def run_timed(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = b""
    if proc.stderr is not None:
        stderr = proc.stderr.read()
        proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[0]} failed: {stderr.decode(errors='replace').strip()}")
    return elapsed, usage.ru_utime + usage.ru_stime


def part_d(runs: int, size_mib: int) -> None:
    age_bin = shutil.which("age")
    age_label = "age binary"
    if age_bin:
        version = subprocess.run(
            [age_bin, "--version"], check=False, capture_output=True, text=True
        )
        age_label = f"age {version.stdout.strip() or '?'} binary ({BASELINE})"
    hyb, base = f"ours, {HYBRID}", f"ours, {BASELINE}"
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        plain, report = d / "plain", d / "report"
        make_plaintext(plain, size_mib)
        tools: dict[str, dict[str, list[str]]] = {}
        for kind in KINDS:
            identity = kind.generate()
            key, cipher = d / f"{kind.name}.key", d / f"{kind.name}.age"
            key.write_text(identity.to_string() + "\n")
            with plain.open("rb") as fin, cipher.open("wb") as fout:
                age.encrypt_stream(fin, fout, [identity.recipient])
            tools[f"ours, {kind.name}"] = {
                mode: [sys.executable, "-c", OURS, mode, str(src), str(key), str(report)]
                for mode, src in (("encrypt", plain), ("decrypt", cipher))
            }
            if age_bin and kind.name == BASELINE:
                tools[age_label] = {
                    "encrypt": [
                        age_bin,
                        "-r",
                        identity.recipient.to_string(),
                        "-o",
                        "/dev/null",
                        str(plain),
                    ],
                    "decrypt": [age_bin, "-d", "-i", str(key), "-o", "/dev/null", str(cipher)],
                }
        # MB/s three ways: wall clock of the process, the streaming call alone (ours),
        # and MB per CPU second of the process (less moved by other work than wall time).
        wall: dict[tuple[str, str], list[float]] = {}
        inner: dict[tuple[str, str], list[float]] = {}
        cpu: dict[tuple[str, str], list[float]] = {}
        size_mb = size_mib * MIB / 1e6
        for run in range(runs):
            for tool, modes in rotated(list(tools.items()), run):
                for mode, argv in modes.items():
                    seconds, cpu_seconds = run_timed(argv)
                    wall.setdefault((tool, mode), []).append(size_mb / seconds)
                    cpu.setdefault((tool, mode), []).append(size_mb / cpu_seconds)
                    if tool.startswith("ours"):
                        inside = float(report.read_text())
                        inner.setdefault((tool, mode), []).append(size_mb / inside)
    med = {key: statistics.median(v) for key, v in wall.items()}
    ins = {key: statistics.median(v) for key, v in inner.items()}
    per_cpu = {key: statistics.median(v) for key, v in cpu.items()}
    rows = [
        [
            tool,
            mode,
            f"{med[(tool, mode)]:,.0f}",
            f"{ins[(tool, mode)]:,.0f}" if (tool, mode) in ins else "",
            f"{per_cpu[(tool, mode)]:,.0f}",
        ]
        for (tool, mode) in wall
    ]
    table(
        f"(d) payload, {size_mib} MiB random file, one recipient, median MB/s of {runs} runs",
        [
            "tool",
            "mode",
            "wall MB/s (process)",
            "in-process MB/s (streaming call)",
            "MB per CPU s (process)",
        ],
        rows,
        text_columns=2,
    )
    rows = []
    for mode in ("encrypt", "decrypt"):
        row = [
            mode,
            ratio(med[(hyb, mode)], med[(base, mode)]),
            ratio(ins[(hyb, mode)], ins[(base, mode)]),
            ratio(per_cpu[(hyb, mode)], per_cpu[(base, mode)]),
        ]
        if (age_label, mode) in med:
            theirs = med[(age_label, mode)]
            row += [
                ratio(med[(base, mode)], theirs),
                ratio(med[(hyb, mode)], theirs),
                ratio(ins[(base, mode)], theirs),
                ratio(ins[(hyb, mode)], theirs),
            ]
        else:
            row += ["-"] * 4
        rows.append(row)
    table(
        "(d) ratios of the medians (speed: above 1 is faster than the baseline)",
        [
            "mode",
            "hybrid / X25519 wall",
            "hybrid / X25519 in-process",
            "hybrid / X25519 per CPU s",
            "ours X25519 / age wall",
            "ours hybrid / age wall",
            "ours X25519 in-process / age wall",
            "ours hybrid in-process / age wall",
        ],
        rows,
    )
    if not age_bin:
        print("\nage binary not found: no ratios against it")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", default="abcd", help="which parts to run (default abcd)")
    parser.add_argument("--runs", type=int, default=7, help="runs of (a) and (b)")
    parser.add_argument("--reps", type=int, default=200, help="calls per run in (a), (b)")
    parser.add_argument(
        "--recipients", default="1,5,64", help="header sizes of (b), comma-separated"
    )
    parser.add_argument("--small-payload", type=int, default=1024, help="bytes, (b)")
    parser.add_argument("--municipalities", type=int, default=300, help="files of (c)")
    parser.add_argument("--per-file", type=int, default=5, help="recipients a file, (c)")
    parser.add_argument("--payload-bytes", type=int, default=50_000, help="a file, (c)")
    parser.add_argument("--export-runs", type=int, default=3, help="runs of (c)")
    parser.add_argument("--size-mib", type=int, default=64, help="file of (d)")
    parser.add_argument("--payload-runs", type=int, default=7, help="runs of (d)")
    parser.add_argument("--small", action="store_true", help="smoke sizes (seconds)")
    args = parser.parse_args()
    if args.small:
        args.runs, args.reps, args.recipients = 1, 10, "1,5"
        args.municipalities, args.export_runs = 5, 1
        args.size_mib, args.payload_runs = 4, 1
    counts = [int(n) for n in args.recipients.split(",") if n.strip()]

    try:
        age.MLKEM768X25519Identity.generate()
    except Exception as exc:  # an OpenSSL without ML-KEM
        raise SystemExit(f"mlkem768x25519 is not available here ({exc!r})") from None
    import cryptography
    from cryptography.hazmat.backends.openssl import backend

    print(f"machine: {machine()}")
    print(f"securexchange from {Path(age.__file__).parent.parent}")
    print(
        f"cryptography {cryptography.__version__}, {backend.openssl_version_text()};"
        f" 1-minute load average at start: {os.getloadavg()[0]:.2f}"
    )
    if "a" in args.parts:
        part_a(args.runs, args.reps)
    if "b" in args.parts:
        part_b(args.runs, args.reps, counts, args.small_payload)
    if "c" in args.parts:
        part_c(args.export_runs, args.municipalities, args.per_file, args.payload_bytes)
    if "d" in args.parts:
        part_d(args.payload_runs, args.size_mib)
    print(f"\n1-minute load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
