"""What an export was asked and what it did: options, each package issued, each
municipality skipped and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from securexchange.intake.master import Problem
from securexchange.reminders import Event

PACKAGE_SUFFIX = ".sxpkg"


# Below this many records a worker pool costs more than it saves.
MIN_RECORDS_FOR_WORKERS = 5000


class SkipReason(StrEnum):
    NOT_REGISTERED = "not registered"
    NO_PROTOCOL = "no active protocol"
    NO_RECIPIENT = "no recipient"
    NO_CURRENT_SUBKEY = "no recipient with a current subkey"
    # More authorised recipients than one age file holds (age.MAX_RECIPIENTS): only
    # possible for a list made before 'agency recipient add' capped it.
    TOO_MANY_RECIPIENTS = "too many recipients"
    # A subkey kept for someone there that they did not certify, or a second key for one
    # period (agency/vouched.py): the agency's state was edited (issue 19).
    UNVOUCHED_SUBKEY = "a key for packages not vouched for by its holder"

    @property
    def missing(self) -> bool:
        """A municipality with an active protocol that nobody there can receive: the
        data flow has stopped, which an export must not pass over in silence."""
        return self in (
            SkipReason.NO_RECIPIENT,
            SkipReason.NO_CURRENT_SUBKEY,
            SkipReason.TOO_MANY_RECIPIENTS,
            SkipReason.UNVOUCHED_SUBKEY,
        )


@dataclass(frozen=True)
class ExportOptions:
    nis: tuple[str, ...] = ()  # only these municipalities (default: every registered one)
    dry_run: bool = False
    skip_invalid: bool = False
    drop_columns: tuple[str, ...] = ()
    mapping: Mapping[str, str] | None = None
    workers: int | None = None  # None: as many as CPUs for large exports, else 1


@dataclass(frozen=True)
class HeldBack:
    """A recipient without a hybrid post-quantum subkey valid now: while a municipality
    has one, its packages are classic only (age never mixes the two kinds)."""

    name: str
    fingerprint: str


@dataclass(frozen=True)
class PackageSummary:
    nis: str
    name: str
    records: int
    expired: int  # rows left out because their retention deadline has passed
    recipients: int
    sequence: int
    package_id: str | None  # None in a dry run
    file: Path | None  # None in a dry run
    without_subkey: int = 0  # recipients left out: no subkey valid now (ask them to rotate)
    # Who kept this package classic (no hybrid post-quantum subkey); empty: hybrid only.
    held_back: tuple[HeldBack, ...] = ()
    erasures: int = 0  # erasure instructions carried (agency erase)
    erased_rows: int = 0  # master rows left out: their client was erased

    @property
    def post_quantum(self) -> bool:
        return not self.held_back


@dataclass(frozen=True)
class SkippedMunicipality:
    nis: str
    name: str
    reason: SkipReason
    rows: int  # master rows for it that were not exported


@dataclass(frozen=True)
class ExportResult:
    packages: tuple[PackageSummary, ...]
    skipped: tuple[SkippedMunicipality, ...]
    rows_read: int
    rows_outside_selection: int  # rows for municipalities not named with --nis
    problems: tuple[Problem, ...]  # with skip_invalid: the rows left out
    problems_omitted: int
    dry_run: bool
    pseudonym_key: Path
    pseudonym_key_created: bool
    rolled_forward: tuple[Path, ...]  # packages of an interrupted export, published now
    out_dir: Path
    # The reminders of securexchange.reminders for the agency and every municipality.
    coming: tuple[Event, ...] = ()

    @property
    def missing(self) -> tuple[SkippedMunicipality, ...]:
        """Municipalities with an active protocol that got no package (see SkipReason)."""
        return tuple(s for s in self.skipped if s.reason.missing)

    @property
    def records(self) -> int:
        return sum(p.records for p in self.packages)
