"""A rotated identity: new packages use the new subkey; the old one lives only as long
as something needs it, and then every copy of the old package is undecryptable."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cli_helpers import run_cli
from municipal_flows import home_identities, make_package, make_world, muni, person
from return_flows import demo_source
from securexchange import age
from securexchange.agency.changes import add_recipient
from securexchange.artifacts.manifest import MEMBER_ORDER, PAYLOAD
from securexchange.artifacts.package import PackageBody
from securexchange.artifacts.zipstrict import read as read_zip
from securexchange.errors import NotRecipient
from securexchange.home.home import HomeKind, open_home
from securexchange.municipality import subkeys

LATER = date(2027, 6, 1)
NEXT_QUARTER = "2027-01-05T10:00:00Z"


def _payload(data: bytes) -> bytes:
    return next(m.data for m in read_zip(data, MEMBER_ORDER) if m.name == PAYLOAD)


def _subkey_of(data: bytes) -> str:
    from securexchange.artifacts.manifest import MANIFEST, Manifest

    manifest = Manifest.from_json_bytes(
        next(m.data for m in read_zip(data, MEMBER_ORDER) if m.name == MANIFEST)
    )
    assert isinstance(manifest.body, PackageBody)
    return manifest.body.recipients[0].subkey


def test_rotated_subkey_is_used_and_the_old_one_destroyed_once_nothing_needs_it(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    old = make_package(world, [person(1, LATER)], sequence=1)
    assert muni(world, "import", str(old.path)).code == 0
    old_subkey = _subkey_of(old.data)

    # Next quarter: the staff member rotates and the agency registers the new card.
    env = {"SECUREXCHANGE_NOW": NEXT_QUARTER}
    rotated = run_cli(["keys", "rotate"], home=world.staff, env=env)
    assert rotated.code == 0, rotated.stderr
    card = (world.staff / "keys" / "identity.card.json").read_bytes()
    with open_home(world.agency, env=env, expect=HomeKind.AGENCY) as home:
        from securexchange.keys.card import read_card

        add_recipient(
            home,
            demo_source(world.agency / "keys" / "root.key"),
            nis=world.nis,
            fingerprint=read_card(card).fingerprint.display,
            card_data=card,
        )

    # The old subkey's validity has ended, but the live package still needs it; the ones
    # rotation added were split out at once, so they are held in their own files too.
    status = json.loads(muni(world, "status", "--json", now=NEXT_QUARTER).stdout)
    held = {s["recipient"]: s["state"] for s in status["subkeys"]}
    # Each period is a hybrid subkey and its classic companion.
    assert held[old_subkey] == "held" and subkeys.post_quantum(old_subkey)
    assert set(held.values()) == {"held"}
    assert len(held) == 8  # the old pair, this quarter's and the two pre-issued ones
    age.decrypt(_payload(old.data), home_identities(world.staff))

    new = make_package(
        world,
        [person(1, LATER)],
        sequence=2,
        supersedes=old,
        created_at=datetime(2027, 1, 5, 11, tzinfo=UTC),
    )
    new_subkey = _subkey_of(new.data)
    assert new_subkey != old_subkey
    result = muni(world, "import", str(new.path), now="2027-01-05T12:00:00Z")
    assert result.code == 0, result.stderr

    status = json.loads(muni(world, "status", "--json", now=NEXT_QUARTER).stdout)
    states = {s["recipient"]: s["state"] for s in status["subkeys"]}
    assert states[old_subkey] == "destroyed" and states[new_subkey] == "held"
    with pytest.raises(NotRecipient):
        age.decrypt(_payload(old.data), home_identities(world.staff))
    age.decrypt(_payload(new.data), home_identities(world.staff))
    assert muni(world, "open", now=NEXT_QUARTER).code == 0


def test_the_pre_issued_next_subkey_takes_over_and_the_current_one_goes_after_its_quarter(
    tmp_path: Path,
) -> None:
    from securexchange.keys.card import read_card
    from securexchange.keys.keyfile import DEMO_PASSPHRASE, read_key_file
    from securexchange.municipality.subkeys import file_name

    world = make_world(tmp_path)
    first = make_package(world, [person(1, LATER)], sequence=1)
    assert muni(world, "import", str(first.path)).code == 0  # splits the subkey out
    current = _subkey_of(first.data)  # the hybrid subkey (the package is hybrid only)
    key_file = world.staff / "keys" / "identity.key"
    before = read_key_file(key_file, DEMO_PASSPHRASE)
    assert before.subkeys == () and current in [s.recipient for s in before.split_subkeys]
    (until,) = {s.valid_until for s in before.split_subkeys if s.recipient == current}
    (companion,) = [
        s.recipient
        for s in before.split_subkeys
        if s.recipient != current and s.valid_until == until
    ]

    # Made with the default horizon: the next quarters exist already.
    rotated = run_cli(["keys", "rotate"], home=world.staff)
    assert rotated.code == 0 and "nothing to rotate" in rotated.stderr
    assert read_key_file(key_file, DEMO_PASSPHRASE).subkeys == ()
    card_data = (world.staff / "keys" / "identity.card.json").read_bytes()
    card = read_card(card_data)  # verifies every certification
    # The current pair and the pre-issued ones, with their certifications.
    assert set(card.identity.subkeys) == set(before.split_subkeys)
    following = card.identity.subkey_at(until)
    assert following is not None and following.post_quantum
    assert following.valid_from == until
    (following_companion,) = [
        s.recipient
        for s in card.identity.subkeys
        if s.recipient != following.recipient and s.valid_from == until
    ]
    assert card.fingerprint == before.fingerprint
    assert run_cli(["keys", "rotate"], home=world.staff).code == 0
    assert (world.staff / "keys" / "identity.card.json").read_bytes() == card_data

    with open_home(world.agency, env={}, expect=HomeKind.AGENCY) as home:
        add_recipient(
            home,
            demo_source(world.agency / "keys" / "root.key"),
            nis=world.nis,
            fingerprint=card.fingerprint.display,
            card_data=card_data,
        )
    # Until the quarter ends, the agency keeps encrypting to the current subkey.
    second = make_package(world, [person(1, LATER)], sequence=2, supersedes=first)
    assert _subkey_of(second.data) == current
    assert muni(world, "import", str(second.path)).code == 0
    assert read_key_file(key_file, DEMO_PASSPHRASE).subkeys == ()
    status = json.loads(muni(world, "status", "--json").stdout)
    states = {s["recipient"]: s["state"] for s in status["subkeys"]}
    assert set(states.values()) == {"held"} and len(states) == 6
    assert {current, companion, following.recipient, following_companion} <= set(states)

    # Next quarter: packages go to the next subkey, and the current one's file is
    # destroyed by shredding once nothing needs it.
    third = make_package(
        world,
        [person(1, LATER)],
        sequence=3,
        supersedes=second,
        created_at=datetime(2027, 1, 5, 11, tzinfo=UTC),
    )
    assert _subkey_of(third.data) == following.recipient
    result = muni(world, "import", str(third.path), now="2027-01-05T12:00:00Z")
    assert result.code == 0, result.stderr
    status = json.loads(muni(world, "status", "--json", now=NEXT_QUARTER).stdout)
    states = {s["recipient"]: s["state"] for s in status["subkeys"]}
    assert states[current] == states[companion] == "destroyed"
    assert states[following.recipient] == states[following_companion] == "held"
    assert not (world.staff / "keys" / "subkeys" / file_name(current)).exists()
    with pytest.raises(NotRecipient):
        age.decrypt(_payload(second.data), home_identities(world.staff))
    age.decrypt(_payload(third.data), home_identities(world.staff))
    # identity.key dropped the expired record when it was next re-sealed.
    after = read_key_file(key_file, DEMO_PASSPHRASE)
    kept = {s.recipient for s in after.split_subkeys}
    assert {following.recipient, following_companion} <= kept
    assert not {current, companion} & kept
