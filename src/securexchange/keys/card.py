"""The public key card: what a person sends the agency (and the agency's root key card).

A card file is one strict-JSON object with two fields::

    {"card": "<the card document, exact UTF-8 JSON text>",
     "signature": "<armored SSHSIG over exactly those bytes, card namespace>"}

The card document (strict JSON, written with :func:`strictjson.dumps`) holds the owner's
name, role and organisation, the signing key (an OpenSSH ``ssh-ed25519`` line), its
fingerprint, and the live subkeys (current and next), each with the signing key's
certification. The signature is made by the card's own signing key: a card proves that
whoever holds that key made it; *who* that is, the reader checks by comparing the
fingerprint out of band (a phone call), which :func:`verify_card_fingerprint` does.

Pure: bytes in, bytes out; time passed in.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from securexchange import age, sshsig, strictjson
from securexchange.clock import format_instant, read_instant
from securexchange.errors import BadSignature, FingerprintMismatch, Malformed
from securexchange.fingerprint import Fingerprint, parse_display
from securexchange.formatversion import refuse_newer
from securexchange.i18n import _
from securexchange.keys.identity import Identity, Owner, PublicIdentity, Subkey

CARD_FAMILY = "securexchange-card"
CARD_VERSION = 2  # the newest card format this version of securexchange reads
# A card that lists a hybrid post-quantum subkey is format 2 (the fields of format 1):
# an older agency says "update securexchange" instead of "this subkey is not valid".
CARD_FORMAT_POST_QUANTUM = 2
# A card lists its live subkeys (two periods, each a hybrid post-quantum subkey of ~2.4 KB
# in the card and its classic companion: ~10 KB); the cap holds MAX_SUBKEYS hybrid ones
# (~80 KB), so any identity the model allows fits. It was 64 KiB before issue 18.
MAX_CARD_BYTES = 128 * 1024


@dataclass(frozen=True)
class Card:
    """A verified card."""

    identity: PublicIdentity
    created_at: datetime
    demo: bool

    @property
    def fingerprint(self) -> Fingerprint:
        return self.identity.fingerprint

    @property
    def owner(self) -> Owner:
        return self.identity.owner


def subkey_to_json(subkey: Subkey) -> dict[str, object]:
    return {
        "recipient": subkey.recipient,
        "valid_from": format_instant(subkey.valid_from),
        "valid_until": format_instant(subkey.valid_until),
        "certification": subkey.certification,
    }


def subkey_from_json(value: object, what: str) -> Subkey:
    with strictjson.Fields(value, what) as f:
        recipient = f.text("recipient")
        valid_from = read_instant(f.text("valid_from"), what)
        valid_until = read_instant(f.text("valid_until"), what)
        certification = f.text("certification")
    try:
        return Subkey(recipient, valid_from, valid_until, certification)
    except ValueError:
        raise Malformed(_("{what} is not a valid subkey").format(what=what)) from None


def identity_to_json(identity: PublicIdentity) -> dict[str, object]:
    """The fields every document uses for a public identity."""
    return {
        "name": identity.owner.name,
        "role": identity.owner.role,
        "organisation": identity.owner.organisation,
        "signing_key": sshsig.ssh_public_key_line(identity.signing_key),
        "fingerprint": identity.fingerprint.display,
        "subkeys": [subkey_to_json(s) for s in identity.subkeys],
    }


def identity_from_fields(f: strictjson.Fields, what: str) -> PublicIdentity:
    """Take a public identity's fields out of ``f`` (see :func:`identity_to_json`).

    Checks the stated fingerprint against the signing key (Malformed) but not the
    subkey certifications (the caller does, with :meth:`PublicIdentity.verify_subkeys`).
    """
    name, role, organisation = f.text("name"), f.text("role"), f.text("organisation")
    signing_key = sshsig.parse_ssh_public_key_line(f.text("signing_key"))
    stated = f.text("fingerprint")
    # TRANSLATORS: names the n-th key for packages listed in a document; {what} is the
    # document ("the key card").
    subkey_what = _("{what} subkey {number}")
    subkeys = tuple(
        subkey_from_json(item, subkey_what.format(what=what, number=i))
        for i, item in enumerate(f.array("subkeys"), 1)
    )
    try:
        identity = PublicIdentity(Owner(name, role, organisation), signing_key, subkeys)
    except ValueError:
        raise Malformed(_("{what} is not a valid identity").format(what=what)) from None
    if stated != identity.fingerprint.display:
        raise Malformed(
            _("{what} states a fingerprint that is not its signing key's").format(what=what)
        )
    return identity


def card_format(identity: PublicIdentity) -> str:
    """The lowest card format that expresses a card listing ``identity``'s subkeys."""
    number = CARD_FORMAT_POST_QUANTUM if any(s.post_quantum for s in identity.subkeys) else 1
    return f"{CARD_FAMILY}/{number}"


