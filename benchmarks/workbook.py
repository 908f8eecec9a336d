"""Workbook benchmark: the municipal workbook writer against bare openpyxl write-only.

Run: ``python benchmarks/workbook.py [--rows N] [--runs R]`` (default 100,000 rows,
3 runs, medians). The rows are synthetic records (not timed). In the same run it
measures:

* baseline: bare ``openpyxl.Workbook(write_only=True)``, one sheet, ``ws.append`` of the
  same 16 cell texts per row (prepared before timing; empty texts as None, so empty
  cells are skipped as in ours), ``save`` into a BytesIO. No banner, protection,
  validations, styles or properties; its sheet goes through a temp file in $TMPDIR,
  which is openpyxl's default.
* ours: ``write_workbook`` (banner, header styles, frozen panes, auto-filter, widths,
  sheet and workbook protection, unlocked styled editable cells, drop-downs, the
  Keuzelijsten sheet, custom properties, text-only cells, everything in memory).

Target: ours at most 1.15x the baseline. Exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import gc
import io
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date

from machine_info import machine
from securexchange import vocabularies
from securexchange.ids import record_id_from_digest
from securexchange.schema import Record
from securexchange.sheets.layout import QualityReport, WorkbookMeta, WorkbookRow
from securexchange.sheets.workbook import write_workbook

TARGET = 1.15

_SURNAMES = (
    "Haddad", "Peeters", "Nowak", "Yılmaz", "Okafor", "Dubois", "Ahmadi", "Janssens",
    "Mohammadi", "Kowalski", "Popescu", "Diallo", "Hussein", "Van den Broeck", "Ivanova",
)  # fmt: skip
_GIVEN = (
    "Omar", "Anna", "Piotr", "Elif", "Chidi", "Marie", "Farid", "Fatima", "Yusuf",
    "Olena", "Mamadou", "Aisha", "Mehmet", "Sara", "Ali",
)  # fmt: skip
_STREETS = (
    "Kerkstraat", "Stationsstraat", "Dorpsstraat", "Molenstraat", "Nieuwstraat",
    "Sint-Pietersnieuwstraat", "Brugsesteenweg", "Kortrijksesteenweg",
)  # fmt: skip
_PLACES = (("9000", "Gent"), ("2000", "Antwerpen"), ("3000", "Leuven"), ("8000", "Brugge"))


def synthetic_rows(count: int, seed: int = 1) -> list[WorkbookRow]:
    rng = random.Random(seed)
    interests = vocabularies.INTERESTS.values[:-1]
    rows = []
    for i in range(count):
        postcode, place = rng.choice(_PLACES)
        surname, given = rng.choice(_SURNAMES), rng.choice(_GIVEN)
        chosen = tuple(v for v in interests if rng.random() < 0.2) or ("geen",)
        record = Record(
            naam=surname,
            voornaam=given,
            adres=f"{rng.choice(_STREETS)} {rng.randint(1, 250)}",
            postcode=postcode,
            gemeente=place,
            telefoon=f"+32{rng.randint(470_000_000, 499_999_999)}" if rng.random() < 0.9 else "",
            email=f"{given.lower()}.{i}@example.be" if rng.random() < 0.7 else "",
            contacttaal=rng.choice(vocabularies.CONTACT_LANGUAGES.values),
            niveau_nederlands=rng.choice(vocabularies.DUTCH_LEVELS.values),
            status_mo=rng.choice(vocabularies.MO_STATUSES.values),
            interesses=chosen,
        )
        rows.append(
            WorkbookRow(
                record_id=record_id_from_digest(rng.randbytes(16)),
                record=record,
                retention=date(2027, rng.randint(1, 12), 1),
                status=rng.choice(vocabularies.ACTIVITY_STATUSES.values),
                quality=QualityReport("Telefoon", "foutief") if rng.random() < 0.02 else None,
                outcome="gecorrigeerd" if rng.random() < 0.01 else None,
            )
        )
    return rows


def _timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call (CPU time is what other work on a shared
    machine disturbs least)."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    import openpyxl

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    rows = synthetic_rows(args.rows)
    table = [[text or None for text in row.cells()] for row in rows]
    meta = WorkbookMeta(
        package_id="pkg-" + "a" * 26,
        nis="44021",
        municipality="Gent",
        destroy_by=date(2027, 12, 1),
        demo=False,
    )
    sizes: dict[str, int] = {}

    def bare() -> None:
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("Inburgeraars")
        for values in table:
            sheet.append(values)
        out = io.BytesIO()
        book.save(out)
        sizes["bare"] = len(out.getvalue())

    def ours() -> None:
        sizes["ours"] = len(write_workbook(rows, meta))

    # Interleaved, so that load from other work on the machine hits both alike.
    bare_samples: list[tuple[float, float]] = []
    ours_samples: list[tuple[float, float]] = []
    for _ in range(args.runs):
        bare_samples.append(_timed(bare))
        ours_samples.append(_timed(ours))
    bare_s = statistics.median(wall for wall, _ in bare_samples)
    ours_s = statistics.median(wall for wall, _ in ours_samples)
    bare_cpu = statistics.median(cpu for _, cpu in bare_samples)
    ours_cpu = statistics.median(cpu for _, cpu in ours_samples)
    ratio = ours_s / bare_s

    print(f"machine: {machine()}, openpyxl {openpyxl.__version__}, lxml {openpyxl.LXML}")
    print(f"command: python benchmarks/workbook.py {' '.join(sys.argv[1:])}".rstrip())
    print()
    print(
        "| operation | rows | wall s (median) | wall s per run | rows/s | CPU s (median) "
        "| .xlsx MB | ratio wall | ratio CPU | target (wall) |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---|")
    for name, seconds, cpu, samples, key, verdict in (
        ("bare openpyxl write-only (baseline)", bare_s, bare_cpu, bare_samples, "bare", "baseline"),
        (
            "write_workbook (banner, protection, lists, in memory)",
            ours_s,
            ours_cpu,
            ours_samples,
            "ours",
            f"<= {TARGET:g}x: {'ok' if ratio <= TARGET else 'MISSED'}",
        ),
    ):
        runs = " / ".join(f"{wall:.2f}" for wall, _ in samples)
        print(
            f"| {name} | {args.rows:,} | {seconds:.2f} | {runs} | {args.rows / seconds:,.0f} | "
            f"{cpu:.2f} | {sizes[key] / 1e6:.1f} | {seconds / bare_s:.2f}x | "
            f"{cpu / bare_cpu:.2f}x | {verdict} |"
        )
    sys.exit(0 if ratio <= TARGET else 1)


if __name__ == "__main__":
    main()
