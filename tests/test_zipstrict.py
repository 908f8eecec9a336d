"""The strict ZIP: deterministic bytes that unzip and zipfile read alike, and a reader that
refuses every other shape of ZIP.

Hostile archives are built with ``loose_zip`` below, a writer that mirrors ours field for
field but lets a test change any one field; the first test proves that, unchanged, it
writes exactly our bytes, so every refusal below is caused by the one field changed.
"""

from __future__ import annotations

import io
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securexchange.artifacts import zipstrict
from securexchange.artifacts.zipstrict import ContainerLimits, Member
from securexchange.errors import Malformed, SxError, Tampered

ORDER = ("manifest.json", "manifest.sig", "keyring.json", "keyring.sig", "payload.age")
MEMBERS = (
    Member("manifest.json", b'{\n  "type": "return"\n}\n'),
    Member("manifest.sig", b"-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n"),
    Member("payload.age", b"age-encryption.org/v1\n-> X25519 abc\n" + bytes(range(40))),
)

LOCAL_FIELDS = (
    "sig", "needed", "flags", "method", "time", "date", "crc", "csize", "usize", "nlen", "xlen",
)  # fmt: skip
CENTRAL_FIELDS = (
    "sig", "made_by", "needed", "flags", "method", "time", "date", "crc", "csize", "usize",
    "nlen", "xlen", "clen", "disk", "internal", "external", "offset",
)  # fmt: skip
END_FIELDS = ("sig", "disk", "cd_disk", "here", "total", "cd_size", "cd_offset", "clen")


@dataclass
class Entry:
    name: bytes
    data: bytes
    stored: bytes | None = None  # what is actually stored, when it differs (deflate)
    local: dict[str, int] = field(default_factory=dict)
    central: dict[str, int] = field(default_factory=dict)
    local_name: bytes | None = None
    extra: bytes = b""


def loose_zip(
    entries: list[Entry],
    *,
    prefix: bytes = b"",
    gap: bytes = b"",
    between: bytes = b"",
    comment: bytes = b"",
    suffix: bytes = b"",
    end: Mapping[str, int] | None = None,
) -> bytes:
    """Our layout, with any field overridable: the attacker's ZIP writer."""
    out = bytearray(prefix)
    central = bytearray()
    for entry in entries:
        stored = entry.data if entry.stored is None else entry.stored
        offset = len(out)
        local_name = entry.name if entry.local_name is None else entry.local_name
        values = dict(
            zip(
                LOCAL_FIELDS,
                (0x04034B50, 10, 0, 0, 0, 0x21, zlib.crc32(entry.data), len(stored),
                 len(entry.data), len(local_name), len(entry.extra)),
                strict=True,
            )
        )  # fmt: skip
        values.update(entry.local)
        out += struct.pack("<IHHHHHIIIHH", *(values[k] for k in LOCAL_FIELDS))
        out += local_name + entry.extra + stored + gap
        cvalues = dict(
            zip(
                CENTRAL_FIELDS,
                (0x02014B50, 10, 10, 0, 0, 0, 0x21, zlib.crc32(entry.data), len(stored),
                 len(entry.data), len(entry.name), len(entry.extra), 0, 0, 0, 0, offset),
                strict=True,
            )
        )  # fmt: skip
        cvalues.update(entry.central)
        central += struct.pack("<IHHHHHHIIIHHHHHII", *(cvalues[k] for k in CENTRAL_FIELDS))
        central += entry.name + entry.extra
    out += between
    cd_offset = len(out)
    out += central
    evalues = dict(
        zip(
            END_FIELDS,
            (0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_offset,
             len(comment)),
            strict=True,
        )
    )  # fmt: skip
    evalues.update(end or {})
    out += struct.pack("<IHHHHIIH", *(evalues[k] for k in END_FIELDS)) + comment + suffix
    return bytes(out)


def entries() -> list[Entry]:
    return [Entry(m.name.encode(), m.data) for m in MEMBERS]


def refused(data: bytes, match: str | None = None, **kwargs: object) -> SxError:
    with pytest.raises(SxError) as caught:
        zipstrict.read(data, ORDER, **kwargs)  # type: ignore[arg-type]
    if match is not None:
        assert match in caught.value.message, caught.value.message
    return caught.value


# --- the writer ---------------------------------------------------------------------------


def test_the_loose_test_writer_mirrors_ours_byte_for_byte() -> None:
    assert loose_zip(entries()) == zipstrict.write(MEMBERS)


def test_members_round_trip_in_order() -> None:
    assert zipstrict.read(zipstrict.write(MEMBERS), ORDER) == MEMBERS


