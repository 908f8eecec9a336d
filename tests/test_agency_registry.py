"""The agency registry (who may read what, art. 4 and 6) and the municipal keyring import."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from keys_helpers import (
    EXPORT_PASS,
    FAST,
    ROOT_PASS,
    STAFF_PASS,
    make_agency,
    make_staff,
    register,
    root_key_source,
)
from securexchange import strictjson
from securexchange.agency import vouched
from securexchange.agency.changes import add_municipality, add_recipient, remove_recipient
from securexchange.agency.registry import (
    RecipientChange,
    current_keyring,
    list_municipalities,
    list_recipients,
    publish_keyring,
    signed_keyrings,
    view_for,
)
from securexchange.artifacts.keyring import open_keyring
from securexchange.errors import (
    AlreadyExists,
    BadPassphrase,
    BadSignature,
    Equivocation,
    FingerprintMismatch,
    Future,
    NotAuthorised,
    NotFound,
    ProtocolInactive,
    Rollback,
    UsageError,
    WrongMunicipality,
)
from securexchange.home.home import Home, HomeKind, open_home
from securexchange.keys.card import Card, read_card
from securexchange.keys.keystore import KeySource, rotate_identity
from securexchange.municipality.enrolment import held_keyring_version, import_keyring


def _agency_home(path: Path, env: dict[str, str] | None = None) -> AbstractContextManager[Home]:
    return open_home(path, env=env or {}, expect=HomeKind.AGENCY)


def _card(staff: Path) -> bytes:
    return (staff / "keys" / "identity.card.json").read_bytes()


def _add(
    agency: Path,
    staff: Path,
    nis: str = "11002",
    fingerprint: str | None = None,
    *,
    env: dict[str, str] | None = None,
    passphrase: bytes = ROOT_PASS,
) -> tuple[Card, RecipientChange, int | None]:
    card = _card(staff)
    typed = fingerprint or read_card(card).fingerprint.display
    with _agency_home(agency, env) as home:
        return add_recipient(
            home, root_key_source(agency, passphrase), nis=nis, fingerprint=typed, card_data=card
        )


@pytest.fixture
def agency(tmp_path: Path) -> Path:
    make_agency(tmp_path / "agency")
    return tmp_path / "agency"


def test_init_makes_keyring_version_one_signed_by_the_root(agency: Path) -> None:
    with _agency_home(agency) as home:
        current = current_keyring(home)
    root = read_card((agency / "keys" / "root.card.json").read_bytes())
    keyring = open_keyring(
        current.data, current.signature, root.identity.signing_key, min_version=1
    )
    assert keyring.version == 1 and keyring.municipalities == ()
    assert keyring.agency.export.subkey_at(keyring.issued_at) is not None


def test_adding_a_municipality_generates_ids_and_increments_the_version(agency: Path) -> None:
    party = register(agency, profiles=["Integratiebeambte", "trajectbegeleider"])
    with _agency_home(agency) as home:
        (row,) = list_municipalities(home)
        keyring = current_keyring(home).keyring
    assert row.entry.party_id == party and row.entry.protocol_id.startswith("protocol-")
    assert row.entry.profiles == ("integratiebeambte", "trajectbegeleider")
    assert row.active and row.recipients == 0
    assert keyring.version == 2 and keyring.municipalities[0].party_id == party


def test_a_municipality_is_registered_once(agency: Path) -> None:
    register(agency)
    with pytest.raises(AlreadyExists):
        register(agency)


def test_an_unknown_nis_code_is_refused(agency: Path) -> None:
    with pytest.raises(UsageError):
        register(agency, nis="99999")


def test_a_wrong_root_passphrase_changes_nothing(agency: Path) -> None:
    with _agency_home(agency) as home, pytest.raises(BadPassphrase):
        add_municipality(
            home,
            root_key_source(agency, b"wrong"),
            nis="11002",
            name="Antwerpen",
            protocol_until=date(2099, 1, 1),
        )
    with _agency_home(agency) as home:
        assert list_municipalities(home) == []
        assert current_keyring(home).keyring.version == 1


def test_the_export_key_cannot_stand_in_for_the_root_key(agency: Path) -> None:
    export = KeySource(agency / "keys" / "export.key", lambda: EXPORT_PASS, work_factor=FAST)
    with _agency_home(agency) as home, pytest.raises(NotAuthorised):
        add_municipality(
            home, export, nis="11002", name="Antwerpen", protocol_until=date(2099, 1, 1)
        )


def test_recipient_is_added_and_listed_in_the_view(agency: Path, tmp_path: Path) -> None:
    register(agency, profiles=["integratiebeambte"])
    staff = make_staff(tmp_path / "staff", agency)
    card, change, version = _add(agency, tmp_path / "staff")
    assert change is RecipientChange.ADDED and version == 3
    assert card.fingerprint == staff.fingerprint
    with _agency_home(agency) as home:
        (row,) = list_recipients(home)
        view = view_for(home, "11002")
    assert row.nis == "11002" and row.card.fingerprint == staff.fingerprint
    (entry,) = view.keyring.municipalities
    assert [r.fingerprint for r in entry.recipients] == [staff.fingerprint]


def test_the_same_card_again_changes_nothing(agency: Path, tmp_path: Path) -> None:
    register(agency)
    make_staff(tmp_path / "staff", agency)
    _add(agency, tmp_path / "staff")
    _, change, version = _add(agency, tmp_path / "staff")
    assert change is RecipientChange.UNCHANGED and version is None


def test_recipient_with_a_fingerprint_that_is_not_the_cards_is_refused(
    agency: Path, tmp_path: Path
) -> None:
    register(agency)
    make_staff(tmp_path / "staff", agency)
    other = make_staff(tmp_path / "other", agency, name="Someone Else")
    with pytest.raises(FingerprintMismatch):
        _add(agency, tmp_path / "staff", fingerprint=other.fingerprint.display)


def test_recipient_with_a_role_outside_the_profiles_is_refused(
    agency: Path, tmp_path: Path
) -> None:
    register(agency, profiles=["integratiebeambte"])
    make_staff(tmp_path / "staff", agency, role="burgemeester")
    with pytest.raises(NotAuthorised):
        _add(agency, tmp_path / "staff")


def test_without_profiles_any_role_is_accepted(agency: Path, tmp_path: Path) -> None:
    register(agency)
    make_staff(tmp_path / "staff", agency, role="burgemeester")
    assert _add(agency, tmp_path / "staff")[1] is RecipientChange.ADDED


def test_recipient_for_a_municipality_without_an_active_protocol_is_refused(
    agency: Path, tmp_path: Path
) -> None:
    register(agency, protocol_from=date(2099, 1, 1), protocol_until=date(2099, 12, 31))
    make_staff(tmp_path / "staff", agency)
    with pytest.raises(ProtocolInactive):
        _add(agency, tmp_path / "staff")


def test_recipient_of_another_municipality_is_refused(agency: Path, tmp_path: Path) -> None:
    register(agency, nis="11002")
    make_staff(tmp_path / "staff", agency, nis="44021")
    with pytest.raises(WrongMunicipality):
        _add(agency, tmp_path / "staff", nis="11002")


def test_recipient_for_an_unregistered_municipality_is_not_found(
    agency: Path, tmp_path: Path
) -> None:
    make_staff(tmp_path / "staff", agency)
    with pytest.raises(NotFound):
        _add(agency, tmp_path / "staff")


def test_a_demo_card_is_refused_in_a_real_agency(agency: Path, tmp_path: Path) -> None:
    register(agency)
    make_agency(tmp_path / "demo-agency", demo=True)
    make_staff(tmp_path / "staff", tmp_path / "demo-agency", demo=True)
    with pytest.raises(NotAuthorised):
        _add(agency, tmp_path / "staff")


def test_refused_requests_never_open_the_root_key(agency: Path, tmp_path: Path) -> None:
    register(agency, profiles=["integratiebeambte"])
    make_staff(tmp_path / "staff", agency, role="burgemeester")
    asked = []

    def passphrase() -> bytes:
        asked.append(1)
        return b"irrelevant"

    source = KeySource(agency / "keys" / "root.key", passphrase, work_factor=FAST)
    card = _card(tmp_path / "staff")
    with _agency_home(agency) as home, pytest.raises(NotAuthorised):
        add_recipient(
            home,
            source,
            nis="11002",
            fingerprint=read_card(card).fingerprint.display,
            card_data=card,
        )
    assert asked == []


def test_rotation_updates_the_recipient_from_the_new_card(agency: Path, tmp_path: Path) -> None:
    register(agency)
    make_staff(tmp_path / "staff", agency)
    _add(agency, tmp_path / "staff")
    staff_home = tmp_path / "staff"
    with open_home(staff_home, env={}) as home:
        # The home holds the current quarter and two pre-issued ones: a third coming one.
        rotation = rotate_identity(
            home,
            KeySource(staff_home / "keys" / "identity.key", lambda: STAFF_PASS, work_factor=FAST),
            horizon=3,
        )
    assert rotation.added == 2  # one more period: a hybrid subkey and its classic companion
    new_card = read_card(_card(staff_home))
    assert len(new_card.identity.subkeys) == 8
    new_card.identity.verify_subkeys()
    _, change, version = _add(agency, staff_home)
    assert change is RecipientChange.UPDATED and version == 4
    with _agency_home(agency) as home:
        (entry,) = view_for(home, "11002").keyring.municipalities
        kept = vouched.stored(home, new_card.fingerprint.display)
    # The keyring lists the subkeys valid now; the card's pre-issued ones are kept beside
    # it, vouched for by the card's holder (issue 19, item 7).
    now = datetime.now(UTC)
    listed = entry.recipients[0].subkeys
    assert listed and all(s.valid_at(now) for s in listed)
    assert set(listed) | set(kept) == set(new_card.identity.subkeys)


def test_an_older_card_of_a_known_person_is_a_rollback(tmp_path: Path) -> None:
    demo = b"securexchange-demo"
    agency = tmp_path / "agency"
    make_agency(agency, demo=True)
    with _agency_home(agency) as home:
        add_municipality(
            home,
            root_key_source(agency, demo),
            nis="11002",
            name="Antwerpen",
            protocol_until=date(2099, 12, 31),
        )
    staff_home = tmp_path / "staff"
    make_staff(staff_home, agency, demo=True)
    old_card = _card(staff_home)
    later = {"SECUREXCHANGE_NOW": "2098-06-01"}
    with open_home(staff_home, env=later) as home:
        rotate_identity(
            home, KeySource(staff_home / "keys" / "identity.key", lambda: demo, work_factor=FAST)
        )
    assert _add(agency, staff_home, env=later, passphrase=demo)[1] is RecipientChange.ADDED
    (staff_home / "keys" / "identity.card.json").write_bytes(old_card)
    with pytest.raises(Rollback):
        _add(agency, staff_home, env=later, passphrase=demo)


def test_a_card_dated_in_the_future_is_refused(tmp_path: Path) -> None:
    demo = b"securexchange-demo"
    agency = tmp_path / "agency"
    make_agency(agency, demo=True)
    with _agency_home(agency) as home:
        add_municipality(
            home,
            root_key_source(agency, demo),
            nis="11002",
            name="Antwerpen",
            protocol_until=date(2099, 12, 31),
        )
    staff_home = tmp_path / "staff"
    make_staff(staff_home, agency, demo=True)
    with open_home(staff_home, env={"SECUREXCHANGE_NOW": "2098-06-01"}) as home:
        rotate_identity(
            home, KeySource(staff_home / "keys" / "identity.key", lambda: demo, work_factor=FAST)
        )
    with pytest.raises(Future):
        _add(agency, staff_home, passphrase=demo)


def test_removing_a_recipient_takes_them_out_of_the_next_version(
    agency: Path, tmp_path: Path
) -> None:
    register(agency)
    staff = make_staff(tmp_path / "staff", agency)
    _add(agency, tmp_path / "staff")
    with _agency_home(agency) as home:
        version = remove_recipient(
            home, root_key_source(agency), nis="11002", fingerprint=staff.fingerprint.display
        )
        assert list_recipients(home) == []
        (entry,) = current_keyring(home).keyring.municipalities
    assert version == 4 and entry.recipients == ()
    with _agency_home(agency) as home, pytest.raises(NotFound):
        remove_recipient(
            home, root_key_source(agency), nis="11002", fingerprint=staff.fingerprint.display
        )


def test_every_version_keeps_a_signed_view_per_municipality(agency: Path) -> None:
    register(agency, nis="11002")
    register(agency, nis="44021")
    with _agency_home(agency) as home:
        documents = signed_keyrings(home)
        older = signed_keyrings(home, 2)
    assert [d.keyring.scope == "full" for d in documents] == [True, False, False]
    assert {d.keyring.version for d in documents} == {3}
    assert len(older) == 2


def test_publish_writes_views_full_keyring_allowed_signers_and_the_root_card(
    agency: Path, tmp_path: Path
) -> None:
    register(agency)
    make_staff(tmp_path / "staff", agency, name="Unique Staffname")
    _add(agency, tmp_path / "staff")
    out = tmp_path / "published"
    with _agency_home(agency) as home:
        result = publish_keyring(home, out)
    names = sorted(p.name for p in result.files)
    assert names == [
        "allowed_signers",
        "keyring-11002.json",
        "keyring-11002.sig",
        "keyring-full.json",
        "keyring-full.sig",
        "root.card.json",
    ]
    assert "Unique Staffname" not in (out / "allowed_signers").read_text()
    root = read_card((out / "root.card.json").read_bytes()).identity.signing_key
    view = open_keyring(
        (out / "keyring-11002.json").read_bytes(),
        (out / "keyring-11002.sig").read_text(),
        root,
        min_version=result.version,
    )
    assert view.is_view


# --- the municipal side ---------------------------------------------------------------


def _published_view(agency: Path, out: Path, nis: str = "11002") -> tuple[bytes, str]:
    with _agency_home(agency) as home:
        publish_keyring(home, out)
    return (out / f"keyring-{nis}.json").read_bytes(), (out / f"keyring-{nis}.sig").read_text()


def test_municipality_imports_its_view_and_refuses_an_older_one(
    agency: Path, tmp_path: Path
) -> None:
    register(agency)
    make_staff(tmp_path / "staff", agency)
    old = _published_view(agency, tmp_path / "v2")
    _add(agency, tmp_path / "staff")
    new = _published_view(agency, tmp_path / "v3")
    with open_home(tmp_path / "staff", env={}) as home:
        assert import_keyring(home, *new).changed
        assert not import_keyring(home, *new).changed  # the same file again is harmless
        with pytest.raises(Rollback):
            import_keyring(home, *old)
        assert held_keyring_version(home) == 3


def test_municipality_refuses_another_municipalitys_view(agency: Path, tmp_path: Path) -> None:
    register(agency, nis="11002")
    register(agency, nis="44021")
    make_staff(tmp_path / "staff", agency, nis="11002")
    other = _published_view(agency, tmp_path / "out", nis="44021")
    full = (
        (tmp_path / "out" / "keyring-full.json").read_bytes(),
        (tmp_path / "out" / "keyring-full.sig").read_text(),
    )
    with open_home(tmp_path / "staff", env={}) as home:
        with pytest.raises(WrongMunicipality):
            import_keyring(home, *other)
        with pytest.raises(WrongMunicipality):
            import_keyring(home, *full)


def test_municipality_refuses_a_keyring_signed_by_the_export_key(
    agency: Path, tmp_path: Path
) -> None:
    from securexchange import sshsig
    from securexchange.keys.keyfile import read_key_file

    register(agency)
    make_staff(tmp_path / "staff", agency)
    data, _ = _published_view(agency, tmp_path / "out")
    export = read_key_file(agency / "keys" / "export.key", EXPORT_PASS)
    with open_home(tmp_path / "staff", env={}) as home, pytest.raises(BadSignature):
        import_keyring(home, data, export.sign(data, sshsig.NAMESPACE_KEYRING))


def test_the_same_version_with_other_content_is_equivocation(agency: Path, tmp_path: Path) -> None:
    from securexchange import sshsig
    from securexchange.keys.keyfile import read_key_file

    register(agency)
    make_staff(tmp_path / "staff", agency)
    data, signature = _published_view(agency, tmp_path / "out")
    document = json.loads(data)
    document["issued_at"] = "2020-01-01T00:00:00Z"
    other = strictjson.dumps(document)
    root = read_key_file(agency / "keys" / "root.key", ROOT_PASS)
    with open_home(tmp_path / "staff", env={}) as home:
        import_keyring(home, data, signature)
        with pytest.raises(Equivocation):
            import_keyring(home, other, root.sign(other, sshsig.NAMESPACE_KEYRING))
