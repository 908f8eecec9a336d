"""``securexchange keys ...``: show, export, rotate and re-protect this home's keys.

In a municipal home the key is the staff member's identity. In an agency home the root
key is the one that identifies the agency (``show --json``'s ``fingerprint``, the card
municipalities pin); ``--export-key`` selects the export key instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from securexchange.cli.common import (
    CliState,
    cli_home,
    echo,
    echo_json,
    json_option,
    note,
    pass_state,
    shown,
)
from securexchange.cli.keyopts import passphrase_option, root_key_options
from securexchange.cli.translated import TranslatedGroup
from securexchange.i18n import N_, _

if TYPE_CHECKING:
    from securexchange.errors import SxError
    from securexchange.home.home import Home
    from securexchange.keys.card import Card
    from securexchange.keys.keystore import KeySource, KeyUse


def _source(
    home: Home,
    use: KeyUse,
    passphrase_file: Path | None,
    root_key: Path | None = None,
    root_passphrase_file: Path | None = None,
) -> KeySource:
    from securexchange.cli.keyopts import key_passphrase, root_source
    from securexchange.keys.keystore import KeySource, KeyUse, key_path, rewrite_work_factor

    if use is KeyUse.ROOT:
        return root_source(home, root_key, root_passphrase_file, passphrase_file)
    what = _("the agency export key") if use is KeyUse.EXPORT else _("your key")
    return KeySource(
        path=key_path(home, use),
        passphrase=key_passphrase(passphrase_file, what=what, demo=home.demo),
        work_factor=rewrite_work_factor(home, os.environ),
    )


def _signing_use(home: Home, export_key: bool) -> KeyUse:
    """The key a command works on: the home's main key, or the agency's export key."""
    from securexchange.keys.keystore import KeyUse, main_use

    if export_key:
        if main_use(home) is not KeyUse.ROOT:
            from securexchange.errors import UsageError

            raise UsageError(_("--export-key is for agency homes"))
        return KeyUse.EXPORT
    return main_use(home)


def _encryption_use(home: Home) -> KeyUse:
    """The key with subkeys: the staff identity, or the agency's export key."""
    from securexchange.keys.keystore import KeyUse, main_use

    use = main_use(home)
    return KeyUse.EXPORT if use is KeyUse.ROOT else use


# The words of ``keys show``; its --json keeps the plain English values.
_KEY_LABELS = {
    "identity": N_("identity key"),
    "root": N_("root key"),
    "export": N_("export key"),
}
# A period's two subkeys (issue 18): the hybrid post-quantum one and its classic companion.
_SUBKEY_KINDS = {
    True: N_("post-quantum"),
    False: N_("classic"),
}
_SUBKEY_STATUSES = {
    "expired": N_("expired"),
    "current": N_("current"),
    "next": N_("next"),
    "valid": N_("valid"),
}


def _card_json(use: str, card: Card, now: Any) -> dict[str, object]:
    from securexchange.clock import format_instant

    current = card.identity.subkey_at(now)
    subkeys = []
    for s in sorted(card.identity.subkeys, key=lambda s: (s.valid_from, not s.post_quantum)):
        if s.valid_until <= now:
            status = "expired"
        elif current is not None and (s.valid_from, s.valid_until) == (
            current.valid_from,
            current.valid_until,
        ):
            status = "current"  # the current period's subkeys, hybrid and classic
        elif s.valid_from > now:
            status = "next"
        else:
            status = "valid"
        subkeys.append(
            {
                "recipient": s.recipient,
                "valid_from": format_instant(s.valid_from),
                "valid_until": format_instant(s.valid_until),
                "status": status,
                "post_quantum": s.post_quantum,
            }
        )
    return {
        "use": use,
        "fingerprint": card.fingerprint.display,
        "name": card.owner.name,
        "role": card.owner.role,
        "organisation": card.owner.organisation,
        "card_created_at": format_instant(card.created_at),
        "subkeys": subkeys,
    }


@click.group(
    cls=TranslatedGroup, help=_("This home's keys: show, export, rotate, change the passphrase.")
)
def keys() -> None:
    pass


