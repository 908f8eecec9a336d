"""The one error tree.

Every failure the user can meet is a subclass of :class:`SxError` with a stable error
name (``SX-...``), an exit category and a one-line message that names files, sheets,
rows and columns but never echoes an input value or a key. The CLI renders them in one
place (``cli.main``); library code only raises.

Exit categories (brief §4):
  0 ok;
  1 an artifact (package, return, keyring, notice, card, log) failed a check, or a wrong
    passphrase / key permissions;
  2 usage, an invalid master spreadsheet or workbook, a refused clock override;
  3 an internal error.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

from securexchange.i18n import N_, _


class ExitCode(IntEnum):
    OK = 0
    ARTIFACT = 1
    USAGE = 2
    INTERNAL = 3


def _hint(text: str | None) -> str | None:
    return None if text is None else _(text)


class SxError(Exception):
    """Base of every error the tool reports to its user."""

    name: ClassVar[str] = "SX-INTERNAL"
    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL
    default_hint: ClassVar[str | None] = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # A default hint is marked for the catalog and translated when it is raised.
        self.hint = hint if hint is not None else _hint(self.default_hint)

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


# --- exit 1: an artifact failed a check -------------------------------------------------


class ArtifactError(SxError):
    """An artifact failed a check."""

    exit_code = ExitCode.ARTIFACT


class Malformed(ArtifactError):
    """The file is not a well-formed artifact of the expected kind."""

    name = "SX-MALFORMED"


class WrongKind(Malformed):
    """The file is a well-formed artifact, but not of a kind this command takes."""

    name = "SX-WRONG-KIND"


class Tampered(ArtifactError):
    """A hash, MAC or authentication tag does not match: the bytes were changed."""

    name = "SX-TAMPERED"


class BadSignature(ArtifactError):
    """A signature does not verify, or was made for another namespace or by another key."""

    name = "SX-BAD-SIGNATURE"


class Rollback(ArtifactError):
    """An artifact older than one already accepted (sequence number or keyring version)."""

    name = "SX-ROLLBACK"


class Equivocation(ArtifactError):
    """One sequence number with different content, or two keys for one person and period."""

    name = "SX-EQUIVOCATION"


class Stale(ArtifactError):
    """An import deadline or validity period has passed."""

    name = "SX-STALE"


class Future(ArtifactError):
    """An artifact is dated more than a day after the home's clock."""

    name = "SX-FUTURE"


class NotRecipient(ArtifactError):
    """None of this home's keys can open the file."""

    name = "SX-NOT-RECIPIENT"


class WrongMunicipality(ArtifactError):
    """The artifact is addressed to another municipality."""

    name = "SX-WRONG-MUNICIPALITY"


class NotAuthorised(ArtifactError):
    """The signer or a recipient is not authorised by the keyring."""

    name = "SX-NOT-AUTHORISED"


class FingerprintMismatch(ArtifactError):
    """A key card does not have the fingerprint that was read out of band."""

    name = "SX-FINGERPRINT-MISMATCH"


class BadPassphrase(ArtifactError):
    """The passphrase does not open the private key file."""

    name = "SX-BAD-PASSPHRASE"


class KeyPermissions(ArtifactError):
    """A private key file or a passphrase file is readable by others than its owner."""

    name = "SX-KEY-PERMISSIONS"


class NoRecipient(SxError):
    """An export left a municipality with an active protocol without a package: none of
    its recipients holds a key valid now."""

    name = "SX-NO-RECIPIENT"
    exit_code = ExitCode.ARTIFACT


class UnsafeHome(ArtifactError):
    """The home or one of its directories or files is unsafe to use.

    Others may write to it, another user owns it, or a symbolic link or special file
    stands where the tool writes (checked as OpenSSH checks its own files; the mode and
    owner checks are POSIX only).
    """

    name = "SX-UNSAFE-HOME"


class StateMissing(UnsafeHome):
    """The home's state database is gone: every command refuses; the scheduled shred
    destroys the keys it can find without it (``municipality/damaged.py``)."""


class ProtocolInactive(ArtifactError):
    """The data-sharing protocol is not active (not started, ended or terminated)."""

    name = "SX-PROTOCOL-INACTIVE"


class ClockBehind(ArtifactError):
    """The system clock is more than 24 hours behind the highest time this home has seen."""

    name = "SX-CLOCK-BEHIND"


class UpdateNeeded(ArtifactError):
    """The artifact is in a format newer than this version of securexchange reads."""

    name = "SX-UPDATE-NEEDED"


class NotPostQuantum(ArtifactError):
    """An artifact is not encrypted to hybrid post-quantum recipients only (``audit verify
    --require-pq``)."""

    name = "SX-NOT-POST-QUANTUM"


class UnknownRecord(ArtifactError):
    """A return names a record that was not sent to that municipality."""

    name = "SX-UNKNOWN-RECORD"


class LogBroken(ArtifactError):
    """A log's hash chain, head or checkpoint does not verify."""

    name = "SX-LOG-BROKEN"


# --- exit 2: usage, invalid spreadsheets, refused clock override ------------------------


class UsageError(SxError):
    """The command cannot run as asked."""

    name = "SX-USAGE"
    exit_code = ExitCode.USAGE


class ClockOverride(UsageError):
    """SECUREXCHANGE_NOW is set in a home that was not created with --demo."""

    name = "SX-CLOCK-OVERRIDE"
    default_hint = N_("unset SECUREXCHANGE_NOW; only homes created with --demo honour it")


class InvalidMaster(UsageError):
    """The agency's master spreadsheet does not pass validation."""

    name = "SX-INVALID-MASTER"


class InvalidWorkbook(UsageError):
    """A returned municipal workbook does not pass validation."""

    name = "SX-INVALID-WORKBOOK"


class HostileFile(UsageError):
    """A spreadsheet exceeds a size cap or contains constructs we never accept."""

    name = "SX-HOSTILE-FILE"


class WeakPassphrase(UsageError):
    """A new key passphrase is too short or too easy to guess (NIST SP 800-63B)."""

    name = "SX-WEAK-PASSPHRASE"


class Locked(UsageError):
    """Another securexchange command holds this home's lock."""

    name = "SX-LOCKED"
    default_hint = N_("wait for the other command to finish, then try again")


class NotFound(UsageError):
    """A file, home, record or entry named on the command line does not exist."""

    name = "SX-NOT-FOUND"


class AmbiguousName(UsageError):
    """A name given to find one record matches several records."""

    name = "SX-AMBIGUOUS"


class AlreadyExists(UsageError):
    """The home, key or entry to be created exists already."""

    name = "SX-EXISTS"


class WrongHome(UsageError):
    """The command needs another kind of home (agency or municipality)."""

    name = "SX-WRONG-HOME"


# --- exit 3: internal -------------------------------------------------------------------


class InternalError(SxError):
    """A bug: something that should never happen did."""

    name = "SX-INTERNAL"
    exit_code = ExitCode.INTERNAL
    default_hint = N_("rerun with --debug and report the output (it holds no personal data)")


def all_error_classes() -> list[type[SxError]]:
    """Every concrete error class (one that names itself), one per error name."""
    found: list[type[SxError]] = []
    stack: list[type[SxError]] = list(SxError.__subclasses__())
    while stack:
        cls = stack.pop(0)
        if "name" in cls.__dict__:
            found.append(cls)
        stack.extend(cls.__subclasses__())
    return found
