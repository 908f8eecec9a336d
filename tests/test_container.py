"""The signed container: sealing, opening in order, and every attack on it refused by name.

Containers here are real: real Ed25519 signatures, real age encryption, no mocks. Hostile
variants are built by re-signing whatever the attacker controls, so each refusal is
caused by the one thing changed, not by a broken signature.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import warnings
import zipfile
import zlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hostile import run_limited
from securexchange import age, sshsig, strictjson
from securexchange.artifacts import zipstrict
from securexchange.artifacts.container import (
    PinnedSigner,
    UnsafeNoTrust,
    UnsafeTrustWarning,
    VerifiedArtifact,
    open_artifact,
    open_without_decryption,
    seal,
)
from securexchange.artifacts.manifest import (
    MANIFEST,
    MEMBER_ORDER,
    PAYLOAD,
    SIGNATURE,
    ArtifactType,
    BodyRegistry,
    Manifest,
    MemberDigest,
)
from securexchange.artifacts.payload import MAGIC, Binding, unwrap_payload, wrap_payload
from securexchange.artifacts.zipstrict import Member
from securexchange.errors import (
    BadSignature,
    InternalError,
    Malformed,
    NotAuthorised,
    SxError,
    Tampered,
)
from securexchange.fingerprint import Fingerprint
from securexchange.ids import ArtifactKind, new_artifact_id
from test_zipstrict import Entry, loose_zip


@dataclass(frozen=True)
class NoteBody:
    """A tiny body type, registered for every type in this file's own registry."""

    note: str
    sequence: int

    def __post_init__(self) -> None:
        if self.sequence < 0:
            raise ValueError("sequence is negative")

    def to_json(self) -> dict[str, Any]:
        return {"note": self.note, "sequence": self.sequence}

    @classmethod
    def from_json(cls, value: Any) -> NoteBody:
        with strictjson.Fields(value, "body") as f:
            note = f.text("note")
            sequence = f.integer("sequence")
        return cls(note, sequence)


BODIES = BodyRegistry({t: NoteBody for t in ArtifactType})
SEED = bytes(range(32))
PUBLIC = sshsig.public_key_from_seed(SEED)
SIGNER = Fingerprint.of_public_key(PUBLIC).display
OTHER_SEED = bytes(range(1, 33))
IDENTITY = age.X25519Identity.generate()
CREATED = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
NIS = "11002"
KIND = {
    ArtifactType.PACKAGE: ArtifactKind.PACKAGE,
    ArtifactType.RETURN: ArtifactKind.RETURN,
    ArtifactType.KEYRING: ArtifactKind.KEYRING,
    ArtifactType.NOTICE: ArtifactKind.NOTICE,
    ArtifactType.INCIDENT: ArtifactKind.INCIDENT,
    ArtifactType.PROTOCOL_NOTICE: ArtifactKind.PROTOCOL_NOTICE,
    ArtifactType.EVIDENCE: ArtifactKind.EVIDENCE,
}
TRUST = PinnedSigner(PUBLIC)


def make(
    artifact_type: ArtifactType = ArtifactType.PACKAGE,
    *,
    content: bytes = b"PK workbook bytes",
    seed: bytes = SEED,
    note: str = "hello",
    keyring: bytes = b'{"keys": []}\n',
) -> bytes:
    has_payload = artifact_type.has_payload
    return seal(
        artifact_type=artifact_type,
        artifact_id=new_artifact_id(KIND[artifact_type]),
        created_at=CREATED,
        municipality=NIS,
        body=NoteBody(note, 1),
        signing_seed=seed,
        content=content if has_payload else None,
        recipients=[IDENTITY.recipient] if has_payload else (),
        attachments=(
            {"keyring.json": keyring, "keyring.sig": b"sig of " + keyring}
            if artifact_type is ArtifactType.PACKAGE
            else None
        ),
    )


PACKAGE_SAMPLE_CONTENT = b"sample"


def members_of(data: bytes) -> dict[str, bytes]:
    return {m.name: m.data for m in zipstrict.read(data, MEMBER_ORDER)}


def rebuild(
    members: dict[str, bytes],
    *,
    manifest_bytes: bytes | None = None,
    seed: bytes = SEED,
    namespace: str | None = None,
) -> bytes:
    """A container from ``members`` with manifest.sig freshly made over manifest.json."""
    members = dict(members)
    if manifest_bytes is not None:
        members[MANIFEST] = manifest_bytes
    if namespace is None:
        namespace = Manifest.from_json_bytes(
            members[MANIFEST], bodies=BODIES
        ).artifact_type.namespace
    members[SIGNATURE] = sshsig.sign(seed, members[MANIFEST], namespace).encode()
    return zipstrict.write([Member(n, members[n]) for n in MEMBER_ORDER if n in members])


