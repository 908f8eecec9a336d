"""A master read a chunk of rows at a time gives exactly what reading a row at a time
gives: the same rows, the same problems in the same order, the same stop, and the same
error of the file, wherever the chunks end."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from securexchange import schema
from securexchange.errors import SxError
from securexchange.intake import rows
from securexchange.intake.master import MasterProblems, read_master
from securexchange.intake.sample import csv_bytes, generate_master
from securexchange.sheets.master_write import xlsx_bytes

H = schema.MASTER_HEADERS
ROWS = 3 * rows.CHUNK_ROWS + 123  # four chunks, the last one short


def spoiled(every: int, start: int = 0) -> list[tuple[str | date, ...]]:
    """A sample master with one row in ``every`` spoiled, in a way that varies."""
    table: list[list[str | date]] = [list(r) for r in generate_master(ROWS, seed=3)]
    spoils = [
        ("Telefoon", "12"),
        ("E-mail", "-jan@gent.be"),  # the library's yes, the stored form's no
        ("Status MO", "?"),
        ("Naam", "=1+1"),
        ("NIS-code", "99999"),
        ("Klant-ID", "K10000001"),  # repeated
    ]
    for n, i in enumerate(range(1 + start, len(table), every)):
        header, value = spoils[n % len(spoils)]
        table[i][H.index(header)] = value
    return [tuple(r) for r in table]


def outcome(path: Path, **kwargs: object) -> object:
    try:
        result = read_master(path, **kwargs)  # type: ignore[arg-type]
    except SxError as exc:
        problems = exc.problems if isinstance(exc, MasterProblems) else None
        return (type(exc).__name__, exc.message, problems)
    return result


@pytest.mark.parametrize("skip_invalid", [False, True])
@pytest.mark.parametrize("every", [997, 5])  # a few problems; more than the cap
def test_a_master_read_in_chunks_gives_what_reading_a_row_at_a_time_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, skip_invalid: bool, every: int
) -> None:
    path = tmp_path / "m.xlsx"
    path.write_bytes(xlsx_bytes(spoiled(every)))
    chunked = outcome(path, skip_invalid=skip_invalid)
    monkeypatch.setattr(rows, "CHUNK_ROWS", 1)
    assert outcome(path, skip_invalid=skip_invalid) == chunked
    if skip_invalid:
        assert chunked.problems and chunked.rows  # type: ignore[attr-defined]


@pytest.mark.parametrize("every", [997, 3])
def test_a_csv_row_over_the_caps_is_refused_after_the_rows_before_it_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every: int
) -> None:
    table = spoiled(every)
    too_wide = (*table[ROWS - 50], *["x"] * 60)
    path = tmp_path / "m.csv"
    path.write_bytes(csv_bytes([*table[: ROWS - 50], too_wide, *table[ROWS - 50 :]]))
    chunked = outcome(path)
    # A few problems: the file's error wins; over the cap: reading stopped before it.
    assert chunked[0] == ("HostileFile" if every == 997 else "MasterProblems")  # type: ignore[index]
    monkeypatch.setattr(rows, "CHUNK_ROWS", 1)
    assert outcome(path) == chunked


def test_reading_stops_at_the_cap_in_the_rows_just_before_a_refused_csv_row(
    tmp_path: Path,
) -> None:
    # 999 problems in the first chunks; the 1000th and 1001st in a row of the last,
    # short chunk, just before the row over the caps: reading stops there, as it did
    # when rows were read one at a time, and the file's error is never reached.
    table = [list(r) for r in generate_master(ROWS, seed=5)]
    for i in range(1, 1000):
        table[i][H.index("Status MO")] = "?"
    table[ROWS - 60][H.index("Status MO")] = "?"
    table[ROWS - 60][H.index("Naam")] = "=1+1"
    too_wide = [*table[ROWS - 50], *["x"] * 60]
    path = tmp_path / "m.csv"
    path.write_bytes(csv_bytes([tuple(r) for r in [*table[: ROWS - 50], too_wide]]))
    with pytest.raises(MasterProblems) as caught:
        read_master(path)
    assert caught.value.stopped
    assert len(caught.value.problems) == 999  # the stopping row's own are not kept
