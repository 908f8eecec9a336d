"""What a new key passphrase must be (NIST SP 800-63B, a memorised secret that is the
only factor): at least 15 characters, and not easy to guess.

"Easy to guess" is decided by zxcvbn (Dropbox's estimator): its lists of common
passwords, names and words, and its patterns (repeats, sequences, keyboard walks, dates,
l33t), with the project's and the home's own words as context. A passphrase must need at
least 10^10 guesses by its estimate (zxcvbn's top score, 4): the key file can be attacked
offline, slowed only by scrypt. No composition rules (NIST advises against them): four or
five unrelated words pass.

Only new passphrases are held to this; an existing key with a weak one still opens (the
CLI warns). Nothing here prints, logs or raises the passphrase itself.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from securexchange.errors import WeakPassphrase
from securexchange.i18n import N_, _, ngettext

MIN_LENGTH = 15
MIN_GUESSES_LOG10 = 10.0
# zxcvbn's cost grows with the length; its authors truncate at 100 characters.
_ESTIMATE_PREFIX = 100
# Words an attacker tries first against this tool's keys.
CONTEXT_WORDS: tuple[str, ...] = (
    "securexchange",
    "agii",
    "agentschap",
    "integratie",
    "inburgering",
    "gemeente",
    "passphrase",
    "wachtwoord",
)

HINT = N_(
    "choose at least 15 characters that are hard to guess, for example four or five "
    "unrelated words; a password manager can make one"
)


@dataclass(frozen=True)
class Weakness:
    """Why a passphrase is weak, in words that never quote it."""

    reason: str


def weakness(passphrase: bytes, context: Sequence[str] = ()) -> Weakness | None:
    """Why ``passphrase`` is too weak for a new key, or None when it is strong enough.

    ``context`` holds words of this home (a name, a NIS code, a role) that make a
    passphrase easier to guess when it is built from them.
    """
    try:
        text = unicodedata.normalize("NFC", passphrase.decode("utf-8"))
    except UnicodeDecodeError:
        # Not text: judged by its length in bytes only; it cannot be a dictionary word.
        if len(passphrase) < MIN_LENGTH:
            return Weakness(
                ngettext(
                    "it has {count} byte; at least {minimum} are needed",
                    "it has {count} bytes; at least {minimum} are needed",
                    len(passphrase),
                ).format(count=len(passphrase), minimum=MIN_LENGTH)
            )
        return None
    if len(text) < MIN_LENGTH:
        return Weakness(
            ngettext(
                "it has {count} character; at least {minimum} are needed",
                "it has {count} characters; at least {minimum} are needed",
                len(text),
            ).format(count=len(text), minimum=MIN_LENGTH)
        )
    from zxcvbn import zxcvbn

    # zxcvbn matches user inputs as single lower-case words.
    words = [w for phrase in (*CONTEXT_WORDS, *context) for w in phrase.lower().split() if w]
    estimate = zxcvbn(text[:_ESTIMATE_PREFIX], user_inputs=words)
    if float(estimate["guesses_log10"]) < MIN_GUESSES_LOG10:
        return Weakness(
            _(
                "it is too easy to guess (a common password, a name, a repeat, a sequence "
                "or a keyboard pattern, or words of this home)"
            )
        )
    return None


def check_new_passphrase(passphrase: bytes, context: Sequence[str] = ()) -> None:
    """Refuse a weak passphrase for a new key or a changed one (SX-WEAK-PASSPHRASE)."""
    found = weakness(passphrase, context)
    if found is not None:
        raise WeakPassphrase(
            # TRANSLATORS: {reason} says why ("it has 9 characters; at least 15 are needed").
            _("the new passphrase is too weak: {reason}").format(reason=found.reason),
            hint=_(HINT),
        )