def opened(data: bytes, **kwargs: Any) -> VerifiedArtifact:
    kwargs.setdefault("trust", TRUST)
    kwargs.setdefault("identities", [IDENTITY])
    return open_artifact(data, bodies=BODIES, **kwargs)


def refusal(data: bytes, **kwargs: Any) -> SxError:
    with pytest.raises(SxError) as caught:
        opened(data, **kwargs)
    return caught.value


def manifest_json(data: bytes) -> dict[str, Any]:
    value: dict[str, Any] = strictjson.loads(members_of(data)[MANIFEST], what="test")
    return value


PACKAGE_SAMPLE = make(content=PACKAGE_SAMPLE_CONTENT)


# --- round trips --------------------------------------------------------------------------


def test_a_package_opens_with_its_content_members_and_manifest() -> None:
    data = make(content=b"the workbook")
    result = opened(data)
    manifest = result.manifest
    assert manifest.artifact_type is ArtifactType.PACKAGE
    assert manifest.municipality == NIS and manifest.signer == SIGNER
    assert manifest.created_at == CREATED
    assert manifest.body == NoteBody("hello", 1)
    assert result.content == b"the workbook"
    assert result.signer_key == PUBLIC
    assert list(result.members) == list(ArtifactType.PACKAGE.members)
    assert result.members[MANIFEST] == result.manifest_bytes
    assert result.container_sha256 == hashlib.sha256(data).hexdigest()
    payload = result.members[PAYLOAD]
    assert manifest.payload == MemberDigest(len(payload), hashlib.sha256(payload).hexdigest())


@pytest.mark.parametrize("artifact_type", list(ArtifactType))
def test_every_type_round_trips_with_exactly_its_members(artifact_type: ArtifactType) -> None:
    data = make(artifact_type)
    assert tuple(members_of(data)) == artifact_type.members
    result = opened(data)
    assert result.manifest.artifact_type is artifact_type
    assert result.decrypted is artifact_type.has_payload


def test_member_sets_are_the_ones_the_brief_fixes() -> None:
    assert ArtifactType.PACKAGE.members == (
        "manifest.json", "manifest.sig", "keyring.json", "keyring.sig", "payload.age",
    )  # fmt: skip
    assert ArtifactType.RETURN.members == ("manifest.json", "manifest.sig", "payload.age")
    assert ArtifactType.KEYRING.members == ("manifest.json", "manifest.sig")
    assert ArtifactType.NOTICE.members == ("manifest.json", "manifest.sig")
    assert ArtifactType.INCIDENT.members == ("manifest.json", "manifest.sig", "payload.age")
    assert ArtifactType.PROTOCOL_NOTICE.members == ("manifest.json", "manifest.sig")
    assert ArtifactType.EVIDENCE.members == ("manifest.json", "manifest.sig")
    assert {t.namespace for t in ArtifactType} == {
        sshsig.NAMESPACE_PACKAGE,
        sshsig.NAMESPACE_RETURN,
        sshsig.NAMESPACE_KEYRING,
        sshsig.NAMESPACE_NOTICE,
        sshsig.NAMESPACE_INCIDENT,
        sshsig.NAMESPACE_PROTOCOL_NOTICE,
        sshsig.NAMESPACE_EVIDENCE,
    }


def test_keyrings_and_notices_open_without_any_identity() -> None:
    assert opened(make(ArtifactType.NOTICE), identities=[]).content is None


def test_an_auditor_verifies_without_a_key_and_gets_no_content() -> None:
    result = open_without_decryption(make(), trust=TRUST, bodies=BODIES)
    assert result.content is None and not result.decrypted
    assert result.manifest.artifact_type is ArtifactType.PACKAGE


def test_sealing_twice_differs_only_by_fresh_encryption() -> None:
    first = opened(make(content=b"same")).manifest_bytes
    second = opened(make(content=b"same")).manifest_bytes
    assert first != second  # new id, new payload digest


def test_the_manifest_json_is_the_documented_envelope() -> None:
    value = manifest_json(make())
    assert set(value) == {
        "format", "type", "id", "created_at", "municipality", "signer", "payload",
        "attachments", "body",
    }  # fmt: skip
    assert value["format"] == "securexchange/1"
    assert value["created_at"] == "2026-11-01T09:30:00Z"
    assert set(value["attachments"]) == {"keyring.json", "keyring.sig"}
    assert set(manifest_json(make(ArtifactType.NOTICE))) == {
        "format", "type", "id", "created_at", "municipality", "signer", "body",
    }  # fmt: skip


