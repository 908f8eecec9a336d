"""Columns added to a home's tables after homes holding those tables existed.

Each is declared in its table's CREATE in :mod:`securexchange.home.tables` (a new home
has it from the start) and listed here: :func:`add_missing`, run by ``tables.apply`` in
the transaction that opens a home, adds it to an older home and derives its value for
the rows that home holds. SQLite adds a column in place (``ALTER TABLE ... ADD
COLUMN``: nullable, no default), so the upgrade is one statement and cannot half-happen.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class AddedColumn:
    """A column added to ``table`` after homes with that table existed: declared in the
    table's CREATE (new homes) and added by :func:`add_missing` where it is missing,
    followed by ``fill`` (SQL that derives its value for the rows
    an older home holds; empty: they keep NULL)."""

    table: str
    column: str
    fill: str = ""


# Art. 7 answers (issue 20): which package carried the agency's answer to a quality
# report, and when it was published (agency/quality.py); which package brought the
# answer to a report a municipality returned (municipality/quality_answers.py).
# An agency home from before knows no package per answer; every export carried the
# outcomes, so a resolved report's answer went with the first package published for its
# municipality after the resolution that held its record.
_ANSWERED_IN_FILL = """
UPDATE quality_reports SET answered_in = (
    SELECT p.id FROM agency_packages p JOIN agency_package_records r ON r.package_id = p.id
    WHERE p.party_id = quality_reports.party_id AND p.published = 1
      AND r.record_id = quality_reports.record_id AND p.created_at >= quality_reports.resolved_at
    ORDER BY p.created_at, p.sequence LIMIT 1)
WHERE outcome IS NOT NULL AND answered_in IS NULL;
"""
_ANSWERED_AT_FILL = """
UPDATE quality_reports SET answered_at =
    (SELECT created_at FROM agency_packages WHERE id = quality_reports.answered_in)
WHERE answered_in IS NOT NULL AND answered_at IS NULL;
"""
ADDED_COLUMNS: Mapping[str, tuple[AddedColumn, ...]] = {
    "agency": (
        AddedColumn("quality_reports", "answered_in", _ANSWERED_IN_FILL),
        AddedColumn("quality_reports", "answered_at", _ANSWERED_AT_FILL),
    ),
    "municipality": (
        AddedColumn("vault_edits", "answered_in"),
        AddedColumn("vault_edits", "answered_at"),
        # The SHA-256 of a workbook file as `open` wrote it (municipality/digests.py):
        # an older home's workbooks have none, and are read as before.
        AddedColumn("vault_workbook_digest_keys", "written_sha256"),
    ),
}


def _columns(conn: sqlite3.Connection, table: str) -> frozenset[str]:
    rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    return frozenset(str(row[1]) for row in rows)


def add_missing(conn: sqlite3.Connection, kind: str) -> None:
    """Add the :data:`ADDED_COLUMNS` a ``kind`` home's tables lack (inside the open
    transaction), each as a nullable TEXT column, then fill it for the rows held."""
    for added in ADDED_COLUMNS.get(kind, ()):
        if added.column in _columns(conn, added.table):
            continue
        conn.execute(f"ALTER TABLE {added.table} ADD COLUMN {added.column} TEXT")
        if added.fill:
            conn.execute(added.fill)
