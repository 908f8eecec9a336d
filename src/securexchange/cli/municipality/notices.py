"""``municipality notice ...``: written notice of the protocol (art. 5), given or taken in."""

from __future__ import annotations

from pathlib import Path

import click

from securexchange.cli.common import (
    CliState,
    echo,
    echo_json,
    json_option,
    note,
    pass_state,
    print_table,
    read_input,
    shown,
)
from securexchange.cli.keyopts import passphrase_option
from securexchange.cli.municipality.shared import identity_source, municipal_home
from securexchange.cli.translated import TranslatedCommand, TranslatedGroup
from securexchange.i18n import _

_OUT = click.Path(path_type=Path, file_okay=False)


@click.group(
    "notice",
    cls=TranslatedGroup,
    help=_(
        "Written notice of the protocol (art. 5): three months from receipt. Give the "
        "municipality's notice, or take in the agency's and answer with a receipt."
    ),
)
def notice_group() -> None:
    pass


@notice_group.command(
    "give",
    cls=TranslatedCommand,
    help=_(
        "Give the agency written notice, as the college decided (--decision: the "
        "decision's reference). The agency records the end, three months after it "
        "receives the notice, in the keyring.\n\n"
        "\b\nExample:\n"
        '  securexchange municipality notice give --decision "CBS 2027-03-02/14" --out uit/'
    ),
)
@click.option("--decision", required=True, metavar="REF", help=_("The reference of the decision."))
@click.option("--out", type=_OUT, required=True, metavar="DIR")
@passphrase_option
@pass_state
def give_command(
    state: CliState, *, decision: str, out: Path, passphrase_file: Path | None
) -> None:
    from securexchange.municipality.protocol_end import give_notice

    with municipal_home(state) as home:
        given = give_notice(
            home, identity_source(home, passphrase_file), decision=decision, out_dir=out
        )
    echo(shown(given.path))
    if given.again:
        note(_("notice {id} was given before; written again").format(id=given.notice_id))
    else:
        note(_("notice {id} given; send it to the agency").format(id=given.notice_id))


@notice_group.command(
    "import",
    cls=TranslatedCommand,
    help=_(
        "Take in the agency's written notice: today is the day of receipt, and the "
        "protocol ends three months later. Writes a signed receipt into DIR for the agency."
    ),
)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", type=_OUT, required=True, metavar="DIR")
@passphrase_option
@pass_state
def import_command(state: CliState, *, file: Path, out: Path, passphrase_file: Path | None) -> None:
    from securexchange.ending.notices import MAX_NOTICE_BYTES
    from securexchange.municipality.protocol_end import import_notice

    data = read_input(file, limit=MAX_NOTICE_BYTES, what="protocol notice")
    with municipal_home(state) as home:
        got = import_notice(home, identity_source(home, passphrase_file), data, out_dir=out)
    echo(shown(got.receipt))
    note(
        _(
            "notice {id} received on {received}: the protocol ends on {effective}; send "
            "the receipt to the agency"
        ).format(
            id=got.notice_id,
            received=got.received_on.isoformat(),
            effective=got.effective.isoformat(),
        )
    )


@notice_group.command(
    "list", cls=TranslatedCommand, help=_("The notices given and received, and the receipts.")
)
@json_option
@pass_state
def list_command(state: CliState, *, as_json: bool) -> None:
    from securexchange.ending.notices import all_held

    with municipal_home(state, read_only=True) as home:
        rows = all_held(home)
    if as_json:
        echo_json([r.to_json() for r in rows])
        return
    print_table(
        [_("NOTICE"), _("KIND"), _("BY"), _("DECISION"), _("RECEIVED"), _("ENDS")],
        [
            [
                r.notice_id,
                _("receipt") if r.kind.value == "receipt" else _("notice"),
                _("agency") if r.given_by.value == "agency" else _("municipality"),
                r.decision or "-",
                "-" if r.received_on is None else r.received_on.isoformat(),
                "-" if r.effective is None else r.effective.isoformat(),
            ]
            for r in rows
        ],
    )