# --- the acceptance list ------------------------------------------------------------------


def test_swapping_payload_between_two_packages_is_tampered() -> None:
    a, b = members_of(make(content=b"a")), members_of(make(content=b"b"))
    a[PAYLOAD] = b[PAYLOAD]
    hybrid = zipstrict.write([Member(n, a[n]) for n in ArtifactType.PACKAGE.members])
    assert refusal(hybrid).name == "SX-TAMPERED"


def test_swapping_manifest_and_signature_between_packages_is_tampered() -> None:
    a, b = members_of(make(content=b"a")), members_of(make(content=b"b"))
    a[MANIFEST], a[SIGNATURE] = b[MANIFEST], b[SIGNATURE]
    hybrid = zipstrict.write([Member(n, a[n]) for n in ArtifactType.PACKAGE.members])
    assert refusal(hybrid).name == "SX-TAMPERED"


def test_swapping_the_signed_keyring_view_between_packages_is_tampered() -> None:
    a, b = members_of(make(keyring=b"[1]\n")), members_of(make(keyring=b"[2]\n"))
    a["keyring.json"], a["keyring.sig"] = b["keyring.json"], b["keyring.sig"]
    hybrid = zipstrict.write([Member(n, a[n]) for n in ArtifactType.PACKAGE.members])
    assert refusal(hybrid).name == "SX-TAMPERED"


def test_swapping_only_the_manifest_or_only_the_signature_is_a_bad_signature() -> None:
    a, b = members_of(make()), members_of(make())
    for name in (MANIFEST, SIGNATURE):
        hybrid = dict(a, **{name: b[name]})
        data = zipstrict.write([Member(n, hybrid[n]) for n in ArtifactType.PACKAGE.members])
        assert refusal(data).name == "SX-BAD-SIGNATURE"


def test_a_duplicate_member_is_malformed() -> None:
    members = members_of(make(ArtifactType.NOTICE))
    hostile = [Entry(n.encode(), d) for n, d in members.items()]
    assert refusal(loose_zip([hostile[0], *hostile])).name == "SX-MALFORMED"


def test_a_dot_dot_member_is_malformed() -> None:
    members = members_of(make(ArtifactType.NOTICE))
    hostile = [*(Entry(n.encode(), d) for n, d in members.items()), Entry(b"../evil", b"x")]
    assert refusal(loose_zip(hostile)).name == "SX-MALFORMED"


def test_an_extra_member_is_malformed_even_one_another_type_has() -> None:
    notice = members_of(make(ArtifactType.NOTICE))
    package = members_of(make())
    notice[PAYLOAD] = package[PAYLOAD]
    data = zipstrict.write([Member(n, notice[n]) for n in MEMBER_ORDER if n in notice])
    assert refusal(data).name == "SX-MALFORMED"
    hostile = [*(Entry(n.encode(), d) for n, d in members_of(make()).items())]
    hostile.append(Entry(b"readme.txt", b"x"))
    assert refusal(loose_zip(hostile)).name == "SX-MALFORMED"


def test_a_missing_member_is_malformed() -> None:
    package = members_of(make())
    del package["keyring.sig"]
    data = zipstrict.write([Member(n, package[n]) for n in MEMBER_ORDER if n in package])
    assert refusal(data).name == "SX-MALFORMED"


def test_appended_and_prepended_bytes_are_malformed() -> None:
    data = make()
    assert refusal(data + b"\n").name == "SX-MALFORMED"
    assert refusal(b"\x00" + data).name == "SX-MALFORMED"


def test_a_zip_comment_is_malformed() -> None:
    buffer = io.BytesIO(make())
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.comment = b"unsigned text"
    assert refusal(buffer.getvalue()).name == "SX-MALFORMED"


def test_a_local_header_that_disagrees_with_the_directory_is_malformed() -> None:
    members = members_of(make(ArtifactType.NOTICE))
    hostile = [Entry(n.encode(), d) for n, d in members.items()]
    hostile[0].local["crc"] = zlib.crc32(b"something else")
    assert refusal(loose_zip(hostile)).name == "SX-MALFORMED"


def test_a_deflated_member_is_malformed() -> None:
    members = members_of(make(ArtifactType.NOTICE))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    assert refusal(buffer.getvalue()).name == "SX-MALFORMED"


