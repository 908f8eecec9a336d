"""openpyxl write-only workbooks kept in memory: worksheets stream into memory, never
into a temporary file in ``$TMPDIR`` (plaintext never touches the disk, brief §3), and
every str is stored as text, never as a formula. The one subclass of openpyxl's
``ExcelWriter`` lives here."""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from securexchange.errors import InternalError
from securexchange.i18n import _
from securexchange.sheets import sheetxml

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

# A write-only worksheet. The openpyxl stubs declare only the attributes of its class
# body, not those its ``_setup`` adds (column_dimensions, merged_cells, protection, ...),
# nor the ``_writer`` we replace; so the sheet is typed loosely where it is configured.
WriteOnlySheet = Any


@functools.cache
def memory_sheet_class() -> type[Any]:
    """openpyxl's write-only worksheet, streaming into memory and writing text as text.

    Two methods of ``WriteOnlyWorksheet`` are replaced, in a subclass (no global state
    is changed, so concurrent writers in one process cannot race):

    * ``_get_writer``: openpyxl's creates ``WorksheetWriter(ws)``, which streams the
      sheet into a NamedTemporaryFile in $TMPDIR and copies it into the archive when
      the workbook is saved; ours streams it into memory. Only the sheet's frame goes
      there (views, widths, banner, headers, protection, filters, drop-downs: a few
      KB); :meth:`store` writes it into its deflated member of the in-memory archive
      with the records' rows, written as text by :mod:`securexchange.sheets.sheetxml`,
      spliced in before ``</sheetData>``. No uncompressed copy of the rows is held.
    * ``_values_to_row``: openpyxl's binds each value through ``Cell.value``, which
      turns a str that starts with "=" into a formula. Ours stores every str as a
      string cell (``data_type = "s"``, written as an inline string), whatever it
      starts with, after refusing characters XML 1.0 cannot hold (a superset of
      openpyxl's own check). Cell objects (styled cells: banner, headers) pass through
      as in openpyxl's, without its exception round trip; empty text is an absent cell.

    A row is written completely inside ``append``, so one plain cell can be reused for
    every text value, as openpyxl itself does.
    """
    from openpyxl.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
    from openpyxl.worksheet._writer import WorksheetWriter

    class MemorySheet(WriteOnlyWorksheet):
        def __init__(self, parent: Any, title: str, part: str) -> None:
            super().__init__(parent, title)
            self._plain = Cell(self, row=1, column=1)
            self.part = part
            self._frame = io.BytesIO()
            self._stored = False

        def _get_writer(self) -> None:
            sheet = cast(Any, self)  # the stubs type _writer as None
            if sheet._writer is None:
                writer = WorksheetWriter(self, out=self._frame)
                writer.write_top()
                sheet._writer = writer

        def finish(self) -> None:
            """Close the sheet's XML (its frame, without the records' rows)."""
            self._get_writer()
            if not self.closed:
                self.close()

        def store(self, archive: zipfile.ZipFile, rows: Iterator[bytes] | None) -> None:
            """Write the sheet into its member, ``rows`` spliced in before
            ``</sheetData>``."""
            _splice(self._frame.getvalue(), archive, self.part, rows)
            self._frame = io.BytesIO()
            self._stored = True

        def stored(self) -> bool:
            """The sheet is complete in its ZIP member (never in a file)."""
            return bool(self.closed) and self._stored

        def _values_to_row(self, values: Sequence[Any], row_idx: int) -> Iterator[Any]:
            return _row_cells(self._plain, Cell, values, row_idx)

    return MemorySheet


class UnstorableText(ValueError):
    """A value holds a character that an .xlsx file cannot store (never quoted)."""


# What XML 1.0 cannot hold (one pattern with the row writer's own last guard).
UNSTORABLE = sheetxml.NOT_XML
MAX_CELL_TEXT = 32_767  # Excel's limit per cell


def _splice(
    frame: bytes, archive: zipfile.ZipFile, part: str, rows: Iterator[bytes] | None
) -> None:
    """Write a sheet's frame into its member with ``rows`` before ``</sheetData>``."""
    head, end, tail = frame.partition(b"</sheetData>")
    if not end or end in tail:
        # Cell text is escaped, so the tag occurs once: fail closed otherwise.
        raise InternalError(_("a worksheet frame has no single end of its rows"))
    with archive.open(part, "w") as member:
        member.write(head)
        for chunk in rows or ():
            member.write(chunk)
        member.write(end)
        member.write(tail)


