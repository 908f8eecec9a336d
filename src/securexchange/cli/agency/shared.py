"""What the agency's command modules share: the home, dates and lists from options."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from securexchange.cli.common import (
    CliState,
    cli_home,
)

if TYPE_CHECKING:
    from securexchange.home.home import Home
    from securexchange.keys.keystore import KeySource


F = TypeVar("F", bound=Callable[..., Any])
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


def master_options(func: F) -> F:
    """The options that say how the master is read (``agency export``, ``agency quality
    answer``): leave invalid rows out, drop columns, map headers."""
    func = click.option(
        "--mapping",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        metavar="FILE",
        help='JSON {"header in the master": "canonical header"}.',
    )(func)
    func = click.option(
        "--drop-column",
        "drop_columns",
        multiple=True,
        metavar="NAME",
        help="A column of the master that is not exported (repeatable).",
    )(func)
    return click.option(
        "--skip-invalid",
        is_flag=True,
        help="Leave out invalid rows (and report them) instead of refusing the master.",
    )(func)