def make_card(identity: Identity, *, now: datetime) -> bytes:
    """The card file of ``identity`` at ``now`` (live subkeys only), self-signed."""
    public = identity.public.with_live_subkeys(now)
    body = {
        "format": card_format(public),
        "created_at": format_instant(now),
        "demo": identity.demo,
        **identity_to_json(public),
    }
    text = strictjson.dumps(body)
    signature = identity.sign(text, sshsig.NAMESPACE_CARD)
    return strictjson.dumps({"card": text.decode("utf-8"), "signature": signature})


def _refuse_newer_card(data: bytes, what: str) -> None:
    """A newer card format is "update securexchange", whether it shows in the envelope
    or in the signed card text inside it (checked before either strict parse)."""
    import json

    def check(document: bytes) -> None:
        refuse_newer(
            document,
            family=CARD_FAMILY,
            known=CARD_VERSION,
            what=what,
            max_bytes=MAX_CARD_BYTES,
        )

    check(data)
    try:
        envelope = json.loads(data) if len(data) <= MAX_CARD_BYTES else None
    except (ValueError, RecursionError):
        return
    if isinstance(envelope, dict) and isinstance(envelope.get("card"), str):
        check(envelope["card"].encode("utf-8", errors="replace"))


def read_card(data: bytes, *, recipients_checked: bool = False) -> Card:
    """Parse and verify a card file: strict JSON, the self-signature, every subkey's
    certification, every subkey a valid age recipient. Raises Malformed or BadSignature
    (UpdateNeeded for a card a newer securexchange made in a newer format); never
    echoes the content.

    ``recipients_checked``: the card was read with the full check before and stored
    (the agency's registry reads every stored card for each keyring version; parsing a
    hybrid recipient costs about a millisecond), so its subkeys get the shape check only.

    Kept per process for the exact bytes (a command reads its home's card more than
    once); a refusal raises and is not kept. A Card is immutable.
    """
    return _read(bytes(data), recipients_checked)


@functools.lru_cache(maxsize=16)
def _read(data: bytes, recipients_checked: bool) -> Card:
    # TRANSLATORS: names the card in messages ("the key card is not valid JSON").
    what = _("the key card")
    _refuse_newer_card(data, what)
    envelope = strictjson.loads(data, what=what, max_bytes=MAX_CARD_BYTES)
    with strictjson.Fields(envelope, what) as f:
        text = f.text("card").encode("utf-8")
        signature = f.text("signature")
    body = strictjson.loads(text, what=what, max_bytes=MAX_CARD_BYTES)
    with strictjson.Fields(body, what) as f:
        declared = f.text("format")
        if declared not in {f"{CARD_FAMILY}/{n}" for n in range(1, CARD_VERSION + 1)}:
            raise Malformed(_("the key card has an unknown format"))
        created_at = read_instant(f.text("created_at"), what)
        demo = f.boolean("demo")
        identity = identity_from_fields(f, what)
    if declared != card_format(identity):
        # One encoding per content, as for keyrings.
        raise Malformed(_("the key card states another format than its content needs"))
    for number, subkey in enumerate(() if recipients_checked else identity.subkeys, 1):
        # The full check (checksum, key), not just the shape a keyring's subkeys get: a
        # card is where a subkey enters, and one that no encryption can use would
        # otherwise fail every later export (keyrings list only cards' subkeys).
        if not age.is_recipient_string(subkey.recipient):
            raise Malformed(
                _("{what} subkey {number} is not a valid age recipient").format(
                    what=what, number=number
                )
            )
    try:
        sshsig.verify(signature, text, sshsig.NAMESPACE_CARD, identity.signing_key)
    except (BadSignature, Malformed):
        raise BadSignature(_("the key card's self-signature does not verify")) from None
    identity.verify_subkeys()
    _require_classic_companions(identity, what)
    return Card(identity=identity, created_at=created_at, demo=demo)


def _require_classic_companions(identity: PublicIdentity, what: str) -> None:
    """Each hybrid subkey comes with a classic one of the same period, as every home
    since issue 18 makes them: while one member of a municipality holds classic subkeys
    only, its packages are classic, and a hybrid-only member would be left out of them
    (named as "no subkey valid now", which 'keys rotate' would not mend)."""
    classic = {(s.valid_from, s.valid_until) for s in identity.subkeys if not s.post_quantum}
    for number, subkey in enumerate(identity.subkeys, 1):
        if subkey.post_quantum and (subkey.valid_from, subkey.valid_until) not in classic:
            raise Malformed(
                # TRANSLATORS: "classic" as opposed to post-quantum (X25519 keys).
                _("{what} subkey {number} has no classic companion for its period").format(
                    what=what, number=number
                )
            )


def verify_card_fingerprint(card: Card, typed: str) -> None:
    """Raise FingerprintMismatch unless ``typed`` (read out of band) is the card's.

    A ``typed`` value that is not a fingerprint at all is a UsageError.
    """
    wanted = parse_display(typed)
    if not card.fingerprint.matches(wanted):
        raise FingerprintMismatch(
            _("the key card's fingerprint differs from the one given"),
            hint=_("do not use this card; ask its owner to read out the fingerprint again"),
        )
