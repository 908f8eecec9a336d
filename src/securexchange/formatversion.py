"""Formats newer than this client reads: refused as "update securexchange", never as
a malformed file.

Forty-odd municipal installations upgrade on their own schedule, so a package, keyring
or notice may arrive in a format this version does not know yet. Every document states
its format as ``NAME/N`` in its top-level ``format`` field (docs/formats.md, "Format
versions"); a writer of a newer format may add a top-level ``requires`` field naming
the lowest securexchange version that reads it. :func:`refuse_newer` looks at those two
fields *before* the strict parse (a newer format may well break format 1's rules, and
must not be reported as damage), and raises :class:`UpdateNeeded` when ``N`` is above
what this version reads. It never accepts anything: a document it lets through still
goes through the full strict parse and every signature check. What it reads is not yet
verified, so the message shows only digits from it.

Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any

from securexchange import __version__
from securexchange.errors import UpdateNeeded
from securexchange.i18n import N_, _, language

# A release number a newer writer asks for: digits and dots only (it is shown to the user).
_REQUIRES_RE = re.compile(r"^[0-9]{1,4}(\.[0-9]{1,4}){1,3}$")


def format_number(text: str, family: str) -> int | None:
    """``N`` of ``family/N`` (a positive number, no leading zero); None otherwise."""
    match = re.fullmatch(re.escape(family) + r"/([1-9][0-9]{0,5})", text)
    return None if match is None else int(match.group(1))


def newer_format_error(
    *, what: str, family: str, number: int, known: int, requires: str | None = None
) -> UpdateNeeded:
    """The refusal for ``what`` (e.g. "the package", marked with ``_`` or ``N_``) in
    ``family/number``.

    In the active language; when that is English the fixed Dutch text comes first, as it
    always did, so that staff reading a scheduled task's English output can still read it.
    """
    if requires:
        # TRANSLATORS: {version} is a release number such as 0.7.0.
        needs = _("securexchange {version} or later").format(version=requires)
    else:
        needs = _("a newer securexchange")
    # TRANSLATORS: {what} names a document ("the package"), {version} is this program's
    # version and {needs} "securexchange 0.7.0 or later" or "a newer securexchange".
    refusal = N_(
        "update securexchange: {what} is in format {number}; this version ({version}) reads "
        "up to format {known}; it needs {needs}"
    )
    message = _(refusal).format(
        what=_(what), number=number, version=__version__, known=known, needs=needs
    )
    if language() == "en":
        dutch_needs = (
            f"securexchange {requires} of nieuwer" if requires else "een nieuwere securexchange"
        )
        message = (
            f"Werk securexchange bij: {what} is in format {family}/{number}; deze versie "
            f"({__version__}) leest tot format {known}, nodig is {dutch_needs} / {message}"
        )
    return UpdateNeeded(
        message,
        hint=_(
            "install the version the agency names (from the agency's usual channel), then "
            "run the same command again; nothing was changed"
        ),
    )


def refuse_newer(data: bytes, *, family: str, known: int, what: str, max_bytes: int) -> None:
    """Raise UpdateNeeded when ``data`` is a JSON object whose ``format`` is
    ``family/N`` with ``N > known``; return quietly for anything else (the strict parse
    that follows reports it)."""
    value = _peek(data, max_bytes)
    if value is None:
        return
    fmt = value.get("format")
    if not isinstance(fmt, str):
        return
    number = format_number(fmt, family)
    if number is None or number <= known:
        return
    requires = value.get("requires")
    shown = requires if isinstance(requires, str) and _REQUIRES_RE.fullmatch(requires) else None
    raise newer_format_error(what=what, family=family, number=number, known=known, requires=shown)


def _peek(data: bytes, max_bytes: int) -> dict[str, Any] | None:
    if len(data) > max_bytes:
        return None
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None