@keys.command(
    "show",
    help=_("Show fingerprints, roles, and subkeys with their validity (no passphrase needed)."),
)
@json_option
@pass_state
def show(state: CliState, as_json: bool) -> None:
    from securexchange.keys.keystore import home_card, home_uses, pinned_agency_card

    with cli_home(state, read_only=True) as home:
        entries = [_card_json(u.value, home_card(home, u), home.now) for u in home_uses(home)]
        pinned = pinned_agency_card(home)
        kind = home.info.kind.value
        demo = home.demo
    result: dict[str, object] = {
        "kind": kind,
        "demo": demo,
        "fingerprint": entries[0]["fingerprint"],
        "keys": entries,
    }
    if pinned is not None:
        result["agency_root_fingerprint"] = pinned.fingerprint.display
    if as_json:
        echo_json(result)
        return
    for entry in entries:
        echo(f"{_(_KEY_LABELS[str(entry['use'])])}  {entry['fingerprint']}")
        owner = f"{shown(entry['name'])} ({shown(entry['role'])}, {shown(entry['organisation'])})"
        echo(_("  owner         {owner}").format(owner=owner))
        subkeys: list[dict[str, Any]] = entry["subkeys"]  # type: ignore[assignment]
        for s in subkeys:
            echo(
                _("  subkey {status} {valid_from} .. {valid_until}  {kind}").format(
                    status=_(_SUBKEY_STATUSES[s["status"]]).ljust(8),
                    valid_from=s["valid_from"],
                    valid_until=s["valid_until"],
                    kind=_(_SUBKEY_KINDS[bool(s["post_quantum"])]),
                )
            )
    if pinned is not None:
        echo(
            _("agency root key (pinned)  {fingerprint}").format(
                fingerprint=pinned.fingerprint.display
            )
        )


@keys.command(
    "export",
    help=_(
        "Export a key: --card (to FILE or stdout), --public --ssh, or --age.\n"
        "\n"
        "\b\n"
        "Examples:\n"
        "  securexchange keys export --card --out my.card.json\n"
        "  securexchange keys export --public --ssh >> allowed_keys\n"
        "  securexchange keys export --age > emergency.key   # escapes shredding!"
    ),
)
@click.option("--card", "what", flag_value="card", help=_("The public key card (send it on)."))
@click.option("--ssh", "what", flag_value="ssh", help=_("The signing key as an OpenSSH line."))
@click.option(
    "--age",
    "what",
    flag_value="age",
    help=_(
        "The current subkey as an age identity (secret!): the post-quantum one when there is one."
    ),
)
@click.option("--public", is_flag=True, help=_("Public material only (with --ssh or --card)."))
@click.option(
    "--export-key", is_flag=True, help=_("In an agency home: the export key, not the root.")
)
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="FILE"
)
@passphrase_option
@pass_state
def export(
    state: CliState,
    *,
    what: str | None,
    public: bool,
    export_key: bool,
    out: Path | None,
    passphrase_file: Path | None,
) -> None:
    from securexchange.errors import UsageError
    from securexchange.home.atomicio import atomic_write, output_dir, refuse_non_directory
    from securexchange.home.home import HomeKind
    from securexchange.keys.keystore import export_age_identity, export_card, export_ssh_line
    from securexchange.municipality import subkeys

    if what is None:
        raise UsageError(_("say what to export: --card, --ssh or --age"))
    if what == "age" and public:
        raise UsageError(_("--age exports a secret key; it cannot be --public"))
    if out is not None:
        refuse_non_directory(out.parent)
        _refuse_output_file(out, secret=what == "age")
    with cli_home(state) as home:
        if what == "card":
            data = export_card(home, _signing_use(home, export_key))
        elif what == "ssh":
            data = (export_ssh_line(home, _signing_use(home, export_key)) + "\n").encode("ascii")
        else:
            if export_key:
                raise UsageError(_("--age always exports the key that has subkeys"))
            use = _encryption_use(home)
            source = _source(home, use, passphrase_file)
            if home.info.kind is HomeKind.MUNICIPALITY:
                secret = subkeys.export_age_identity(home, source)
            else:
                secret = export_age_identity(home, source)
            data = (secret + "\n").encode("ascii")
            note(
                _(
                    "warning: an exported copy of a subkey escapes shredding: it opens every "
                    "package made for that subkey until you destroy the copy yourself"
                )
            )
    if out is None:
        click.echo(data.decode("utf-8"), nl=False)  # the card file itself, byte for byte
    else:
        output_dir(out.parent, private=what == "age")  # a secret key: 0700 when created
        try:
            # A secret key never replaces a file, even one made after the check above.
            atomic_write(out, data, mode=0o600 if what == "age" else 0o644, exclusive=what == "age")
        except FileExistsError:
            raise _exists(out) from None
        except OSError as exc:
            raise UsageError(
                _("{path} cannot be written ({reason})").format(
                    path=shown(out), reason=exc.strerror or exc.__class__.__name__
                )
            ) from None
        note(_("wrote {path}").format(path=shown(out)))


