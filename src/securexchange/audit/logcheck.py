"""Verifying a home's log: the chain, the head, and the signed checkpoints.

The public keys that may sign checkpoints are those of the home's own cards
(``HOME/keys/*.card.json``: a staff identity, or the agency's root and export keys).
A card that does not parse is ignored here; it cannot vouch for anything.
"""

from __future__ import annotations

from securexchange import sshsig
from securexchange.card import read_card
from securexchange.errors import SxError
from securexchange.eventlog import CheckpointVerifier, LogVerification
from securexchange.home import Home
from securexchange.keystore import PINNED_AGENCY_CARD

# A municipal home keeps the agency's root card it pinned; that key never signs the
# municipality's own log, so it must not vouch for a checkpoint there.
_NOT_A_SIGNER_OF_THIS_LOG = frozenset({PINNED_AGENCY_CARD})


def home_signing_keys(home: Home) -> dict[str, bytes]:
    """Fingerprint display -> Ed25519 public key, for every card in the home."""
    keys: dict[str, bytes] = {}
    for path in sorted(home.paths.keys.glob("*.card.json")):
        if path.name in _NOT_A_SIGNER_OF_THIS_LOG:
            continue
        try:
            card = read_card(path.read_bytes())
        except (SxError, OSError):
            continue
        keys[card.fingerprint.display] = card.identity.signing_key
    return keys


def checkpoint_verifier(keys: dict[str, bytes]) -> CheckpointVerifier:
    def verify(actor: str, message: bytes, signature: str) -> bool | None:
        public_key = keys.get(actor)
        if public_key is None:
            return None
        try:
            sshsig.verify(signature, message, sshsig.NAMESPACE_LOG, public_key)
        except SxError:
            return False
        return True

    return verify


def verify_home_log(home: Home) -> LogVerification:
    """The whole log of ``home``, checkpoints verified against the home's own keys."""
    return home.log.verify(checkpoint_verifier(home_signing_keys(home)))
