"""The manifest: the signed description of one artifact (package, return, keyring, notice).

One envelope for every artifact type, so there is one verification path. The envelope
(``format``, ``type``, ``id``, ``created_at``, ``municipality``, ``signer``,
``payload``, ``attachments``) is defined here; the type-specific ``body`` is a frozen
dataclass that the workflow owning the type defines and registers (see
:class:`BodyRegistry`). The manifest is strict JSON (:mod:`securexchange.strictjson`):
unknown fields are refused, and so is any encoding other than the canonical one we
write, so the bytes that ``manifest.sig`` covers say exactly what the model says.

Pure: no crypto beyond naming the signature namespace, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, Self, TypeVar

from securexchange import sshsig, strictjson
from securexchange.clock import format_instant, read_instant
from securexchange.errors import InternalError, Malformed, WrongKind
from securexchange.fingerprint import is_display
from securexchange.formatversion import refuse_newer
from securexchange.i18n import N_, _
from securexchange.ids import ArtifactKind, is_artifact_id, is_nis_code

FORMAT_FAMILY = "securexchange"
FORMAT_VERSION = 4  # the newest envelope format this version of securexchange reads
# Format 2 (issue 19): a package or return body carries subkeys vouched for by their
# holders (the body's ``format_version``); same envelope fields. A writer uses the lowest
# format that expresses the manifest, so an older reader says "update securexchange".
# Format 3 (issue 20): the incident notice, the protocol notice and the evidence report,
# new artifact types (their bodies state 3).
# Format 4 (issue 20): a package that carries erasure instructions; a client that cannot
# carry them out refuses it ("update securexchange") rather than ignore them.
_FORMATS = frozenset(f"{FORMAT_FAMILY}/{n}" for n in range(1, FORMAT_VERSION + 1))


def body_format(body: object) -> str:
    """The envelope format a manifest with ``body`` states."""
    number = getattr(body, "format_version", 1)
    return f"{FORMAT_FAMILY}/{number}"


MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
KEYRING = "keyring.json"
KEYRING_SIGNATURE = "keyring.sig"
PAYLOAD = "payload.age"
# Every member name that can occur, in the one order members are written and read.
MEMBER_ORDER: tuple[str, ...] = (MANIFEST, SIGNATURE, KEYRING, KEYRING_SIGNATURE, PAYLOAD)
MAX_MANIFEST_SIZE = 256 << 10

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class ArtifactType(StrEnum):
    """The seven kinds of container; the manifest's ``type`` names one."""

    PACKAGE = "package"
    RETURN = "return"
    KEYRING = "keyring"
    NOTICE = "notice"
    INCIDENT = "incident"
    PROTOCOL_NOTICE = "protocol-notice"
    EVIDENCE = "evidence"

    @property
    def id_kind(self) -> ArtifactKind:
        """The prefix its artifact id must carry."""
        return _ID_KIND[self]

    @property
    def namespace(self) -> str:
        """The SSHSIG namespace of its ``manifest.sig``: one per type, never shared."""
        return _NAMESPACE[self]

    @property
    def has_payload(self) -> bool:
        return self in (ArtifactType.PACKAGE, ArtifactType.RETURN, ArtifactType.INCIDENT)

    @property
    def attachment_names(self) -> tuple[str, ...]:
        """Members besides manifest, signature and payload, committed to by the manifest."""
        return (KEYRING, KEYRING_SIGNATURE) if self is ArtifactType.PACKAGE else ()

    @property
    def members(self) -> tuple[str, ...]:
        """Exactly the members a container of this type holds, in their fixed order."""
        names = {MANIFEST, SIGNATURE, *self.attachment_names}
        if self.has_payload:
            names.add(PAYLOAD)
        return tuple(n for n in MEMBER_ORDER if n in names)


