"""Click's own words (usage errors, prompts, type names) in the language of the run.

Click writes its messages through ``gettext.gettext``, bound as ``_`` (and
``gettext.ngettext``) in each of its modules when click is imported: they follow the
process locale and click's own (absent) catalog, never ``--lang``. This module lists the
messages of click that a run of securexchange can show, marked with ``N_()`` and
:func:`ngettext` so that scripts/catalogs.py puts them in our catalog, with click's exact
English as the id (tests/test_language.py fails when the installed click no longer has
one). :func:`route_click_messages` then makes click look them up in our catalog.

Click names its parameter types ("text", "integer") and its usage line ("[OPTIONS]",
"COMMAND [ARGS]...") without gettext: :func:`translate_type` and :func:`usage_word`
translate those where our commands show them (``cli/translated.py``).

Explicit metavars (``FILE``, ``DIR``, ``CODE``) and argument names (``FILES``, ``NAME``)
are the commands' own words, cited by name in their help texts: they stay as written.
"""

from __future__ import annotations

import gettext
import sys
from typing import Any

import click

from securexchange import i18n
from securexchange.i18n import N_, _


def _mark_pair(singular: str, plural: str) -> tuple[str, str]:
    return singular, plural


# The extractor (scripts/catalogs.py) knows a counted message by the name ``ngettext``;
# here it only marks a pair: click itself picks the form for its count.
ngettext = _mark_pair

# Click's gettext ids, as in its source (click 8.5.1), that a run can show.
MESSAGES: tuple[str, ...] = (
    # Usage errors (click.exceptions, click.core, click.parser).
    N_("Invalid value: {message}"),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("No such option {name!r}."),
    N_("No such command {name!r}."),
    N_("Missing command."),
    N_("Option {name!r} does not take a value."),
    # Values (click.types).
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a file."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."),
    N_("{name} {filename!r} is not executable."),
    # The names of click.Path, in the messages above and as its metavar (BESTAND, MAP).
    N_("file"),
    N_("directory"),
    N_("path"),
    # Prompts (click.termui).
    N_("Repeat for confirmation"),
    N_("Error: {message}"),
    N_("Error: The two entered values do not match."),
    # Help pages of commands not made with cli/translated.py (the agency's), and a
    # documented argument's section.
    N_("Usage:"),
    N_("Positional arguments"),
)

PLURALS: tuple[tuple[str, str], ...] = (
    ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"),
    ngettext(
        "Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."
    ),
    ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"),
    ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}."),
)

# Looked up by click with ``_(extra["required"])``: not in its source as a gettext id.
LOOKED_UP: tuple[str, ...] = (N_("required"),)

# Click's names of its own parameter types (class attributes, not gettext): a metavar
# (``--role TEXT``) and the {number_type} above.
TYPE_NAMES: tuple[str, ...] = (
    N_("text"),
    N_("integer"),
    N_("integer range"),
    N_("float"),
    N_("float range"),
)

# Click's usage-line words (literals, not gettext): ``[OPTIONS] COMMAND [ARGS]...``.
USAGE_WORDS: tuple[str, ...] = (N_("[OPTIONS]"), N_("COMMAND [ARGS]..."))


def route_click_messages() -> None:
    """From now on click looks its messages up through :func:`securexchange.i18n._`.

    Called by the command line for a Dutch run only, once the catalog is active: an
    English run keeps click exactly as installed. It rebinds the ``_`` and ``ngettext``
    that click's modules took from :mod:`gettext` at import (there is no other hook: the
    global gettext domain would follow the locale, not ``--lang``), and nothing else; the
    library never does this, only the CLI, which owns the process and its one language.
    The lookups follow the active language, so a later ``i18n.activate("en")`` in the same
    process (a test) makes click English again. A click module imported after this
    (the pager, the editor, shell completion) keeps click's English: no command of ours
    shows their messages. Calling it again does nothing more.
    """
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "click" or name.startswith("click.")):
            continue
        names = vars(module)
        if names.get("_") is gettext.gettext:
            names["_"] = i18n._
        if names.get("ngettext") is gettext.ngettext:
            names["ngettext"] = i18n.ngettext


def english_type_name(param_type: click.ParamType[Any]) -> str | None:
    """The English name click gives ``param_type``, when it is one translated here."""
    if isinstance(param_type, click.Path):
        # As click.Path.__init__ names itself (checked by tests/test_language.py).
        if param_type.file_okay and not param_type.dir_okay:
            return "file"
        if param_type.dir_okay and not param_type.file_okay:
            return "directory"
        return "path"
    name = getattr(type(param_type), "name", None)
    return name if name in TYPE_NAMES else None


def translate_type(param: click.Parameter) -> None:
    """Give ``param`` a copy of its type named in the active language (unchanged in
    English): its metavar (``--home MAP``) and the messages about its values follow.

    A copy, because click shares one instance of a type (``click.STRING``) among all
    parameters; a type made in one language is renamed when the language is another.
    """
    english = english_type_name(param.type)
    if english is None:
        return
    wanted = _(english)
    if param.type.name != wanted:
        import copy  # only when a name changes: never in an English run

        param.type = copy.copy(param.type)
        param.type.name = wanted


def usage_word(piece: str) -> str:
    """A piece of a usage line, click's own words translated."""
    return _(piece) if piece in USAGE_WORDS else piece
