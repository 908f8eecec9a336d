"""The app's session remembers the staff edits it decrypted (staff_edits.OpenedEdits): by
their sealed bytes, so a changed, swapped or deleted row answers as the vault does, and
forgotten with the key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app_world import make_app_world
from flows import STAFF_PASS
from securexchange import age
from securexchange.errors import SxError
from securexchange.home.home import Home, HomeKind, open_home
from securexchange.keys.keystore import KeySource
from securexchange.municipality import opening, staff_edits
from securexchange.municipality.importer import import_files
from securexchange.sheets.layout import WorkbookRow

pytestmark = pytest.mark.slow


@contextmanager
def _two_edits(
    tmp_path: Path,
) -> Iterator[tuple[Home, dict[str, age.SecretIdentity], list[WorkbookRow]]]:
    """A staff home with a package imported and two status edits stored; the home open."""
    world = make_app_world(tmp_path)
    key = KeySource(world.staff.home / "keys" / "identity.key", lambda: STAFF_PASS)
    with open_home(world.staff.home, env={}, expect=HomeKind.MUNICIPALITY) as home:
        import_files(home, [world.package], key)
        identities = opening.unlock(home, key)
        rows = opening.current_rows(home, opening.current(home), identities)
        opening.set_statuses(home, key, {rows[0].record_id: "gestart"})
        opening.set_statuses(home, key, {rows[1].record_id: "toegeleid"})
        yield home, identities, rows


def test_remembered_edits_answer_as_the_vault_does_and_are_forgotten(tmp_path: Path) -> None:
    with _two_edits(tmp_path) as (home, identities, rows):
        opened = staff_edits.OpenedEdits()
        with staff_edits.remembering(opened):
            first = staff_edits.edits(home, identities)
        assert first == staff_edits.edits(home, identities)
        assert [(e.record, e.status) for e in first] == [
            (rows[0].record_id, "gestart"),
            (rows[1].record_id, "toegeleid"),
        ]

        # Remembered answers are used: with a key that fits none of the rows, only they
        # can answer (without them the same read is refused).
        stranger = age.X25519Identity.generate()
        wrong = dict.fromkeys(identities, stranger)
        with pytest.raises((SxError, age.AgeNoMatchError)):
            staff_edits.edits(home, wrong)
        with staff_edits.remembering(opened):
            assert staff_edits.edits(home, wrong) == first

        # Swapped sealed rows answer with their own contents, a deleted one is gone.
        (a, sealed_a), (b, sealed_b) = home.db.execute(
            "SELECT id, sealed FROM vault_edits ORDER BY id"
        ).fetchall()
        home.db.execute("UPDATE vault_edits SET sealed = ? WHERE id = ?", (sealed_b, a))
        home.db.execute("UPDATE vault_edits SET sealed = ? WHERE id = ?", (sealed_a, b))
        with staff_edits.remembering(opened):
            swapped = staff_edits.edits(home, identities)
        assert [e.record for e in swapped] == [rows[1].record_id, rows[0].record_id]
        assert swapped == staff_edits.edits(home, identities)
        home.db.execute("DELETE FROM vault_edits WHERE id = ?", (a,))
        with staff_edits.remembering(opened):
            assert [e.handle for e in staff_edits.edits(home, identities)] == [b]

        opened.forget()
        with staff_edits.remembering(opened), pytest.raises((SxError, age.AgeNoMatchError)):
            staff_edits.edits(home, wrong)


def test_an_edit_the_vault_no_longer_holds_is_forgotten_and_a_relabelled_one_refused(
    tmp_path: Path,
) -> None:
    """What the session remembers is what the vault holds now: an edit deleted (erased at
    the agency's request, returned, shredded) leaves memory with the next read, and a row
    moved to another subkey is refused as it is without memory."""
    with _two_edits(tmp_path) as (home, identities, _rows):
        opened = staff_edits.OpenedEdits()
        with staff_edits.remembering(opened):
            staff_edits.edits(home, identities)
        (a, subkey, sealed_a, made_a), _b = home.db.execute(
            "SELECT id, subkey, sealed, made_at FROM vault_edits ORDER BY id"
        ).fetchall()

        # Deleted, read once without it, then the same bytes back: decrypted anew (so
        # a key that fits nothing refuses them), not answered from memory.
        home.db.execute("DELETE FROM vault_edits WHERE id = ?", (a,))
        with staff_edits.remembering(opened):
            assert len(staff_edits.edits(home, identities)) == 1
        home.db.execute(
            "INSERT INTO vault_edits (id, kind, subkey, sealed, made_at) "
            "VALUES (?, 'status', ?, ?, ?)",
            (a, subkey, sealed_a, made_a),
        )
        stranger = age.X25519Identity.generate()
        with staff_edits.remembering(opened), pytest.raises((SxError, age.AgeNoMatchError)):
            staff_edits.edits(home, {str(subkey): stranger})

        # A row relabelled to another held subkey does not open with it.
        with staff_edits.remembering(opened):
            staff_edits.edits(home, identities)
        other = {**identities, "age1other": stranger}
        home.db.execute("UPDATE vault_edits SET subkey = 'age1other' WHERE id = ?", (a,))
        with pytest.raises((SxError, age.AgeNoMatchError)):
            staff_edits.edits(home, other)  # without memory
        with staff_edits.remembering(opened), pytest.raises((SxError, age.AgeNoMatchError)):
            staff_edits.edits(home, other)
