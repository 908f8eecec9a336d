"""The subkeys people pre-issued after enrolment, as the agency learnt them (issue 19).

A person's home adds the subkeys of coming periods by itself (municipality/horizon.py)
and sends their public halves, each certified by the person's signing key, inside every
return (``ReturnBody.subkeys``). ``agency import-return`` verifies the return (the
signer is authorised in the current keyring: a removed person's returns, and with them
their subkeys, are refused) and keeps each new subkey here; no root key is involved.
An export encrypts to a person's subkey from the root-signed keyring or from here,
re-verifying every row against the identity the current keyring lists (an edited row is
refused, never used), and names the certified subkey in the package body, which the
export key signs, so the municipality and auditors can check it too.

Every row is public data (no personal data beyond the fingerprint the keyring names).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from securexchange.clock import format_instant, read_instant, utc
from securexchange.errors import Equivocation, Malformed
from securexchange.home.home import Home
from securexchange.i18n import _
from securexchange.keys.identity import PublicIdentity, Subkey
from securexchange.keys.vouching import REPORT_HINT, refuse_equivocation, vouch, with_vouched


def _row_subkey(row: tuple[object, ...]) -> Subkey:
    """A stored row as a subkey; an edited row that is no subkey at all is refused by
    name (Malformed), never skipped: a forged row must not pass unnoticed."""
    try:
        return Subkey(str(row[0]), _time(row[1]), _time(row[2]), str(row[3]))
    except (ValueError, Malformed):
        raise Malformed(
            _("the agency's list of keys for packages holds an edited entry"),
            hint=_(REPORT_HINT),
        ) from None


def _time(value: object) -> datetime:
    return read_instant(str(value), "agency_subkeys")


def _rows(home: Home, fingerprint: str) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in home.db.execute(
            "SELECT recipient, valid_from, valid_until, certification FROM agency_subkeys "
            "WHERE fingerprint = ? ORDER BY valid_from, recipient",
            (fingerprint,),
        )
    ]


def stored(home: Home, fingerprint: str) -> list[Subkey]:
    """The subkeys kept for the person with ``fingerprint`` (display form), unverified."""
    return [_row_subkey(r) for r in _rows(home, fingerprint)]


def _readable(home: Home, fingerprint: str) -> list[Subkey]:
    """:func:`stored`, leaving out rows that are no subkey at all (edited): they must
    not stop the agency from changing the keyring (removing someone, say); the export
    still refuses them by name."""
    found = []
    for row in _rows(home, fingerprint):
        try:
            found.append(_row_subkey(row))
        except Malformed:
            continue
    return found


def latest_until(home: Home) -> Mapping[str, datetime]:
    """For each person with kept subkeys, when the last of them ends (for reminders)."""
    rows = home.db.execute(
        "SELECT fingerprint, MAX(valid_until) FROM agency_subkeys GROUP BY fingerprint"
    ).fetchall()
    found: dict[str, datetime] = {}
    for fingerprint, until in rows:
        try:
            found[str(fingerprint)] = _time(until)
        except Malformed:
            continue  # an edited row: the export refuses it by name
    return found


def effective(home: Home, person: PublicIdentity, now: datetime) -> PublicIdentity:
    """``person`` as the root-signed keyring lists them, with the live subkeys kept for
    them here, each verified again (BadSignature for one they did not certify,
    Equivocation for a second key of one slot)."""
    return with_vouched(person, stored(home, person.fingerprint.display), now)


def accept(
    home: Home,
    person: PublicIdentity,
    *,
    party_id: str,
    subkeys: Iterable[Subkey],
    source: str,
) -> int:
    """Keep the live subkeys of ``subkeys`` that are new for ``person`` (an identity of
    the current keyring, the signer of a verified return ``source``); how many were new.

    Refused, nothing kept: one not certified by ``person`` (BadSignature), one that is a
    second key for a slot the keyring or an earlier return gave another key
    (Equivocation). Runs inside the caller's transaction.
    """
    now = utc(home.now)
    fingerprint = person.fingerprint.display
    known = [*person.subkeys, *_readable(home, fingerprint)]
    held = {s.recipient for s in known}
    fresh = [s for s in subkeys if s.valid_until > now and s.recipient not in held]
    if not fresh:
        return 0
    new = vouch(person, fresh, now=now)  # shape, certification, no slot of the keyring's
    refuse_equivocation(known, new)  # nor of an earlier return's
    for subkey in new:
        # One recipient, one person: a key of someone else's, certified again as one's
        # own, would have the agency encrypt one person's packages to another.
        (other,) = home.db.execute(
            "SELECT COUNT(*) FROM agency_subkeys WHERE recipient = ?", (subkey.recipient,)
        ).fetchone()
        if other:
            raise Equivocation(
                _("a key for packages is claimed by two people"), hint=_(REPORT_HINT)
            )
    for subkey in new:
        home.db.execute(
            "INSERT INTO agency_subkeys (recipient, fingerprint, party_id, valid_from, "
            "valid_until, certification, source, accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                subkey.recipient,
                fingerprint,
                party_id,
                format_instant(subkey.valid_from),
                format_instant(subkey.valid_until),
                subkey.certification,
                source,
                format_instant(now),
            ),
        )
    # Rows whose validity has ended are no use to an export any more.
    home.db.execute("DELETE FROM agency_subkeys WHERE valid_until <= ?", (format_instant(now),))
    return len(new)
