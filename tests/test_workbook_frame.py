"""The workbook frame (issue 22): each package's workbook is the frame built once per
export, filled in; it must be the workbook openpyxl writes for the same rows and
values (``write_workbook_reference``), part for part, and read back the same."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.xml.functions import tostring

from securexchange.errors import InternalError
from securexchange.sheets.layout import (
    PACKAGE_LAYOUT,
    STAFF_LAYOUT,
    Layout,
    WorkbookMeta,
    WorkbookRow,
)
from securexchange.sheets.workbook import (
    PackedRows,
    pack_rows,
    write_packed_workbook,
    write_workbook,
    write_workbook_reference,
)
from securexchange.sheets.workbook_frame import StyleIds, build_frame
from test_workbook import PACKAGE_ID, make_rows, record_id, unchecked_record

WRITTEN_AT = datetime(2026, 12, 4, 15, 30, 12, tzinfo=UTC)
# A name with characters each part escapes its own way: worksheets in ASCII with
# character references, the document properties in UTF-8.
AWKWARD_NAME = "Sint-Genesius & <Rode> \"'s Wâlhain – Überstadt 😀"


def meta(
    *,
    demo: bool = False,
    municipality: str = "Gent",
    package_id: str = PACKAGE_ID,
    written_at: datetime | None = WRITTEN_AT,
) -> WorkbookMeta:
    return WorkbookMeta(
        package_id=package_id,
        nis="44021",
        municipality=municipality,
        destroy_by=date(2027, 3, 1),
        demo=demo,
        written_at=written_at,
    )


def members(workbook: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def entry_attributes(workbook: bytes) -> list[tuple[Any, ...]]:
    """Each ZIP entry as written, but for the time openpyxl stamps whole parts with
    (the clock's, in both paths)."""
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        return [
            (
                info.filename,
                info.compress_type,
                info.external_attr,
                info.flag_bits,
                info.create_system,
                info.extract_version,
                info.date_time if info.filename.startswith("xl/worksheets/") else None,
            )
            for info in archive.infolist()
        ]


def read_back(workbook: bytes) -> dict[str, Any]:
    """What openpyxl sees: every cell with its style, the drop-downs, the merged
    cells, the widths, the protection and the document properties."""
    book = load_workbook(io.BytesIO(workbook))
    sheets: dict[str, Any] = {}
    for sheet in book.worksheets:
        # Styles as their XML (openpyxl's style proxies compare by identity).
        cells = [
            (
                c.coordinate,
                c.value,
                c.data_type,
                *(tostring(s.to_tree()) for s in (c.font, c.fill, c.alignment, c.protection)),
            )
            for row in sheet.iter_rows()
            for c in row
        ]
        validations = [
            (str(v.sqref), v.type, v.formula1, v.allow_blank, v.prompt, v.error)
            for v in sheet.data_validations.dataValidation
        ]
        widths = {key: d.width for key, d in sheet.column_dimensions.items()}
        sheets[sheet.title] = (
            cells,
            validations,
            sorted(str(r) for r in sheet.merged_cells.ranges),
            widths,
            sheet.protection.sheet,
            sheet.auto_filter.ref,
            sheet.freeze_panes,
            sheet.oddFooter.center.text,
        )
    custom = {p.name: p.value for p in book.custom_doc_props.props}
    return {
        "sheets": sheets,
        "custom": custom,
        "title": book.properties.title,
        "created": book.properties.created,
        "lock": book.security.lockStructure if book.security else None,
    }


LAYOUTS = [PACKAGE_LAYOUT, STAFF_LAYOUT]


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: f"layout{layout.version}")
@pytest.mark.parametrize("demo", [False, True])
@pytest.mark.parametrize("count", [2, 7, 600])
def test_a_framed_workbook_is_part_for_part_the_one_openpyxl_writes(
    layout: Layout, demo: bool, count: int
) -> None:
    rows = make_rows(count)
    framed = write_workbook(rows, meta(demo=demo), layout=layout)
    reference = write_workbook_reference(rows, meta(demo=demo), layout=layout)
    assert members(framed) == members(reference)
    assert entry_attributes(framed) == entry_attributes(reference)


def test_a_workbook_deflated_faster_holds_the_same_parts() -> None:
    rows = make_rows(600)
    fast = write_workbook(rows, meta(), compresslevel=1)
    assert members(fast) == members(write_workbook_reference(rows, meta()))
    assert entry_attributes(fast) == entry_attributes(write_workbook_reference(rows, meta()))
    assert len(fast) > len(write_workbook(rows, meta()))  # the level was taken


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: f"layout{layout.version}")
def test_a_framed_workbook_reads_back_as_the_reference_does(layout: Layout) -> None:
    rows = make_rows(40)
    framed = read_back(write_workbook(rows, meta(), layout=layout))
    reference = read_back(write_workbook_reference(rows, meta(), layout=layout))
    assert framed == reference
    assert framed["custom"]["securexchange.record-count"] == 40
    assert framed["sheets"]["Inburgeraars"][5].endswith("43")


