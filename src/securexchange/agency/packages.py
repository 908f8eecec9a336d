"""The agency's record of issued packages: sequence numbers, files, record ids.

Tables (the home's state database)::

    agency_packages        one row per package issued: id, municipality (party id and
                           NIS code at the time), sequence number, SHA-256 of the whole
                           container, created_at, file name, the directory it was
                           published to, the package it supersedes, record and
                           recipient counts, and whether the file has been published
    agency_package_records which record id went to which package, with the agency's
                           client id and the record's retention deadline (for checking
                           returns and for the agency report)

``UNIQUE (party_id, sequence)`` makes it impossible to store two packages with one
sequence number for one municipality. A package row is inserted only together with
every other package of its export, in one transaction, after its file was staged
(``HOME/outbox/<id>.sxpkg``, fsynced): see docs/architecture.md, "Export atomicity".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from securexchange.home.home import Home

OUTBOX = "outbox"
STAGED_SUFFIX = ".sxpkg"


def outbox(home: Home) -> Path:
    """Where packages wait between staging and publication (inside the home)."""
    return home.paths.root / OUTBOX


def staged_path(home: Home, package_id: str) -> Path:
    return outbox(home) / f"{package_id}{STAGED_SUFFIX}"


@dataclass(frozen=True)
class IssuedPackage:
    package_id: str
    party_id: str
    nis: str
    sequence: int
    sha256: str
    created_at: str
    file_name: str
    out_dir: str
    supersedes: str | None
    records: int
    recipients: int
    published: bool


@dataclass(frozen=True)
class PackageRecord:
    record_id: str
    client_id: str
    retention: date


_COLUMNS = (
    "id, party_id, nis, sequence, sha256, created_at, file_name, out_dir, supersedes, "
    "records, recipients, published"
)


def _issued(row: Sequence[object]) -> IssuedPackage:
    (pid, party, nis, seq, sha, created, name, out, sup, records, recipients, published) = row
    return IssuedPackage(
        package_id=str(pid),
        party_id=str(party),
        nis=str(nis),
        sequence=int(str(seq)),
        sha256=str(sha),
        created_at=str(created),
        file_name=str(name),
        out_dir=str(out),
        supersedes=None if sup is None else str(sup),
        records=int(str(records)),
        recipients=int(str(recipients)),
        published=bool(published),
    )


def latest(home: Home, party_id: str) -> IssuedPackage | None:
    """The package with the highest sequence number for a municipality, if any."""
    row = home.db.execute(
        f"SELECT {_COLUMNS} FROM agency_packages WHERE party_id = ? "  # noqa: S608
        "ORDER BY sequence DESC LIMIT 1",
        (party_id,),
    ).fetchone()
    return None if row is None else _issued(row)


def issued(home: Home, *, party_id: str | None = None) -> list[IssuedPackage]:
    """Every package issued (for one municipality), in order of municipality and sequence."""
    if party_id is None:
        rows = home.db.execute(
            f"SELECT {_COLUMNS} FROM agency_packages ORDER BY nis, sequence"  # noqa: S608
        ).fetchall()
    else:
        rows = home.db.execute(
            f"SELECT {_COLUMNS} FROM agency_packages WHERE party_id = ? "  # noqa: S608
            "ORDER BY sequence",
            (party_id,),
        ).fetchall()
    return [_issued(r) for r in rows]


def unpublished(home: Home) -> list[IssuedPackage]:
    rows = home.db.execute(
        f"SELECT {_COLUMNS} FROM agency_packages WHERE published = 0 "  # noqa: S608
        "ORDER BY nis, sequence"
    ).fetchall()
    return [_issued(r) for r in rows]


def package_records(home: Home, package_id: str) -> list[PackageRecord]:
    """The records a package carried (record id, client id, retention deadline)."""
    rows = home.db.execute(
        "SELECT record_id, client_id, retention FROM agency_package_records "
        "WHERE package_id = ? ORDER BY record_id",
        (package_id,),
    ).fetchall()
    return [PackageRecord(str(r), str(c), date.fromisoformat(str(d))) for r, c, d in rows]


def insert(home: Home, package: IssuedPackage, records: Iterable[PackageRecord]) -> None:
    """Store one issued package and its records; call inside the export's transaction."""
    home.db.execute(
        f"INSERT INTO agency_packages ({_COLUMNS}) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            package.package_id,
            package.party_id,
            package.nis,
            package.sequence,
            package.sha256,
            package.created_at,
            package.file_name,
            package.out_dir,
            package.supersedes,
            package.records,
            package.recipients,
            int(package.published),
        ),
    )
    home.db.executemany(
        "INSERT INTO agency_package_records (package_id, record_id, client_id, retention) "
        "VALUES (?, ?, ?, ?)",
        ((package.package_id, r.record_id, r.client_id, r.retention.isoformat()) for r in records),
    )


def mark_published(home: Home, package_id: str, out_dir: str) -> None:
    """Record that the package's file is in ``out_dir`` (inside a transaction)."""
    home.db.execute(
        "UPDATE agency_packages SET published = 1, out_dir = ? WHERE id = ?",
        (out_dir, package_id),
    )
