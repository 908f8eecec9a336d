"""What the municipal commands share: the home opened with its shredding pass first, the
warnings of that pass, the key source and the workbook warnings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from securexchange.cli.common import (
    CliState,
    cli_home,
    note,
    shown,
)
from securexchange.i18n import _

if TYPE_CHECKING:
    from securexchange.home.home import Home
    from securexchange.keys.keystore import KeySource
    from securexchange.municipality.retention import ShredReport


@contextmanager
def municipal_home(state: CliState, *, read_only: bool = False) -> Iterator[Home]:
    """Open the municipal home and run the shredding pass before anything else, so
    retention is enforced by every command, also one that then fails its checks.

    The one exception: a read-only command in a demo home under ``SECUREXCHANGE_NOW``
    only looks at the future; shredding there would make the demo's time travel
    permanent. In a real home the override is refused, so this never skips a pass."""
    from securexchange.home.home import HomeKind
    from securexchange.municipality.retention import shred

    with cli_home(state, HomeKind.MUNICIPALITY, read_only=read_only) as home:
        if not home.holds_still:
            warn_about(shred(home))
        yield home


def warn_about(report: ShredReport) -> None:
    from securexchange.municipality.shred_notes import shred_warnings

    for line in shred_warnings(report):
        note(line)


def identity_source(home: Home, passphrase_file: Path | None) -> KeySource:
    from securexchange.cli.keyopts import key_source
    from securexchange.keys.keystore import KeyUse

    return key_source(home, KeyUse.IDENTITY, passphrase_file, what=_("your key"))


def workbook_warnings(home: Home) -> None:
    """One ``warning:`` per workbook cell (or workbook) that was not read; the rest of
    the workbook was (docs/cli.md)."""
    from securexchange.municipality.workbooks import warnings

    for line in warnings(home):
        note(_("warning: {text}").format(text=shown(line)))
