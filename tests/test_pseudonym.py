"""Record ids: stable, per municipality, unlinkable without the key."""

from __future__ import annotations

import secrets

from securexchange.ids import is_record_id
from securexchange.pseudonym import record_id

KEY = bytes(range(32))


def test_record_id_is_stable_and_well_formed() -> None:
    first = record_id(KEY, client_id="C-1001", party_id="party-a")
    assert first == record_id(KEY, client_id="C-1001", party_id="party-a")
    assert is_record_id(first)


def test_same_client_gets_unrelated_ids_in_two_municipalities() -> None:
    a = record_id(KEY, client_id="C-1001", party_id="party-a")
    b = record_id(KEY, client_id="C-1001", party_id="party-b")
    assert a != b


def test_another_key_gives_other_ids() -> None:
    other = secrets.token_bytes(32)
    assert record_id(KEY, client_id="C-1", party_id="p") != record_id(
        other, client_id="C-1", party_id="p"
    )


def test_fields_are_length_prefixed_so_boundaries_cannot_shift() -> None:
    assert record_id(KEY, client_id="bc", party_id="a") != record_id(
        KEY, client_id="c", party_id="ab"
    )
