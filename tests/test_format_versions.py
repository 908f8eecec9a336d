"""Clients upgrade on their own schedule: a package, keyring, notice or return in a
format newer than this version reads is refused as SX-UPDATE-NEEDED ("update
securexchange", with the version it needs), never as SX-MALFORMED, and never partly
trusted; returns tell the agency which client version made them."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import assert_single_error, run_cli
from municipal_flows import make_package, make_world
from return_flows import (
    Channel,
    agency_export_source,
    make_channel,
    seal_delta,
    staff_identity,
    staff_keyring,
    status,
)
from securexchange import __version__, sshsig, strictjson
from securexchange.agency.registry import view_for
from securexchange.agency.returns import import_returns
from securexchange.artifacts import zipstrict
from securexchange.artifacts.keyring import Keyring, open_keyring
from securexchange.artifacts.manifest import MANIFEST, MEMBER_ORDER, SIGNATURE, Manifest
from securexchange.artifacts.returns import ReturnDocument
from securexchange.errors import Malformed, UpdateNeeded
from securexchange.home.home import Home, HomeKind, open_home
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.keys.keyfile import DEMO_PASSPHRASE, read_key_file
from securexchange.municipality.returns import seal_return

R1 = "R-AAAAAAAAAAAAAAAAAAAA"


def _members(data: bytes) -> dict[str, bytes]:
    return {m.name: m.data for m in zipstrict.read(data, MEMBER_ORDER)}


def _with_manifest(data: bytes, change: dict[str, Any]) -> bytes:
    """The container with its manifest's top-level fields changed (signature now stale)."""
    members = _members(data)
    manifest = json.loads(members[MANIFEST])
    manifest.update(change)
    members[MANIFEST] = strictjson.dumps(manifest)
    return zipstrict.write([zipstrict.Member(n, d) for n, d in members.items()])


def _assert_update_needed(stderr: str, *versions: str) -> None:
    assert "SX-MALFORMED" not in stderr
    assert "update securexchange" in stderr and "Werk securexchange bij" in stderr
    for version in versions:
        assert version in stderr


def test_a_package_in_a_newer_format_is_refused_as_update_needed_not_malformed(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [])
    newer = _with_manifest(
        made.data, {"format": "securexchange/9", "requires": "0.7.0", "new_field": {"x": 1}}
    )
    path = tmp_path / "newer.sxp"
    path.write_bytes(newer)
    result = run_cli(["municipality", "import", str(path)], home=world.staff)
    assert_single_error(result, "SX-UPDATE-NEEDED", 1)
    _assert_update_needed(result.stderr, "securexchange/9", "0.7.0", __version__)
    assert (
        run_cli(["audit", "verify", str(path), "--agency-key", str(_root_card(world.agency))]).code
        == 1
    )


def _root_card(agency: Path) -> Path:
    return agency / "keys" / "root.card.json"


def test_a_package_with_a_newer_zip_layout_is_refused_as_update_needed_not_malformed(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [])
    members = _members(made.data)
    manifest = json.loads(members[MANIFEST])
    manifest["format"] = "securexchange/5"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, strictjson.dumps(manifest))
        archive.writestr(SIGNATURE, members[SIGNATURE])
        archive.writestr("attestation.cbor", b"\x00" * 64)  # a member format 1 never has
    path = tmp_path / "layout.sxp"
    path.write_bytes(buffer.getvalue())
    result = run_cli(["municipality", "import", str(path)], home=world.staff)
    assert_single_error(result, "SX-UPDATE-NEEDED", 1)
    _assert_update_needed(result.stderr, "5")


