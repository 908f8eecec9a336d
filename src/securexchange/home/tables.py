"""The tables of each kind of home, in one place, created by ``open_home``.

Every table an agency or a municipal home holds is declared here (those of the
protocol's operations in :mod:`securexchange.home.protocol_tables`), grouped by the
module that owns its rows, and :func:`apply` creates what a home lacks in one transaction when
the home is opened (and when it is made). No workflow creates a table of its own, so a
command never finds a table missing and a new table is one entry here.

A column added to a table later is declared in its CREATE here and listed in
:mod:`securexchange.home.added_columns`, which adds it to older homes. Upgrades of older
homes sit beside the tables they concern (:func:`apply` reports which
tables it had to create, so the home can tell a fresh home from an old one).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping

from securexchange.home import added_columns, legacy_upgrade, protocol_tables, statedb

# agency/registry.py
_AGENCY_REGISTRY = """
CREATE TABLE IF NOT EXISTS agency_municipalities (
    party_id         TEXT PRIMARY KEY,
    nis              TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    protocol_id      TEXT NOT NULL UNIQUE,
    protocol_from    TEXT NOT NULL,
    protocol_until   TEXT NOT NULL,
    retention_months INTEGER NOT NULL,
    profiles         TEXT NOT NULL,
    terminated_on    TEXT,
    added_at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agency_recipients (
    party_id         TEXT NOT NULL REFERENCES agency_municipalities(party_id),
    fingerprint      TEXT NOT NULL,
    card             BLOB NOT NULL,
    card_created_at  TEXT NOT NULL,
    added_at         TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (party_id, fingerprint)
);
CREATE TABLE IF NOT EXISTS agency_keyrings (
    version    INTEGER NOT NULL,
    scope      TEXT NOT NULL,
    id         TEXT NOT NULL UNIQUE,
    issued_at  TEXT NOT NULL,
    document   BLOB NOT NULL,
    signature  TEXT NOT NULL,
    PRIMARY KEY (version, scope)
);
"""

# agency/packages.py
_AGENCY_PACKAGES = """
CREATE TABLE IF NOT EXISTS agency_packages (
    id          TEXT PRIMARY KEY,
    party_id    TEXT NOT NULL,
    nis         TEXT NOT NULL,
    sequence    INTEGER NOT NULL CHECK (sequence >= 1),
    sha256      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    out_dir     TEXT NOT NULL,
    supersedes  TEXT REFERENCES agency_packages(id),
    records     INTEGER NOT NULL,
    recipients  INTEGER NOT NULL,
    published   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (party_id, sequence)
);
CREATE TABLE IF NOT EXISTS agency_package_records (
    package_id  TEXT NOT NULL REFERENCES agency_packages(id),
    record_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    retention   TEXT NOT NULL,
    PRIMARY KEY (package_id, record_id)
);
CREATE INDEX IF NOT EXISTS agency_package_records_record
    ON agency_package_records (record_id);
"""

# agency/ledger.py
_AGENCY_LEDGER = """
CREATE TABLE IF NOT EXISTS ledger_deltas (
    delta_id        TEXT PRIMARY KEY,
    party_id        TEXT NOT NULL,
    signer          TEXT NOT NULL,
    sequence        INTEGER NOT NULL,
    content_sha256  TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    receipt         INTEGER NOT NULL UNIQUE,
    statuses        INTEGER NOT NULL,
    quality_reports INTEGER NOT NULL,
    conflicts       INTEGER NOT NULL,
    UNIQUE (signer, sequence)
);
CREATE TABLE IF NOT EXISTS ledger_status (
    party_id    TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    status      TEXT NOT NULL,
    signer      TEXT NOT NULL,
    changed_at  TEXT NOT NULL,
    received_at TEXT NOT NULL,
    delta_id    TEXT NOT NULL REFERENCES ledger_deltas(delta_id),
    PRIMARY KEY (party_id, record_id)
);
CREATE TABLE IF NOT EXISTS ledger_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    party_id    TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    status      TEXT NOT NULL,
    base        TEXT NOT NULL,
    previous    TEXT NOT NULL,
    conflict    INTEGER NOT NULL,
    signer      TEXT NOT NULL,
    changed_at  TEXT NOT NULL,
    received_at TEXT NOT NULL,
    delta_id    TEXT NOT NULL REFERENCES ledger_deltas(delta_id)
);
CREATE INDEX IF NOT EXISTS ledger_history_record ON ledger_history (party_id, record_id);
CREATE TABLE IF NOT EXISTS quality_reports (
    report_id   TEXT PRIMARY KEY,
    party_id    TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    field       TEXT NOT NULL,
    problem     TEXT NOT NULL,
    signer      TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    due_on      TEXT NOT NULL,
    delta_id    TEXT NOT NULL REFERENCES ledger_deltas(delta_id),
    outcome     TEXT,
    resolved_at TEXT,
    resolved_by TEXT,
    answered_in TEXT,
    answered_at TEXT
);
CREATE INDEX IF NOT EXISTS quality_reports_record ON quality_reports (party_id, record_id);
"""

# agency/clients.py
_AGENCY_CLIENTS = """
CREATE TABLE IF NOT EXISTS agency_client_versions (
    party_id TEXT NOT NULL,
    signer TEXT NOT NULL,
    version TEXT,
    seen_at TEXT NOT NULL,
    delta_id TEXT NOT NULL,
    PRIMARY KEY (party_id, signer)
);
"""

# agency/waiting.py
_AGENCY_WAITING = """
CREATE TABLE IF NOT EXISTS returns_waiting (
    signer          TEXT NOT NULL,
    sequence        INTEGER NOT NULL,
    delta_id        TEXT NOT NULL UNIQUE,
    party_id        TEXT NOT NULL,
    nis             TEXT NOT NULL,
    content_sha256  TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    container       BLOB NOT NULL,
    PRIMARY KEY (signer, sequence)
);
CREATE TABLE IF NOT EXISTS returns_skipped (
    signer      TEXT NOT NULL,
    sequence    INTEGER NOT NULL,
    skipped_at  TEXT NOT NULL,
    PRIMARY KEY (signer, sequence)
);
"""

# agency/terminate.py
_AGENCY_TERMINATE = """
CREATE TABLE IF NOT EXISTS agency_notices (
    notice_id   TEXT PRIMARY KEY,
    protocol_id TEXT NOT NULL,
    effective   TEXT NOT NULL,
    container   BLOB NOT NULL
);
"""

# agency/vouched.py: subkeys people pre-issued after enrolment, learnt from their returns
_AGENCY_VOUCHED = """
CREATE TABLE IF NOT EXISTS agency_subkeys (
    recipient     TEXT PRIMARY KEY,
    fingerprint   TEXT NOT NULL,
    party_id      TEXT NOT NULL,
    valid_from    TEXT NOT NULL,
    valid_until   TEXT NOT NULL,
    certification TEXT NOT NULL,
    source        TEXT NOT NULL,
    accepted_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS agency_subkeys_holder ON agency_subkeys (fingerprint);
"""

# municipality/enrolment.py
_MUNICIPALITY_ENROLMENT = """
CREATE TABLE IF NOT EXISTS municipal_keyrings (
    version     INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    sha256      TEXT NOT NULL,
    document    BLOB NOT NULL,
    signature   TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
"""

# municipality/vault.py
_MUNICIPALITY_VAULT = """
CREATE TABLE IF NOT EXISTS vault_packages (
    package_id      TEXT PRIMARY KEY,
    sequence        INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    protocol_id     TEXT NOT NULL,
    party_id        TEXT NOT NULL,
    municipality    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    imported_at     TEXT NOT NULL,
    import_deadline TEXT NOT NULL,
    valid_until     TEXT NOT NULL,
    records         INTEGER NOT NULL,
    demo            INTEGER NOT NULL,
    state           TEXT NOT NULL,
    shredded_at     TEXT
);
CREATE TABLE IF NOT EXISTS vault_data_keys (
    package_id TEXT PRIMARY KEY REFERENCES vault_packages(package_id),
    subkey     TEXT NOT NULL,
    wrapped    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS vault_records (
    package_id TEXT NOT NULL REFERENCES vault_packages(package_id),
    tag        TEXT NOT NULL,
    retention  TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    PRIMARY KEY (package_id, tag)
);
CREATE INDEX IF NOT EXISTS vault_records_retention ON vault_records(retention);
CREATE TABLE IF NOT EXISTS vault_edits (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    subkey      TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    made_at     TEXT NOT NULL,
    returned_in TEXT,
    returned_at TEXT,
    answered_in TEXT,
    answered_at TEXT
);
CREATE TABLE IF NOT EXISTS vault_compared (
    package_id TEXT PRIMARY KEY,
    previous   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vault_arrivals (
    package_id TEXT NOT NULL,
    tag        TEXT NOT NULL,
    PRIMARY KEY (package_id, tag)
);
CREATE TABLE IF NOT EXISTS vault_erased (
    digest TEXT PRIMARY KEY,
    until  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vault_workbooks (
    workbook_id TEXT PRIMARY KEY,
    package_id  TEXT NOT NULL,
    path        TEXT NOT NULL,
    written_at  TEXT NOT NULL,
    subkey      TEXT NOT NULL,
    expected    BLOB NOT NULL,
    harvest     BLOB,
    state       TEXT NOT NULL,
    problem     TEXT
);
CREATE TABLE IF NOT EXISTS vault_workbook_rows (
    workbook_id TEXT NOT NULL REFERENCES vault_workbooks(workbook_id),
    package_id  TEXT NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (workbook_id, tag)
);
CREATE TABLE IF NOT EXISTS vault_signed (
    package_id TEXT PRIMARY KEY REFERENCES vault_packages(package_id),
    container  BLOB NOT NULL
);
-- Live packages of a home made before vault_signed existed: no signed copy to hold
-- their clear columns to, so they are kept only until ``bound`` (the upgrade + 60 days,
-- a package's validity); the next package supersedes them long before.
CREATE TABLE IF NOT EXISTS vault_legacy (
    package_id TEXT PRIMARY KEY REFERENCES vault_packages(package_id),
    bound      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vault_signed_notices (
    protocol_id TEXT PRIMARY KEY,
    container   BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS vault_protocols (
    protocol_id TEXT PRIMARY KEY,
    notice_id   TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    effective   TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
"""

# municipality/digests.py
_MUNICIPALITY_DIGESTS = """
CREATE TABLE IF NOT EXISTS vault_workbook_digest_keys (
    workbook_id       TEXT PRIMARY KEY
                      REFERENCES vault_workbooks(workbook_id) ON DELETE CASCADE,
    key               BLOB NOT NULL,
    harvested_changes INTEGER,
    written_sha256    BLOB
);
CREATE TABLE IF NOT EXISTS vault_workbook_digests (
    workbook_id TEXT NOT NULL
                REFERENCES vault_workbooks(workbook_id) ON DELETE CASCADE,
    locator     BLOB NOT NULL,
    salt        BLOB NOT NULL,
    status      BLOB NOT NULL,
    quality     BLOB NOT NULL,
    PRIMARY KEY (workbook_id, locator)
);
"""

# municipality/subkeys.py
_MUNICIPALITY_SUBKEYS = """
CREATE TABLE IF NOT EXISTS vault_subkeys (
    recipient    TEXT PRIMARY KEY,
    file         TEXT NOT NULL,
    valid_from   TEXT NOT NULL,
    valid_until  TEXT NOT NULL,
    state        TEXT NOT NULL,          -- held | destroyed
    destroyed_at TEXT
);
-- Each subkey's certification by the person's signing key (issue 19): the signed
-- validity of a pre-issued subkey, which no keyring lists (municipality/bounds.py).
CREATE TABLE IF NOT EXISTS vault_subkey_certs (
    recipient     TEXT PRIMARY KEY,
    valid_from    TEXT NOT NULL,
    valid_until   TEXT NOT NULL,
    certification TEXT NOT NULL
);
"""

# Every home: key/value settings (the clock mark, the pinned root key, counters).
_SETTINGS = """
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# Each kind of home, by the value of its kind in home.json.
TABLES: Mapping[str, str] = {
    "agency": "".join(
        (
            _SETTINGS,
            _AGENCY_REGISTRY,
            _AGENCY_PACKAGES,
            _AGENCY_LEDGER,
            _AGENCY_CLIENTS,
            _AGENCY_WAITING,
            _AGENCY_TERMINATE,
            _AGENCY_VOUCHED,
            protocol_tables.AGENCY_PROTOCOL_TERMS,
            protocol_tables.AGENCY_ERASURES,
            protocol_tables.AGENCY_EVIDENCE,
            protocol_tables.INCIDENTS,
            protocol_tables.PROTOCOL_NOTICES,
        )
    ),
    "municipality": "".join(
        (
            _SETTINGS,
            _MUNICIPALITY_ENROLMENT,
            _MUNICIPALITY_VAULT,
            _MUNICIPALITY_DIGESTS,
            _MUNICIPALITY_SUBKEYS,
            protocol_tables.INCIDENTS,
            protocol_tables.PROTOCOL_NOTICES,
        )
    ),
}


_DECLARED = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)")


def declared(ddl: str) -> tuple[str, ...]:
    """The tables ``ddl`` creates, in order."""
    return tuple(_DECLARED.findall(ddl))


# Every vault table and every ledger table, named from their declarations above (tests
# compare them before and after a refusal).
VAULT_TABLES = tuple(t for t in declared(TABLES["municipality"]) if t.startswith("vault_"))
LEDGER_TABLES = declared(_AGENCY_LEDGER)


def _tables(conn: sqlite3.Connection) -> frozenset[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return frozenset(str(row[0]) for row in rows)


def apply(conn: sqlite3.Connection, kind: str) -> None:
    """Create the tables of a ``kind`` home that are missing, and the columns added to
    them since (:mod:`securexchange.home.added_columns`).

    One transaction: in autocommit mode every CREATE would be its own durable commit
    (a dozen fsyncs on a home's first command). On a home that has every table nothing
    is written, so nothing is synced.
    """
    before = _tables(conn)
    conn.executescript(f"BEGIN;\n{TABLES[kind]}")  # the transaction stays open
    try:
        added_columns.add_missing(conn, kind)
        if "vault_packages" in before and "vault_signed" not in before:
            statedb.set_setting(conn, legacy_upgrade.LEGACY_PENDING, "yes")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
