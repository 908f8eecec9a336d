"""What a refused file means for the employee who tried to import it, and what to do.

A changed or unsigned file may be a data breach, to be reported within 48 hours
(protocol art. 6); a late one is not. The check that refuses knows the technical reason;
this table adds the consequence when that check did not give a hint of its own.
"""

from __future__ import annotations

from securexchange.errors import BadSignature, Malformed, Stale, SxError, Tampered, WrongKind
from securexchange.i18n import N_, _

CHANGED = N_(
    "the file was changed after the agency signed it: do not use it; report it to "
    "the agency and your data protection officer within 48 hours (protocol art. 6) "
    "with 'municipality incident open'"
)
_UNSIGNED = N_(
    "the file is not signed by the agency: do not use it; report it to the agency "
    "and your data protection officer within 48 hours (protocol art. 6) with "
    "'municipality incident open'"
)
_LATE = N_("a late file is not a data breach: ask the agency to send a new one")
_WRONG_FILE = N_("nothing was imported; check that you chose the file the agency sent")
_DAMAGED = N_(
    "nothing was imported; the file is damaged or was not made by this program: "
    "ask the agency to send it again"
)
_STAFF_MEANING: tuple[tuple[type[SxError], str], ...] = (
    (Tampered, CHANGED),
    (BadSignature, _UNSIGNED),
    (Stale, _LATE),
    (WrongKind, _WRONG_FILE),  # before Malformed, its parent
    (Malformed, _DAMAGED),
)


def with_staff_meaning(exc: SxError) -> SxError:
    """``exc`` with the hint its kind means for staff, unless the check gave one."""
    if exc.hint is None:
        for kind, hint in _STAFF_MEANING:
            if isinstance(exc, kind):
                exc.hint = _(hint)
                break
    return exc
