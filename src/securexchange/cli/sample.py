"""``securexchange sample``: write a synthetic master (see :mod:`securexchange.intake.sample`)."""

from __future__ import annotations

from pathlib import Path

import click

from securexchange.cli.common import note, shown
from securexchange.errors import UsageError


def _codes(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [code.strip() for code in value.split(",") if code.strip()]


@click.command()
@click.option("--records", type=click.IntRange(0, 1_000_000), required=True, help="Rows.")
@click.option(
    "--nis", callback=_codes, default=None, metavar="CODE,...", help="Municipalities by NIS code."
)
@click.option(
    "--municipalities", type=click.IntRange(1), default=None, help="Pick M municipalities."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same data.")
@click.option("--hostile", is_flag=True, help="Add formula payloads, bad values, a bad column.")
@click.option(
    "--csv-dialect",
    type=click.Choice(["utf-8", "excel-be"]),
    default="utf-8",
    show_default=True,
    help="For .csv: UTF-8 with ',' or Belgian Excel (Windows-1252, ';').",
)
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), required=True, metavar="FILE"
)
def sample(
    *,
    records: int,
    nis: list[str] | None,
    municipalities: int | None,
    seed: int,
    hostile: bool,
    csv_dialect: str,
    out: Path,
) -> None:
    """Write realistic synthetic master data to FILE (.xlsx or .csv).

    \b
    Examples:
      securexchange sample --records 500 --municipalities 3 --out master.xlsx
      securexchange sample --records 50 --nis 11002,44021 --seed 7 --out master.csv
      securexchange sample --records 20 --hostile --out hostile.xlsx
    """
    from securexchange.intake.sample import generate_master, write_master

    if nis is not None and municipalities is not None:
        raise UsageError("give --nis or --municipalities, not both")
    rows = generate_master(
        records, nis=nis, municipalities=municipalities, seed=seed, hostile=hostile
    )
    write_master(rows, out, excel_be=csv_dialect == "excel-be")
    note(f"wrote {records} synthetic records to {shown(out)}" + (" (hostile)" if hostile else ""))
