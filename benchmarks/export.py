"""Export benchmark: `agency export` end to end against bare openpyxl workbooks.

Run: ``python benchmarks/export.py [--records N] [--municipalities M] [--runs R]
[--workers W] [--recipients K] [--compare-pq]`` (default 100,000 records over 300
municipalities, 1 recipient each, 1 run), or ``--small`` for a CI smoke run (3,000
records over 30 municipalities).

Setup (not timed): a synthetic master (``securexchange.intake.sample``, .xlsx), an agency home
(demo, so no passphrase) with every municipality of the master registered and
``--recipients`` staff each, as new homes make them (a hybrid post-quantum subkey and its
classic companion per period), so every package is hybrid only. The registry is filled
through its tables and signed as one keyring version, because 600 one-by-one keyring
changes would take longer than the benchmark.

``--compare-pq`` also sets up a second agency whose staff hold classic X25519 subkeys
only (as homes made before issue 18), with the same master, and times its export in each
run too: the row "classic X25519" is the baseline of the post-quantum ratio (hybrid /
classic, the same run).

Timed, each in a fresh child process (so the setup's memory does not count):

* ``bare``: openpyxl write-only workbooks, one per municipality, the same rows and the
  16 workbook columns as plain values, saved to memory (the baseline);
* ``ours``: ``export_master`` from the master file to the signed, encrypted packages on
  disk: intake and validation, record ids, retention, the styled and protected
  workbooks (in worker processes), age, SSHSIG, staging, the transaction, publication.

Targets: ours <= 1.5x bare; peak RSS of our main process <= 300 MiB and not growing with
the number of municipalities (RSS is sampled after each package: the last sample should
be close to the first). Prints a table and the ratios.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import machine

TARGET_RATIO = 1.5
TARGET_RSS_MIB = 300


def _rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (workers)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


# --- setup (parent, not timed) ------------------------------------------------------


def _staff(nis: str, number: int, now: object, *, post_quantum: bool) -> tuple[str, bytes]:
    """A staff member's fingerprint digest (hex) and card: hybrid as a home makes it
    now, or classic only as a home made before issue 18."""
    from datetime import datetime

    from securexchange.keys.card import make_card
    from securexchange.keys.identity import Owner, generate_identity, period_end

    assert isinstance(now, datetime)
    owner = Owner(f"Staff {number}", "integratiebeambte", nis)
    if post_quantum:
        staff = generate_identity(owner, now=now, demo=True)
    else:
        staff = generate_identity(owner, now=now, demo=True, subkeys=False).add_subkey(
            now, period_end(now), post_quantum=False
        )
    return staff.fingerprint.digest.hex(), make_card(staff, now=now)


def setup(
    directory: Path,
    records: int,
    municipalities: int,
    *,
    recipients: int = 1,
    post_quantum: bool = True,
    name: str = "agency",
) -> tuple[Path, Path, list[str]]:
    from datetime import date

    from securexchange.agency.changes import init_agency
    from securexchange.agency.registry import (
        MUNICIPALITY_COLUMNS,
        new_party_id,
        new_protocol_id,
        sign_change,
        unlock_root,
    )
    from securexchange.clock import format_instant
    from securexchange.home import statedb
    from securexchange.home.home import HomeKind, open_home
    from securexchange.intake.sample import generate_master, write_master
    from securexchange.keys.keyfile import DEMO_PASSPHRASE
    from securexchange.keys.keystore import KeySource

    master = directory / "master.xlsx"
    rows = generate_master(records, municipalities=municipalities, seed=1)
    if not master.exists():
        write_master(rows, master)
    nis_column = rows[0].index("NIS-code")
    codes = sorted({str(row[nis_column]) for row in rows[1:]})
    agency = directory / name
    init_agency(
        agency,
        env={},
        name="AgII",
        demo=True,
        root_passphrase=DEMO_PASSPHRASE,
        export_passphrase=DEMO_PASSPHRASE,
        work_factor=10,
    )
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        now = home.now
        root = unlock_root(home, KeySource(agency / "keys" / "root.key", lambda: DEMO_PASSPHRASE))
        with statedb.transaction(home.db):
            for nis in codes:
                party = new_party_id()
                home.db.execute(
                    f"INSERT INTO agency_municipalities ({MUNICIPALITY_COLUMNS}, added_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        party,
                        nis,
                        f"Gemeente {nis}",
                        new_protocol_id(),
                        now.date().isoformat(),
                        date(2099, 12, 31).isoformat(),
                        6,
                        "[]",
                        None,
                        format_instant(now),
                    ),
                )
                for number in range(recipients):
                    digest, card = _staff(nis, number, now, post_quantum=post_quantum)
                    home.db.execute(
                        "INSERT INTO agency_recipients (party_id, fingerprint, card, "
                        "card_created_at, added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            party,
                            digest,
                            card,
                            format_instant(now),
                            format_instant(now),
                            format_instant(now),
                        ),
                    )
            sign_change(
                home,
                root,
                municipalities_added=len(codes),
                recipients_added=len(codes) * recipients,
            )
    return master, agency, codes


# --- children (timed) -----------------------------------------------------------------


def child_bare(master: Path) -> dict[str, object]:
    from securexchange.intake.master import read_master

    rows = read_master(master).rows  # the same rows; reading is not part of the baseline
    groups: dict[str, list[list[str]]] = {}
    for row in rows:
        r = row.record
        groups.setdefault(row.nis, []).append(
            [
                "R-" + row.client_id,
                r.naam,
                r.voornaam,
                r.adres,
                r.postcode,
                r.gemeente,
                r.telefoon,
                r.email,
                r.contacttaal,
                r.niveau_nederlands,
                r.status_mo,
                "; ".join(r.interesses),
                "2027-01-01",
                "nog niet gecontacteerd",
                "",
                "",
            ]
        )
    from openpyxl import Workbook

    start = time.perf_counter()
    cpu_start = _cpu_seconds()
    first_rss = None
    for values in groups.values():
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Inburgeraars")
        ws.append(["record-id", *(f"col{i}" for i in range(15))])
        for value in values:
            ws.append(value)
        out = io.BytesIO()
        wb.save(out)
        if first_rss is None:
            first_rss = _rss_mib()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cpu": _cpu_seconds() - cpu_start,
        "workbooks": len(groups),
        "rss_first": first_rss,
        "rss_last": _rss_mib(),
        "peak_self": _peak_mib(resource.RUSAGE_SELF),
        "peak_children": 0.0,
    }


def child_ours(master: Path, agency: Path, out: Path, workers: int | None) -> dict[str, object]:
    from securexchange.agency.export import export_master
    from securexchange.agency.export_result import ExportOptions
    from securexchange.home.home import HomeKind, open_home
    from securexchange.keys.keyfile import DEMO_PASSPHRASE
    from securexchange.keys.keystore import KeySource

    samples: list[float] = []

    def progress(done: int, total: int) -> None:
        if done:
            samples.append(_rss_mib())

    start = time.perf_counter()
    cpu_start = _cpu_seconds()
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        result = export_master(
            home,
            master,
            out,
            export_key=KeySource(agency / "keys" / "export.key", lambda: DEMO_PASSPHRASE),
            options=ExportOptions(workers=workers),
            progress=progress,
        )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cpu": _cpu_seconds() - cpu_start,
        "workbooks": len(result.packages),
        "records": result.records,
        "rss_first": samples[0] if samples else None,
        "rss_last": samples[-1] if samples else None,
        "peak_self": _peak_mib(resource.RUSAGE_SELF),
        "peak_children": _peak_mib(resource.RUSAGE_CHILDREN),
    }


def run_child(*args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    value: dict[str, object] = json.loads(proc.stdout.splitlines()[-1])
    return value


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        if kind == "bare":
            value = child_bare(Path(rest[0]))
        else:
            workers = None if rest[3] == "auto" else int(rest[3])
            value = child_ours(Path(rest[0]), Path(rest[1]), Path(rest[2]), workers)
        print(json.dumps(value))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--municipalities", type=int, default=300)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workers", default="auto", help="worker processes, or 'auto'")
    parser.add_argument("--small", action="store_true", help="CI smoke: 3,000 over 30")
    parser.add_argument("--recipients", type=int, default=1, help="staff per municipality")
    parser.add_argument(
        "--compare-pq",
        action="store_true",
        help="also export to classic X25519 staff each run (the post-quantum baseline)",
    )
    args = parser.parse_args()
    if args.small:
        args.records, args.municipalities = 3000, 30
    print(f"machine: {machine()}")
    print(f"command: python benchmarks/export.py {' '.join(sys.argv[1:])}".rstrip())
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        master, agency, codes = setup(
            Path(directory), args.records, args.municipalities, recipients=args.recipients
        )
        classic_agency = None
        if args.compare_pq:
            _, classic_agency, _ = setup(
                Path(directory),
                args.records,
                args.municipalities,
                recipients=args.recipients,
                post_quantum=False,
                name="agency-classic",
            )
        print(
            f"setup: {len(codes)} municipalities x {args.recipients} recipient(s), "
            f"{time.perf_counter() - start:.1f} s"
        )
        print()
        print(
            "| run | load | operation | workbooks | seconds | records/s | ratio | CPU s | "
            "CPU ratio | peak RSS main | peak RSS worker | RSS after first / last workbook |"
        )
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        failed = False
        ratios: list[float] = []
        pq_ratios: list[tuple[float, float]] = []
        peaks: list[float] = []
        for run in range(1, args.runs + 1):
            load = os.getloadavg()[0]
            bare = run_child("bare", str(master))
            out = Path(directory) / f"out{run}"
            ours = run_child("ours", str(master), str(agency), str(out), args.workers)
            ratio = float(ours["seconds"]) / float(bare["seconds"])  # type: ignore[arg-type]
            cpu_ratio = float(ours["cpu"]) / float(bare["cpu"])  # type: ignore[arg-type]
            rows = [
                ("bare openpyxl write-only (baseline)", bare, "1.00x", "1.00x"),
                ("agency export end to end", ours, f"{ratio:.2f}x", f"{cpu_ratio:.2f}x"),
            ]
            if classic_agency is not None:
                classic = run_child(
                    "ours",
                    str(master),
                    str(classic_agency),
                    str(Path(directory) / f"classic{run}"),
                    args.workers,
                )
                pq = float(ours["seconds"]) / float(classic["seconds"])  # type: ignore[arg-type]
                pq_cpu = float(ours["cpu"]) / float(classic["cpu"])  # type: ignore[arg-type]
                pq_ratios.append((pq, pq_cpu))
                rows[1] = (
                    "agency export, hybrid post-quantum recipients",
                    ours,
                    f"{ratio:.2f}x (pq {pq:.2f}x)",
                    f"{cpu_ratio:.2f}x (pq {pq_cpu:.2f}x)",
                )
                rows.insert(
                    1,
                    (
                        "agency export, classic X25519 recipients (pq baseline)",
                        classic,
                        f"{float(classic['seconds']) / float(bare['seconds']):.2f}x",  # type: ignore[arg-type]
                        f"{float(classic['cpu']) / float(bare['cpu']):.2f}x",  # type: ignore[arg-type]
                    ),
                )
            for name, value, shown, cpu_shown in rows:
                seconds = float(value["seconds"])  # type: ignore[arg-type]
                print(
                    f"| {run} | {load:.1f} | {name} | {value['workbooks']} | {seconds:.2f} | "
                    f"{args.records / seconds:,.0f} | {shown} | "
                    f"{float(value['cpu']):.1f} | {cpu_shown} | "  # type: ignore[arg-type]
                    f"{float(value['peak_self']):.0f} MiB | "  # type: ignore[arg-type]
                    f"{float(value['peak_children']):.0f} MiB | "  # type: ignore[arg-type]
                    f"{float(value['rss_first'] or 0):.0f} / "  # type: ignore[arg-type]
                    f"{float(value['rss_last'] or 0):.0f} MiB |"  # type: ignore[arg-type]
                )
            ratios.append(ratio)
            peaks.append(float(ours["peak_self"]))  # type: ignore[arg-type]
        # Other work on the machine moves single runs a lot: judge the median.
        ratio = statistics.median(ratios)
        peak = max(peaks)
        ok_ratio = ratio <= TARGET_RATIO
        ok_rss = peak <= TARGET_RSS_MIB
        failed = not (ok_ratio and ok_rss)
        print()
        if pq_ratios:
            print(
                "post-quantum: hybrid / classic export, median "
                f"{statistics.median(r for r, _ in pq_ratios):.2f}x wall, "
                f"{statistics.median(c for _, c in pq_ratios):.2f}x CPU over "
                f"{len(pq_ratios)} run(s)"
            )
        print(
            f"median ratio {ratio:.2f}x over {len(ratios)} run(s) (target <= {TARGET_RATIO}x: "
            f"{'ok' if ok_ratio else 'MISSED'}); peak RSS {peak:.0f} MiB "
            f"(target <= {TARGET_RSS_MIB} MiB: {'ok' if ok_rss else 'MISSED'})"
        )
    sys.exit(1 if failed and not args.small else 0)


if __name__ == "__main__":
    main()