def test_the_same_members_always_give_the_same_bytes() -> None:
    assert zipstrict.write(MEMBERS) == zipstrict.write(tuple(MEMBERS))


def test_fixed_header_values_are_what_the_format_doc_says() -> None:
    data = zipstrict.write(MEMBERS[:1])
    local = struct.unpack_from("<IHHHHHIIIHH", data, 0)
    assert local[:6] == (0x04034B50, 10, 0, 0, 0x0000, 0x0021)
    assert local[10] == 0  # no extra field
    info = zipfile.ZipFile(io.BytesIO(data)).infolist()[0]
    assert info.date_time == (1980, 1, 1, 0, 0, 0)
    assert info.compress_type == zipfile.ZIP_STORED
    assert info.extra == b"" and info.comment == b"" and info.external_attr == 0
    assert info.flag_bits == 0 and info.create_system == 0


def test_zipfile_reads_the_same_members_and_bytes() -> None:
    with zipfile.ZipFile(io.BytesIO(zipstrict.write(MEMBERS))) as archive:
        assert archive.testzip() is None
        assert archive.comment == b""
        assert [(i.filename, archive.read(i)) for i in archive.infolist()] == [
            (m.name, m.data) for m in MEMBERS
        ]


def test_unzip_lists_and_prints_the_same_members_and_bytes(tmp_path: Path) -> None:
    unzip = pytest.importorskip("shutil").which("unzip")
    if unzip is None:
        pytest.skip("unzip not installed")
    path = tmp_path / "c.zip"
    path.write_bytes(zipstrict.write(MEMBERS))
    listing = subprocess.run(
        [unzip, "-Z1", str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert listing == [m.name for m in MEMBERS]
    for member in MEMBERS:
        printed = subprocess.run(
            [unzip, "-p", str(path), member.name], capture_output=True, check=True
        ).stdout
        assert printed == member.data
    tested = subprocess.run([unzip, "-t", str(path)], capture_output=True, text=True, check=False)
    assert tested.returncode == 0, tested.stdout


@pytest.mark.parametrize(
    "name", ["", "../x", "a/b", "a\\b", "/abs", ".hidden", "café", "a" * 65, "C:x", "a..b"]
)
def test_the_writer_refuses_names_the_reader_would_refuse(name: str) -> None:
    with pytest.raises(ValueError):
        Member(name, b"")


def test_the_writer_refuses_duplicates_and_empty_containers() -> None:
    with pytest.raises(ValueError):
        zipstrict.write([MEMBERS[0], MEMBERS[0]])
    with pytest.raises(ValueError):
        zipstrict.write([])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.binary(max_size=300), min_size=1, max_size=len(ORDER)).map(
        lambda datas: tuple(Member(n, d) for n, d in zip(ORDER, datas, strict=False))
    )
)
def test_any_members_round_trip_through_our_reader_and_zipfile(members: tuple[Member, ...]) -> None:
    data = zipstrict.write(members)
    assert zipstrict.read(data, ORDER) == members
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert [archive.read(m.name) for m in members] == [m.data for m in members]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_only_ever_raise_errors_of_the_tree(data: bytes) -> None:
    with pytest.raises(SxError):
        zipstrict.read(data, ORDER)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_splice_into_a_container_is_refused_or_changes_nothing(data: st.DataObject) -> None:
    original = zipstrict.write(MEMBERS)
    start = data.draw(st.integers(0, len(original)))
    end = data.draw(st.integers(start, min(len(original), start + 40)))
    mutated = original[:start] + data.draw(st.binary(max_size=40)) + original[end:]
    if mutated == original:
        assert zipstrict.read(mutated, ORDER) == MEMBERS
        return
    with pytest.raises(SxError):
        zipstrict.read(mutated, ORDER)


# --- every byte -------------------------------------------------------------------------


def _data_ranges(members: tuple[Member, ...]) -> set[int]:
    offsets: set[int] = set()
    position = 0
    for member in members:
        start = position + 30 + len(member.name)
        offsets.update(range(start, start + len(member.data)))
        position = start + len(member.data)
    return offsets


def test_every_single_byte_flip_is_refused_tampered_in_data_malformed_elsewhere() -> None:
    data = zipstrict.write(MEMBERS)
    in_data = _data_ranges(MEMBERS)
    for offset in range(len(data)):
        for bit in (0x01, 0x80):
            changed = bytearray(data)
            changed[offset] ^= bit
            error = refused(bytes(changed))
            expected = Tampered if offset in in_data else Malformed
            assert type(error) is expected, (offset, error.message)


def test_every_truncation_and_every_prefix_is_malformed() -> None:
    data = zipstrict.write(MEMBERS)
    for cut in range(len(data)):
        assert refused(data[:cut]).name == "SX-MALFORMED"
        assert refused(data[cut + 1 :]).name == "SX-MALFORMED"