def test_twenty_thousand_members_are_malformed() -> None:
    many = [Entry(b"manifest.json", b"{}") for _ in range(20_000)]
    assert refusal(loose_zip(many)).name == "SX-MALFORMED"


def test_a_manifest_with_a_duplicate_key_is_malformed_even_when_signed() -> None:
    members = members_of(make(ArtifactType.NOTICE))
    text = members[MANIFEST].decode()
    duplicated = text.replace('"format":', '"format": "securexchange/1",\n  "format":', 1)
    data = rebuild(members, manifest_bytes=duplicated.encode(), namespace=sshsig.NAMESPACE_NOTICE)
    error = refusal(data)
    assert error.name == "SX-MALFORMED" and "duplicate" in error.message


# --- every byte ---------------------------------------------------------------------------


def test_every_single_byte_flip_of_a_package_is_refused() -> None:
    data = make(content=b"x")
    for offset in range(len(data)):
        changed = bytearray(data)
        changed[offset] ^= 0x01
        with pytest.raises(SxError):
            opened(bytes(changed))


def test_a_byte_flip_with_a_repaired_crc_is_caught_by_the_layer_that_owns_the_member() -> None:
    """An attacker who fixes the ZIP checksum still meets the signature and the digests."""
    members = members_of(make(content=b"x"))
    expected: dict[str, tuple[type[SxError], ...]] = {
        # The signer field picks the key before the signature is checked.
        MANIFEST: (Malformed, BadSignature, NotAuthorised),
        SIGNATURE: (Malformed, BadSignature),
        "keyring.json": (Tampered,),
        "keyring.sig": (Tampered,),
        PAYLOAD: (Tampered,),
    }
    for name, content in members.items():
        for offset in range(len(content)):
            changed = bytearray(content)
            changed[offset] ^= 0x01
            hybrid = dict(members, **{name: bytes(changed)})
            data = zipstrict.write([Member(n, hybrid[n]) for n in hybrid])
            with pytest.raises(SxError) as caught:
                opened(data)
            assert isinstance(caught.value, expected[name]), (name, offset, caught.value)


# --- signatures and trust -----------------------------------------------------------------


def test_a_signature_in_another_types_namespace_is_a_bad_signature() -> None:
    members = members_of(make(ArtifactType.NOTICE))
    data = rebuild(members, namespace=sshsig.NAMESPACE_KEYRING)
    assert refusal(data).name == "SX-BAD-SIGNATURE"


def test_a_return_manifest_relabelled_as_a_package_fails() -> None:
    ret = members_of(make(ArtifactType.RETURN))
    value = strictjson.loads(ret[MANIFEST], what="test")
    value["type"] = "package"
    relabelled = dict(ret, **{MANIFEST: strictjson.dumps(value)})
    data = zipstrict.write([Member(n, relabelled[n]) for n in MEMBER_ORDER if n in relabelled])
    assert refusal(data).name in {"SX-MALFORMED", "SX-BAD-SIGNATURE"}


def test_a_container_signed_by_an_untrusted_key_is_not_authorised() -> None:
    error = refusal(make(seed=OTHER_SEED))
    assert error.name == "SX-NOT-AUTHORISED"


def test_a_manifest_naming_the_trusted_signer_but_signed_by_another_key_is_refused() -> None:
    members = members_of(make(ArtifactType.NOTICE))
    # The manifest still names SIGNER; only the signature key differs.
    data = rebuild(members, seed=OTHER_SEED)
    assert refusal(data).name == "SX-BAD-SIGNATURE"


def test_a_pinned_key_can_be_limited_to_some_artifact_types() -> None:
    trust = PinnedSigner(PUBLIC, frozenset({ArtifactType.KEYRING}))
    assert refusal(make(ArtifactType.NOTICE), trust=trust).name == "SX-NOT-AUTHORISED"
    opened(make(ArtifactType.KEYRING), trust=trust)


def test_unsafe_no_trust_accepts_any_intact_signer_and_warns() -> None:
    data = make(seed=OTHER_SEED)
    with pytest.warns(UnsafeTrustWarning):
        result = opened(data, trust=UnsafeNoTrust())
    assert result.signer_key == sshsig.public_key_from_seed(OTHER_SEED)


def test_unsafe_no_trust_still_refuses_a_signer_field_that_names_another_key() -> None:
    members = members_of(make(ArtifactType.NOTICE))  # names SIGNER
    data = rebuild(members, seed=OTHER_SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeTrustWarning)
        assert refusal(data, trust=UnsafeNoTrust()).name == "SX-NOT-AUTHORISED"


