"""A message shown once, on the next page after a POST (the pages redirect, 303)."""

from __future__ import annotations

from dataclasses import dataclass

from securexchange.errors import SxError


@dataclass(frozen=True)
class Flash:
    """A message shown once, on the next page: ``kind`` is ok, info or error."""

    kind: str
    text: str
    hint: str = ""  # what to do, for a refusal
    code: str = ""  # the SX- name, the same in every language (for the helpdesk)


def refused(exc: SxError) -> Flash:
    """The flash of a refusal: its message and what to do, in the user's language."""
    return Flash("error", exc.message, exc.hint or "", exc.name)