# --- hostile shapes -----------------------------------------------------------------------


def test_appended_bytes_are_refused() -> None:
    error = refused(zipstrict.write(MEMBERS) + b"\x00")
    assert error.name == "SX-MALFORMED"
    assert refused(loose_zip(entries(), suffix=b"PK\x05\x06" + bytes(18))).name == "SX-MALFORMED"


def test_prepended_bytes_are_refused() -> None:
    # A self-extractor stub in front: offsets shift, our reader refuses.
    assert refused(b"MZ" + zipstrict.write(MEMBERS), "no ZIP local header").name == "SX-MALFORMED"
    error = refused(loose_zip(entries(), prefix=zipstrict.write(MEMBERS[:1])))
    assert error.name == "SX-MALFORMED"


def test_an_archive_comment_is_refused() -> None:
    error = refused(loose_zip(entries(), comment=b"hello"))
    assert error.name == "SX-MALFORMED"
    # The comment length field without a comment: the end record is no longer last.
    assert refused(loose_zip(entries(), end={"clen": 5}), "comment").name == "SX-MALFORMED"
    with zipfile.ZipFile(buffer := io.BytesIO(zipstrict.write(MEMBERS)), "a") as archive:
        archive.comment = b"x"
    assert refused(buffer.getvalue()).name == "SX-MALFORMED"


def test_a_duplicate_member_is_refused() -> None:
    doubled = [*entries()[:1], *entries()[:1]]
    assert refused(loose_zip(doubled), "twice").name == "SX-MALFORMED"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (b"../manifest.json", "path separator"),
        (b"..manifest.json", "'..'"),
        (b"/manifest.json", "path separator"),
        (b"dir\\manifest.json", "path separator"),
        (b"manifest.json/", "path separator"),
        (b"manif\xc3\xa9st.json", "not ASCII"),
        (b"manifest.json\x00", "characters"),
        (b"C:manifest.json", "characters"),
    ],
)
def test_unsafe_member_names_are_refused(name: bytes, message: str) -> None:
    hostile = [Entry(name, b"x"), *entries()[1:]]
    assert refused(loose_zip(hostile), message).name == "SX-MALFORMED"


def test_a_member_outside_the_whitelist_is_refused() -> None:
    extra = [*entries(), Entry(b"readme.txt", b"hi")]
    assert refused(loose_zip(extra), "does not belong").name == "SX-MALFORMED"


def test_members_out_of_their_fixed_order_are_refused() -> None:
    swapped = list(reversed(entries()))
    assert refused(loose_zip(swapped), "fixed order").name == "SX-MALFORMED"


def test_a_deflated_member_is_refused() -> None:
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = MEMBERS[0].data * 20
    compressed = raw.compress(data) + raw.flush()
    hostile = [
        Entry(b"manifest.json", data, stored=compressed, local={"method": 8}, central={"method": 8})
    ]
    assert refused(loose_zip(hostile), "compressed").name == "SX-MALFORMED"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", data)
    assert refused(archive.getvalue()).name == "SX-MALFORMED"


def test_twenty_thousand_members_are_refused_from_the_end_record() -> None:
    many = [Entry(b"manifest.json", b"") for _ in range(20_000)]
    assert refused(loose_zip(many), "more members").name == "SX-MALFORMED"


@pytest.mark.parametrize(
    ("where", "field_name", "value", "message"),
    [
        ("local", "crc", 1, "disagrees"),
        ("local", "usize", 0, "disagrees"),
        ("local", "flags", 0x0800, "disagrees"),
        ("local", "flags", 0x0008, "disagrees"),
        ("local", "time", 1, "disagrees"),
        ("central", "crc", 1, "disagrees"),
        ("central", "flags", 0x0001, "encrypted"),
        ("central", "flags", 0x0008, "data descriptor"),
        ("central", "flags", 0x0800, "unexpected flags"),
        ("central", "time", 0x6000, "timestamp"),
        ("central", "needed", 20, "ZIP version"),
        ("central", "made_by", 0x0314, "made by"),
        ("central", "external", 0x10, "directory"),
        ("central", "external", 0xA1FF0000, "link"),
        ("central", "internal", 1, "attributes"),
        ("central", "disk", 1, "attributes"),
        ("central", "offset", 1, "contiguous"),
        ("central", "csize", 0xFFFFFFFF, "ZIP64"),
    ],
)
def test_a_header_field_other_than_ours_is_refused(
    where: str, field_name: str, value: int, message: str
) -> None:
    hostile = entries()
    getattr(hostile[0], where)[field_name] = value
    assert refused(loose_zip(hostile), message).name == "SX-MALFORMED"