def test_an_unexpected_artifact_type_is_refused() -> None:
    error = refusal(make(ArtifactType.RETURN), accept={ArtifactType.PACKAGE})
    assert error.name == "SX-WRONG-KIND"


# --- payload and binding ------------------------------------------------------------------


def test_a_package_for_someone_else_is_not_recipient() -> None:
    error = refusal(make(), identities=[age.X25519Identity.generate()])
    assert error.name == "SX-NOT-RECIPIENT"


def _package_with_payload(plaintext: bytes, recipients: list[Any] | None = None) -> bytes:
    """A correctly signed package whose payload.age holds exactly ``plaintext``."""
    members = members_of(make())
    manifest = Manifest.from_json_bytes(members[MANIFEST], bodies=BODIES)
    payload = age.encrypt(plaintext, recipients or [IDENTITY.recipient])
    members[PAYLOAD] = payload
    digest = MemberDigest(len(payload), hashlib.sha256(payload).hexdigest())
    return rebuild(members, manifest_bytes=replace(manifest, payload=digest).to_json_bytes())


def _binding_of(data: bytes) -> Binding:
    m = Manifest.from_json_bytes(members_of(data)[MANIFEST], bodies=BODIES)
    return Binding(m.artifact_id, m.artifact_type, m.municipality, m.signer)


@pytest.mark.parametrize(
    "change",
    [
        {"municipality": "44021"},
        {"artifact_id": new_artifact_id(ArtifactKind.PACKAGE)},
        {"artifact_type": ArtifactType.RETURN},
        {"signer": Fingerprint.of_public_key(sshsig.public_key_from_seed(OTHER_SEED)).display},
    ],
    ids=["municipality", "id", "type", "signer"],
)
def test_a_payload_bound_to_other_fields_than_its_manifest_is_tampered(
    change: dict[str, Any],
) -> None:
    template = make()
    members = members_of(template)
    manifest = Manifest.from_json_bytes(members[MANIFEST], bodies=BODIES)
    binding = replace(_binding_of(template), **change)
    payload = age.encrypt(wrap_payload(binding, b"content"), [IDENTITY.recipient])
    members[PAYLOAD] = payload
    digest = MemberDigest(len(payload), hashlib.sha256(payload).hexdigest())
    data = rebuild(members, manifest_bytes=replace(manifest, payload=digest).to_json_bytes())
    error = refusal(data)
    assert error.name == "SX-TAMPERED" and "another artifact" in error.message
    # The auditor, without the key, cannot see this layer: that is documented.
    open_without_decryption(data, trust=TRUST, bodies=BODIES)


def test_a_payload_without_framing_is_malformed() -> None:
    assert refusal(_package_with_payload(b"just a workbook")).name == "SX-MALFORMED"


def test_a_payload_encrypted_to_a_passphrase_is_malformed() -> None:
    data = _package_with_payload(b"x", [age.ScryptRecipient(b"passphrase", work_factor=10)])
    assert refusal(data).name == "SX-MALFORMED"


def test_an_armored_payload_is_malformed() -> None:
    members = members_of(make())
    manifest = Manifest.from_json_bytes(members[MANIFEST], bodies=BODIES)
    payload = age.encrypt(wrap_payload(_binding_of(make()), b"x"), [IDENTITY.recipient], armor=True)
    members[PAYLOAD] = payload
    digest = MemberDigest(len(payload), hashlib.sha256(payload).hexdigest())
    data = rebuild(members, manifest_bytes=replace(manifest, payload=digest).to_json_bytes())
    assert refusal(data).name == "SX-MALFORMED"


def test_framing_round_trips_and_refuses_damage() -> None:
    binding = Binding(new_artifact_id(ArtifactKind.RETURN), ArtifactType.RETURN, NIS, SIGNER)
    framed = wrap_payload(binding, b"\x00content")
    assert framed.startswith(MAGIC)
    assert unwrap_payload(framed) == (binding, b"\x00content")
    assert unwrap_payload(wrap_payload(binding, b"")) == (binding, b"")
    encoded = binding.to_json_bytes()
    hostile = {
        "no magic": framed[1:],
        "short": framed[:8],
        "huge length": MAGIC + b"\xff\xff\xff\xff" + framed[len(MAGIC) + 4 :],
        "length past end": MAGIC + (len(encoded) + 100).to_bytes(4, "big") + encoded,
        "unknown field": MAGIC
        + (len(encoded) + 8).to_bytes(4, "big")
        + encoded[:-1]
        + b',"x":"y"}',
        "pretty json": MAGIC + (len(encoded) + 3).to_bytes(4, "big") + encoded.replace(b",", b", "),
    }
    for label, data in hostile.items():
        with pytest.raises(Malformed):
            unwrap_payload(data)
            pytest.fail(label)