_ID_KIND = {
    ArtifactType.PACKAGE: ArtifactKind.PACKAGE,
    ArtifactType.RETURN: ArtifactKind.RETURN,
    ArtifactType.KEYRING: ArtifactKind.KEYRING,
    ArtifactType.NOTICE: ArtifactKind.NOTICE,
    ArtifactType.INCIDENT: ArtifactKind.INCIDENT,
    ArtifactType.PROTOCOL_NOTICE: ArtifactKind.PROTOCOL_NOTICE,
    ArtifactType.EVIDENCE: ArtifactKind.EVIDENCE,
}
_NAMESPACE = {
    ArtifactType.PACKAGE: sshsig.NAMESPACE_PACKAGE,
    ArtifactType.RETURN: sshsig.NAMESPACE_RETURN,
    ArtifactType.KEYRING: sshsig.NAMESPACE_KEYRING,
    ArtifactType.NOTICE: sshsig.NAMESPACE_NOTICE,
    ArtifactType.INCIDENT: sshsig.NAMESPACE_INCIDENT,
    ArtifactType.PROTOCOL_NOTICE: sshsig.NAMESPACE_PROTOCOL_NOTICE,
    ArtifactType.EVIDENCE: sshsig.NAMESPACE_EVIDENCE,
}
# What a manifest of each type is called in a message (claimed_what), and the refusal
# of a type a command does not take.
_CALLED = {
    # TRANSLATORS: fills {what} in the message that asks to update securexchange.
    ArtifactType.PACKAGE: N_("the package"),
    ArtifactType.RETURN: N_("the return"),
    ArtifactType.KEYRING: N_("the keyring"),
    ArtifactType.NOTICE: N_("the notice"),
    ArtifactType.INCIDENT: N_("the incident notice"),
    ArtifactType.PROTOCOL_NOTICE: N_("the protocol notice"),
    ArtifactType.EVIDENCE: N_("the report of measures"),
}
_NOT_TAKEN = {
    ArtifactType.PACKAGE: N_("the file is a package, which this command does not take"),
    ArtifactType.RETURN: N_("the file is a return, which this command does not take"),
    ArtifactType.KEYRING: N_("the file is a keyring, which this command does not take"),
    ArtifactType.NOTICE: N_("the file is a notice, which this command does not take"),
    ArtifactType.INCIDENT: N_("the file is an incident notice, which this command does not take"),
    ArtifactType.PROTOCOL_NOTICE: N_(
        "the file is a protocol notice (art. 5), which this command does not take"
    ),
    ArtifactType.EVIDENCE: N_(
        "the file is a report of measures (art. 6), which this command does not take"
    ),
}


@dataclass(frozen=True)
class MemberDigest:
    """The size and SHA-256 of a member's exact bytes, as the manifest commits to them."""

    size: int
    sha256: str  # 64 lower-case hex characters

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 0:
            raise ValueError("size is not a non-negative integer")
        if not isinstance(self.sha256, str) or not _SHA256_RE.fullmatch(self.sha256):
            raise ValueError("sha256 is not 64 lower-case hex characters")

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size}

    @classmethod
    def from_json(cls, value: Any, what: str) -> MemberDigest:
        with strictjson.Fields(value, what) as f:
            size = f.integer("size")
            sha256 = f.text("sha256")
        try:
            return cls(size, sha256)
        except ValueError as exc:
            # TRANSLATORS: {what} names a part of a file, {problem} what is wrong with it.
            raise Malformed(_("{what}: {problem}").format(what=what, problem=exc)) from None


# --- bodies -----------------------------------------------------------------------------


class Body(Protocol):
    """A type-specific manifest body: a frozen dataclass that round-trips through JSON.

    ``from_json`` receives the parsed ``body`` object and raises :class:`Malformed` (or
    ``ValueError``, which is wrapped) for anything it does not accept, unknown fields
    included (use :class:`strictjson.Fields`). ``to_json(from_json(x)) == x`` must hold:
    the manifest is refused unless it is in canonical form.
    """

    def to_json(self) -> dict[str, Any]: ...

    @classmethod
    def from_json(cls, value: Any) -> Self: ...


B = TypeVar("B", bound=type[Body])


