"""A master spreadsheet written as the agency's own export looks: one sheet of rows,
text stored as text and dates as date cells (the synthetic masters of ``sample``)."""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Iterator, Sequence
from datetime import date


@contextlib.contextmanager
def _private_tempdir() -> Iterator[None]:
    """Point tempfile (and so openpyxl's write-only worksheets) at a private directory.

    openpyxl write-only mode keeps each sheet in a plaintext temporary file in $TMPDIR;
    sample data is synthetic, but code that is copied should not teach that habit.
    """
    with tempfile.TemporaryDirectory(prefix="sx-sample-") as private:
        previous = tempfile.tempdir
        tempfile.tempdir = private
        try:
            yield
        finally:
            tempfile.tempdir = previous


def xlsx_bytes(rows: Sequence[Sequence[str | date]], *, sheet: str = "Master") -> bytes:
    """An .xlsx workbook of ``rows``; all text stored as text, dates as date cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    with _private_tempdir():
        book = Workbook(write_only=True)
        worksheet = book.create_sheet(sheet)
        for row in rows:
            out = []
            for value in row:
                cell = WriteOnlyCell(worksheet, value=value)  # type: ignore[arg-type]  # stubs omit date
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"  # text, never a formula (openpyxl guesses one)
                elif isinstance(value, date):
                    cell.number_format = "yyyy-mm-dd"
                out.append(cell)
            worksheet.append(out)
        buffer = io.BytesIO()
        book.save(buffer)
    return buffer.getvalue()