# --- manifest strictness ------------------------------------------------------------------


def _signed_notice_with(value: dict[str, Any], raw: bytes | None = None) -> bytes:
    members = members_of(make(ArtifactType.NOTICE))
    manifest_bytes = raw if raw is not None else strictjson.dumps(value)
    return rebuild(members, manifest_bytes=manifest_bytes, namespace=sshsig.NAMESPACE_NOTICE)


def test_a_manifest_in_a_newer_format_is_update_needed_even_when_correctly_signed() -> None:
    value = manifest_json(make(ArtifactType.NOTICE))
    value.update(format="securexchange/9")
    error = refusal(_signed_notice_with(value))
    assert error.name == "SX-UPDATE-NEEDED", error


@pytest.mark.parametrize(
    "mutate",
    [
        lambda v: v.update(extra="x"),
        lambda v: v["body"].update(extra="x"),
        lambda v: v.update(format="securexchange/0"),
        lambda v: v.update(type="invoice"),
        lambda v: v.update(id="pkg-" + "a" * 26),
        lambda v: v.update(id="not an id"),
        lambda v: v.update(created_at="2026-11-01T09:30:00+00:00"),
        lambda v: v.update(created_at="2026-02-30T09:30:00Z"),
        lambda v: v.update(municipality="1100"),
        lambda v: v.update(signer="not a fingerprint"),
        lambda v: v.update(payload={"size": 1, "sha256": "0" * 64}),
        lambda v: v.update(payload=None),
        lambda v: v.update(attachments={}),
        lambda v: v.pop("signer"),
        lambda v: v["body"].update(sequence=-1),
        lambda v: v["body"].update(sequence=True),
        lambda v: v.update(body=[]),
    ],
)
def test_an_invalid_manifest_is_malformed_even_when_correctly_signed(mutate: Any) -> None:
    value = manifest_json(make(ArtifactType.NOTICE))
    mutate(value)
    error = refusal(_signed_notice_with(value))
    assert error.name == "SX-MALFORMED", error


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b.replace(b"\n", b"\r\n"),
        lambda b: b.rstrip(b"\n"),
        lambda b: b" " + b,
        lambda b: b"\xef\xbb\xbf" + b,
        lambda b: b.replace(b'"format"', b'"\\u0066ormat"'),
        lambda b: b.replace(b"  ", b"    "),
        lambda b: b.replace(b'"sequence": 1', b'"sequence": 1.0'),
        lambda b: b.replace(b'"sequence": 1', b'"sequence": NaN'),
    ],
)
def test_a_manifest_not_in_canonical_strict_json_is_malformed(change: Any) -> None:
    raw = members_of(make(ArtifactType.NOTICE))[MANIFEST]
    changed = change(raw)
    assert changed != raw
    assert refusal(_signed_notice_with({}, raw=changed)).name == "SX-MALFORMED"


def test_manifest_errors_name_the_field_not_the_value() -> None:
    value = manifest_json(make(ArtifactType.NOTICE))
    value["municipality"] = "SECRET"
    error = refusal(_signed_notice_with(value))
    assert "municipality" in error.message and "SECRET" not in str(error)


def test_the_body_registry_refuses_a_second_parser_and_reports_a_missing_one() -> None:
    registry = BodyRegistry()

    @registry.register(ArtifactType.NOTICE)
    @dataclass(frozen=True)
    class Placeholder:
        def to_json(self) -> dict[str, Any]:
            return {}

        @classmethod
        def from_json(cls, value: Any) -> Placeholder:
            strictjson.Fields(value, "body").done()
            return cls()

    registry.add(ArtifactType.NOTICE, Placeholder)  # the same class again is harmless
    assert ArtifactType.NOTICE in registry
    with pytest.raises(ValueError):
        registry.add(ArtifactType.NOTICE, NoteBody)
    with pytest.raises(InternalError):
        registry.body_type(ArtifactType.PACKAGE)
    notice = seal(
        artifact_type=ArtifactType.NOTICE,
        artifact_id=new_artifact_id(ArtifactKind.NOTICE),
        created_at=CREATED,
        municipality=NIS,
        body=Placeholder(),
        signing_seed=SEED,
    )
    result = open_artifact(notice, trust=TRUST, identities=[], bodies=registry)
    assert result.manifest.body == Placeholder()


