"""Returns that wait for their predecessor (``agency returns waiting``), and the
``--skip-gap SENDER:SEQ`` option that releases a lost one."""

from __future__ import annotations

from dataclasses import dataclass

from securexchange.agency import waiting
from securexchange.agency.returns import done_sequences
from securexchange.errors import (
    UsageError,
)
from securexchange.fingerprint import parse_display
from securexchange.home.home import Home


@dataclass(frozen=True)
class WaitingReturn:
    """A stored return and what it waits for (``agency returns waiting``)."""

    delta_id: str
    nis: str
    signer: str
    sequence: int
    created_at: str
    received_at: str
    needs: int  # the signer's next sequence number to apply
    missing: int  # how many numbers before it have not arrived


def waiting_returns(home: Home) -> list[WaitingReturn]:
    """Every waiting return, by signer and sequence, with the number it waits for."""
    rows = waiting.waiting(home)
    found: list[WaitingReturn] = []
    for signer in sorted({r.signer for r in rows}):
        done = done_sequences(home, signer)
        mine = [r for r in rows if r.signer == signer]
        held = frozenset(r.sequence for r in mine)
        found += [
            WaitingReturn(
                delta_id=r.delta_id,
                nis=r.nis,
                signer=signer,
                sequence=r.sequence,
                created_at=r.created_at,
                received_at=r.received_at,
                needs=waiting.next_needed(done),
                missing=waiting.missing_count(done, held, r.sequence),
            )
            for r in mine
        ]
    return found


def parse_skip(text: str) -> tuple[str, int]:
    """``SENDER:SEQ`` (a fingerprint in any grouping, a positive number) as a pair."""
    signer, colon, number = text.rpartition(":")
    if not colon or not number.isascii() or not number.isdigit() or len(number) > 15:
        raise UsageError(
            "--skip-gap takes SENDER:SEQ: a signer's fingerprint, a colon and a number",
            hint="see 'agency returns waiting' for what waits for what",
        )
    sequence = int(number)
    if sequence < 1:
        raise UsageError("--skip-gap takes a sequence number from 1")
    return parse_display(signer), sequence
