"""The hybrid post-quantum recipient type, mlkem768x25519 (age 1.3), with real crypto.

The official vectors (test_age_vectors.py) prove decryption byte for byte against the
reference age; these prove our own side: encryption, key strings, the refusal to mix
post-quantum and classic recipients, the header limits, and the stanza checks.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable

import pytest

from securexchange import age
from securexchange.age import (
    MAX_HEADER_SIZE,
    MAX_RECIPIENTS,
    AgeHeaderError,
    AgeKeyError,
    AgeMixedRecipientsError,
    AgeNoMatchError,
    MLKEM768X25519Identity,
    MLKEM768X25519Recipient,
    ScryptRecipient,
    Stanza,
    X25519Identity,
    X25519Recipient,
)
from securexchange.age import mlkem768x25519 as hybrid
from securexchange.age import stream as age_stream
from securexchange.age.format import Header, decode_b64, encode_b64, encode_without_mac
from securexchange.age.primitives import FILE_KEY_SIZE, header_mac, payload_key
from securexchange.errors import UsageError

# The example recipient of the C2SP age specification (age.md, "The MLKEM768-X25519
# hybrid post-quantum recipient type"): a public key, published with the spec.
SPEC_RECIPIENT = (
    "age1pq1x34nzsvr0rxjsgdn8zgyhfe8j7ceq5r9rdelkjuh3y235jzxshfg87pzf5zrqtzdxz95paef6caq5aap"
    "dmwjjqpjfdyxnzr2zampc3uxy0dg4z2n2gm9su72p0pc3u0jvev55l694v78snxg3yzvcl7yda0eyytqj6a0ec4"
    "77lnhcy5hzpz4zq3pxanve4cn62gqj3pjy5lqj9c6kyj4v2z8alktn8zh99970x79gjkv7522hv9kfz35zsnxhs"
    "x8wwtmu9cy3ftzjgwcp4sshn3llnylnpdsyz5jm72vefv4x5vfwytrefxg4wq3mv42wcrvkj742479zrxzpvp2p"
    "3e9fed9f0739vcu80r7ma28qfhnvlv4gfzel9q654dj3zmuvvz893azhxdvs9fxd0r7jzchzcfcs5mkyyjxhw0n"
    "2z6dvp9yn9qfdp29h0azxqyjw6v7fhyuzj7zel0uq6j9rd7wgrpz7mf5dnj43jwsgvrc8qcnhy7tu6dkdujuxzk"
    "p9xj43xe8h92ktre2a3u3s8mm5mrp9nr9pwkgtz4mdlq9hgn4fps4k57ff6wddn2fy23t47sm20r8km8sd2pcyy"
    "afnet8f0dajsrlyjeah4n3mssr6aseevuuskdvq5lzguyvpgwpta742c6698vgutzqgny8usfg0w2he7kq5vyxj"
    "d0f9hqg8xk26y9e4th0gezq92q4cpp5p2y9hf5f2cje5l0c3sa3a2qxmm38pxxvhxh99yzmfz0zk7r2s64nnwjh"
    "kfgfr3gf8xnmppcgmaykvh5sh6g7vk9790rf8ws0axmr2t7z8aae5fq2029uvcn2ghgt4fu4wgwdc0k0cz52qkv"
    "wmuzj8p8k5jgf3xzk5zmrkavjekjrpeq408xz3zxazwkc6tyfmhayrkfpjhwtz5mp8j8guqe43k2q6m2kte03vr"
    "w27y3wmqyu5etmt9dnkwcnnpmu9gz9dekfhdevf42ucshphnrk38ra6hx8w5f8q5ru0xdhrjxmwqf6cused7zc5"
    "xvq43r0zscjglpwlptpwydhqw64xz7ptjdyeyzpq2zkxtmzg29gzjpvzva4d3l0cenn9xs297wf4y4ukwrunf57"
    "xj6pm7nvrkwvtrt8hwcmgv8x7ajw7258ugf9wvkmk4052ekg87tw5vnx8nq2swyzv77v8yqlwsenvamr0zssknw"
    "ts8rrhfuwj7ykysnq9jxy0uv3kuyt22djszjdtvpz6d0s0kwh8ryynddzud92emeyvvyqktd0jtj7rvvg5gch25"
    "v8smlvny3kvn5gagyz475ze2y6q466xqmz2n3hs77lddeqyta2nch5k2u5yacuk9ywnwfdzvyejnucz724hj77h"
    "rrmakm7pr3kxsrxq22ejexlud9fy2kdqmkg5yncz7jm5wv2qjk5w5kvcpqsry2yqffh2la52dxfjkjq5rzhjzey"
    "n6dupn0qwtyv7s4lwg3xdarsdlwe2y3tujy480y7z39q259fzx6jhd2j0f5hagqpcpees7hzc2yrk5cy788uk3s"
    "7qvp5cpepx24gvws3m2g433exgwppnkjscec8qu4y9z9r7vccexjcjaen42245lmgmxmuavg9alej92322gvvyy"
    "2t6267v09ch64y0m53jff0vjj96s0ypk60hr3jw4myd6m5hpn3xjstx7tl2szhpr5qe8jj08ydjc4wy2rch2fhu"
    "y3pdfjax5awe9j99ly5hkntzz9fe5zatgjvzdd0kgtxs25njnajyf6ssekp7gelxquusn4pt25czh3scj68kq79"
    "wdn5tgm6yvm9nzavrg043x3msnygf8dweknw5jmqd0uvny6ttsn09508k0c55zfnegrm9efhxpfqdkmhh6gjtqm"
    "wze9pyyzk3tlhl53k2ykx3qheyty7saeq0d3fzv49zc0k"
)
# A stanza as 1,557 bytes in the header: "-> mlkem768x25519 " and 1,494 base64 characters
# of enc and "\n", then 43 characters of body and "\n".
HYBRID_STANZA_BYTES = 18 + 1494 + 1 + 43 + 1


@pytest.fixture(scope="module")
def alice() -> MLKEM768X25519Identity:
    return MLKEM768X25519Identity.generate()


@pytest.fixture(scope="module")
def bob() -> MLKEM768X25519Identity:
    return MLKEM768X25519Identity.generate()


def seal(stanzas_for: Callable[[bytes], list[Stanza]], plaintext: bytes = b"hello") -> bytes:
    """A binary age file whose header holds exactly the given stanzas, its MAC right:
    for the stanzas our own ``encrypt`` would never write."""
    file_key = os.urandom(FILE_KEY_SIZE)
    stanzas = tuple(stanzas_for(file_key))
    header = Header(stanzas, header_mac(file_key, encode_without_mac(stanzas))).encode()
    nonce = os.urandom(age_stream.NONCE_SIZE)
    out = io.BytesIO()
    age_stream.encrypt(payload_key(file_key, nonce), io.BytesIO(plaintext), out.write)
    return header + nonce + out.getvalue()


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("armor", [False, True])
def test_a_file_to_a_hybrid_recipient_opens_with_its_identity(
    alice: MLKEM768X25519Identity, armor: bool
) -> None:
    plaintext = os.urandom(100_000)  # two chunks
    blob = age.encrypt(plaintext, [alice.recipient], armor=armor)
    assert age.decrypt(blob, [alice]) == plaintext
    out = io.BytesIO()
    age.decrypt_stream(io.BytesIO(blob), out, [alice])
    assert out.getvalue() == plaintext
    header = age.parse_header(blob)
    assert [(s.type, len(s.args), len(s.body)) for s in header.stanzas] == [
        ("mlkem768x25519", 1, 32)
    ]
    assert len(decode_b64(header.stanzas[0].args[0].encode())) == 1120
    assert age.well_formed_stanza(header.stanzas[0])


def test_each_of_several_hybrid_recipients_opens_the_file(
    alice: MLKEM768X25519Identity, bob: MLKEM768X25519Identity
) -> None:
    blob = age.encrypt(b"for both", [alice.recipient, bob.recipient])
    assert age.decrypt(blob, [alice]) == b"for both"
    assert age.decrypt(blob, [bob]) == b"for both"
    assert age.parse_header(blob).count("mlkem768x25519") == 2


def test_a_file_to_one_hybrid_recipient_does_not_open_with_another(
    alice: MLKEM768X25519Identity, bob: MLKEM768X25519Identity
) -> None:
    blob = age.encrypt(b"for alice", [alice.recipient])
    with pytest.raises(AgeNoMatchError):
        age.decrypt(blob, [bob])
    with pytest.raises(AgeNoMatchError):
        age.decrypt_stream(io.BytesIO(blob), io.BytesIO(), [bob])
    with pytest.raises(AgeNoMatchError):  # a classic key ignores the hybrid stanza
        age.decrypt(blob, [X25519Identity.generate()])
    assert age.decrypt(blob, [bob, alice]) == b"for alice"


def test_a_header_mixing_hybrid_and_x25519_stanzas_is_read(
    alice: MLKEM768X25519Identity,
) -> None:
    # We never write one (below), but the reference age reads one, and so must we.
    classic = X25519Identity.generate()
    blob = seal(lambda k: [classic.recipient.wrap(k), alice.recipient.wrap(k)])
    assert age.decrypt(blob, [alice]) == b"hello"
    assert age.decrypt(blob, [classic]) == b"hello"


# --- key strings ------------------------------------------------------------------------


def test_key_strings_have_their_prefixes_and_round_trip(alice: MLKEM768X25519Identity) -> None:
    recipient_text = alice.recipient.to_string()
    identity_text = alice.to_string()
    assert recipient_text.startswith("age1pq1") and recipient_text == recipient_text.lower()
    assert len(recipient_text) == 1959  # far beyond BIP 173's 90, as age allows
    assert identity_text.startswith("AGE-SECRET-KEY-PQ-1")
    assert identity_text == identity_text.upper()
    assert MLKEM768X25519Recipient.from_string(recipient_text) == alice.recipient
    assert MLKEM768X25519Identity.from_string(identity_text) == alice
    assert MLKEM768X25519Identity.from_bytes(alice.to_bytes()) == alice
    assert len(alice.to_bytes()) == 32 and len(alice.recipient.to_bytes()) == 1216
    # Through the one interface, by prefix.
    assert isinstance(age.parse_recipient(recipient_text), MLKEM768X25519Recipient)
    assert age.parse_identity(identity_text) == alice
    assert age.is_recipient_string(recipient_text)
    assert not age.is_recipient_string(recipient_text.upper())


def test_the_seed_alone_determines_the_keys(alice: MLKEM768X25519Identity) -> None:
    again = MLKEM768X25519Identity(alice.to_bytes())
    assert again == alice and again.recipient == alice.recipient
    assert hash(again) == hash(alice)
    assert MLKEM768X25519Identity.generate() != alice


def test_the_spec_example_recipient_parses_and_round_trips() -> None:
    # The ML-KEM key first, then the X25519 key: the other order is not a valid key.
    recipient = age.parse_recipient(SPEC_RECIPIENT)
    assert isinstance(recipient, MLKEM768X25519Recipient)
    assert recipient.to_string() == SPEC_RECIPIENT
    raw = recipient.to_bytes()
    with pytest.raises(AgeKeyError):
        MLKEM768X25519Recipient(raw[1184:] + raw[:1184])
    stanza = recipient.wrap(os.urandom(16))
    assert age.well_formed_stanza(stanza)


def test_repr_and_key_errors_never_show_the_secret(alice: MLKEM768X25519Identity) -> None:
    secret = alice.to_string()
    assert secret[19:40] not in repr(alice)
    assert secret[19:40].lower() not in repr(alice).lower()
    broken = secret[:-1] + ("Q" if secret[-1] != "Q" else "P")
    with pytest.raises(AgeKeyError) as info:
        MLKEM768X25519Identity.from_string(broken)
    assert broken[19:40] not in str(info.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda i: i.to_string().lower(),  # identities are upper case only
        lambda i: i.recipient.to_string(),  # a recipient is not an identity
        lambda i: X25519Identity.generate().to_string(),  # another type
        lambda i: i.to_string()[:-1] + ("Q" if i.to_string()[-1] != "Q" else "P"),
    ],
)
def test_malformed_identity_strings_are_refused(
    alice: MLKEM768X25519Identity, make: Callable[[MLKEM768X25519Identity], str]
) -> None:
    with pytest.raises(AgeKeyError):
        MLKEM768X25519Identity.from_string(make(alice))


@pytest.mark.parametrize(
    "make",
    [
        lambda i: i.recipient.to_string().upper(),  # recipients are lower case only
        lambda i: i.to_string(),  # an identity is not a recipient
        lambda i: X25519Identity.generate().recipient.to_string(),  # another type
        lambda i: (
            i.recipient.to_string()[:-1] + ("q" if i.recipient.to_string()[-1] != "q" else "p")
        ),
    ],
)
def test_malformed_recipient_strings_are_refused(
    alice: MLKEM768X25519Identity, make: Callable[[MLKEM768X25519Identity], str]
) -> None:
    with pytest.raises(AgeKeyError):
        MLKEM768X25519Recipient.from_string(make(alice))


def test_the_classic_parsers_refuse_hybrid_strings(alice: MLKEM768X25519Identity) -> None:
    with pytest.raises(AgeKeyError):
        X25519Recipient.from_string(alice.recipient.to_string())
    with pytest.raises(AgeKeyError):
        X25519Identity.from_string(alice.to_string())


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_a_seed_of_the_wrong_size_is_refused(size: int) -> None:
    with pytest.raises(AgeKeyError):
        MLKEM768X25519Identity(os.urandom(size))


def test_a_recipient_of_the_wrong_size_or_with_a_low_order_x25519_part_is_refused(
    alice: MLKEM768X25519Identity,
) -> None:
    raw = alice.recipient.to_bytes()
    for bad in (raw[:-1], raw + b"\x00", raw[:1184]):
        with pytest.raises(AgeKeyError):
            MLKEM768X25519Recipient(bad)
    with pytest.raises(AgeKeyError, match="low-order"):
        MLKEM768X25519Recipient(raw[:1184] + bytes(32))


# --- no mixing, when encrypting ---------------------------------------------------------


def test_hybrid_and_classic_recipients_are_not_mixed_in_one_file(
    alice: MLKEM768X25519Identity,
) -> None:
    classic = X25519Identity.generate().recipient
    for recipients in ([alice.recipient, classic], [classic, alice.recipient]):
        with pytest.raises(AgeMixedRecipientsError, match="post-quantum") as info:
            age.encrypt(b"x", recipients)
        assert isinstance(info.value, UsageError)
        assert classic.to_string() not in str(info.value)
        assert alice.recipient.to_string()[7:30] not in str(info.value)
    with pytest.raises(ValueError, match="passphrase"):  # the passphrase rule comes first
        age.encrypt(b"x", [alice.recipient, ScryptRecipient(b"pass", work_factor=1)])


# --- header limits ----------------------------------------------------------------------


def test_64_hybrid_recipients_fit_the_header() -> None:
    identities = [MLKEM768X25519Identity.generate() for _ in range(MAX_RECIPIENTS)]
    for armor in (False, True):
        blob = age.encrypt(b"many", [i.recipient for i in identities], armor=armor)
        header = age.parse_header(blob)
        assert header.count("mlkem768x25519") == MAX_RECIPIENTS == 64
        # More than the old 64 KiB cap, within the new one.
        assert header.length == 22 + 64 * HYBRID_STANZA_BYTES + 48 == 99_718
        assert 64 * 1024 < header.length <= MAX_HEADER_SIZE
        assert age.decrypt(blob, [identities[-1]]) == b"many"
        out = io.BytesIO()
        age.decrypt_stream(io.BytesIO(blob), out, [identities[-1]])
        assert out.getvalue() == b"many"
    with pytest.raises(ValueError, match="at most 64"):
        age.encrypt(b"x", [identities[0].recipient] * (MAX_RECIPIENTS + 1))


# --- malformed stanzas are header failures ----------------------------------------------


def _non_canonical(text: str) -> str:
    """The same base64 with nonzero unused bits in its last character."""
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".index(text[-1])
    return text[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[last | 1]


def _enc(stanza: Stanza) -> bytes:
    return decode_b64(stanza.args[0].encode())


# Each fault, and the words of the refusal that names it.
MALFORMED: dict[str, tuple[Callable[[Stanza], Stanza], str]] = {
    "body of 31 bytes": (lambda s: Stanza(s.type, s.args, s.body[:-1]), "body"),
    "body of 33 bytes": (lambda s: Stanza(s.type, s.args, s.body + b"\x00"), "body"),
    "empty body": (lambda s: Stanza(s.type, s.args, b""), "body"),
    "no argument": (lambda s: Stanza(s.type, (), s.body), "one argument"),
    "an extra argument": (lambda s: Stanza(s.type, (*s.args, "x"), s.body), "one argument"),
    "enc not canonical base64": (
        lambda s: Stanza(s.type, (_non_canonical(s.args[0]),), s.body),
        "canonical base64",
    ),
    "enc padded": (lambda s: Stanza(s.type, (s.args[0] + "==",), s.body), "canonical base64"),
    "enc of 1119 bytes": (
        lambda s: Stanza(s.type, (encode_b64(_enc(s)[:-1]),), s.body),
        "not 1120 bytes",
    ),
    "enc of 1121 bytes": (
        lambda s: Stanza(s.type, (encode_b64(_enc(s) + b"\x00"),), s.body),
        "not 1120 bytes",
    ),
    "low-order X25519 share u=0": (
        lambda s: Stanza(s.type, (encode_b64(_enc(s)[:1088] + bytes(32)),), s.body),
        "low-order",
    ),
    "low-order X25519 share u=1": (
        lambda s: Stanza(s.type, (encode_b64(_enc(s)[:1088] + b"\x01" + bytes(31)),), s.body),
        "low-order",
    ),
}


@pytest.mark.parametrize("fault", sorted(MALFORMED))
def test_a_malformed_hybrid_stanza_is_a_header_failure_for_every_hybrid_identity(
    alice: MLKEM768X25519Identity, bob: MLKEM768X25519Identity, fault: str
) -> None:
    change, words = MALFORMED[fault]
    blob = seal(lambda k: [change(alice.recipient.wrap(k))])
    for identity in (alice, bob):  # addressed to alice; bob fails the same way
        with pytest.raises(AgeHeaderError, match=words) as info:
            age.decrypt(blob, [identity])
        assert "mlkem768x25519" in str(info.value)
        with pytest.raises(AgeHeaderError, match=words):
            age.decrypt_stream(io.BytesIO(blob), io.BytesIO(), [identity])
    # A classic identity does not look at it: not for us.
    with pytest.raises(AgeNoMatchError):
        age.decrypt(blob, [X25519Identity.generate()])
    if "share" not in fault:  # the share's order takes a key operation to judge
        assert not age.well_formed_stanza(age.parse_header(blob).stanzas[0])


def test_a_malformed_stanza_after_ours_is_not_reached(alice: MLKEM768X25519Identity) -> None:
    # As in the reference age: the first stanza that opens ends the search.
    bad, _words = MALFORMED["body of 31 bytes"]
    blob = seal(lambda k: [alice.recipient.wrap(k), bad(alice.recipient.wrap(k))])
    assert age.decrypt(blob, [alice]) == b"hello"


def _flip_body(s: Stanza) -> Stanza:
    return Stanza(s.type, s.args, bytes([s.body[0] ^ 1]) + s.body[1:])


def _flip_mlkem(s: Stanza) -> Stanza:
    enc = _enc(s)
    return Stanza(s.type, (encode_b64(bytes([enc[0] ^ 1]) + enc[1:]),), s.body)


def _upper_type(s: Stanza) -> Stanza:
    return Stanza(s.type.upper(), s.args, s.body)


@pytest.mark.parametrize("change", [_flip_body, _flip_mlkem, _upper_type])
def test_a_wrong_tag_or_enc_is_not_ours_and_another_type_is_ignored(
    alice: MLKEM768X25519Identity, change: Callable[[Stanza], Stanza]
) -> None:
    # ML-KEM rejects implicitly: a changed ciphertext yields another key, a wrong tag.
    blob = seal(lambda k: [change(alice.recipient.wrap(k))])
    with pytest.raises(AgeNoMatchError):
        age.decrypt(blob, [alice])


def test_constants_match_the_spec() -> None:
    assert hybrid.STANZA_TYPE == "mlkem768x25519"
    assert hybrid.LABEL == b"age-encryption.org/mlkem768x25519"
    assert (hybrid.ENC_SIZE, hybrid.PUBLIC_SIZE, hybrid.BODY_SIZE) == (1120, 1216, 32)
    assert age.public_stanza_types() == ("X25519", "mlkem768x25519")
