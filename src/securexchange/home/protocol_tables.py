"""The state tables of the protocol's operations (issue 20): incident registers, a
protocol's terms, erasures, written notices, reports of measures. Declared here, put in
each home by :mod:`securexchange.home.tables` (which names the kinds of home)."""

from __future__ import annotations

# incidents/register.py (both kinds of home: GDPR art. 33(5))
INCIDENTS = """
CREATE TABLE IF NOT EXISTS incident_register (
    incident_id    TEXT PRIMARY KEY,
    nis            TEXT NOT NULL,
    party_id       TEXT NOT NULL,
    reporter       TEXT NOT NULL,
    ours           INTEGER NOT NULL,
    discovered_at  TEXT NOT NULL,
    aware_at       TEXT NOT NULL,
    agency_due     TEXT,
    authority_due  TEXT NOT NULL,
    opened_at      TEXT NOT NULL,
    closed_at      TEXT,
    last_sequence  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS incident_notices (
    notice_id    TEXT PRIMARY KEY,
    incident_id  TEXT NOT NULL REFERENCES incident_register(incident_id),
    sequence     INTEGER NOT NULL,
    phase        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    container    BLOB NOT NULL,
    UNIQUE (incident_id, sequence)
);
"""

# agency/protocol_end.py: a protocol's reference, the one it renews, why it ends (the
# keyring's format-3 fields; a row only for a municipality that has any)
AGENCY_PROTOCOL_TERMS = """
CREATE TABLE IF NOT EXISTS agency_protocol_terms (
    party_id      TEXT PRIMARY KEY REFERENCES agency_municipalities(party_id),
    protocol_ref  TEXT,
    renews        TEXT,
    ending        TEXT
);
"""

# agency/erasures.py: data subjects erased (GDPR art. 17), by a keyed digest of the
# client id, never the id; and, per municipality that received them, the record id
# the next packages carry as an erasure instruction until nothing can be held there.
AGENCY_ERASURES = """
CREATE TABLE IF NOT EXISTS agency_erased_clients (
    digest       TEXT PRIMARY KEY,
    reason       TEXT NOT NULL,
    requested_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agency_erasures (
    party_id     TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    digest       TEXT NOT NULL REFERENCES agency_erased_clients(digest),
    held_until   TEXT NOT NULL,
    carried_in   TEXT,
    PRIMARY KEY (party_id, record_id)
);
"""

# ending/register.py (both kinds of home): written notices (art. 5) and receipts
PROTOCOL_NOTICES = """
CREATE TABLE IF NOT EXISTS protocol_notices (
    notice_id    TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    given_by     TEXT NOT NULL,
    ours         INTEGER NOT NULL,
    party_id     TEXT NOT NULL,
    protocol_id  TEXT NOT NULL,
    decision     TEXT,
    answers      TEXT,
    received_on  TEXT,
    effective    TEXT,
    created_at   TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    container    BLOB NOT NULL
);
"""

# agency/evidence.py: the municipalities' reports of measures (art. 6), as they came
AGENCY_EVIDENCE = """
CREATE TABLE IF NOT EXISTS agency_evidence (
    evidence_id  TEXT PRIMARY KEY,
    party_id     TEXT NOT NULL,
    nis          TEXT NOT NULL,
    signer       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    container    BLOB NOT NULL
);
"""