def test_a_notice_in_a_newer_format_is_refused_as_update_needed_not_malformed(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    notice = {
        "format": "securexchange/9",
        "type": "notice",
        "id": "N-AAAAAAAAAAAAAAAAAAAA",
        "body": {"something": "new"},
    }
    data = zipstrict.write(
        [
            zipstrict.Member(MANIFEST, strictjson.dumps(notice)),
            zipstrict.Member(SIGNATURE, b"not a signature"),
        ]
    )
    path = tmp_path / "notice.sxn"
    path.write_bytes(data)
    result = run_cli(["municipality", "import", str(path)], home=world.staff)
    assert_single_error(result, "SX-UPDATE-NEEDED", 1)
    _assert_update_needed(result.stderr, "the notice", "securexchange/9")


def _signed_keyring(agency: Path, nis: str, change: dict[str, Any]) -> tuple[bytes, str, bytes]:
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        view = view_for(home, nis)
    value = json.loads(view.data)
    value.update(change)
    data = strictjson.dumps(value)
    root = read_key_file(agency / "keys" / "root.key", DEMO_PASSPHRASE)
    return data, root.sign(data, sshsig.NAMESPACE_KEYRING), root.signing_key


def test_a_keyring_in_a_newer_format_is_refused_as_update_needed_not_malformed(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    data, signature, root_key = _signed_keyring(
        world.agency,
        world.nis,
        {"format": "securexchange-keyring/4", "requires": "0.9.1", "groups": []},
    )
    with pytest.raises(UpdateNeeded) as refused:
        open_keyring(data, signature, root_key, min_version=1)
    assert "securexchange-keyring/4" in refused.value.message
    assert "0.9.1" in refused.value.message
    assert not isinstance(refused.value, Malformed)
    with pytest.raises(UpdateNeeded):
        Keyring.from_bytes(data)


def test_a_newer_format_is_never_partly_trusted_and_unknown_formats_stay_malformed() -> None:
    for text in ("securexchange/0", "securexchange/01", "securexchange/x", "other/2"):
        value = {"format": text, "type": "package"}
        with pytest.raises(Malformed) as refused:
            Manifest.from_json_bytes(strictjson.dumps(value))
        assert refused.value.name == "SX-MALFORMED"
    # A version the file asks for is shown only when it is a plain release number.
    value = {"format": "securexchange/9", "type": "package", "requires": "\x1b[31mevil"}
    with pytest.raises(UpdateNeeded) as newer:
        Manifest.from_json_bytes(strictjson.dumps(value))
    assert "evil" not in newer.value.message and "\x1b" not in newer.value.message


def test_a_return_document_in_a_newer_format_is_refused_as_update_needed() -> None:
    value = {"format": "securexchange-return/2", "entries": [], "merged": True}
    with pytest.raises(UpdateNeeded):
        ReturnDocument.from_bytes(strictjson.dumps(value))


# --- client versions in returns ---------------------------------------------------------


def _sent(_home: Home, _party: str) -> frozenset[str]:
    return frozenset({R1})


def _import(channel: Channel, *files: tuple[str, bytes]) -> None:
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        import_returns(home, agency_export_source(channel.agency), list(files), sent_records=_sent)


def _listed(channel: Channel) -> dict[str, Any]:
    result = run_cli(["agency", "municipality", "list", "--json"], home=channel.agency)
    assert result.code == 0, result.stderr
    (row,) = json.loads(result.stdout)
    return dict(row)


def test_a_return_states_the_client_version_in_its_signed_manifest(tmp_path: Path) -> None:
    channel = make_channel(tmp_path)
    data = seal_return(
        identity=staff_identity(channel.staff),
        keyring=staff_keyring(channel.staff),
        delta_id=new_artifact_id(ArtifactKind.RETURN),
        sequence=1,
        entries=[],
        now=datetime.now(UTC).replace(microsecond=0),
        demo=True,
    )
    manifest = Manifest.from_json_bytes(_members(data)[MANIFEST])
    assert json.loads(manifest.to_json_bytes())["body"]["client_version"] == __version__


def test_the_agency_shows_the_client_version_its_municipalities_last_returned_with(
    tmp_path: Path,
) -> None:
    channel = make_channel(tmp_path)
    assert _listed(channel)["client_version"] == "unknown"  # no return yet
    # An old client's return (no client_version field) still imports: "unknown".
    _import(channel, ("old.sxr", seal_delta(channel.staff, [status(R1)], sequence=1)[1]))
    assert _listed(channel)["client_version"] == "unknown"
    _, newer = seal_delta(
        channel.staff,
        [status(R1, new="toegeleid", base="gecontacteerd")],
        sequence=2,
        body={"client_version": "0.2.0"},
    )
    _import(channel, ("new.sxr", newer))
    row = _listed(channel)
    assert row["client_version"] == "0.2.0" and row["client_seen_at"]
    table = run_cli(["agency", "municipality", "list"], home=channel.agency)
    assert "CLIENT" in table.stdout and "0.2.0" in table.stdout


def test_a_key_card_in_a_newer_format_is_refused_as_update_needed_not_malformed(
    tmp_path: Path,
) -> None:
    from securexchange.keys.card import read_card

    world = make_world(tmp_path)
    envelope = json.loads((world.staff / "keys" / "identity.card.json").read_bytes())
    inner = json.loads(envelope["card"])
    inner.update(format="securexchange-card/3", requires="0.3.0", pq_subkeys=[])
    envelope["card"] = strictjson.dumps(inner).decode()
    with pytest.raises(UpdateNeeded) as refused:
        read_card(strictjson.dumps(envelope))
    assert "securexchange-card/3" in refused.value.message and "0.3.0" in refused.value.message
