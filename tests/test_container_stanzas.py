"""Every verifier judges a payload's recipient stanzas alike: a key holder's reader
stops at its own stanza, so a malformed stanza after it passed the key holder and
failed the others (issue 14, item 9). Well-formedness is judged before any key."""

from __future__ import annotations

import pytest

from securexchange import age
from securexchange.age.format import Stanza
from securexchange.artifacts.container import open_artifact, open_without_decryption, seal
from securexchange.artifacts.manifest import ArtifactType
from securexchange.errors import Malformed
from securexchange.ids import ArtifactKind, new_artifact_id
from test_container import BODIES, CREATED, IDENTITY, NIS, SEED, TRUST, NoteBody


class _Odd:
    def __init__(self, stanza: Stanza) -> None:
        self.stanza = stanza

    def wrap(self, file_key: bytes) -> Stanza:
        return self.stanza


SHARE = "A" * 43  # 32 bytes of canonical base64


@pytest.mark.parametrize(
    "stanza",
    [
        Stanza("X25519", ("not-a-share",), b"\0" * 32),
        Stanza("X25519", (SHARE, "extra"), b"\0" * 32),
        Stanza("X25519", (SHARE,), b"\0" * 31),
        Stanza("X25519", ("A" * 42,), b"\0" * 32),
    ],
)
def test_a_malformed_stanza_after_a_key_holders_own_is_refused_by_every_verifier(
    stanza: Stanza,
) -> None:
    data = seal(
        artifact_type=ArtifactType.RETURN,
        artifact_id=new_artifact_id(ArtifactKind.RETURN),
        created_at=CREATED,
        municipality=NIS,
        body=NoteBody("hello", 1),
        signing_seed=SEED,
        content=b"content",
        recipients=[IDENTITY.recipient, _Odd(stanza)],  # type: ignore[list-item]
    )
    with pytest.raises(Malformed):
        open_without_decryption(data, trust=TRUST, bodies=BODIES)
    with pytest.raises(Malformed):
        open_artifact(data, trust=TRUST, bodies=BODIES, identities=[IDENTITY])


def test_well_formed_stanzas_to_two_key_holders_still_open() -> None:
    other = age.X25519Identity.generate()
    data = seal(
        artifact_type=ArtifactType.RETURN,
        artifact_id=new_artifact_id(ArtifactKind.RETURN),
        created_at=CREATED,
        municipality=NIS,
        body=NoteBody("hello", 1),
        signing_seed=SEED,
        content=b"content",
        recipients=[IDENTITY.recipient, other.recipient],
    )
    opened = open_artifact(data, trust=TRUST, bodies=BODIES, identities=[other])
    assert opened.content == b"content"
