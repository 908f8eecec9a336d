"""The age errors, each a subclass of one of the tool's error categories.

None of them defines ``name``: they keep their parent's stable error name
(``SX-MALFORMED``, ``SX-TAMPERED``, ``SX-NOT-RECIPIENT``, ``SX-USAGE``), so the CLI's
table of names does not grow with every way an age file can be wrong. Messages describe
what failed, never the bytes that failed: a header line can carry attacker-chosen text,
and a key or plaintext must never reach a terminal or a log.
"""

from __future__ import annotations

from securexchange.errors import Malformed, NotRecipient, Tampered, UsageError


class AgeHeaderError(Malformed):
    """The age header (or the payload nonce after it) is not well formed."""


class AgeArmorError(Malformed):
    """The ASCII armor around an age file is not strict PEM."""


class AgeKeyError(Malformed):
    """An age recipient or identity string (or raw key) is not valid."""


class AgeSizeError(Malformed):
    """The payload is larger than the caller's all-or-nothing cap."""


class AgeHmacError(Tampered):
    """The header MAC does not verify: the header was changed."""


class AgePayloadError(Tampered):
    """A payload chunk does not authenticate, or the payload is truncated or extended."""


class AgeNoMatchError(NotRecipient):
    """None of the given identities opens any recipient stanza."""


class AgeMixedRecipientsError(UsageError):
    """Post-quantum and classic recipients were given for one file: we refuse to write
    it, since the classic ones would leave it open to a future quantum computer."""
