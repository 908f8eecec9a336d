"""Issue 18: keys and workflows move to the hybrid post-quantum recipient type.

New homes get, per period, a hybrid (mlkem768x25519) subkey and a classic X25519
companion. A municipality whose recipients all hold a hybrid subkey gets hybrid-only
packages; one with a member who holds classic subkeys only (a home made before the
transition) gets classic-only packages, and the export names who holds it back. Data at
rest (the vault's data keys) and returns to a hybrid agency are hybrid. Real crypto
throughout, through the CLI where staff and officers would type it.
"""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from cli_helpers import enrol_demo_staff, expect_ok, init_demo_agency, run_cli
from keys_helpers import make_classic_staff
from securexchange import age
from securexchange.home.home import HomeKind, open_home
from securexchange.municipality import subkeys

NIS = "11002"
HYBRID = "mlkem768x25519"


def _stanza_types(data: bytes) -> list[str]:
    return [s.type for s in age.parse_header(data).stanzas]


def _payload(package: Path) -> bytes:
    return zipfile.ZipFile(io.BytesIO(package.read_bytes())).read("payload.age")


def _export(tmp: Path, agency: Path) -> tuple[dict[str, object], Path, str]:
    """``agency export`` of an 8-record master: (its --json, the package, stderr)."""
    master = tmp / "master.xlsx"
    if not master.exists():
        expect_ok(
            run_cli(["sample", "--records", "8", "--nis", NIS, "--seed", "4", "--out", str(master)])
        )
    out = tmp / "exports"
    result = expect_ok(
        run_cli(["agency", "export", str(master), "--out", str(out), "--json"], home=agency)
    )
    document = json.loads(result.stdout)
    (package,) = document["packages"]
    return package, Path(str(package["file"])), result.stderr


def _enrol_classic(tmp: Path, agency: Path, name: str) -> tuple[Path, str]:
    """A demo staff home as made before the transition (classic subkeys only), authorised."""
    home = tmp / name
    made = make_classic_staff(home, agency, nis=NIS, name=name, demo=True)
    fingerprint = made.fingerprint.display
    add = ["agency", "recipient", "add", "--nis", NIS, "--fingerprint", fingerprint]
    expect_ok(run_cli([*add, str(made.card)], home=agency))
    return home, fingerprint


@pytest.fixture
def agency(tmp_path: Path) -> Path:
    home = tmp_path / "agency"
    init_demo_agency(home, NIS, "Antwerpen")
    return home


def test_a_new_home_holds_a_hybrid_subkey_and_its_classic_companion(
    agency: Path, tmp_path: Path
) -> None:
    an, _ = enrol_demo_staff(tmp_path, agency, "An", nis=NIS)
    with open_home(an, env={}, expect=HomeKind.MUNICIPALITY) as home:
        held = subkeys.listed(home)
        current = subkeys.current_recipient(home)
    # The current period and two pre-issued ones (the default horizon), each a pair.
    periods = {(s.valid_from, s.valid_until) for s in held}
    assert len(periods) == 3
    for period in periods:
        kinds = [
            subkeys.post_quantum(s.recipient)
            for s in held
            if (s.valid_from, s.valid_until) == period
        ]
        assert sorted(kinds) == [False, True]
    assert current is not None and subkeys.post_quantum(current)
    # Subkey files are named by a hash of the recipient: ~1,960 characters still give a
    # short name, as a classic recipient does.
    assert all(len(s.file) == len("sk-0123456789abcdef.key") for s in held)


def test_an_all_hybrid_municipality_gets_a_hybrid_only_package_that_imports_and_opens(
    agency: Path, tmp_path: Path
) -> None:
    an, _ = enrol_demo_staff(tmp_path, agency, "An", nis=NIS)
    bart, _ = enrol_demo_staff(tmp_path, agency, "Bart", nis=NIS)
    summary, package, stderr = _export(tmp_path, agency)
    assert summary["post_quantum"] is True and summary["held_back_by"] == []
    assert "classic only" not in stderr
    assert _stanza_types(_payload(package)) == [HYBRID, HYBRID]
    for home in (an, bart):
        expect_ok(run_cli(["municipality", "import", str(package)], home=home))
        workbook = Path(expect_ok(run_cli(["municipality", "open"], home=home)).stdout.strip())
        assert workbook.is_file()

    # Data at rest: the vault's data key is wrapped in a hybrid stanza, to the hybrid
    # subkey valid now.
    conn = sqlite3.connect(an / "state.sqlite3")
    try:
        rows = conn.execute("SELECT subkey, wrapped FROM vault_data_keys").fetchall()
    finally:
        conn.close()
    assert rows
    for recipient, wrapped in rows:
        assert subkeys.post_quantum(str(recipient))
        assert _stanza_types(bytes(wrapped)) == [HYBRID]

    # A return to an agency whose export key is hybrid is hybrid only, and imports.
    returns = tmp_path / "returns"
    _set_any_status(an)
    delta = Path(
        expect_ok(
            run_cli(["municipality", "return", "--out", str(returns)], home=an)
        ).stdout.strip()
    )
    assert _stanza_types(zipfile.ZipFile(delta).read("payload.age")) == [HYBRID]
    expect_ok(run_cli(["agency", "import-return", str(delta)], home=agency))


