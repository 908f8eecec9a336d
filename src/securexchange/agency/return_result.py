"""What the agency's return import did: each return applied, kept waiting or a no-op,
and the numbers released as lost."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReturnResult:
    """What happened to one file (or to a return released from the waiting queue:
    ``file`` is empty then)."""

    file: str
    delta_id: str
    nis: str
    signer: str
    sequence: int
    applied: bool  # False: imported before (a no-op), or waiting
    statuses: int = 0
    quality_reports: int = 0
    conflicts: int = 0
    report_ids: tuple[str, ...] = ()
    waits_for: int | None = None  # stored, waiting for this sequence number first
    missing: int = 0  # how many numbers before it have not arrived (waiting only)
    erased: int = 0  # entries about erased people, dropped (agency erase)


@dataclass(frozen=True)
class ImportReturns:
    results: tuple[ReturnResult, ...]
    skipped: tuple[tuple[str, int], ...] = ()  # (signer, sequence) released as lost

    @property
    def waiting(self) -> tuple[ReturnResult, ...]:
        return tuple(r for r in self.results if r.waits_for is not None)
