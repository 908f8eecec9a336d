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

from dataclasses import dataclass
from datetime import datetime

from securexchange import sshsig, strictjson
from securexchange.clock import format_instant, read_instant
from securexchange.errors import BadSignature, FingerprintMismatch, Malformed
from securexchange.fingerprint import Fingerprint, parse_display
from securexchange.formatversion import refuse_newer
from securexchange.i18n import _
from securexchange.keys.identity import Identity, Owner, PublicIdentity, Subkey

CARD_FAMILY = "securexchange-card"
CARD_VERSION = 1
CARD_FORMAT = f"{CARD_FAMILY}/{CARD_VERSION}"
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


def make_card(identity: Identity, *, now: datetime) -> bytes:
    """The card file of ``identity`` at ``now`` (live subkeys only), self-signed."""
    public = identity.public.with_live_subkeys(now)
    body = {
        "format": CARD_FORMAT,
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


def read_card(data: bytes) -> Card:
    """Parse and verify a card file: strict JSON, the self-signature, every subkey's
    certification. Raises Malformed or BadSignature (UpdateNeeded for a card a newer
    securexchange made in a newer format); never echoes the content.
    """
    # TRANSLATORS: names the card in messages ("the key card is not valid JSON").
    what = _("the key card")
    _refuse_newer_card(data, what)
    envelope = strictjson.loads(data, what=what, max_bytes=MAX_CARD_BYTES)
    with strictjson.Fields(envelope, what) as f:
        text = f.text("card").encode("utf-8")
        signature = f.text("signature")
    body = strictjson.loads(text, what=what, max_bytes=MAX_CARD_BYTES)
    with strictjson.Fields(body, what) as f:
        if f.text("format") != CARD_FORMAT:
            raise Malformed(_("the key card has an unknown format"))
        created_at = read_instant(f.text("created_at"), what)
        demo = f.boolean("demo")
        identity = identity_from_fields(f, what)
    try:
        sshsig.verify(signature, text, sshsig.NAMESPACE_CARD, identity.signing_key)
    except (BadSignature, Malformed):
        raise BadSignature(_("the key card's self-signature does not verify")) from None
    identity.verify_subkeys()
    return Card(identity=identity, created_at=created_at, demo=demo)


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
