"""A large master read on two cores gives exactly what one process gives: the same rows,
the same problems in the same order, the same stop, and the same error of the file."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from securexchange import schema
from securexchange.errors import HostileFile, SxError
from securexchange.intake import pool
from securexchange.intake.csvread import CsvLimits
from securexchange.intake.master import MasterLimits, MasterProblems, read_master
from securexchange.intake.sample import csv_bytes, generate_master
from securexchange.sheets.master_write import xlsx_bytes

H = schema.MASTER_HEADERS
ROWS = 3 * pool.CHUNK_ROWS + 123  # four chunks, the last one short


def spoiled(every: int, start: int = 0) -> list[tuple[str | date, ...]]:
    """A sample master with one row in ``every`` spoiled, in a way that varies."""
    rows: list[list[str | date]] = [list(r) for r in generate_master(ROWS, seed=3)]
    spoils = [
        ("Telefoon", "12"),
        ("E-mail", "-jan@gent.be"),  # the library's yes, the stored form's no
        ("Status MO", "?"),
        ("Naam", "=1+1"),
        ("NIS-code", "99999"),
        ("Klant-ID", "K10000001"),  # repeated
    ]
    for n, i in enumerate(range(1 + start, len(rows), every)):
        header, value = spoils[n % len(spoils)]
        rows[i][H.index(header)] = value
    return [tuple(r) for r in rows]


def outcome(path: Path, workers: int, **kwargs: object) -> object:
    try:
        result = read_master(path, workers=workers, **kwargs)  # type: ignore[arg-type]
    except SxError as exc:
        problems = exc.problems if isinstance(exc, MasterProblems) else None
        return (type(exc).__name__, exc.message, problems)
    return result


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to compare")
@pytest.mark.parametrize("skip_invalid", [False, True])
@pytest.mark.parametrize("every", [997, 5])  # a few problems; more than the cap
def test_a_master_read_on_two_cores_gives_what_one_process_gives(
    tmp_path: Path, skip_invalid: bool, every: int
) -> None:
    path = tmp_path / "m.xlsx"
    path.write_bytes(xlsx_bytes(spoiled(every)))
    one = outcome(path, 1, skip_invalid=skip_invalid)
    assert outcome(path, 2, skip_invalid=skip_invalid) == one
    if skip_invalid:
        assert one.problems and one.rows  # type: ignore[attr-defined]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to compare")
@pytest.mark.parametrize("every", [997, 3])
def test_a_csv_row_over_the_caps_is_refused_after_the_rows_before_it_as_before(
    tmp_path: Path, every: int
) -> None:
    rows = spoiled(every)
    too_wide = (*rows[ROWS - 50], *["x"] * 60)
    path = tmp_path / "m.csv"
    path.write_bytes(csv_bytes([*rows[: ROWS - 50], too_wide, *rows[ROWS - 50 :]]))
    limits = MasterLimits(csv=CsvLimits(max_columns=64))
    one = outcome(path, 1, limits=limits)
    assert outcome(path, 2, limits=limits) == one
    # A few problems: the file's error wins; over the cap: reading stopped before it.
    assert one[0] == ("HostileFile" if every == 997 else "MasterProblems")  # type: ignore[index]


def test_a_small_master_or_one_worker_starts_no_process() -> None:
    with pool.worker_for(pool.MIN_BYTES_FOR_WORKER - 1) as none:
        assert none is None
    with pool.worker_for(10 * pool.MIN_BYTES_FOR_WORKER, workers=1) as none:
        assert none is None


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to compare")
def test_a_worker_that_dies_leaves_its_rows_to_this_process(tmp_path: Path) -> None:
    from securexchange.intake.rows import Columns, Plan

    rows = spoiled(997)
    numbered = [(n + 1, list(r)) for n, r in enumerate(rows)][1:]
    plan = Plan("Blad1", 1, len(H), tuple(enumerate(H)))
    expected = list(pool.outcomes(Columns(plan), numbered, None))
    with pool.worker_for(0, workers=2) as executor:
        assert executor is not None
        for process in list(executor._processes.values()):
            process.kill()
            process.join()
        assert list(pool.outcomes(Columns(plan), numbered, executor)) == expected


def test_a_hostile_file_is_refused_with_a_worker_started(tmp_path: Path) -> None:
    path = tmp_path / "m.xlsx"
    path.write_bytes(b"PK\x03\x04" + os.urandom(3 << 20))
    with pytest.raises(HostileFile):
        read_master(path, workers=2)
