"""The strict ZIP: a deterministic writer and a reader for hostile input. Bytes in, bytes out.

Only one shape of ZIP exists here: stored members (method 0), a fixed DOS timestamp
(1980-01-01 00:00:00), no extra fields, no data descriptors, no comments, no ZIP64, no
encryption, short ASCII names in a fixed order, each local header immediately followed
by its data and the next header, the central directory immediately after the last
member, and the end record as the last 22 bytes. The reader accepts exactly that shape
and nothing else: every field of every header must have the value the writer puts
there, and every field that appears in both a local header and the central directory
must agree. So ``unzip``, ``zipfile`` and this reader can never see different content,
and the same members always give the same bytes (see ``docs/formats.md``, "The
container").

Errors: any structural problem is :class:`Malformed`; a member whose bytes do not match
its CRC-32 is :class:`Tampered` (the structure is sound, the content was changed). CRC-32
is not a defence against a forger (the signed manifest is); it catches damage early and
with a precise name. All counts and sizes are checked against :class:`ContainerLimits`
from the directory alone, before any member data is touched. Messages never echo a
member name or any other input value.

No file I/O and no crypto: callers read the file (after a size check) and pass bytes.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from securexchange.errors import Malformed, Tampered
from securexchange.i18n import _

# Header layouts (APPNOTE 4.3.7, 4.3.12, 4.3.16), little-endian.
_LOCAL = struct.Struct("<IHHHHHIIIHH")  # 30 bytes
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")  # 46 bytes
_END = struct.Struct("<IHHHHIIH")  # 22 bytes
LOCAL_SIGNATURE = 0x04034B50
CENTRAL_SIGNATURE = 0x02014B50
END_SIGNATURE = 0x06054B50

# The one value each constant field may have.
VERSION_MADE_BY = 10  # spec 1.0, host 0 (MS-DOS attributes: none set)
VERSION_NEEDED = 10  # 1.0: stored members, no features beyond the basics
FLAGS = 0  # no encryption (bit 0), no data descriptor (bit 3), no UTF-8 (bit 11)
METHOD_STORED = 0
DOS_TIME = 0x0000  # 00:00:00
DOS_DATE = 0x0021  # 1980-01-01: (1980-1980) << 9 | 1 << 5 | 1
EXTERNAL_ATTRIBUTES = 0  # no directory bit, no Unix mode: no links, no devices

FLAG_ENCRYPTED = 0x0001
FLAG_DATA_DESCRIPTOR = 0x0008

MAX_NAME_LENGTH = 64
# Letters, digits, dot, underscore, hyphen; not starting with a dot. This excludes "/",
# "\", ":", "..", absolute paths, drive letters, control and non-ASCII characters.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ContainerLimits:
    """Caps checked from the directory before any member is read."""

    max_members: int = 16
    max_member_size: int = 64 << 20
    max_total_size: int = 96 << 20  # the whole container, headers included

    def __post_init__(self) -> None:
        for value in (self.max_members, self.max_member_size, self.max_total_size):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError("container limits are positive integers")


DEFAULT_LIMITS = ContainerLimits()


@dataclass(frozen=True)
class Member:
    """One member of a container: its name and its exact bytes."""

    name: str
    data: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.data, bytes):
            raise TypeError("member data is bytes")


def _check_name(name: str) -> None:
    if (
        not isinstance(name, str)
        or not 0 < len(name) <= MAX_NAME_LENGTH
        or not name.isascii()
        or not _NAME_RE.fullmatch(name)
        or ".." in name
    ):
        raise ValueError("a member name is 1-64 ASCII letters, digits, '.', '_' or '-'")


def _crc(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


# --- writer -----------------------------------------------------------------------------


def write(members: Sequence[Member]) -> bytes:
    """The container bytes for ``members``, in the order given. Deterministic."""
    if not members:
        raise ValueError("a container has at least one member")
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise ValueError("member names must be unique")
    parts: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for member in members:
        name = member.name.encode("ascii")
        size = len(member.data)
        if size > 0xFFFFFFFE:
            raise ValueError("a member is too large for a ZIP without ZIP64")
        crc = _crc(member.data)
        local = _LOCAL.pack(
            LOCAL_SIGNATURE,
            VERSION_NEEDED,
            FLAGS,
            METHOD_STORED,
            DOS_TIME,
            DOS_DATE,
            crc,
            size,
            size,
            len(name),
            0,
        )
        central.append(
            _CENTRAL.pack(
                CENTRAL_SIGNATURE,
                VERSION_MADE_BY,
                VERSION_NEEDED,
                FLAGS,
                METHOD_STORED,
                DOS_TIME,
                DOS_DATE,
                crc,
                size,
                size,
                len(name),
                0,  # extra field length
                0,  # comment length
                0,  # disk number start
                0,  # internal attributes
                EXTERNAL_ATTRIBUTES,
                offset,
            )
            + name
        )
        parts += [local, name, member.data]
        offset += len(local) + len(name) + size
    directory = b"".join(central)
    end = _END.pack(END_SIGNATURE, 0, 0, len(members), len(members), len(directory), offset, 0)
    if offset > 0xFFFFFFFE or len(members) > 0xFFFE:
        raise ValueError("the container is too large for a ZIP without ZIP64")
    return b"".join([*parts, directory, end])


# --- reader -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shared:
    """The fields a local header repeats from its directory entry; they must agree."""

    version_needed: int
    flags: int
    method: int
    time: int
    date: int
    crc: int
    stored_size: int
    size: int
    raw_name: bytes
    extra_length: int


@dataclass(frozen=True)
class _Entry:
    name: str
    shared: _Shared
    offset: int


@dataclass(frozen=True)
class _EndRecord:
    total: int
    cd_offset: int
    cd_size: int


def _check_shared(h: _Shared) -> None:
    """The fields shared by local and central headers must hold our constants."""
    if h.flags & FLAG_ENCRYPTED:
        raise Malformed(_("a container member is encrypted"))
    if h.flags & FLAG_DATA_DESCRIPTOR:
        raise Malformed(_("a container member uses a data descriptor"))
    if h.flags != FLAGS:
        raise Malformed(_("a container member has unexpected flags"))
    if h.method != METHOD_STORED:
        raise Malformed(_("a container member is compressed"))
    if 0xFFFFFFFF in (h.stored_size, h.size):
        raise Malformed(_("the container uses ZIP64"))
    if h.stored_size != h.size:
        raise Malformed(_("a container member's stored and original sizes differ"))
    if h.version_needed != VERSION_NEEDED:
        raise Malformed(_("a container member needs an unexpected ZIP version"))
    if (h.time, h.date) != (DOS_TIME, DOS_DATE):
        raise Malformed(_("a container member has an unexpected timestamp"))
    if h.extra_length != 0:
        raise Malformed(_("a container member has an extra field"))


def _decode_name(raw: bytes) -> str:
    try:
        name = raw.decode("ascii")
    except UnicodeDecodeError:
        raise Malformed(_("a container member name is not ASCII")) from None
    if "/" in name or "\\" in name:
        raise Malformed(_("a container member name contains a path separator"))
    if ".." in name:
        raise Malformed(_("a container member name contains '..'"))
    try:
        _check_name(name)
    except ValueError:
        raise Malformed(_("a container member name has characters we never write")) from None
    return name


def _read_end(data: bytes, limits: ContainerLimits) -> _EndRecord:
    """Entry count, directory offset and size from the end record (the last 22 bytes)."""
    if len(data) > limits.max_total_size:
        raise Malformed(_("the container is larger than the size limit"))
    if len(data) < _END.size or data[:4] != struct.pack("<I", LOCAL_SIGNATURE):
        raise Malformed(_("not a container (no ZIP local header at its start)"))
    sig, disk, cd_disk, here, total, cd_size, cd_offset, comment = _END.unpack_from(
        data, len(data) - _END.size
    )
    if sig != END_SIGNATURE:
        raise Malformed(_("the container does not end with a ZIP end record"))
    if comment != 0:
        raise Malformed(_("the container has a comment"))
    if 0xFFFF in (disk, cd_disk, here, total) or 0xFFFFFFFF in (cd_size, cd_offset):
        raise Malformed(_("the container uses ZIP64"))
    if disk != 0 or cd_disk != 0 or here != total:
        raise Malformed(_("the container claims to span several disks"))
    if total == 0:
        raise Malformed(_("the container is empty"))
    if total > limits.max_members:
        raise Malformed(_("the container has more members than allowed"))
    if cd_offset + cd_size != len(data) - _END.size:
        raise Malformed(_("the container has bytes between its directory and its end"))
    # The directory holds fixed headers and short names only; a size outside this range
    # is refused before any entry is parsed.
    if not total * (_CENTRAL.size + 1) <= cd_size <= total * (_CENTRAL.size + MAX_NAME_LENGTH):
        raise Malformed(_("the container directory has an unexpected size"))
    return _EndRecord(total, cd_offset, cd_size)


def _read_directory(
    data: bytes,
    end: _EndRecord,
    allowed: Sequence[str],
    *,
    limits: ContainerLimits,
    member_limits: Mapping[str, int],
) -> list[_Entry]:
    order = list(allowed)
    entries: list[_Entry] = []
    seen: set[str] = set()
    cd_end = end.cd_offset + end.cd_size
    position = end.cd_offset
    expected_offset = 0  # members are contiguous from byte 0
    last_index = -1
    total_size = 0
    for _number in range(end.total):
        if position + _CENTRAL.size > cd_end:
            raise Malformed(_("the container directory is truncated"))
        (
            sig, made_by, needed, flags, method, time, date, crc, stored_size, size,
            name_len, extra_len, comment_len, disk_start, internal, external, offset,
        ) = _CENTRAL.unpack_from(data, position)  # fmt: skip
        if sig != CENTRAL_SIGNATURE:
            raise Malformed(_("the container directory has a damaged entry"))
        if made_by != VERSION_MADE_BY:
            raise Malformed(_("a container member was made by an unexpected ZIP version"))
        if comment_len != 0:
            raise Malformed(_("a container member has a comment"))
        if disk_start != 0 or internal != 0:
            raise Malformed(_("a container member has unexpected attributes"))
        if external != EXTERNAL_ATTRIBUTES:
            raise Malformed(_("a container member is a directory, a link or has file modes"))
        if not 0 < name_len <= MAX_NAME_LENGTH:
            raise Malformed(_("a container member name has an unexpected length"))
        name_start = position + _CENTRAL.size
        if name_start + name_len > cd_end:
            raise Malformed(_("the container directory is truncated"))
        raw_name = data[name_start : name_start + name_len]
        shared = _Shared(
            needed, flags, method, time, date, crc, stored_size, size, raw_name, extra_len
        )
        _check_shared(shared)
        name = _decode_name(raw_name)
        if name in seen:
            raise Malformed(_("a container member appears twice"))
        seen.add(name)
        if name not in order:
            raise Malformed(_("the container has a member that does not belong there"))
        index = order.index(name)
        if index < last_index:
            raise Malformed(_("the container's members are not in their fixed order"))
        last_index = index
        # Sizes are capped here, from the directory, before any data is read.
        if size > min(limits.max_member_size, member_limits.get(name, size)):
            raise Malformed(_("a container member is larger than the size limit"))
        total_size += size
        if total_size > limits.max_total_size:
            raise Malformed(_("the container's members are larger than the size limit"))
        if offset != expected_offset:
            raise Malformed(_("the container's members are not contiguous from its start"))
        expected_offset = offset + _LOCAL.size + name_len + size
        if expected_offset > end.cd_offset:
            raise Malformed(_("a container member runs into the directory"))
        entries.append(_Entry(name, shared, offset))
        position = name_start + name_len
    if position != cd_end:
        raise Malformed(_("the container directory has trailing bytes"))
    if expected_offset != end.cd_offset:
        raise Malformed(_("the container has bytes between its last member and its directory"))
    return entries


def _read_member(data: bytes, entry: _Entry) -> bytes:
    (
        sig, needed, flags, method, time, date, crc, stored_size, size, name_len, extra_len,
    ) = _LOCAL.unpack_from(data, entry.offset)  # fmt: skip
    if sig != LOCAL_SIGNATURE:
        raise Malformed(_("a container member's local header is damaged"))
    name_start = entry.offset + _LOCAL.size
    local = _Shared(
        needed, flags, method, time, date, crc, stored_size, size,
        data[name_start : name_start + name_len], extra_len,
    )  # fmt: skip
    # A reader that trusts local headers (streaming unzip) must see what we see.
    if local != entry.shared:
        raise Malformed(_("a container member's local header disagrees with the directory"))
    start = name_start + name_len
    content = data[start : start + entry.shared.size]
    if _crc(content) != entry.shared.crc:
        raise Tampered(_("a container member's content does not match its checksum"))
    return content


def read(
    data: bytes,
    allowed: Sequence[str],
    *,
    limits: ContainerLimits = DEFAULT_LIMITS,
    member_limits: Mapping[str, int] | None = None,
) -> tuple[Member, ...]:
    """The members of a strict container, in order.

    ``allowed`` is the whitelist in its fixed order: each member must be one of these,
    at most once, in this order (callers then check that the set is exactly the one
    they need). ``member_limits`` caps named members below ``limits.max_member_size``
    (a manifest is small; a payload need not be). Raises :class:`Malformed` for
    anything but the one shape we write and :class:`Tampered` for a checksum mismatch.
    """
    if not isinstance(data, bytes):
        raise TypeError("a container is bytes")
    entries = _read_directory(
        data, _read_end(data, limits), allowed, limits=limits, member_limits=member_limits or {}
    )
    return tuple(Member(e.name, _read_member(data, e)) for e in entries)
