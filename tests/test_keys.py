"""Identities: the signing key, quarterly subkeys certified by it, rotation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from keys_helpers import classic_identity
from securexchange.errors import BadSignature, UsageError
from securexchange.fingerprint import Fingerprint
from securexchange.keys.identity import (
    Owner,
    check_nis,
    generate_identity,
    normalise_role,
    period_end,
    period_start,
)

NOW = datetime(2026, 2, 10, 9, 30, tzinfo=UTC)
OWNER = Owner("An Peeters", "integratiebeambte", "11002")


def test_periods_are_calendar_quarters_in_utc() -> None:
    assert period_start(NOW) == datetime(2026, 1, 1, tzinfo=UTC)
    assert period_end(NOW) == datetime(2026, 4, 1, tzinfo=UTC)
    assert period_end(datetime(2026, 11, 30, tzinfo=UTC)) == datetime(2027, 1, 1, tzinfo=UTC)
    assert period_end(datetime(2026, 4, 1, tzinfo=UTC)) == datetime(2026, 7, 1, tzinfo=UTC)


def test_new_identity_has_a_hybrid_subkey_and_its_classic_companion_until_the_quarter_ends() -> (
    None
):
    identity = generate_identity(OWNER, now=NOW)
    public = identity.public
    assert public.fingerprint == Fingerprint.of_public_key(identity.signing_key)
    hybrid, classic = sorted(public.subkeys, key=lambda s: not s.post_quantum)
    assert hybrid.post_quantum and not classic.post_quantum
    assert hybrid.recipient.startswith("age1pq1") and len(hybrid.recipient) == 1959
    for subkey in (hybrid, classic):
        assert (subkey.valid_from, subkey.valid_until) == (NOW, datetime(2026, 4, 1, tzinfo=UTC))
    public.verify_subkeys()
    # Of the subkeys valid at one moment the hybrid one is picked, unless a kind is asked.
    assert public.subkey_at(NOW) == hybrid
    assert public.subkey_at(NOW, post_quantum=True) == hybrid
    assert public.subkey_at(NOW, post_quantum=False) == classic
    assert identity.secret_subkey_at(NOW) == identity.secret_subkey_at(NOW, post_quantum=True)
    assert identity.secret_subkey_at(NOW, post_quantum=False).public == classic  # type: ignore[union-attr]
    assert public.subkey_at(datetime(2026, 4, 1, tzinfo=UTC)) is None


def test_an_identity_with_classic_subkeys_only_picks_them_and_rotation_adds_hybrid_ones() -> None:
    old = classic_identity(OWNER, NOW)
    assert [s.post_quantum for s in old.public.subkeys] == [False]
    assert old.public.subkey_at(NOW, post_quantum=True) is None
    assert old.public.subkey_at(NOW) == old.public.subkeys[0]
    rotated, added = old.rotated(NOW)
    # A hybrid subkey for the current period (the classic one its companion) and a pair
    # for the next period.
    assert added == 3
    current = rotated.public.subkey_at(NOW)
    assert current is not None and current.post_quantum
    assert (current.valid_from, current.valid_until) == (NOW, datetime(2026, 4, 1, tzinfo=UTC))
    later = datetime(2026, 5, 1, tzinfo=UTC)
    assert {s.post_quantum for s in rotated.public.subkeys if s.valid_at(later)} == {True, False}
    rotated.public.verify_subkeys()
    assert rotated.rotated(NOW)[1] == 0


def test_rotation_adds_the_next_quarter_signed_by_the_same_signing_key() -> None:
    identity = generate_identity(OWNER, now=NOW)
    rotated, added = identity.rotated(NOW)
    assert added == 2
    assert rotated.signing_key == identity.signing_key
    current = rotated.public.subkey_at(NOW)
    assert current is not None
    following = [s for s in rotated.public.subkeys if s.valid_from >= current.valid_until]
    assert sorted(s.post_quantum for s in following) == [False, True]
    for subkey in following:
        assert subkey.valid_from == current.valid_until == datetime(2026, 4, 1, tzinfo=UTC)
        assert subkey.valid_until == datetime(2026, 7, 1, tzinfo=UTC)
        subkey.verify(identity.signing_key)
    picked = rotated.public.subkey_at(datetime(2026, 5, 1, tzinfo=UTC))
    assert picked in following and picked is not None and picked.post_quantum


def test_rotating_twice_adds_nothing_the_second_time() -> None:
    rotated, _ = generate_identity(OWNER, now=NOW).rotated(NOW)
    again, added = rotated.rotated(NOW)
    assert added == 0 and again == rotated


def test_rotation_after_every_subkey_expired_makes_a_current_one_and_a_next_one() -> None:
    identity = generate_identity(OWNER, now=NOW)
    later = datetime(2026, 8, 15, tzinfo=UTC)
    rotated, added = identity.rotated(later)
    assert added == 4
    assert rotated.public.subkey_at(later) is not None
    assert len(rotated.public.live_subkeys(later)) == 4


def test_a_subkey_certified_by_another_signing_key_does_not_verify() -> None:
    mine = generate_identity(OWNER, now=NOW)
    theirs = generate_identity(OWNER, now=NOW)
    for subkey in mine.public.subkeys:
        with pytest.raises(BadSignature):
            subkey.verify(theirs.signing_key)


def test_a_subkey_whose_validity_was_stretched_no_longer_verifies() -> None:
    identity = generate_identity(OWNER, now=NOW)
    for subkey in identity.public.subkeys:
        stretched = replace(subkey, valid_until=datetime(2030, 1, 1, tzinfo=UTC))
        with pytest.raises(BadSignature):
            stretched.verify(identity.signing_key)


def test_secrets_never_appear_in_repr() -> None:
    identity = generate_identity(OWNER, now=NOW)
    text = repr(identity)
    assert identity.seed.hex() not in text
    assert repr(identity.seed) not in text
    assert identity.subkeys[0].identity not in text
    assert "AGE-SECRET-KEY" not in text


def test_destroyed_subkeys_are_gone_from_the_identity() -> None:
    rotated, _ = generate_identity(OWNER, now=NOW).rotated(NOW)
    first = rotated.subkeys[0].public.recipient
    kept = rotated.without_subkeys([first])
    assert [s.public.recipient for s in kept.subkeys] == [
        s.public.recipient for s in rotated.subkeys[1:]
    ]


def test_roles_are_normalised_and_bad_ones_refused_without_echo() -> None:
    assert normalise_role("  Integratie  Beambte ") == "integratie beambte"
    with pytest.raises(UsageError) as caught:
        normalise_role("a,b")
    assert "a,b" not in str(caught.value)
    with pytest.raises(UsageError):
        normalise_role("")


def test_nis_codes_outside_the_official_list_are_refused() -> None:
    assert check_nis("11002") == "11002"
    with pytest.raises(UsageError):
        check_nis("99999")
    with pytest.raises(UsageError):
        check_nis("1100")


def test_owner_metadata_is_validated() -> None:
    with pytest.raises(ValueError):
        Owner("An", "integratiebeambte", "not-a-nis")
    with pytest.raises(ValueError):
        Owner("", "integratiebeambte", "11002")
    with pytest.raises(ValueError):
        Owner("An", "Upper", "11002")


def test_split_out_subkeys_keep_their_public_record_and_rotation_adds_only_the_next() -> None:
    from securexchange.keys.card import make_card, read_card
    from securexchange.keys.keyfile import decode_identity, encode_identity

    identity = generate_identity(OWNER, now=NOW)
    pair = tuple(sorted((s.public for s in identity.subkeys), key=lambda s: s.recipient))
    split = identity.split([s.recipient for s in pair])
    assert split.subkeys == () and split.split_subkeys == pair
    assert set(split.public.subkeys) == set(pair)
    assert split.secret_subkey_at(NOW) is None  # the secrets live elsewhere

    rotated, added = split.rotated(NOW)
    assert added == 2
    assert rotated.split_subkeys == pair and len(rotated.subkeys) == 2
    following = tuple(s.public for s in rotated.subkeys)
    current = pair[0]
    for subkey in following:
        assert subkey.valid_from == current.valid_until == datetime(2026, 4, 1, tzinfo=UTC)
    assert rotated.rotated(NOW)[1] == 0
    card = read_card(make_card(rotated, now=NOW))
    assert set(card.identity.subkeys) == {*pair, *following}
    assert card.fingerprint == identity.fingerprint

    # The key file keeps the public records with a null identity, and reads back.
    plain = encode_identity(rotated)
    assert plain.count(b'"identity": null') == 2
    for secret in identity.subkeys:
        assert secret.identity.encode() not in plain
    assert decode_identity(plain) == rotated

    # Expired records go; destroyed ones go from both lists.
    assert rotated.without_expired_split(current.valid_until).split_subkeys == ()
    assert rotated.without_expired_split(NOW) == rotated
    gone = rotated.without_subkeys([s.recipient for s in pair])
    assert set(gone.public.subkeys) == set(following)


def test_a_split_out_record_certified_by_another_key_is_refused_in_the_key_file() -> None:
    from securexchange.errors import Malformed
    from securexchange.keys.keyfile import decode_identity, encode_identity

    identity = generate_identity(OWNER, now=NOW)
    other = generate_identity(OWNER, now=NOW)
    forged = replace(identity.split([]), split_subkeys=(other.subkeys[0].public,))
    with pytest.raises(Malformed):
        decode_identity(encode_identity(forged))
    with pytest.raises(ValueError, match="twice"):
        replace(identity, split_subkeys=(identity.subkeys[0].public,))