def _set_any_status(staff: Path) -> None:
    """Type a status in the first row of the staff member's workbook, as Excel saves it."""
    import openpyxl

    from securexchange.schema import HEADER_RECORD_ID
    from securexchange.sheets.layout import DATA_SHEET, FIRST_DATA_ROW, HEADERS

    workbook = Path(expect_ok(run_cli(["municipality", "open"], home=staff)).stdout.strip())
    book = openpyxl.load_workbook(workbook)
    sheet = book[DATA_SHEET]
    record = str(sheet.cell(FIRST_DATA_ROW, HEADERS.index(HEADER_RECORD_ID) + 1).value)
    book.close()
    expect_ok(run_cli(["municipality", "set-status", record, "toegeleid"], home=staff))


def test_a_member_with_classic_subkeys_only_keeps_the_package_classic_and_is_named(
    agency: Path, tmp_path: Path
) -> None:
    an, _ = enrol_demo_staff(tmp_path, agency, "An", nis=NIS)
    old, old_fp = _enrol_classic(tmp_path, agency, "Oude Thuis")
    summary, package, stderr = _export(tmp_path, agency)
    assert summary["post_quantum"] is False
    assert summary["held_back_by"] == [{"name": "Oude Thuis", "fingerprint": old_fp}]
    assert "classic only" in stderr and "Oude Thuis" in stderr and old_fp in stderr
    # Classic only: An's classic companion and the old home's classic subkey.
    assert _stanza_types(_payload(package)) == ["X25519", "X25519"]
    for home in (an, old):
        expect_ok(run_cli(["municipality", "import", str(package)], home=home))
    # An's vault moves the data key to her hybrid subkey all the same.
    conn = sqlite3.connect(an / "state.sqlite3")
    try:
        (wrapped,) = conn.execute("SELECT wrapped FROM vault_data_keys").fetchone()
    finally:
        conn.close()
    assert _stanza_types(bytes(wrapped)) == [HYBRID]

    # One 'keys rotate' makes the old home hybrid; with its new card the next package
    # is hybrid only.
    expect_ok(run_cli(["keys", "rotate"], home=old))
    card = str(old / "keys" / "identity.card.json")
    add = ["agency", "recipient", "add", "--nis", NIS, "--fingerprint", old_fp, card]
    expect_ok(run_cli(add, home=agency))
    summary, package, _ = _export(tmp_path, agency)
    assert summary["post_quantum"] is True
    assert _stanza_types(_payload(package)) == [HYBRID, HYBRID]
    expect_ok(run_cli(["municipality", "import", str(package)], home=old))


def test_a_card_listing_a_hybrid_subkey_is_format_2_and_a_classic_one_stays_format_1() -> None:
    from datetime import UTC, datetime

    from keys_helpers import classic_identity
    from securexchange import strictjson
    from securexchange.errors import Malformed
    from securexchange.keys.card import make_card, read_card
    from securexchange.keys.identity import Owner, generate_identity

    now = datetime(2026, 12, 3, tzinfo=UTC)
    owner = Owner("An", "integratiebeambte", NIS)
    hybrid = make_card(generate_identity(owner, now=now), now=now)
    classic = make_card(classic_identity(owner, now), now=now)

    def stated(card: bytes) -> str:
        return str(json.loads(json.loads(card)["card"])["format"])

    assert stated(hybrid) == "securexchange-card/2"
    assert stated(classic) == "securexchange-card/1"  # byte for byte as before issue 18
    assert any(s.post_quantum for s in read_card(hybrid).identity.subkeys)
    assert not any(s.post_quantum for s in read_card(classic).identity.subkeys)
    # One encoding per content: a hybrid card that says format 1 is refused before its
    # signature is even looked at (which the change would break anyway).
    envelope = json.loads(hybrid)
    inner = json.loads(envelope["card"])
    inner["format"] = "securexchange-card/1"
    envelope["card"] = strictjson.dumps(inner).decode()
    with pytest.raises(Malformed, match="another format"):
        read_card(strictjson.dumps(envelope))