def test_sealing_takes_the_clock_reading_as_whole_utc_seconds() -> None:
    moment = datetime(2026, 11, 1, 10, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    data = seal(
        artifact_type=ArtifactType.NOTICE,
        artifact_id=new_artifact_id(ArtifactKind.NOTICE),
        created_at=moment,
        municipality=NIS,
        body=NoteBody("x", 1),
        signing_seed=SEED,
    )
    assert opened(data).manifest.created_at == CREATED


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_mutation_of_a_container_is_refused_with_an_error_of_the_tree(
    data: st.DataObject,
) -> None:
    original = PACKAGE_SAMPLE
    start = data.draw(st.integers(0, len(original)))
    end = data.draw(st.integers(start, min(len(original), start + 64)))
    insert = data.draw(st.binary(max_size=64))
    mutated = original[:start] + insert + original[end:]
    if mutated == original:
        return
    with pytest.raises(SxError):
        opened(mutated)


def test_sealing_refuses_calls_that_do_not_fit_the_type() -> None:
    common: dict[str, Any] = {
        "created_at": CREATED,
        "municipality": NIS,
        "body": NoteBody("x", 1),
        "signing_seed": SEED,
    }
    with pytest.raises(ValueError):  # a return without recipients
        seal(artifact_type=ArtifactType.RETURN, artifact_id=new_artifact_id(ArtifactKind.RETURN),
             content=b"x", **common)  # fmt: skip
    with pytest.raises(ValueError):  # a notice with content
        seal(artifact_type=ArtifactType.NOTICE, artifact_id=new_artifact_id(ArtifactKind.NOTICE),
             content=b"x", recipients=[IDENTITY.recipient], **common)  # fmt: skip
    with pytest.raises(ValueError):  # a package without its keyring view
        seal(artifact_type=ArtifactType.PACKAGE, artifact_id=new_artifact_id(ArtifactKind.PACKAGE),
             content=b"x", recipients=[IDENTITY.recipient], **common)  # fmt: skip
    with pytest.raises(ValueError):  # an id of another kind
        seal(artifact_type=ArtifactType.NOTICE, artifact_id=new_artifact_id(ArtifactKind.PACKAGE),
             **common)  # fmt: skip
    with pytest.raises(ValueError):  # a naive time
        seal(artifact_type=ArtifactType.NOTICE, artifact_id=new_artifact_id(ArtifactKind.NOTICE),
             **{**common, "created_at": datetime(2026, 1, 1)})  # fmt: skip


# --- standard tools see the same thing ----------------------------------------------------


@pytest.mark.interop
def test_unzip_sees_the_same_members_and_bytes_as_our_reader(tmp_path: Path) -> None:
    unzip = shutil.which("unzip")
    if unzip is None:
        pytest.skip("unzip not installed")
    path = tmp_path / "package.sx.zip"
    path.write_bytes(make())
    ours = opened(path.read_bytes()).members
    listing = subprocess.run([unzip, "-l", str(path)], capture_output=True, text=True, check=True)
    names = [line.split()[-1] for line in listing.stdout.splitlines()[3:-2]]
    assert names == list(ours)
    for line in listing.stdout.splitlines()[3:-2]:
        size, _, _, name = line.split()
        assert int(size) == len(ours[name])
    for name, content in ours.items():
        printed = subprocess.run([unzip, "-p", str(path), name], capture_output=True, check=True)
        assert printed.stdout == content


@pytest.mark.interop
def test_an_auditor_checks_each_layer_by_hand_with_standard_tools(
    tmp_path: Path, ssh_keygen_bin: str, age_bin: str
) -> None:
    data = make(content=b"the workbook")
    path = tmp_path / "package.zip"
    path.write_bytes(data)
    subprocess.run(["unzip", "-q", str(path), "-d", str(tmp_path / "x")], check=True)
    out = tmp_path / "x"
    manifest = strictjson.loads((out / MANIFEST).read_bytes(), what="test")
    # sha256sum: the payload is the one the manifest commits to.
    digest = subprocess.run(
        ["sha256sum", str(out / PAYLOAD)], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    assert digest == manifest["payload"]["sha256"]
    # ssh-keygen -Y verify: the manifest is signed by the agency key, in the package namespace.
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(
        sshsig.allowed_signers_line("agency", PUBLIC, namespaces=[sshsig.NAMESPACE_PACKAGE]) + "\n"
    )
    verify = [ssh_keygen_bin, "-Y", "verify", "-f", str(allowed), "-I", "agency",
              "-s", str(out / SIGNATURE)]  # fmt: skip
    ok = subprocess.run(
        [*verify, "-n", sshsig.NAMESPACE_PACKAGE],
        input=(out / MANIFEST).read_bytes(),
        capture_output=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    wrong = subprocess.run(
        [*verify, "-n", sshsig.NAMESPACE_RETURN],
        input=(out / MANIFEST).read_bytes(),
        capture_output=True,
        check=False,
    )
    assert wrong.returncode != 0
    # age -d: a key holder decrypts the payload and sees the framing, then the content.
    identity = tmp_path / "identity.txt"
    identity.write_text(IDENTITY.to_string() + "\n")
    plaintext = subprocess.run(
        [age_bin, "-d", "-i", str(identity), str(out / PAYLOAD)], capture_output=True, check=True
    ).stdout
    binding, content = unwrap_payload(plaintext)
    assert content == b"the workbook" and binding.artifact_id == manifest["id"]


# --- hostile containers in a limited child ------------------------------------------------

CHILD = """
import sys
from dataclasses import dataclass
from pathlib import Path
from securexchange import sshsig, strictjson
from securexchange.artifacts.container import PinnedSigner, open_artifact
from securexchange.age import X25519Identity
from securexchange.errors import SxError
from securexchange.artifacts.manifest import ArtifactType, BodyRegistry

@dataclass(frozen=True)
class Body:
    note: str
    sequence: int
    def to_json(self):
        return {{"note": self.note, "sequence": self.sequence}}
    @classmethod
    def from_json(cls, value):
        with strictjson.Fields(value, "body") as f:
            return cls(f.text("note"), f.integer("sequence"))

data = Path({path!r}).read_bytes()
try:
    open_artifact(
        data,
        trust=PinnedSigner(sshsig.public_key_from_seed(bytes(range(32)))),
        identities=[X25519Identity.generate()],
        bodies=BodyRegistry({{t: Body for t in ArtifactType}}),
    )
except SxError as exc:
    print(exc.name)
    raise SystemExit(int(exc.exit_code))
print("accepted")
"""


def _hostile(kind: str) -> bytes:
    notice = members_of(make(ArtifactType.NOTICE))
    entries = [Entry(n.encode(), d) for n, d in notice.items()]
    if kind == "20000-members":
        return loose_zip([Entry(b"manifest.json", b"{}") for _ in range(20_000)])
    if kind == "4-gib-member":
        entries[0].central.update(csize=0xFFFFFFF0, usize=0xFFFFFFF0)
        entries[0].local.update(csize=0xFFFFFFF0, usize=0xFFFFFFF0)
        return loose_zip(entries)
    if kind == "deep-json":
        return rebuild(notice, manifest_bytes=b"[" * 100_000 + b"]" * 100_000,
                       namespace=sshsig.NAMESPACE_NOTICE)  # fmt: skip
    if kind == "huge-manifest":
        return rebuild(notice, manifest_bytes=b'{"a": "' + b"x" * (8 << 20) + b'"}',
                       namespace=sshsig.NAMESPACE_NOTICE)  # fmt: skip
    if kind == "appended-40mib":
        return make(ArtifactType.NOTICE) + bytes(40 << 20)
    if kind == "duplicate-key":
        text = notice[MANIFEST].decode().replace('"body":', '"body": {},\n  "body":', 1)
        return rebuild(notice, manifest_bytes=text.encode(), namespace=sshsig.NAMESPACE_NOTICE)
    if kind == "garbage":
        return bytes(range(256)) * 4096
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("20000-members", "SX-MALFORMED"),
        ("4-gib-member", "SX-MALFORMED"),
        ("deep-json", "SX-MALFORMED"),
        ("huge-manifest", "SX-MALFORMED"),
        ("appended-40mib", "SX-MALFORMED"),
        ("duplicate-key", "SX-MALFORMED"),
        ("garbage", "SX-MALFORMED"),
    ],
)
def test_hostile_containers_are_refused_within_5s_and_256mib(
    kind: str, name: str, tmp_path: Path
) -> None:
    path = tmp_path / f"{kind}.zip"
    path.write_bytes(_hostile(kind))
    result = run_limited(CHILD.format(path=str(path)), timeout=5, mem=256 << 20)
    assert result.stdout.strip() == name, result.stdout + result.stderr[-2000:]
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


def test_a_clean_package_is_accepted_in_the_same_limited_child(tmp_path: Path) -> None:
    path = tmp_path / "clean.zip"
    path.write_bytes(make(ArtifactType.NOTICE))
    result = run_limited(CHILD.format(path=str(path)), timeout=5, mem=256 << 20)
    assert result.stdout.strip() == "accepted", result.stdout + result.stderr[-2000:]