def test_a_local_header_naming_another_member_is_refused() -> None:
    hostile = entries()
    hostile[0].local_name = b"manifest.jsoo"
    assert refused(loose_zip(hostile), "disagrees").name == "SX-MALFORMED"


def test_extra_fields_are_refused() -> None:
    hostile = entries()
    hostile[0].extra = b"UT\x05\x00\x01\x00\x00\x00\x00"
    assert refused(loose_zip(hostile), "extra field").name == "SX-MALFORMED"


def test_a_member_comment_is_refused() -> None:
    hostile = entries()
    hostile[0].central["clen"] = 3
    assert refused(loose_zip(hostile)).name == "SX-MALFORMED"


def test_gaps_between_members_or_before_the_directory_are_refused() -> None:
    assert refused(loose_zip(entries(), gap=b"\x00"), "contiguous").name == "SX-MALFORMED"
    error = refused(loose_zip(entries(), between=b"hidden"), "last member and its directory")
    assert error.name == "SX-MALFORMED"


def test_zip64_and_multi_disk_end_records_are_refused() -> None:
    assert refused(loose_zip(entries(), end={"total": 0xFFFF}), "ZIP64").name == "SX-MALFORMED"
    assert refused(loose_zip(entries(), end={"disk": 1}), "disks").name == "SX-MALFORMED"
    archive = io.BytesIO()
    with (
        zipfile.ZipFile(archive, "w") as zf,
        zf.open("manifest.json", "w", force_zip64=True) as handle,
    ):
        handle.write(b"{}")
    assert refused(archive.getvalue()).name == "SX-MALFORMED"


def test_a_data_descriptor_written_by_a_streaming_zipper_is_refused() -> None:
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.buffer = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data: object) -> int:
            chunk = bytes(data)  # type: ignore[call-overload]
            self.buffer += chunk
            return len(chunk)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w") as zf:
        zf.writestr("manifest.json", b"{}")
    assert refused(bytes(sink.buffer)).name == "SX-MALFORMED"


def test_a_crc_mismatch_is_tampered() -> None:
    hostile = entries()
    hostile[0].local["crc"] = hostile[0].central["crc"] = 0x12345678
    error = refused(loose_zip(hostile), "checksum")
    assert error.name == "SX-TAMPERED"


def test_sizes_are_capped_from_the_directory_before_any_data_is_read() -> None:
    data = zipstrict.write(MEMBERS)
    limits = ContainerLimits(max_members=16, max_member_size=10, max_total_size=1 << 20)
    assert refused(data, "member is larger", limits=limits).name == "SX-MALFORMED"
    limits = ContainerLimits(max_members=2, max_member_size=1 << 20, max_total_size=1 << 20)
    assert refused(data, "more members", limits=limits).name == "SX-MALFORMED"
    limits = ContainerLimits(max_members=16, max_member_size=1 << 20, max_total_size=100)
    assert refused(data, "size limit", limits=limits).name == "SX-MALFORMED"
    # A directory claiming a 4 GiB member is refused without the bytes existing.
    hostile = entries()
    hostile[2].central.update(csize=0xFFFFFFF0, usize=0xFFFFFFF0)
    assert refused(loose_zip(hostile), "size limit").name == "SX-MALFORMED"


def test_a_per_member_cap_applies_to_that_member_only() -> None:
    data = zipstrict.write(MEMBERS)
    assert zipstrict.read(data, ORDER, member_limits={"manifest.json": 100}) == MEMBERS
    assert refused(data, "size limit", member_limits={"manifest.json": 10}).name == "SX-MALFORMED"


def test_member_sizes_within_the_caps_but_beyond_the_file_are_refused() -> None:
    hostile = entries()
    hostile[0].central.update(csize=5000, usize=5000)
    assert refused(loose_zip(hostile), "runs into the directory").name == "SX-MALFORMED"


def test_an_empty_archive_and_non_zip_bytes_are_refused() -> None:
    assert refused(loose_zip([])).name == "SX-MALFORMED"
    assert refused(b"").name == "SX-MALFORMED"
    assert refused(b"%PDF-1.7\n" + bytes(100)).name == "SX-MALFORMED"


def test_limits_are_positive_integers() -> None:
    with pytest.raises(ValueError):
        ContainerLimits(max_members=0)
    with pytest.raises(ValueError):
        ContainerLimits(max_member_size=True)


def test_error_messages_never_echo_member_names() -> None:
    hostile = [*entries(), Entry(b"secret-name.txt", b"x")]
    error = refused(loose_zip(hostile))
    assert "secret" not in str(error)
