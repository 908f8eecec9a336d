"""The language of this run, chosen once before any command module is imported.

``--lang nl|en`` (anywhere before ``--``), else ``SECUREXCHANGE_LANG``, else the user's
locale, else English (:func:`securexchange.i18n.choose_language`). The Dutch catalog is
read only when Dutch is chosen, so an English ``--help`` reads no catalog at all; only
then are click's own messages routed through it (``cli/click_messages.py``).
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping, Sequence

from securexchange import i18n

# os.path, not pathlib: an English ``--help`` imports neither pathlib nor locale.
LOCALE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "locale")


def lang_argument(argv: Sequence[str]) -> str | None:
    """The language ``argv`` asks for with ``--lang nl|en`` or ``--lang=nl|en``, or None.

    Read before click parses anything (the command modules translate their help when
    they are imported), so without knowing which options take a value: every command
    accepts ``--lang`` (``cli/main.py``), anywhere before a ``--``, the last one counting.
    A ``--lang`` followed by anything but a language is passed over: it may be the value
    of another option (a file named ``--lang``), which click will see; a real ``--lang``
    with a wrong value is refused by click as a usage error.
    """
    found = None
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg.startswith("--lang="):
            value: str | None = arg.partition("=")[2]
        elif arg == "--lang" and index + 1 < len(argv):
            value = argv[index + 1]
        else:
            continue
        if value in i18n.LANGUAGES:
            found = value
    return found


def _system_locale() -> str | None:
    import locale

    try:
        return locale.getlocale()[0]
    except ValueError:  # a locale name Python cannot parse: no preference
        return None


def activate_for(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """Choose the language of this run and make it active; returns it."""
    language = i18n.asked_language(lang_argument(argv), env)
    if language is None:  # only now is the system asked (``locale`` is an import)
        language = i18n.choose_language(None, env, _system_locale())
    translations = None
    if language != "en":
        translations = gettext.translation(
            i18n.DOMAIN, LOCALE_DIR, languages=[language], fallback=True
        )
    i18n.activate(language, translations)
    if language != "en":
        from securexchange.cli.click_messages import route_click_messages

        route_click_messages()
    return language