def _exists(out: Path) -> SxError:
    from securexchange.errors import AlreadyExists

    return AlreadyExists(
        _("{path} exists already: a secret key is never written over another file").format(
            path=shown(out)
        ),
        hint=_("give a new file name, or delete the old copy first"),
    )


def _refuse_output_file(out: Path, *, secret: bool) -> None:
    """``--out`` names a new file, or (for public material) a regular file to replace;
    never a link, device or pipe: the data would land beside it, not where it points."""
    from securexchange.errors import UsageError

    if not os.path.lexists(out):
        return
    if secret:
        raise _exists(out)
    if out.is_symlink() or not out.is_file():
        raise UsageError(
            _("{path} is not a regular file; give the name of a new file").format(path=shown(out))
        )


@keys.command(
    "rotate",
    help=_(
        "Add the next encryption subkey ahead of time (and a current one if missing).\n"
        "\n"
        "In a municipal home this rewrites your card: send it to the agency, which re-adds "
        "it with 'agency recipient add'. In an agency home it rotates the export key's "
        "subkeys and signs a new keyring version with the root key."
    ),
)
@passphrase_option
@root_key_options
@pass_state
def rotate(
    state: CliState,
    *,
    passphrase_file: Path | None,
    root_key: Path | None,
    root_passphrase_file: Path | None,
) -> None:
    from securexchange.agency.changes import rotate_export_key
    from securexchange.keys.keystore import CARD_REWRITTEN, KeyUse, card_path, main_use
    from securexchange.municipality.subkeys import rotate as rotate_identity

    with cli_home(state) as home:
        if main_use(home) is KeyUse.ROOT:
            added, version = rotate_export_key(
                home,
                _source(home, KeyUse.EXPORT, passphrase_file),
                _source(home, KeyUse.ROOT, passphrase_file, root_key, root_passphrase_file),
            )
            where = None
        else:
            from securexchange.municipality.enrolment import held_keyring

            source = _source(home, KeyUse.IDENTITY, passphrase_file)
            rotation = rotate_identity(home, source, held_keyring(home))
            added, version = rotation.added, None
            if added == 0 and rotation.card_rewritten:
                note(_(CARD_REWRITTEN))
                note(
                    _("your new card: {path}; send it to the agency").format(
                        path=shown(card_path(home, KeyUse.IDENTITY))
                    )
                )
                return
            where = card_path(home, KeyUse.IDENTITY)
    if added == 0:
        note(_("the current and next subkeys exist already; nothing to rotate"))
        return
    note(_("added {n} subkey(s)").format(n=added))
    if version is not None:
        note(
            _("keyring version {version}: publish it with 'agency keyring publish'").format(
                version=version
            )
        )
    if where is not None:
        note(_("your new card: {path}; send it to the agency").format(path=shown(where)))


@keys.command("passwd", help=_("Change the passphrase of a key file (the keys stay the same)."))
@click.option("--root", "root_key_flag", is_flag=True, help=_("In an agency home: the root key."))
@click.option(
    "--new-passphrase-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    metavar="FILE",
    help=_("Read the new passphrase from FILE's first line."),
)
@passphrase_option
@root_key_options
@pass_state
def passwd(
    state: CliState,
    *,
    root_key_flag: bool,
    new_passphrase_file: Path | None,
    passphrase_file: Path | None,
    root_key: Path | None,
    root_passphrase_file: Path | None,
) -> None:
    from securexchange.cli.keyopts import Passphrase
    from securexchange.errors import UsageError
    from securexchange.home.home import HomeKind
    from securexchange.keys.keystore import KeyUse, change_passphrase, main_use
    from securexchange.municipality import subkeys

    with cli_home(state) as home:
        agency = main_use(home) is KeyUse.ROOT
        if root_key_flag and not agency:
            raise UsageError(_("--root is for agency homes"))
        use = (KeyUse.ROOT if root_key_flag else KeyUse.EXPORT) if agency else KeyUse.IDENTITY
        source = _source(home, use, passphrase_file, root_key, root_passphrase_file)
        new = Passphrase((new_passphrase_file,), what=_("the new passphrase"), new=True)
        if home.info.kind is HomeKind.MUNICIPALITY:
            identity = subkeys.change_passphrase(home, source, new)
        else:
            identity = change_passphrase(home, source, new)
    note(_("passphrase changed for {fp}").format(fp=identity.fingerprint.display))