class BodyRegistry:
    """Which body class parses the ``body`` of each artifact type.

    The workflow that owns a type registers its body class once, when its module is
    imported: ``@register_body(ArtifactType.PACKAGE)`` on the dataclass puts it in
    :data:`DEFAULT_BODIES`, which opening uses unless given another registry. Tests and
    tools may build their own ``BodyRegistry({...})`` and pass it explicitly. A second,
    different class for the same type is refused: two parsers for one type would let
    two readers disagree.
    """

    def __init__(self, bodies: Mapping[ArtifactType, type[Body]] | None = None) -> None:
        self._bodies: dict[ArtifactType, type[Body]] = {}
        for artifact_type, body_type in (bodies or {}).items():
            self.add(artifact_type, body_type)

    def add(self, artifact_type: ArtifactType, body_type: type[Body]) -> None:
        known = self._bodies.get(artifact_type)
        if known is not None and known is not body_type:
            raise ValueError(f"a body type is already registered for {artifact_type.value}")
        self._bodies[artifact_type] = body_type

    def register(self, artifact_type: ArtifactType) -> Callable[[B], B]:
        """Class decorator: ``@registry.register(ArtifactType.NOTICE)``."""

        def decorate(body_type: B) -> B:
            self.add(artifact_type, body_type)
            return body_type

        return decorate

    def body_type(self, artifact_type: ArtifactType) -> type[Body]:
        try:
            return self._bodies[artifact_type]
        except KeyError:
            # A wiring bug (the module defining the body was not imported), not bad input.
            raise InternalError(
                _("no manifest body type is registered for {kind} artifacts").format(
                    kind=artifact_type.value
                )
            ) from None

    def __contains__(self, artifact_type: object) -> bool:
        return artifact_type in self._bodies

    def __iter__(self) -> Iterator[ArtifactType]:
        return iter(self._bodies)


DEFAULT_BODIES = BodyRegistry()


def register_body(artifact_type: ArtifactType) -> Callable[[B], B]:
    """Register a body class for ``artifact_type`` in :data:`DEFAULT_BODIES`."""
    return DEFAULT_BODIES.register(artifact_type)


