"""Vault rows forged by whoever can write ``state.sqlite3``, without the passphrase.

A package's data key is wrapped with age to the staff member's subkey, whose recipient
is public (the card, the keyring, the ``vault_data_keys.subkey`` column): anyone who
can write the database can wrap a data key of their own to it and seal rows under it.
Such rows authenticate, so the AEAD does not prove that this program sealed them from
a checked row; decoding them still holds every field of the row to its rules.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from cli_helpers import assert_single_error
from municipal_flows import World, make_package, make_world, muni, person
from securexchange import age
from securexchange.municipality.sealing import RowCipher, encode_row

T = date(2099, 12, 15)

# What a forger may put in a row's fields that the workbook row's checks refuse.
FORGED = {
    "status": (4, "Bel +32470000000 voor uw premie"),
    "record id": (1, '=HYPERLINK("http://x.example")'),
    "outcome": (7, "verwerkt door de DPO"),
}


def _forge_every_row(world: World, field: int, value: object) -> None:
    """A data key of the forger's, wrapped to the public subkey, and every row sealed
    again under it as the package's first person with ``value`` in ``field``."""
    conn = sqlite3.connect(world.staff / "state.sqlite3")
    try:
        with conn:
            package_id, recipient = conn.execute(
                "SELECT package_id, subkey FROM vault_data_keys"
            ).fetchone()
            key = os.urandom(32)
            wrapped = age.encrypt(key, [age.parse_recipient(recipient)])
            conn.execute("UPDATE vault_data_keys SET wrapped = ?", (wrapped,))
            cipher = RowCipher(key, package_id)
            rows = conn.execute("SELECT rowid, retention FROM vault_records").fetchall()
            for number, (rowid, retention) in enumerate(rows, 1):
                fields = json.loads(encode_row(person(number, date.fromisoformat(retention))))
                # Each row its own record id (and so its own tag), forged or not.
                fields[field] = value if field != 1 else value * number
                tag = cipher.tag(str(fields[1]))
                sealed = cipher.seal(tag, json.dumps(fields).encode())
                conn.execute(
                    "UPDATE vault_records SET tag = ?, sealed = ? WHERE rowid = ?",
                    (tag, sealed, rowid),
                )
    finally:
        conn.close()


@pytest.mark.parametrize("forged", sorted(FORGED))
def test_a_row_sealed_under_a_forged_data_key_is_still_held_to_the_rows_rules(
    forged: str, tmp_path: Path
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, T), person(2, T)])
    assert muni(world, "import", str(made.path)).code == 0
    _forge_every_row(world, *FORGED[forged])

    refused = muni(world, "open")
    assert_single_error(refused, "SX-INTERNAL", 3)
    assert not list((world.staff / "workbooks").glob("*.xlsx"))