def test_values_are_escaped_as_openpyxl_escapes_them_in_each_part() -> None:
    rows = [
        WorkbookRow(
            record_id(1_000),
            unchecked_record(naam="A & <B>", adres=" Kerkstraat 1", gemeente="=1+1"),
            date(2027, 1, 1),
            "gestart",
        ),
        *make_rows(3)[1:],
    ]
    awkward = meta(municipality=AWKWARD_NAME, demo=True)
    framed = write_workbook(rows, awkward, layout=STAFF_LAYOUT)
    assert members(framed) == members(write_workbook_reference(rows, awkward, layout=STAFF_LAYOUT))
    assert read_back(framed)["title"] == f"Inburgeraars {AWKWARD_NAME} (DEMO)"


def test_each_export_s_time_and_each_package_s_values_stay_its_own() -> None:
    """One process writes many exports' workbooks: frames never mix them."""
    rows = make_rows(5)
    first = write_workbook(rows, meta(), layout=PACKAGE_LAYOUT)
    later_meta = meta(
        package_id="pkg-" + "b" * 26, written_at=datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)
    )
    later = write_workbook(rows[:2], later_meta, layout=PACKAGE_LAYOUT)
    undated = write_workbook(rows, meta(written_at=None), layout=PACKAGE_LAYOUT)
    for workbook, expected_meta, expected_rows in (
        (first, meta(), rows),
        (later, later_meta, rows[:2]),
        (undated, meta(written_at=None), rows),
    ):
        assert members(workbook) == members(
            write_workbook_reference(expected_rows, expected_meta, layout=PACKAGE_LAYOUT)
        )
    assert read_back(later)["created"] == datetime(2027, 1, 2, 3, 4, 5)
    assert read_back(undated)["created"] == datetime(1980, 1, 1)


@pytest.mark.parametrize("count", [0, 1])
def test_a_package_of_no_or_one_row_is_written_as_openpyxl_writes_it(count: int) -> None:
    rows = make_rows(count)
    assert members(write_workbook(rows, meta(), layout=PACKAGE_LAYOUT)) == members(
        write_workbook_reference(rows, meta(), layout=PACKAGE_LAYOUT)
    )


def test_a_frame_that_does_not_reproduce_the_workbook_is_refused() -> None:
    """A writer whose fixed text holds a sentinel (here: it writes every workbook with
    one digest, the frame's own) cannot pass the frame's proof."""
    from securexchange.sheets import workbook_openpyxl

    def stuck_digest(m: WorkbookMeta, count: int, digest: str) -> tuple[bytes, StyleIds]:
        return workbook_openpyxl.write_openpyxl(m, PACKAGE_LAYOUT, count, "5a" * 32, None)

    with pytest.raises(InternalError):
        build_frame(stuck_digest, demo=False, schema_version="2026.1")


def test_a_frame_is_built_from_and_proven_against_openpyxl() -> None:
    from securexchange.sheets import workbook_openpyxl

    def openpyxl_writer(m: WorkbookMeta, count: int, digest: str) -> tuple[bytes, StyleIds]:
        return workbook_openpyxl.write_openpyxl(m, PACKAGE_LAYOUT, count, digest, None)

    frame = build_frame(openpyxl_writer, demo=False, schema_version="2026.1")
    assert [p.name for p in frame.parts][:2] == [
        "xl/worksheets/sheet1.xml",
        "xl/worksheets/sheet2.xml",
    ]
    assert frame.styles.count(None) == len(PACKAGE_LAYOUT.headers) - 2


# --- rows sent to a worker process ----------------------------------------------------------


def awkward_rows() -> list[WorkbookRow]:
    return [
        WorkbookRow(
            record_id(1_000),
            unchecked_record(naam="A & <B>", adres=" Kerkstraat 1 ", gemeente="=1+1"),
            date(2027, 1, 1),
            "gestart",
        ),
        *make_rows(40),
    ]


@pytest.mark.parametrize("count", [0, 1, 2, 41])
def test_packed_rows_give_the_workbook_the_rows_give(count: int) -> None:
    rows = awkward_rows()[:count]
    packed = write_packed_workbook(pack_rows(rows), meta())
    assert members(packed) == members(write_workbook(rows, meta(), layout=PACKAGE_LAYOUT))


def test_a_value_no_workbook_can_hold_is_refused_before_it_is_packed() -> None:
    row = WorkbookRow(
        record_id(1), unchecked_record(naam="Geheim\x00"), date(2027, 1, 1), "gestart"
    )
    with pytest.raises(InternalError) as caught:
        pack_rows([*make_rows(3)[1:], row])
    assert "Geheim" not in str(caught.value) and "row 6" in str(caught.value)


def test_packed_rows_that_do_not_fit_their_ids_or_layout_are_refused() -> None:
    packed = pack_rows(make_rows(5))
    short = PackedRows(packed.record_ids[:4], packed.cells, packed.width)
    with pytest.raises(ValueError, match="cell for each column"):
        write_packed_workbook(short, meta())
    repeated = PackedRows((packed.record_ids[0],) * 5, packed.cells, packed.width)
    with pytest.raises(ValueError, match="duplicate"):
        write_packed_workbook(repeated, meta())
    not_ids = PackedRows(("R-not-an-id",) * 5, packed.cells, packed.width)
    with pytest.raises(ValueError, match="record ids"):
        write_packed_workbook(not_ids, meta())
    with pytest.raises(TypeError):
        write_packed_workbook(packed, meta(), layout=STAFF_LAYOUT)
