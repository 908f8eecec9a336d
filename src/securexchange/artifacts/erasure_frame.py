"""The erasure instruction inside a package's encrypted content (GDPR art. 17, 19).

When the agency erases a person (``agency erase``), the next packages to every
municipality that received them carry that municipality's record id for the person,
and the municipal client shreds whatever it still holds of the record at import. The
ids are pseudonymous but still personal data, so they travel encrypted, in front of the
workbook:

    magic    b"SXERASE1\\n"      9 bytes
    length   uint32, big-endian  length of the JSON, at most MAX_FRAME_SIZE
    json     strict JSON, one line: {"erase": [record id, ...]} sorted, unique, non-empty
    workbook the rest            the package workbook, as without the frame

Only the count is in the signed body (``erasures``), so an auditor sees that a package
carried instructions without learning whom they concern; the frame is present exactly
when that count is above zero and holds that many ids. Pure: bytes in, values out.
"""

from __future__ import annotations

from collections.abc import Sequence

from securexchange import strictjson
from securexchange.artifacts import payload
from securexchange.errors import Malformed
from securexchange.i18n import _
from securexchange.ids import is_record_id

MAGIC = b"SXERASE1\n"
MAX_ERASURES = 10_000
# "R-" and 20 base32 characters, quoted, with a comma: 25 bytes an id, and the wrapper.
MAX_FRAME_SIZE = 32 + 25 * MAX_ERASURES


def check_ids(record_ids: Sequence[str]) -> tuple[str, ...]:
    """``record_ids`` as the frame holds them: sorted, unique record ids, at most
    :data:`MAX_ERASURES`. ValueError otherwise (a caller's mistake, not a hostile file)."""
    ids = tuple(record_ids)
    if len(ids) > MAX_ERASURES:
        raise ValueError(f"at most {MAX_ERASURES} erasures travel in one package")
    if not all(isinstance(i, str) and is_record_id(i) for i in ids):
        raise ValueError("an erasure is not a record id")
    if list(ids) != sorted(set(ids)):
        raise ValueError("erasures are sorted and unique")
    return ids


def frame(record_ids: Sequence[str], workbook: bytes) -> bytes:
    """The package content: the workbook alone, or the frame and then the workbook."""
    ids = check_ids(record_ids)
    if not ids:
        return workbook
    return payload.frame(MAGIC, strictjson.dumps_line({"erase": list(ids)}), workbook)


def unframe(content: bytes, *, expected: int) -> tuple[tuple[str, ...], bytes]:
    """The erased record ids and the workbook of a decrypted package whose signed body
    states ``expected`` erasures. Malformed when the frame and the count disagree."""
    if expected == 0:
        if content.startswith(MAGIC):
            raise Malformed(_("the package carries erasures its manifest does not state"))
        return (), content
    encoded, workbook = payload.split_frame(
        content,
        MAGIC,
        MAX_FRAME_SIZE,
        unframed=_("the package does not carry the erasures its manifest states"),
        too_long=_("the package's erasures have an impossible length"),
    )
    # TRANSLATORS: the list of records the agency asks a municipality to erase.
    what = _("the erasure instruction")
    value = strictjson.loads(encoded, what=what, max_bytes=MAX_FRAME_SIZE)
    with strictjson.Fields(value, what) as f:
        listed = f.array("erase")
    try:
        ids = check_ids(listed)
    except ValueError:
        raise Malformed(_("the erasure instruction lists what is not a record id")) from None
    if len(ids) != expected or strictjson.dumps_line({"erase": list(ids)}) != encoded:
        raise Malformed(_("the erasure instruction does not agree with the manifest"))
    return ids, workbook
