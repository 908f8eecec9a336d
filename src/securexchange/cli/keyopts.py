"""Passphrase and key-file options shared by the commands that open private keys.

Where a passphrase comes from, in this order:

1. a demo home: the fixed, public demo passphrase (demo keys protect nothing);
2. ``--passphrase-file FILE`` (for the root key: ``--root-passphrase-file FILE`` first);
3. ``SECUREXCHANGE_PASSPHRASE_FILE`` (for the root key:
   ``SECUREXCHANGE_ROOT_PASSPHRASE_FILE`` first);
4. a hidden prompt on the terminal (stderr), with confirmation for a new passphrase;
5. otherwise (no terminal): refused, with a hint.

A passphrase file's first line is the passphrase (a final ``\\r\\n`` or ``\\n`` is not
part of it). Passphrases are never taken from argv, never echoed, never logged. They
are asked lazily: a command that is refused before it needs a key never asks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from securexchange.errors import UsageError
from securexchange.i18n import _

if TYPE_CHECKING:
    from securexchange.home.home import Home
    from securexchange.keys.keystore import KeySource, KeyUse

F = TypeVar("F", bound=Callable[..., Any])

PASSPHRASE_FILE_ENV = "SECUREXCHANGE_PASSPHRASE_FILE"  # noqa: S105 - a variable name
ROOT_PASSPHRASE_FILE_ENV = "SECUREXCHANGE_ROOT_PASSPHRASE_FILE"  # noqa: S105 - a name
MAX_PASSPHRASE_FILE = 4096

_FILE = click.Path(path_type=Path, dir_okay=False)


def passphrase_option(func: F) -> F:
    """``--passphrase-file FILE``."""
    return click.option(
        "--passphrase-file",
        type=_FILE,
        default=None,
        metavar="FILE",
        help=_("Read the key passphrase from FILE's first line (or set {variable}).").format(
            variable=PASSPHRASE_FILE_ENV
        ),
    )(func)


def root_key_options(func: F) -> F:
    """``--root-key FILE`` and ``--root-passphrase-file FILE``."""
    func = click.option(
        "--root-passphrase-file",
        type=_FILE,
        default=None,
        metavar="FILE",
        help=_(
            "Read the root key's passphrase from FILE "
            "(or set {variable}; default: as --passphrase-file)."
        ).format(variable=ROOT_PASSPHRASE_FILE_ENV),
    )(func)
    return click.option(
        "--root-key",
        type=_FILE,
        default=None,
        metavar="FILE",
        help=_(
            "The agency's root key file, e.g. on removable media (default: HOME/keys/root.key)."
        ),
    )(func)


def read_passphrase_file(path: Path) -> bytes:
    """The first line of ``path``. Never echoes its content."""
    from securexchange.home.atomicio import read_capped

    data = read_capped(
        path, limit=MAX_PASSPHRASE_FILE, what="passphrase file", too_large=UsageError, secret=True
    )
    line = data.split(b"\n", 1)[0].removesuffix(b"\r")
    if not line:
        raise UsageError(
            _("the first line of the passphrase file {path} is empty").format(path=path)
        )
    return line


class Passphrase:
    """A passphrase asked for at most once, when first needed."""

    def __init__(
        self,
        sources: tuple[Path | str | None, ...],
        *,
        what: str,
        new: bool = False,
        demo: bool = False,
    ) -> None:
        # A Path is a passphrase file given as an option; a str names an environment
        # variable that holds a passphrase file's path; None is an option not given.
        self._sources = sources
        self._what = what
        self._new = new
        self._demo = demo
        self._value: bytes | None = None

    def __call__(self) -> bytes:
        if self._value is None:
            self._value = self._resolve()
            if not self._new and not self._demo:
                self._warn_if_weak(self._value)
        return self._value

    def _warn_if_weak(self, value: bytes) -> None:
        # An existing key keeps opening with a weak passphrase (refusing it would lock
        # its owner out); a new one is refused by the library (passphrase_policy).
        from securexchange.cli.common import note
        from securexchange.keys.passphrase_policy import weakness

        found = weakness(value)
        if found is not None:
            note(
                _(
                    "warning: the passphrase of {what} is weak: {reason}; choose a stronger "
                    "one with `securexchange keys passwd`"
                ).format(what=self._what, reason=found.reason)
            )

    def _resolve(self) -> bytes:
        if self._demo:
            from securexchange.keys.keyfile import DEMO_PASSPHRASE

            return DEMO_PASSPHRASE
        for source in self._sources:
            if isinstance(source, Path):
                return read_passphrase_file(source)
            if isinstance(source, str) and os.environ.get(source):
                return read_passphrase_file(Path(os.environ[source]))
        if not sys.stdin.isatty():
            raise UsageError(
                _("a passphrase for {what} is needed and there is no terminal to ask").format(
                    what=self._what
                ),
                hint=_("give --passphrase-file FILE or set {variable}").format(
                    variable=PASSPHRASE_FILE_ENV
                ),
            )
        text: str = click.prompt(
            _("Passphrase for {what}").format(what=self._what),
            hide_input=True,
            confirmation_prompt=_("Repeat for confirmation") if self._new else False,
            err=True,
        )
        if not text:
            raise UsageError(_("the passphrase is empty"))
        return text.encode("utf-8")


def key_passphrase(
    passphrase_file: Path | None, *, what: str, demo: bool, new: bool = False
) -> Passphrase:
    return Passphrase((passphrase_file, PASSPHRASE_FILE_ENV), what=what, new=new, demo=demo)


def root_passphrase(
    root_passphrase_file: Path | None,
    passphrase_file: Path | None,
    *,
    demo: bool,
    new: bool = False,
) -> Passphrase:
    return Passphrase(
        (root_passphrase_file, ROOT_PASSPHRASE_FILE_ENV, passphrase_file, PASSPHRASE_FILE_ENV),
        what="the agency root key",
        new=new,
        demo=demo,
    )


def key_source(home: Home, use: KeyUse, passphrase_file: Path | None, *, what: str) -> KeySource:
    """A private key of this home, unlocked only when a workflow needs it."""
    from securexchange.keys.keystore import KeySource, key_path, rewrite_work_factor

    return KeySource(
        path=key_path(home, use),
        passphrase=key_passphrase(passphrase_file, what=what, demo=home.demo),
        work_factor=rewrite_work_factor(home, os.environ),
    )


def root_source(
    home: Home,
    root_key: Path | None,
    root_passphrase_file: Path | None,
    passphrase_file: Path | None,
) -> KeySource:
    """The agency's root key, opened only when a change is about to be signed."""
    from securexchange.keys.keystore import KeySource, KeyUse, key_path, rewrite_work_factor

    return KeySource(
        path=key_path(home, KeyUse.ROOT, root_key),
        passphrase=root_passphrase(root_passphrase_file, passphrase_file, demo=home.demo),
        work_factor=rewrite_work_factor(home, os.environ),
    )
