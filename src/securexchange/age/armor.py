"""ASCII armor: strict PEM (RFC 7468 §3) with the label ``AGE ENCRYPTED FILE``.

Armor is malleable unless it is parsed strictly, so the reader refuses everything but
the one canonical encoding: 64-column lines of padded, canonical base64 (only the last
may be shorter, and it may not be empty), no PEM headers, no checksum, nothing before or
after the block except a little whitespace. Lines may end in LF or CRLF.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable

from securexchange.age.errors import AgeArmorError
from securexchange.age.readahead import Readable
from securexchange.i18n import _

BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
END = b"-----END AGE ENCRYPTED FILE-----"
COLUMNS = 64
BYTES_PER_LINE = COLUMNS // 4 * 3
MAX_WHITESPACE = 1024  # before or after the block; more than this is not "a little"
_WHITESPACE = b" \t\r\n\v\f"
_BINARY_INTRO = b"age-encryption.org/"
_BLOCK = 64 * 1024
_MAX_LINE = MAX_WHITESPACE + 2
# Any run of full lines: always 48 bytes each and always canonical, so a whole run can
# be decoded in one call instead of line by line.
_FULL_LINES = re.compile(rb"(?:[A-Za-z0-9+/]{64}\r?\n)+")
_PADDED_B64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")


def starts_armored(prefix: bytes | bytearray | memoryview) -> bool:
    """Whether a file must be read as armor: it does not start like binary age.

    Binary age starts with ``age-encryption.org/``; anything else (a BEGIN line, leading
    whitespace, or garbage) is judged, and if need be refused, as armor.
    """
    start = bytes(prefix[: len(_BINARY_INTRO)])
    return not _BINARY_INTRO.startswith(start)


def _decode_line(line: bytes) -> bytes:
    if _PADDED_B64.fullmatch(line) is None or len(line) % 4:
        raise AgeArmorError(_("armored data is not padded base64"))
    try:
        raw = binascii.a2b_base64(line, strict_mode=True)
    except binascii.Error:
        raise AgeArmorError(_("armored data is not valid base64")) from None
    if binascii.b2a_base64(raw, newline=False) != line:
        raise AgeArmorError(_("armored data is not canonical base64"))
    return raw


class ArmorReader:
    """Decodes armor from a byte source on the fly (``readinto``), in bounded memory."""

    def __init__(self, src: Readable, prefix: bytes = b"") -> None:
        self._src = src
        self._buf = bytearray(prefix)
        self._pos = 0
        self._eof = False
        self._started = False
        self._done = False
        self._out = b""
        self._out_pos = 0

    # -- raw input -------------------------------------------------------------------

    def _fill(self) -> bool:
        if self._eof:
            return False
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        block = bytearray(_BLOCK)
        n = self._src.readinto(memoryview(block))
        if not n:
            self._eof = True
            return False
        self._buf += memoryview(block)[:n]
        return True

    def _line(self) -> bytes:
        """The next line without its LF and one CR before it; an unterminated last line
        counts; nothing at all is an error."""
        while True:
            nl = self._buf.find(b"\n", self._pos, self._pos + _MAX_LINE)
            if nl >= 0:
                line = bytes(self._buf[self._pos : nl])
                self._pos = nl + 1
                break
            if len(self._buf) - self._pos >= _MAX_LINE:
                raise AgeArmorError(_("an armor line is too long"))
            if not self._fill():
                if self._pos == len(self._buf):
                    raise AgeArmorError(_("the armored file ends before its END line"))
                line = bytes(self._buf[self._pos :])
                self._pos = len(self._buf)
                break
        return line.removesuffix(b"\r")

    def _drain_trailing(self) -> None:
        while len(self._buf) - self._pos < MAX_WHITESPACE and self._fill():
            pass
        rest = bytes(self._buf[self._pos : self._pos + MAX_WHITESPACE])
        if rest.strip(_WHITESPACE):
            raise AgeArmorError(_("data follows the armored block"))
        if len(rest) == MAX_WHITESPACE:
            raise AgeArmorError(_("too much whitespace after the armored block"))
        self._done = True

    # -- decoding --------------------------------------------------------------------

    def _start(self) -> None:
        skipped = 0
        while True:
            line = self._line()
            if line.strip(_WHITESPACE):
                break
            skipped += len(line) + 1
            if skipped > MAX_WHITESPACE:
                raise AgeArmorError(_("too much whitespace before the armored block"))
        if line != BEGIN:
            raise AgeArmorError(_("not an age file (no age header and no age armor BEGIN line)"))
        self._started = True

    def _decode_more(self) -> bytes:
        if not self._started:
            self._start()
        if len(self._buf) - self._pos < 2 * (COLUMNS + 2):
            self._fill()
        run = _FULL_LINES.match(self._buf, self._pos)
        if run is not None:
            lines = bytes(self._buf[self._pos : run.end()])
            self._pos = run.end()
            return binascii.a2b_base64(lines.translate(None, b"\r\n"), strict_mode=True)
        line = self._line()
        if line == END:
            self._drain_trailing()
            return b""
        if not line:
            raise AgeArmorError(_("empty line in the armored data"))
        if len(line) > COLUMNS:
            raise AgeArmorError(
                _("an armor line is longer than {columns} columns").format(columns=COLUMNS)
            )
        raw = _decode_line(line)
        if len(raw) < BYTES_PER_LINE:
            if self._line() != END:
                raise AgeArmorError(_("a short armor line is not followed by the END line"))
            self._drain_trailing()
        return raw

    def readinto(self, buffer: memoryview, /) -> int:
        while self._out_pos == len(self._out):
            if self._done:
                return 0
            self._out = self._decode_more()
            self._out_pos = 0
        n = min(len(buffer), len(self._out) - self._out_pos)
        buffer[:n] = self._out[self._out_pos : self._out_pos + n]
        self._out_pos += n
        return n


class ArmorWriter:
    """Encodes to armor, 64 columns, passing finished text to ``write``."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write
        self._pending = bytearray()
        write(BEGIN + b"\n")

    def __call__(self, data: memoryview | bytes) -> None:
        self._pending += data
        usable = len(self._pending) - len(self._pending) % BYTES_PER_LINE
        if usable >= _BLOCK:
            self._emit(bytes(self._pending[:usable]))
            del self._pending[:usable]

    def _emit(self, raw: bytes) -> None:
        text = binascii.b2a_base64(raw, newline=False)
        lines = [text[i : i + COLUMNS] for i in range(0, len(text), COLUMNS)]
        self._write(b"\n".join(lines) + b"\n" if lines else b"")

    def close(self) -> None:
        self._emit(bytes(self._pending))
        self._pending.clear()
        self._write(END + b"\n")


def armor(data: bytes) -> bytes:
    parts: list[bytes] = []
    writer = ArmorWriter(parts.append)
    writer(data)
    writer.close()
    return b"".join(parts)
