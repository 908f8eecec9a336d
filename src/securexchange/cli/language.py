"""The language of this run, chosen once before any command module is imported.

``--lang nl|en``, else ``SECUREXCHANGE_LANG``, else the user's locale, else English
(:func:`securexchange.i18n.choose_language`). The Dutch catalog is read only when Dutch
is chosen, so an English ``--help`` reads no catalog at all.
"""

from __future__ import annotations

import gettext
import locale
from collections.abc import Mapping, Sequence
from pathlib import Path

from securexchange import i18n

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


def lang_argument(argv: Sequence[str]) -> str | None:
    """The value of ``--lang`` in ``argv`` (before a ``--``), or None."""
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
        if arg == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
    return None


def _system_locale() -> str | None:
    try:
        return locale.getlocale()[0]
    except ValueError:  # a locale name Python cannot parse: no preference
        return None


def activate_for(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """Choose the language of this run and make it active; returns it."""
    language = i18n.choose_language(lang_argument(argv), env, _system_locale())
    translations = None
    if language != "en":
        translations = gettext.translation(
            i18n.DOMAIN, LOCALE_DIR, languages=[language], fallback=True
        )
    i18n.activate(language, translations)
    return language