@pytest.mark.parametrize("damage", ["checksum", "low-order X25519 share", "ML-KEM key"])
def test_a_card_whose_certified_hybrid_subkey_is_no_valid_recipient_is_refused(
    damage: str,
) -> None:
    """Found by the adversarial review: a subkey of the right shape, certified by the
    card's own key, passed the card and then failed every export of the agency."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from securexchange import sshsig
    from securexchange.age import bech32
    from securexchange.errors import Malformed
    from securexchange.keys.card import make_card, read_card
    from securexchange.keys.identity import (
        Owner,
        SecretSubkey,
        Subkey,
        certification_message,
        generate_identity,
        period_end,
    )

    now = datetime(2026, 12, 3, tzinfo=UTC)
    owner = Owner("Mal", "integratiebeambte", NIS)
    identity = generate_identity(owner, now=now, subkeys=False).add_subkey(
        now, period_end(now), post_quantum=False
    )
    good = age.MLKEM768X25519Identity.generate()
    public = good.recipient.public
    text = good.recipient.to_string()
    recipient = {
        "checksum": text[:-1] + ("q" if text[-1] != "q" else "p"),
        "low-order X25519 share": bech32.encode("age1pq", public[:1184] + bytes(32)),
        "ML-KEM key": bech32.encode("age1pq", b"\xff" * 1184 + public[1184:]),
    }[damage]
    message = certification_message(identity.signing_key, recipient, now, period_end(now))
    certification = identity.sign(message, sshsig.NAMESPACE_CARD)
    subkey = Subkey(recipient, now, period_end(now), certification)
    forged = replace(
        identity,
        subkeys=(*identity.subkeys, SecretSubkey(identity=good.to_string(), public=subkey)),
    )
    with pytest.raises(Malformed, match="not a valid age recipient"):
        read_card(make_card(forged, now=now))


@pytest.mark.slow
def test_64_hybrid_staff_get_one_package_the_65th_is_refused_and_an_older_longer_list_is_skipped(
    tmp_path: Path,
) -> None:
    """Found by the adversarial review: 65 authorised staff passed 'recipient add' and
    then failed every municipality's export with an internal error."""
    from flows import export, make_agency, write_master
    from flows import register as register_municipality
    from keys_helpers import root_key_source
    from securexchange.agency.changes import add_recipient
    from securexchange.agency.export_result import SkipReason
    from securexchange.agency.registry import sign_change, unlock_root
    from securexchange.errors import UsageError
    from securexchange.home import statedb
    from securexchange.keys.card import make_card
    from securexchange.keys.identity import Owner, generate_identity

    agency = tmp_path / "agency"
    make_agency(agency)
    register_municipality(agency, NIS)
    register_municipality(agency, "44021")
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        people = [
            generate_identity(Owner(f"Medewerker {i}", "integratiebeambte", NIS), now=home.now)
            for i in range(age.MAX_RECIPIENTS + 1)
        ]
        cards = [make_card(p, now=home.now) for p in people]
        other = generate_identity(Owner("Gent", "integratiebeambte", "44021"), now=home.now)
        for nis, person, card in [
            *zip([NIS] * age.MAX_RECIPIENTS, people, cards, strict=False),
            ("44021", other, make_card(other, now=home.now)),
        ]:
            add_recipient(
                home,
                root_key_source(agency),
                nis=nis,
                fingerprint=person.fingerprint.display,
                card_data=card,
            )
        with pytest.raises(UsageError, match="as many as one package"):
            add_recipient(
                home,
                root_key_source(agency),
                nis=NIS,
                fingerprint=people[-1].fingerprint.display,
                card_data=cards[-1],
            )
    master = write_master(tmp_path / "master.xlsx", 12, [NIS, "44021"])
    result = export(agency, master, tmp_path / "out")
    (full,) = [p for p in result.packages if p.nis == NIS]
    assert full.file is not None
    assert _stanza_types(_payload(full.file)) == [HYBRID] * age.MAX_RECIPIENTS

    # A list made before the cap (written here as an older version would have): that
    # municipality is skipped by name, the others still get their packages.
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        (party,) = home.db.execute(
            "SELECT party_id FROM agency_municipalities WHERE nis = ?", (NIS,)
        ).fetchone()
        root = unlock_root(home, root_key_source(agency))
        with statedb.transaction(home.db):
            home.db.execute(
                "INSERT INTO agency_recipients (party_id, fingerprint, card, card_created_at, "
                "added_at, updated_at) SELECT party_id, ?, ?, card_created_at, added_at, "
                "updated_at FROM agency_recipients WHERE party_id = ? LIMIT 1",
                (people[-1].fingerprint.digest.hex(), cards[-1], party),
            )
            sign_change(home, root, recipients_added=1)
    again = export(agency, master, tmp_path / "again")
    assert [p.nis for p in again.packages] == ["44021"]
    assert [(s.nis, s.reason) for s in again.missing] == [(NIS, SkipReason.TOO_MANY_RECIPIENTS)]


