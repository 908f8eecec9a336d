"""One interface for recipient types (age/recipients.py): parse by prefix, judge stanzas."""

from __future__ import annotations

import pytest

from securexchange import age


def test_a_recipient_and_an_identity_parse_to_their_type_and_back() -> None:
    identity = age.X25519Identity.generate()
    assert age.parse_identity(identity.to_string()) == identity
    recipient = age.parse_recipient(identity.recipient.to_string())
    assert recipient == identity.recipient
    assert age.is_recipient_string(recipient.to_string())


@pytest.mark.parametrize("text", ["", "age1", "AGE-SECRET-KEY-1", "ssh-ed25519 AAAA", "agex1qqqq"])
def test_a_string_of_no_known_type_is_refused(text: str) -> None:
    with pytest.raises(age.AgeKeyError):
        age.parse_recipient(text)
    with pytest.raises(age.AgeKeyError):
        age.parse_identity(text)
    assert not age.is_recipient_string(text)


def test_only_the_canonical_form_is_a_recipient_string() -> None:
    text = age.X25519Identity.generate().recipient.to_string()
    assert age.is_recipient_string(text)
    assert not age.is_recipient_string(text.upper())
    assert not age.is_recipient_string(text + " ")


def test_a_stanza_is_judged_by_its_type_without_a_key() -> None:
    recipient = age.X25519Identity.generate().recipient
    stanza = recipient.wrap(bytes(16))
    assert age.well_formed_stanza(stanza)
    assert not age.well_formed_stanza(age.Stanza("X25519", stanza.args, stanza.body[:-1]))
    assert not age.well_formed_stanza(age.Stanza("scrypt", ("c2FsdA", "10"), stanza.body))
    assert age.public_stanza_types() == ("X25519", "mlkem768x25519")