def _row_cells(
    plain: Any, cell_type: type[Any], values: Sequence[Any], row_idx: int
) -> Iterator[Any]:
    """One row's cells: every str as a string cell (reusing ``plain``: a row is written
    completely before the next), prepared cells as they are, empty text as no cell."""
    for col_idx, value in enumerate(values, 1):
        if value is None or value == "":
            continue
        if type(value) is str:
            cell = plain
            _set_text(cell, value)
        elif isinstance(value, cell_type):
            cell = value
        else:
            raise TypeError("a workbook cell is text or a prepared cell")
        cell.column = col_idx
        cell.row = row_idx
        yield cell


def _storable(text: str) -> bool:
    return len(text) <= MAX_CELL_TEXT and UNSTORABLE.search(text) is None


def _set_text(cell: Any, text: str | None) -> None:
    """Bind ``text`` to an openpyxl cell as a string cell, never as a formula.

    Sets the cell's slots directly (``_value``, ``data_type``), as ``Cell._bind_value``
    does, minus its rule that a leading "=" means a formula.
    """
    if text is None:
        cell._value = None
        cell.data_type = "n"  # openpyxl's type of an empty cell
        return
    if not _storable(text):
        raise UnstorableText("a value holds a character a workbook cannot store")
    cell._value = text
    cell.data_type = "s"


# A workbook written without a time (tests, fixtures) carries the ZIP epoch, as
# deterministic archives do; the workflows pass their home's clock.
UNDATED = datetime(1980, 1, 1, tzinfo=UTC)


def document_time(written_at: datetime | None) -> datetime:
    """The document's created and modified time: ``written_at`` (or :data:`UNDATED`) as
    naive UTC, as openpyxl writes it."""
    return (written_at or UNDATED).astimezone(UTC).replace(tzinfo=None)


def _stamp(wb: Workbook, written_at: datetime | None) -> None:
    """The document's created and modified times: the caller's clock, never read here."""
    moment = document_time(written_at)
    wb.properties.created = moment
    wb.properties.modified = moment


@functools.cache
def _writer_class() -> type[Any]:
    """openpyxl's ExcelWriter, writing each worksheet from memory: a sheet already
    complete in its member (:func:`memory_sheet_class`) gets only its relationships and
    its [Content_Types].xml entry; a plain write-only sheet streaming into memory
    (:func:`attach_memory_writer`) is deflated into its member from there. Its ``save``
    would zip each sheet from the temporary file it was streamed into."""
    from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
    from openpyxl.writer.excel import ExcelWriter

    class MemoryExcelWriter(ExcelWriter):
        def write_worksheet(self, ws: Any) -> None:
            stored = getattr(ws, "stored", None)
            if stored is not None:
                if not stored() or ws.path[1:] != ws.part:
                    # Fail closed: a sheet that was not streamed into its own member.
                    raise InternalError(_("a worksheet was not written into the workbook archive"))
                writer = ws._writer
            else:
                writer = ws._writer
                if writer is None or not isinstance(writer.out, io.BytesIO):
                    # Fail closed: a sheet that would be streamed through a temp file.
                    raise InternalError(_("a worksheet is not being written to memory"))
                if not ws.closed:
                    ws.close()
                writer.close()
                out: io.BytesIO = writer.out
                with out.getbuffer() as view:  # compress without copying the sheet
                    cast(Any, self)._archive.writestr(ws.path[1:], view)
                out.close()
            ws._drawing = SpreadsheetDrawing()
            ws._drawing.charts = ws._charts
            ws._drawing.images = ws._images
            ws._rels = writer._rels
            self.manifest.append(ws)

    return MemoryExcelWriter


def write_other_parts(wb: Workbook, archive: zipfile.ZipFile, written_at: datetime | None) -> None:
    """Everything but the sheets' XML, each sheet already complete in its member."""
    _stamp(wb, written_at)
    _writer_class()(wb, archive).write_data()


# --- other write-only workbooks (the agency's report) ---------------------------------------


def attach_memory_writer(ws: WriteOnlySheet) -> None:
    """Make a plain write-only worksheet stream into memory instead of a $TMPDIR file.

    For other workbooks built with openpyxl's write-only mode (the agency's report):
    call it after the sheet's widths, panes and filters are set (``write_top`` emits
    them) and before the first ``append``; then build the bytes with
    :func:`save_in_memory`. ``WriteOnlyWorksheet._get_writer`` creates a temp file only
    when ``ws._writer`` is None; setting it per sheet changes no global state.
    """
    from openpyxl.worksheet._writer import WorksheetWriter

    writer = WorksheetWriter(ws, out=io.BytesIO())
    writer.write_top()
    ws._writer = writer


def save_in_memory(wb: Workbook, written_at: datetime | None = None) -> bytes:
    """The .xlsx bytes of a write-only workbook whose sheets all stream into memory
    (:func:`attach_memory_writer`); openpyxl's ``save`` would zip them from temp files."""
    _stamp(wb, written_at)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        _writer_class()(wb, archive).write_data()
    return buffer.getvalue()