def test_the_same_card_in_other_bytes_changes_nothing_and_makes_no_keyring_version(
    tmp_path: Path,
) -> None:
    """Found by the adversarial review: a card padded with whitespace counted as an
    update, and each copy made a new keyring version."""
    from flows import make_agency
    from flows import register as register_municipality
    from keys_helpers import root_key_source
    from securexchange.agency.changes import RecipientChange, add_recipient
    from securexchange.keys.card import make_card
    from securexchange.keys.identity import Owner, generate_identity

    agency = tmp_path / "agency"
    make_agency(agency)
    register_municipality(agency, NIS)
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        person = generate_identity(Owner("An", "integratiebeambte", NIS), now=home.now)
        card = make_card(person, now=home.now)

        def add(data: bytes) -> tuple[RecipientChange, int | None]:
            _, change, version = add_recipient(
                home,
                root_key_source(agency),
                nis=NIS,
                fingerprint=person.fingerprint.display,
                card_data=data,
            )
            return change, version

        change, version = add(card)
        assert change is RecipientChange.ADDED and version is not None
        assert add(card) == (RecipientChange.UNCHANGED, None)
        assert add(card + b"\n" * 1000) == (RecipientChange.UNCHANGED, None)


def test_a_rotation_killed_before_its_card_was_written_is_finished_by_the_next_rotate(
    agency: Path, tmp_path: Path
) -> None:
    """Found by the adversarial review (kills at every fsync of 'keys rotate'): a kill
    between the key file and the card left a card without the new (hybrid) subkeys,
    and every later 'keys rotate' said "nothing to rotate"."""
    from securexchange.keys.card import read_card

    old, _ = _enrol_classic(tmp_path, agency, "Oude Thuis")
    card_file = old / "keys" / "identity.card.json"
    before = card_file.read_bytes()
    expect_ok(run_cli(["keys", "rotate"], home=old))
    # The state a kill after the key file's replacement leaves: the old card.
    card_file.write_bytes(before)
    assert not any(s.post_quantum for s in read_card(before).identity.subkeys)

    again = expect_ok(run_cli(["keys", "rotate"], home=old))
    assert "written again" in again.stderr and "send it to the agency" in again.stderr
    assert any(s.post_quantum for s in read_card(card_file.read_bytes()).identity.subkeys)
    third = expect_ok(run_cli(["keys", "rotate"], home=old))
    assert "nothing to rotate" in third.stderr


@pytest.mark.parametrize("companion", ["missing", "of another period"])
def test_a_card_with_a_hybrid_subkey_but_no_classic_companion_is_refused(companion: str) -> None:
    """Found by the adversarial review: such a person was silently left out of every
    classic package, under a warning that told them to run 'keys rotate' in vain."""
    from datetime import UTC, datetime, timedelta

    from securexchange.errors import Malformed
    from securexchange.keys.card import make_card, read_card
    from securexchange.keys.identity import Owner, generate_identity, period_end

    now = datetime(2026, 12, 3, tzinfo=UTC)
    identity = generate_identity(Owner("An", "integratiebeambte", NIS), now=now, subkeys=False)
    identity = identity.add_subkey(now, period_end(now), post_quantum=True)
    if companion == "of another period":
        later = period_end(now)
        identity = identity.add_subkey(
            later, period_end(later + timedelta(seconds=1)), post_quantum=False
        )
    with pytest.raises(Malformed, match="no classic companion"):
        read_card(make_card(identity, now=now))
