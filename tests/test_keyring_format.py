"""How the keyring format is versioned (docs/formats.md, "Keyring format versions"):
one integer in ``format``; an older client refuses a newer number with a message that
says to update, and a keyring without newer features stays format 1, byte for byte."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from securexchange import sshsig, strictjson
from securexchange.artifacts.keyring import (
    KEYRING_FORMAT_VERSION,
    SCOPE_FULL,
    Keyring,
    open_keyring,
    sign_keyring,
)
from securexchange.errors import Malformed, UpdateNeeded
from securexchange.ids import ArtifactKind, new_artifact_id
from securexchange.keys.identity import Owner, PublicIdentity, generate_identity
from test_keyring import NOW, PARTY_A, World, _agency, _entry


@pytest.fixture
def world() -> World:
    root, export, keys = _agency()
    anna = generate_identity(Owner("Anna", "integratiebeambte", "11002"), now=NOW)
    keyring = Keyring(
        id=new_artifact_id(ArtifactKind.KEYRING),
        version=1,
        issued_at=NOW,
        scope=SCOPE_FULL,
        demo=False,
        agency=keys,
        municipalities=(_entry("11002", PARTY_A, anna),),
    )
    return root, export, keyring


def _resigned(world: World, change: dict[str, object]) -> tuple[bytes, str]:
    root, _, keyring = world
    document = json.loads(keyring.to_bytes())
    document.update(change)
    data = strictjson.dumps(document)
    return data, root.sign(data, sshsig.NAMESPACE_KEYRING)


def test_a_keyring_in_a_newer_format_is_refused_with_a_hint_to_update(world: World) -> None:
    newer = f"securexchange-keyring/{KEYRING_FORMAT_VERSION + 1}"
    data, signature = _resigned(world, {"format": newer})
    with pytest.raises(UpdateNeeded) as caught:
        open_keyring(data, signature, world[0].signing_key, min_version=1)
    assert caught.value.name == "SX-UPDATE-NEEDED"
    assert "update securexchange" in caught.value.message
    assert newer in caught.value.message


@pytest.mark.parametrize(
    "text",
    ["securexchange-keyring/0", "securexchange-keyring/01", "securexchange-keyring/", "x/1"],
)
def test_a_keyring_format_that_is_no_number_is_refused(world: World, text: str) -> None:
    data, signature = _resigned(world, {"format": text})
    with pytest.raises(Malformed, match="unknown format"):
        open_keyring(data, signature, world[0].signing_key, min_version=1)


def _classic_only(keyring: Keyring) -> Keyring:
    """The keyring as a home made before issue 18 would list it: classic subkeys only."""

    def classic(person: PublicIdentity) -> PublicIdentity:
        return replace(person, subkeys=tuple(s for s in person.subkeys if not s.post_quantum))

    agency = replace(keyring.agency, export=classic(keyring.agency.export))
    municipalities = tuple(
        replace(m, recipients=tuple(classic(r) for r in m.recipients))
        for m in keyring.municipalities
    )
    return replace(keyring, agency=agency, municipalities=municipalities)


def test_a_keyring_without_newer_features_stays_format_1_byte_for_byte(world: World) -> None:
    root, _, keyring = world
    data, _ = sign_keyring(_classic_only(keyring), root)
    assert json.loads(data)["format"] == "securexchange-keyring/1"
    assert Keyring.from_bytes(data).to_bytes() == data


def test_a_keyring_with_post_quantum_subkeys_is_format_2(world: World) -> None:
    root, _, keyring = world
    data, signature = sign_keyring(keyring, root)
    assert json.loads(data)["format"] == "securexchange-keyring/2"
    opened = open_keyring(data, signature, root.signing_key, min_version=1)
    assert opened.to_bytes() == data
    assert any(s.post_quantum for s in opened.agency.export.subkeys)
    # One encoding per content: hybrid subkeys under format 1 are refused.
    restated, signature = _resigned(world, {"format": "securexchange-keyring/1"})
    with pytest.raises(Malformed, match="another format"):
        open_keyring(restated, signature, root.signing_key, min_version=1)
