"""``agency erase``: a data subject's erasure carried to every municipality (GDPR art. 17, 19).

The agency reads the Klant-ID from stdin (never argv, never a log) and records:

* in ``agency_erased_clients``: a keyed digest of the id (the pseudonym key,
  :func:`securexchange.pseudonym.erased_client_digest`) and the reason, from a closed
  list. Every later export leaves the client out, whatever the master still holds;
* in ``agency_erasures``: per municipality that ever received the person, the record id
  it knows them by and the latest retention deadline it was sent. Every package to that
  municipality made up to that day carries the id as an erasure instruction (in the
  encrypted content, :mod:`securexchange.artifacts.erasure_frame`): a municipality that
  skipped a package still gets it with the next one, and after that day its client has
  shredded the record on its own;
* the link from record id to Klant-ID in the export's record table is cut: what remains
  at the agency is the record id and the digest, enough to answer a later request by the
  same person (``agency subject``) and to prove the erasure, not to name them.

The log entry counts people and municipalities only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from securexchange import pseudonym, schema
from securexchange.agency.pseudonym_key import pseudonym_key_for_lookup
from securexchange.artifacts.erasure_frame import MAX_ERASURES
from securexchange.clock import format_instant
from securexchange.errors import UsageError
from securexchange.home import statedb
from securexchange.home.home import Home
from securexchange.home.log_entries import Action

# GDPR art. 17(1)(c) and 21 (objection), art. 16 (a record to be put right by removing
# it), art. 17(1)(a) (no longer needed), and the other grounds of art. 17(1).
REASONS = ("objection", "rectification", "no-longer-needed", "other-legal-ground")
MAX_CLIENTS = 1000  # one request is one person; a batch stays a batch of requests


@dataclass(frozen=True)
class ErasureResult:
    people: int  # newly erased
    already: int  # erased before: nothing changed for them
    municipalities: int  # instructions newly queued (one per municipality and person)
    # Newly erased ids that no package ever carried: a typing error, or a person the
    # agency keeps from being shared at all (left out of every later export either way).
    never_shared: int = 0


@dataclass(frozen=True)
class Instruction:
    party_id: str
    record_id: str
    held_until: date
    carried_in: str | None


def read_client_ids(text: str) -> tuple[str, ...]:
    """The Klant-IDs of ``text`` (stdin): one per line, blank lines ignored. UsageError
    for a line that is not one; the message never repeats what was typed."""
    ids: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        value = line.strip()
        if not value:
            continue
        if schema.KLANT_ID.problem(value):
            raise UsageError(
                f"line {number} of the input is not a Klant-ID",
                hint="give one Klant-ID per line on stdin",
            )
        if value not in ids:
            ids.append(value)
    if not ids:
        raise UsageError("no Klant-ID on stdin", hint="e.g. echo KLANT-ID | securexchange ...")
    if len(ids) > MAX_CLIENTS:
        raise UsageError(f"at most {MAX_CLIENTS} Klant-IDs at once")
    return tuple(ids)


def check_reason(reason: str) -> str:
    if reason not in REASONS:
        raise UsageError(
            "the reason is not one of the erasure reasons", hint="use " + ", ".join(REASONS)
        )
    return reason


def digest_of(home: Home, client_id: str) -> str:
    key = pseudonym_key_for_lookup(home)
    return pseudonym.erased_client_digest(key, client_id)


def erased_digests(home: Home) -> frozenset[str]:
    """Every erased client's digest, for the export to leave them out."""
    return frozenset(str(d) for (d,) in home.db.execute("SELECT digest FROM agency_erased_clients"))


def erase(home: Home, client_ids: Sequence[str], reason: str) -> ErasureResult:
    """Erase ``client_ids`` (see the module doc); one transaction, one log entry."""
    check_reason(reason)
    key = pseudonym_key_for_lookup(home)
    now = format_instant(home.now)
    people = already = municipalities = never_shared = 0
    with statedb.transaction(home.db):
        for client_id in client_ids:
            digest = pseudonym.erased_client_digest(key, client_id)
            inserted = home.db.execute(
                "INSERT OR IGNORE INTO agency_erased_clients (digest, reason, requested_at) "
                "VALUES (?, ?, ?)",
                (digest, reason, now),
            ).rowcount
            if not inserted:
                already += 1
                continue
            people += 1
            received = home.db.execute(
                "SELECT p.party_id, r.record_id, MAX(r.retention) FROM agency_package_records r "
                "JOIN agency_packages p ON p.id = r.package_id WHERE r.client_id = ? "
                "GROUP BY p.party_id, r.record_id",
                (client_id,),
            ).fetchall()
            never_shared += not received
            for party_id, record_id, held_until in received:
                municipalities += home.db.execute(
                    "INSERT OR IGNORE INTO agency_erasures "
                    "(party_id, record_id, digest, held_until) VALUES (?, ?, ?, ?)",
                    (party_id, record_id, digest, held_until),
                ).rowcount
            home.db.execute(
                "UPDATE agency_package_records SET client_id = '' WHERE client_id = ?",
                (client_id,),
            )
        home.record(
            Action.ERASE,
            counts={
                "people": people,
                "already": already,
                "municipalities": municipalities,
                "never_shared": never_shared,
            },
        )
    return ErasureResult(people, already, municipalities, never_shared)


def erased_records(home: Home, party_id: str) -> frozenset[str]:
    """The record ids of erased people at one municipality (returns drop entries about
    them)."""
    return frozenset(
        str(r)
        for (r,) in home.db.execute(
            "SELECT record_id FROM agency_erasures WHERE party_id = ?", (party_id,)
        )
    )


def instructions_for(home: Home, party_id: str, today: date) -> tuple[str, ...]:
    """The record ids a package to ``party_id`` made ``today`` carries: every erasure
    whose record the municipality may still hold (sorted, as the frame wants them). More
    than one package holds: those never sent go first, so each is carried at least once."""
    rows = home.db.execute(
        "SELECT record_id FROM agency_erasures WHERE party_id = ? AND held_until >= ? "
        "ORDER BY carried_in IS NOT NULL, held_until, record_id LIMIT ?",
        (party_id, today.isoformat(), MAX_ERASURES),
    ).fetchall()
    return tuple(sorted(str(r) for (r,) in rows))


def note_carried(home: Home, party_id: str, record_ids: Sequence[str], package_id: str) -> None:
    """Remember the first package that carried each instruction (inside the export's
    transaction); later packages carry it too, until ``held_until``."""
    home.db.executemany(
        "UPDATE agency_erasures SET carried_in = ? "
        "WHERE party_id = ? AND record_id = ? AND carried_in IS NULL",
        ((package_id, party_id, r) for r in record_ids),
    )


def instructions_of(home: Home, digest: str) -> tuple[Instruction, ...]:
    """The instructions made for one erased client, for ``agency subject``."""
    rows = home.db.execute(
        "SELECT party_id, record_id, held_until, carried_in FROM agency_erasures "
        "WHERE digest = ? ORDER BY party_id",
        (digest,),
    ).fetchall()
    return tuple(
        Instruction(str(p), str(r), date.fromisoformat(str(h)), None if c is None else str(c))
        for p, r, h, c in rows
    )


def erased_on(home: Home, digest: str) -> tuple[str, str] | None:
    """(reason, requested_at) of an erased client, or None."""
    row = home.db.execute(
        "SELECT reason, requested_at FROM agency_erased_clients WHERE digest = ?", (digest,)
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))
