"""Reading master CSV files in the dialects Belgian offices produce.

Two dialects are recognised, without asking the user:

* UTF-8, with or without a byte-order mark (what most systems export);
* Windows-1252, as Excel writes "CSV (gescheiden door lijstscheidingsteken)" on a
  Belgian Windows: the list separator is ';' because ',' is the decimal separator.

The encoding is UTF-8 when the bytes decode as strict UTF-8 (a Windows-1252 file with
any accented letter does not), otherwise Windows-1252. The delimiter is whichever of
';', ',' and TAB splits the header row into the most columns. Sizes are capped before
anything is parsed; problems never quote the file's content.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from securexchange.errors import HostileFile, InvalidMaster
from securexchange.home.atomicio import read_capped

_DELIMITERS = (";", ",", "\t")


@dataclass(frozen=True)
class CsvLimits:
    max_file_bytes: int = 128 << 20
    max_rows: int = 120_000
    max_columns: int = 64
    max_field_chars: int = 4096

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"CsvLimits.{name} must be a positive integer")


@dataclass(frozen=True)
class CsvText:
    """A decoded CSV file and the dialect it was found to have."""

    text: str
    encoding: str  # "utf-8", "utf-8-sig" or "cp1252"
    delimiter: str


def decode(path: Path, limits: CsvLimits) -> CsvText:
    """Read, size-check and decode a CSV file, and detect its delimiter."""
    what = path.name
    data = read_capped(path, limit=limits.max_file_bytes, what="master", too_large=HostileFile)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidMaster(f"{what} is UTF-16; save it as UTF-8 or as Excel's CSV")
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        try:
            data.decode("utf-8", errors="strict")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"
    try:
        text = data.decode(encoding, errors="strict")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; such a file is neither dialect.
        raise InvalidMaster(f"{what} is neither UTF-8 nor Windows-1252 text") from None
    if "\x00" in text:
        raise InvalidMaster(f"{what} contains NUL bytes: not a text file")
    # Count lines before parsing anything: a value with a line break is refused anyway,
    # so an acceptable file has one record a line, and a million-row file fails here.
    if text.count("\n") > limits.max_rows + 1:
        raise HostileFile(
            f"{what} has more than {limits.max_rows} rows",
            hint="split the master or raise the row limit",
        )
    first_line = text.split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=first_line.count)
    return CsvText(text=text, encoding=encoding, delimiter=delimiter)


def rows(source: CsvText, what: str, limits: CsvLimits) -> Iterator[tuple[int, list[str]]]:
    """(1-based line-of-record number, cells) for every record, header included."""
    reader = csv.reader(
        io.StringIO(source.text, newline=""),
        delimiter=source.delimiter,
        quotechar='"',
        doublequote=True,
        strict=True,
    )
    number = 0
    try:
        for cells in reader:
            number += 1
            if number > limits.max_rows + 1:
                raise HostileFile(
                    f"{what} has more than {limits.max_rows} rows",
                    hint="split the master or raise the row limit",
                )
            if len(cells) > limits.max_columns:
                raise HostileFile(
                    f"{what}: row {number} has more than {limits.max_columns} columns"
                )
            if any(len(cell) > limits.max_field_chars for cell in cells):
                raise HostileFile(
                    f"{what}: row {number} has a cell longer than {limits.max_field_chars} "
                    "characters"
                )
            yield number, cells
    except csv.Error:
        # csv's messages can quote the offending text; name only the place.
        raise InvalidMaster(f"{what}: row {number + 1} is not valid CSV (quotes)") from None
