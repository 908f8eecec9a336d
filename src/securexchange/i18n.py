"""The language of every message a person reads: Dutch (nl-BE) or English, via gettext.

Library code marks a message with :func:`_` (or :func:`ngettext` for counts) at the
moment it is made, with named ``{placeholders}`` filled in after translation::

    raise Stale(_("the package's import deadline {deadline} has passed").format(...))

and a text defined before any language is chosen (a table of command descriptions) with
:func:`N_`, translated with :func:`_` where it is shown. The English text is the message
id; the Dutch catalog (``locale/nl/LC_MESSAGES/securexchange.po``, compiled to ``.mo``)
holds the translations. Until :func:`activate` is given a catalog every message is
English, so the library does no I/O here: the command line chooses the language
(:func:`choose_language`) and loads the catalog once, only when it is Dutch.

``SX-`` error names, exit codes and every ``--json`` document are the same in every
language: only text meant for people is translated.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from datetime import date

LANGUAGES = ("nl", "en")
DOMAIN = "securexchange"
LANGUAGE_ENV = "SECUREXCHANGE_LANG"


class _Active:
    """The run's language and its catalog (one per process: the CLI sets it once)."""

    translations: gettext.NullTranslations = gettext.NullTranslations()
    language = "en"


def activate(language: str, translations: gettext.NullTranslations | None = None) -> None:
    """Make ``language`` the language of every message from now on (``None``: English)."""
    if language not in LANGUAGES:
        raise ValueError("unknown language")
    _Active.translations = translations if translations is not None else gettext.NullTranslations()
    _Active.language = language


def language() -> str:
    """The active language: "nl" or "en"."""
    return _Active.language


def _(message: str) -> str:
    """``message`` in the active language."""
    return _Active.translations.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of a counted message for ``count``, in the active language."""
    return _Active.translations.ngettext(singular, plural, count)


def N_(message: str) -> str:  # noqa: N802 - gettext's own name, known to extractors
    """Mark ``message`` for the catalog without translating it yet (see the docstring)."""
    return message


def _from_locale_name(name: str | None) -> str | None:
    """ "nl" for a Dutch locale name (``nl_BE.UTF-8``, ``nl-BE``, Windows' ``Dutch_Belgium``),
    "en" for any other named locale, None for none (C, POSIX or empty)."""
    if not name:
        return None
    base = name.split(".")[0].split("@")[0]
    if base in {"C", "POSIX"}:
        return None
    lowered = base.lower()
    if lowered == "nl" or lowered.startswith(("nl_", "nl-", "dutch")):
        return "nl"
    return "en"


def choose_language(option: str | None, env: Mapping[str, str], system_locale: str | None) -> str:
    """The language of a run: ``--lang``, else ``SECUREXCHANGE_LANG``, else the user's
    locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG`` on POSIX; ``system_locale`` as the
    operating system reports it, on Windows too), else English."""
    return asked_language(option, env) or _from_locale_name(system_locale) or "en"


def asked_language(option: str | None, env: Mapping[str, str]) -> str | None:
    """The language ``--lang`` or the environment asks for (the first three steps of
    :func:`choose_language`), or None when the system's locale is to decide."""
    for chosen in (option, env.get(LANGUAGE_ENV)):
        if chosen:
            lowered = chosen.strip().lower()
            for language in LANGUAGES:
                if lowered == language or lowered.startswith((language + "_", language + "-")):
                    return language
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        found = _from_locale_name(env.get(variable))
        if found is not None:
            return found
    return None


_DUTCH_MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
_ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def dutch_date(day: date) -> str:
    """A date as Flemish staff read it: "1 maart 2027" (the workbook is always Dutch)."""
    return f"{day.day} {_DUTCH_MONTHS[day.month - 1]} {day.year}"


def long_date(day: date) -> str:
    """A date in the active language: "1 maart 2027", or "1 March 2027"."""
    if _Active.language == "nl":
        return dutch_date(day)
    return f"{day.day} {_ENGLISH_MONTHS[day.month - 1]} {day.year}"