# --- the envelope -----------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """The common envelope of every artifact, with its type-specific body.

    Valid by construction: ``__post_init__`` raises ``ValueError`` naming the field (and
    :meth:`from_json_bytes` turns that into :class:`Malformed`).
    """

    artifact_type: ArtifactType
    artifact_id: str
    created_at: datetime
    municipality: str  # the NIS code of the municipality the artifact is for or from
    signer: str  # fingerprint (display form) of the key that signs manifest.sig
    body: Body
    payload: MemberDigest | None = None
    attachments: tuple[tuple[str, MemberDigest], ...] = field(default=())
    format: str = ""  # empty: the one the body needs (body_format)

    def __post_init__(self) -> None:
        if not self.format:
            object.__setattr__(self, "format", body_format(self.body))
        if self.format != body_format(self.body):
            raise ValueError("format is not the one the body needs")
        if not isinstance(self.artifact_type, ArtifactType):
            raise ValueError("type is not an artifact type")
        if not isinstance(self.artifact_id, str) or not is_artifact_id(self.artifact_id):
            raise ValueError("id is not an artifact id")
        if not self.artifact_id.startswith(f"{self.artifact_type.id_kind.value}-"):
            raise ValueError("id is not of the kind its type requires")
        if (
            not isinstance(self.created_at, datetime)
            or self.created_at.tzinfo is None
            or self.created_at.utcoffset() != UTC.utcoffset(None)
            or self.created_at.microsecond != 0
        ):
            raise ValueError("created_at is not a whole-second UTC time")
        if not is_nis_code(self.municipality):
            raise ValueError("municipality is not a 5-digit NIS code")
        if not isinstance(self.signer, str) or not is_display(self.signer):
            raise ValueError("signer is not a fingerprint")
        if self.artifact_type.has_payload != (self.payload is not None):
            raise ValueError("payload is required exactly for packages and returns")
        if self.payload is not None and not isinstance(self.payload, MemberDigest):
            raise ValueError("payload is not a member digest")
        names = tuple(name for name, _ in self.attachments)
        if names != self.artifact_type.attachment_names or not all(
            isinstance(d, MemberDigest) for _, d in self.attachments
        ):
            raise ValueError("attachments do not match the artifact type")
        if not callable(getattr(self.body, "to_json", None)):
            raise ValueError("body is not a manifest body")

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "format": self.format,
            "type": self.artifact_type.value,
            "id": self.artifact_id,
            "created_at": format_instant(self.created_at),
            "municipality": self.municipality,
            "signer": self.signer,
            "body": self.body.to_json(),
        }
        if self.payload is not None:
            value["payload"] = self.payload.to_json()
        if self.attachments:
            value["attachments"] = {name: d.to_json() for name, d in self.attachments}
        return value

    def to_json_bytes(self) -> bytes:
        """The canonical bytes of ``manifest.json`` (what ``manifest.sig`` signs)."""
        return strictjson.dumps(self.to_json())

    @classmethod
    def from_json_bytes(
        cls,
        data: bytes,
        *,
        bodies: BodyRegistry = DEFAULT_BODIES,
        accept: Collection[ArtifactType] | None = None,
    ) -> Manifest:
        """Parse ``manifest.json`` strictly; :class:`Malformed` for anything else.

        With ``accept``, an artifact of another type is :class:`WrongKind` as soon as
        its type is read: a command is handed any file, and the body parsers of the
        kinds it does not take may not even be loaded.
        """
        # A newer envelope is "update securexchange", whatever else in it is new to us.
        refuse_newer(
            data,
            family=FORMAT_FAMILY,
            known=FORMAT_VERSION,
            what=claimed_what(data),
            max_bytes=MAX_MANIFEST_SIZE,
        )
        value = strictjson.loads(data, what="manifest.json", max_bytes=MAX_MANIFEST_SIZE)
        with strictjson.Fields(value, "manifest.json") as f:
            fmt = f.text("format")
            if fmt not in _FORMATS:
                raise Malformed(_("manifest.json has an unsupported format"))
            type_text = f.text("type")
            try:
                artifact_type = ArtifactType(type_text)
            except ValueError:
                raise Malformed(_("manifest.json has an unknown artifact type")) from None
            if accept is not None and artifact_type not in accept:
                raise WrongKind(_(_NOT_TAKEN[artifact_type]))
            artifact_id = f.text("id")
            created_at = read_instant(f.text("created_at"), "manifest.json: created_at")
            municipality = f.text("municipality")
            signer = f.text("signer")
            payload_json = f.opt_object("payload")
            attachments_json = f.opt_object("attachments")
            body_json = f.object("body")
        payload = (
            None
            if payload_json is None
            else MemberDigest.from_json(payload_json, "manifest.json: payload")
        )
        attachments = _attachments(artifact_type, attachments_json or {})
        body = _body(bodies, artifact_type, body_json)
        try:
            manifest = cls(
                artifact_type=artifact_type,
                artifact_id=artifact_id,
                created_at=created_at,
                municipality=municipality,
                signer=signer,
                body=body,
                payload=payload,
                attachments=attachments,
                format=fmt,
            )
        except ValueError as exc:
            # __post_init__ messages name the field, never its value.
            # TRANSLATORS: {problem} says which field of the manifest is wrong.
            raise Malformed(_("manifest.json: {problem}").format(problem=exc)) from None
        # One manifest, one encoding: other whitespace, key order, escapes or a null
        # where a field should be absent would let two readers see different things.
        if manifest.to_json_bytes() != data:
            raise Malformed(_("manifest.json is not in canonical form"))
        return manifest


def claimed_what(data: bytes) -> str:
    """ "the package", "the notice", ... for a manifest's refusal (a known type only)."""
    import json

    try:
        value = json.loads(data)
        return _(_CALLED[ArtifactType(value["type"])])
    except (ValueError, TypeError, KeyError, RecursionError):
        # TRANSLATORS: fills {what} in the message that asks to update securexchange.
        return _("the file")


def _attachments(
    artifact_type: ArtifactType, attachments_json: Mapping[str, Any]
) -> tuple[tuple[str, MemberDigest], ...]:
    names = artifact_type.attachment_names
    if set(attachments_json) != set(names):
        raise Malformed(_("manifest.json: attachments do not match the artifact type"))
    return tuple(
        (name, MemberDigest.from_json(attachments_json[name], _("manifest.json: attachment")))
        for name in names
    )


def _body(bodies: BodyRegistry, artifact_type: ArtifactType, body_json: Any) -> Body:
    body_type = bodies.body_type(artifact_type)
    try:
        body = body_type.from_json(body_json)
    except Malformed as exc:
        # TRANSLATORS: "body" is the name of a field in the file; {problem} what is wrong.
        raise Malformed(_("manifest.json: body: {problem}").format(problem=exc.message)) from None
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError):
        # A body's own message might quote a value; say only where the problem is.
        raise Malformed(_("manifest.json: the body is not valid")) from None
    if not isinstance(body, body_type):
        raise InternalError(_("a manifest body parser returned another type"))
    return body
