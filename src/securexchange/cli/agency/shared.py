"""What the agency's command modules share: the home, dates and lists from options."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from securexchange.cli.common import (
    CliState,
    cli_home,
)

if TYPE_CHECKING:
    from securexchange.home.home import Home
    from securexchange.keys.keystore import KeySource


DATE = click.DateTime(formats=["%Y-%m-%d"])
MAX_CARD_BYTES = 128 * 1024  # as keys.card.MAX_CARD_BYTES (not imported: startup)


def day_of(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def split_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [item for item in (p.strip() for p in value.split(",")) if item]


def agency_home(state: CliState, *, read_only: bool = False) -> AbstractContextManager[Home]:
    from securexchange.home.home import HomeKind

    return cli_home(state, HomeKind.AGENCY, read_only=read_only)


def export_key_source(home: Home, passphrase_file: Path | None) -> KeySource:
    """The agency's export key: it signs packages and notices, its subkeys open returns."""
    from securexchange.cli.keyopts import key_source
    from securexchange.keys.keystore import KeyUse

    return key_source(home, KeyUse.EXPORT, passphrase_file, what="the agency export key")
