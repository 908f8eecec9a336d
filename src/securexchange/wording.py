"""Counts in messages: "1 record", "2 records", never "1 records"."""

from __future__ import annotations


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` and the noun in the form that goes with it (English messages).

    ``plural`` defaults to ``singular`` + "s"; pass it for the irregular ones
    ("status", "statuses"; "entry", "entries").
    """
    noun = singular if count == 1 else (plural if plural is not None else singular + "s")
    return f"{count} {noun}"
