"""Payload framing: the binding fields repeated inside the encrypted payload.

age has no associated data, so nothing in ``payload.age`` itself says which artifact it
belongs to. We therefore put the facts that matter in front of the content, inside the
encryption, and compare them with the signed manifest after decryption:

    magic   b"SXPAYLOAD1\\n"        11 bytes
    length  uint32, big-endian      length of the binding JSON, at most 4096
    binding strict JSON, one line   {"id", "municipality", "signer", "type"}
    content the rest                the workbook, the return, ...

A payload taken from another artifact, or encrypted by someone for another
municipality, then fails with :class:`Tampered` even where its own age layer is intact.
Pure bytes in, bytes out.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from securexchange import strictjson
from securexchange.artifacts.manifest import ArtifactType
from securexchange.errors import Malformed
from securexchange.fingerprint import is_display
from securexchange.i18n import _
from securexchange.ids import is_artifact_id, is_nis_code

MAGIC = b"SXPAYLOAD1\n"
MAX_BINDING_SIZE = 4096
_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class Binding:
    """What the encrypted payload says about itself; must equal the signed manifest."""

    artifact_id: str
    artifact_type: ArtifactType
    municipality: str  # NIS code
    signer: str  # fingerprint, display form

    def __post_init__(self) -> None:
        if not isinstance(self.artifact_id, str) or not is_artifact_id(self.artifact_id):
            raise ValueError("id is not an artifact id")
        if not isinstance(self.artifact_type, ArtifactType):
            raise ValueError("type is not an artifact type")
        if not is_nis_code(self.municipality):
            raise ValueError("municipality is not a 5-digit NIS code")
        if not isinstance(self.signer, str) or not is_display(self.signer):
            raise ValueError("signer is not a fingerprint")

    def to_json_bytes(self) -> bytes:
        return strictjson.dumps_line(
            {
                "id": self.artifact_id,
                "type": self.artifact_type.value,
                "municipality": self.municipality,
                "signer": self.signer,
            }
        )


def frame(magic: bytes, encoded: bytes, rest: bytes) -> bytes:
    """``magic``, the length of ``encoded`` (uint32, big-endian), ``encoded``, ``rest``."""
    return magic + _LENGTH.pack(len(encoded)) + encoded + rest


def split_frame(
    data: bytes, magic: bytes, max_size: int, *, unframed: str, too_long: str
) -> tuple[bytes, bytes]:
    """The framed part and the rest of ``data`` (see :func:`frame`); Malformed with the
    message ``unframed`` or ``too_long`` (already translated) otherwise."""
    header = len(magic) + _LENGTH.size
    if len(data) < header or not data.startswith(magic):
        raise Malformed(unframed)
    (length,) = _LENGTH.unpack_from(data, len(magic))
    if length > max_size or header + length > len(data):
        raise Malformed(too_long)
    return data[header : header + length], data[header + length :]


def wrap_payload(binding: Binding, content: bytes) -> bytes:
    """The plaintext that goes into ``payload.age``: framing, binding, then content."""
    return frame(MAGIC, binding.to_json_bytes(), content)


def unwrap_payload(plaintext: bytes) -> tuple[Binding, bytes]:
    """The binding and the content of a decrypted payload; :class:`Malformed` if unframed."""
    encoded, content = split_frame(
        plaintext,
        MAGIC,
        MAX_BINDING_SIZE,
        unframed=_("the payload does not start with the securexchange framing"),
        too_long=_("the payload's binding has an impossible length"),
    )
    # TRANSLATORS: the facts about a file repeated inside its encrypted content.
    what = _("the payload binding")
    value = strictjson.loads(encoded, what=what, max_bytes=MAX_BINDING_SIZE)
    with strictjson.Fields(value, what) as f:
        artifact_id = f.text("id")
        type_text = f.text("type")
        municipality = f.text("municipality")
        signer = f.text("signer")
    try:
        binding = Binding(artifact_id, ArtifactType(type_text), municipality, signer)
    except ValueError:
        raise Malformed(_("the payload binding has an invalid field")) from None
    if binding.to_json_bytes() != encoded:
        raise Malformed(_("the payload binding is not in canonical form"))
    return binding, content
