"""A keyring as an OpenSSH ``allowed_signers`` file, so that auditors can check every
signature with ``ssh-keygen -Y verify`` alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from securexchange import sshsig
from securexchange.artifacts.keyring import (
    EXPORT_NAMESPACES,
    ROOT_NAMESPACES,
    STAFF_NAMESPACES,
    Keyring,
)
from securexchange.fingerprint import Fingerprint


def _principal(fingerprint: Fingerprint) -> str:
    return fingerprint.display


def allowed_signers(keyring: Keyring) -> str:
    """An OpenSSH ``allowed_signers`` file for ``ssh-keygen -Y verify``.

    Principals are fingerprints (display form); comments name the role and NIS code,
    never a person. Root: keyring and log namespaces; export: package, notice and log
    namespaces (valid from its certification); staff: return and log namespaces, valid from the
    protocol's start to the day after its end (or its termination).
    """
    agency = keyring.agency
    lines = [
        f"# securexchange allowed signers, keyring version {keyring.version}",
        "# agency root key",
        sshsig.allowed_signers_line(
            _principal(agency.root_fingerprint), agency.root_key, namespaces=ROOT_NAMESPACES
        ),
        "# agency export key",
        sshsig.allowed_signers_line(
            _principal(agency.export.fingerprint),
            agency.export.signing_key,
            namespaces=EXPORT_NAMESPACES,
            valid_after=agency.export_certified_from,
        ),
    ]
    for entry in keyring.municipalities:
        start = datetime.combine(entry.protocol_from, time(), UTC)
        # The first day nobody may sign any more; none for a protocol that runs to the
        # end of the calendar (date.max has no day after it: no valid-before then).
        first_after = (
            None if entry.protocol_until >= date.max else (entry.protocol_until + timedelta(days=1))
        )
        if entry.terminated_on is not None:
            first_after = min(first_after or date.max, entry.terminated_on)
        end = None if first_after is None else datetime.combine(first_after, time(), UTC)
        if end is not None and end <= start:
            continue  # terminated before it began: nobody may sign for it
        for recipient in entry.recipients:
            lines.append(f"# {entry.nis} {recipient.owner.role}")
            lines.append(
                sshsig.allowed_signers_line(
                    _principal(recipient.fingerprint),
                    recipient.signing_key,
                    namespaces=STAFF_NAMESPACES,
                    valid_after=start,
                    valid_before=end,
                )
            )
    return "\n".join(lines) + "\n"
