"""The package at library level: what open_package accepts, and everything it refuses.

Packages here are real: made by the export workflow from a synthetic master, for two
municipalities (A = 11002, B = 44021), each with one staff member.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import flows
from securexchange.artifacts import zipstrict
from securexchange.artifacts.manifest import (
    KEYRING,
    KEYRING_SIGNATURE,
    MANIFEST,
    MEMBER_ORDER,
    PAYLOAD,
    SIGNATURE,
    Manifest,
)
from securexchange.artifacts.notice import NoticeBody
from securexchange.artifacts.package import PackageBody, PackageRecipient, Superseded
from securexchange.artifacts.package_open import PackageTrust, open_package
from securexchange.errors import (
    BadSignature,
    Malformed,
    NotRecipient,
    Rollback,
    SxError,
    Tampered,
)
from securexchange.keys.identity import ORGANISATION_AGENCY, ROLE_ROOT, Owner, generate_identity

REFUSED = (Malformed, Tampered, BadSignature)


@dataclass(frozen=True)
class World:
    agency: Path
    a: flows.Staff
    b: flows.Staff
    root_key: bytes
    a1: bytes  # A's first package
    a2: bytes  # A's second package
    b1: bytes  # B's first package


def _files(out: Path, nis: str) -> list[bytes]:
    return [p.read_bytes() for p in sorted(out.glob(f"{nis}-*.sxpkg"))]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("package")
    agency = root / "agency"
    flows.make_agency(agency)
    flows.register(agency, "11002", "Antwerpen")
    flows.register(agency, "44021", "Gent")
    a = flows.add_staff(agency, root / "a", "11002")
    b = flows.add_staff(agency, root / "b", "44021", name="Bart Claes")
    master = flows.write_master(root / "master.xlsx", 40, ["11002", "44021"])
    flows.export(agency, master, root / "out")
    flows.export(agency, master, root / "out", options=flows.ExportOptions(nis=("11002",)))
    a1, a2 = _files(root / "out", "11002")
    (b1,) = _files(root / "out", "44021")
    return World(agency, a, b, flows.root_public_key(agency), a1, a2, b1)


def _members(data: bytes) -> dict[str, bytes]:
    return {m.name: m.data for m in zipstrict.read(data, MEMBER_ORDER)}


def _rezip(members: dict[str, bytes]) -> bytes:
    return zipstrict.write([zipstrict.Member(n, members[n]) for n in MEMBER_ORDER if n in members])


def _refused(data: bytes, world: World) -> str:
    """The error name open_package refuses ``data`` with; fails when it opens."""
    try:
        open_package(
            data,
            trust=PackageTrust(world.root_key),
            identities=flows.staff_identities(world.a),
        )
    except SxError as exc:
        return exc.name
    raise AssertionError("the damaged package was opened")


# --- what opens -----------------------------------------------------------------------


def test_a_recipient_opens_the_package_and_gets_the_workbook(world: World) -> None:
    opened = open_package(
        world.a1, trust=PackageTrust(world.root_key), identities=flows.staff_identities(world.a)
    )
    assert opened.workbook is not None and opened.workbook.startswith(b"PK\x03\x04")
    body = opened.body
    assert body.nis == opened.manifest.municipality == "11002"
    assert body.sequence == 1 and body.supersedes is None
    assert body.keyring_version == opened.keyring.version
    assert [r.fingerprint for r in body.recipients] == [world.a.fingerprint]
    assert opened.keyring.is_view and opened.keyring.scope == body.party_id
    assert body.records > 0
    assert body.earliest_retention is not None and body.latest_retention is not None


def test_without_identities_it_verifies_and_returns_no_workbook(world: World) -> None:
    opened = open_package(world.a1, trust=PackageTrust(world.root_key), identities=None)
    assert opened.workbook is None
    assert opened.body.records > 0


def test_the_second_package_supersedes_the_first_by_id_and_file_hash(world: World) -> None:
    import hashlib

    first = open_package(world.a1, trust=PackageTrust(world.root_key), identities=None)
    second = open_package(world.a2, trust=PackageTrust(world.root_key), identities=None)
    assert second.body.sequence == 2
    assert second.body.supersedes == Superseded(
        first.package_id, hashlib.sha256(world.a1).hexdigest()
    )


# --- what is refused ------------------------------------------------------------------


def test_municipality_b_key_cannot_open_municipality_a_package(world: World) -> None:
    with pytest.raises(NotRecipient):
        open_package(
            world.a1,
            trust=PackageTrust(world.root_key),
            identities=flows.staff_identities(world.b),
        )


def test_every_97th_byte_and_every_manifest_byte_flipped_in_place_is_refused(
    world: World,
) -> None:
    manifest = _members(world.a1)[MANIFEST]
    start = world.a1.index(manifest)
    offsets = set(range(0, len(world.a1), 97)) | set(range(start, start + len(manifest)))
    names = set()
    for offset in sorted(offsets):
        damaged = bytearray(world.a1)
        damaged[offset] ^= 0x01
        names.add(_refused(bytes(damaged), world))
    assert names <= {c.name for c in REFUSED}, names


def test_every_manifest_byte_changed_with_a_valid_zip_is_refused(world: World) -> None:
    members = _members(world.a1)
    manifest = members[MANIFEST]
    names = set()
    for offset in range(len(manifest)):
        changed = bytearray(manifest)
        changed[offset] ^= 0x01
        names.add(_refused(_rezip({**members, MANIFEST: bytes(changed)}), world))
    # A flipped byte breaks the JSON, its canonical form, or the signature over it.
    assert names <= {Malformed.name, BadSignature.name}, names


@pytest.mark.parametrize("name", [MANIFEST, SIGNATURE, KEYRING, KEYRING_SIGNATURE, PAYLOAD])
def test_a_member_swapped_in_from_another_package_is_refused(world: World, name: str) -> None:
    swapped = 0
    for donor in (world.a2, world.b1):
        members = _members(world.a1)
        if members[name] == _members(donor)[name]:
            continue  # A's two packages share one keyring view: nothing to swap
        members[name] = _members(donor)[name]
        assert _refused(_rezip(members), world) in {c.name for c in REFUSED}
        swapped += 1
    assert swapped >= 1


def test_manifest_and_signature_swapped_together_are_tampered(world: World) -> None:
    members = _members(world.a1)
    donor = _members(world.a2)
    members[MANIFEST], members[SIGNATURE] = donor[MANIFEST], donor[SIGNATURE]
    assert _refused(_rezip(members), world) == Tampered.name


def test_a_missing_keyring_is_malformed(world: World) -> None:
    members = _members(world.a1)
    del members[KEYRING], members[KEYRING_SIGNATURE]
    assert _refused(_rezip(members), world) == Malformed.name


def test_another_pinned_root_key_is_a_bad_signature(world: World) -> None:
    other = generate_identity(
        Owner("Other", ROLE_ROOT, ORGANISATION_AGENCY),
        now=datetime.now(UTC),
        subkeys=False,
        demo=False,
    )
    with pytest.raises(BadSignature):
        open_package(world.a1, trust=PackageTrust(other.signing_key), identities=None)


def test_a_package_with_a_keyring_older_than_the_one_held_is_a_rollback(world: World) -> None:
    opened = open_package(world.a1, trust=PackageTrust(world.root_key), identities=None)
    with pytest.raises(Rollback):
        open_package(
            world.a1,
            trust=PackageTrust(world.root_key, opened.keyring.version + 1),
            identities=None,
        )


def test_refusals_return_nothing_and_never_echo_a_value(world: World) -> None:
    damaged = bytearray(world.a1)
    damaged[len(damaged) // 2] ^= 0xFF
    with pytest.raises(SxError) as info:
        open_package(bytes(damaged), trust=PackageTrust(world.root_key), identities=None)
    assert "11002" not in info.value.message


# --- the body models ------------------------------------------------------------------


def _body(world: World) -> PackageBody:
    body = Manifest.from_json_bytes(_members(world.a1)[MANIFEST]).body
    assert isinstance(body, PackageBody)
    return body


def test_the_package_body_round_trips_and_its_json_is_the_documented_one(world: World) -> None:
    body = _body(world)
    value = body.to_json()
    assert PackageBody.from_json(json.loads(json.dumps(value))) == body
    assert set(value) == {
        "schema_version",
        "municipality",
        "protocol",
        "sequence",
        "import_deadline",
        "valid_until",
        "keyring_version",
        "recipients",
        "recipient_stanzas",
        "records",
        "retention",
        "supersedes",
        "demo",
    }
    assert set(value["municipality"]) == {"nis", "name", "party_id"}
    assert (body.valid_until - body.import_deadline).days == 30


@pytest.mark.parametrize(
    "mutate",
    [
        lambda v: v.update(extra=1),
        lambda v: v["municipality"].update(extra=1),
        lambda v: v["recipients"][0].update(extra=1),
        lambda v: v.pop("demo"),
        lambda v: v.update(sequence="1"),
        lambda v: v.update(sequence=True),
        lambda v: v.update(records=0),  # records 0 but retention dates present
        lambda v: v.update(recipient_stanzas=2),
        lambda v: v["retention"].update(earliest=None),
        lambda v: v.update(supersedes={"id": "pkg-" + "a" * 26, "sha256": "0" * 64}),
        lambda v: v["protocol"].update(until="2020-01-01"),
        lambda v: v.update(import_deadline="2026-01-01"),
    ],
)
def test_a_package_body_with_an_unknown_missing_or_inconsistent_field_is_refused(
    world: World, mutate: Callable[[dict[str, object]], object]
) -> None:
    value = json.loads(json.dumps(_body(world).to_json()))
    mutate(value)
    with pytest.raises((Malformed, ValueError)):
        PackageBody.from_json(value)


def test_a_recipient_with_an_unnormalised_role_is_refused() -> None:
    with pytest.raises(ValueError):
        PackageRecipient("AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AA", "Beambte", "age1" + "q" * 58)


def test_an_empty_package_body_has_no_retention_dates(world: World) -> None:
    body = dataclasses.replace(
        _body(world), records=0, earliest_retention=None, latest_retention=None
    )
    assert body.to_json()["retention"] == {"earliest": None, "latest": None}


def test_the_notice_body_round_trips_and_refuses_unknown_fields(world: World) -> None:
    body = _body(world)
    notice = NoticeBody(body.nis, body.party_id, body.protocol_id, date(2027, 1, 1), False)
    value = notice.to_json()
    assert value == {
        "municipality": {"nis": body.nis, "party_id": body.party_id},
        "protocol_id": body.protocol_id,
        "effective": "2027-01-01",
        "demo": False,
    }
    assert NoticeBody.from_json(value) == notice
    with pytest.raises(Malformed):
        NoticeBody.from_json({**value, "reason": "x"})
    with pytest.raises(Malformed):
        NoticeBody.from_json({**value, "effective": "2027-1-1"})


def test_a_package_signed_by_a_key_the_keyring_does_not_certify_is_refused(world: World) -> None:
    from securexchange import age
    from securexchange.artifacts.package import seal_package

    opened = open_package(world.a1, trust=PackageTrust(world.root_key), identities=None)
    impostor = generate_identity(
        Owner("Impostor", "export", ORGANISATION_AGENCY),
        now=datetime.now(UTC),
        subkeys=False,
        demo=False,
    )
    forged = seal_package(
        package_id=opened.package_id,
        created_at=opened.manifest.created_at,
        body=opened.body,
        workbook=b"not the real one",
        recipients=[age.parse_recipient(r.subkey) for r in opened.body.recipients],
        keyring_data=opened.keyring_data,
        keyring_signature=opened.keyring_signature,
        signing_seed=impostor.seed,
    )
    with pytest.raises(BadSignature):
        open_package(forged, trust=PackageTrust(world.root_key), identities=None)
