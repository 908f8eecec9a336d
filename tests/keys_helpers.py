"""Building agency and municipal homes fast for the key tests (low scrypt work factor).

Real homes made here use scrypt work factor 2 through the library's ``work_factor``
argument (the CLI never goes below 18 outside demo homes), so that opening a key file in
a test costs milliseconds; one CLI test creates a home at the real factor.
"""

from __future__ import annotations

import os
import pty
import select
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from securexchange.agency.changes import AgencyInit, add_municipality, init_agency
from securexchange.home import statedb
from securexchange.home.atomicio import atomic_write
from securexchange.home.home import HomeKind, open_home
from securexchange.keys.card import make_card
from securexchange.keys.identity import Identity, Owner, generate_identity, period_end
from securexchange.keys.keystore import KeySource
from securexchange.municipality.enrolment import MunicipalInit, init_municipality

FAST = 2
ROOT_PASS = b"correct horse root"
EXPORT_PASS = b"correct horse export"
STAFF_PASS = b"correct horse staff"
FAR_FUTURE = date(2099, 12, 31)


def passphrase_file(directory: Path, name: str, value: bytes) -> Path:
    path = directory / name
    path.write_bytes(value + b"\n")
    path.chmod(0o600)
    return path


def make_agency(root: Path, *, demo: bool = False) -> AgencyInit:
    return init_agency(
        root,
        env={},
        name="Agentschap Integratie en Inburgering",
        demo=demo,
        root_passphrase=ROOT_PASS if not demo else b"securexchange-demo",
        export_passphrase=EXPORT_PASS if not demo else b"securexchange-demo",
        work_factor=FAST,
    )


def root_key_source(agency: Path, passphrase: bytes = ROOT_PASS) -> KeySource:
    return KeySource(agency / "keys" / "root.key", lambda: passphrase, work_factor=FAST)


def register(
    agency: Path,
    nis: str = "11002",
    *,
    profiles: list[str] | None = None,
    protocol_from: date | None = None,
    protocol_until: date = FAR_FUTURE,
) -> str:
    with open_home(agency, env={}, expect=HomeKind.AGENCY) as home:
        entry, _ = add_municipality(
            home,
            root_key_source(agency),
            nis=nis,
            name="Antwerpen",
            protocol_until=protocol_until,
            protocol_from=protocol_from,
            profiles=profiles,
        )
    return entry.party_id


def make_staff(
    root: Path,
    agency: Path,
    *,
    nis: str = "11002",
    name: str = "An Peeters",
    role: str = "integratiebeambte",
    demo: bool = False,
) -> MunicipalInit:
    return init_municipality(
        root,
        env={},
        nis=nis,
        name=name,
        role=role,
        agency_card=(agency / "keys" / "root.card.json").read_bytes(),
        passphrase=lambda: STAFF_PASS if not demo else b"securexchange-demo",
        demo=demo,
        work_factor=FAST,
    )


def age_decrypt_with_passphrase(age_bin: str, path: Path, passphrase: bytes) -> tuple[int, bytes]:
    """Run the real ``age -d FILE`` in a pseudo-terminal (age reads passphrases only
    from a terminal) and type ``passphrase``; returns the exit code and all output."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execv(age_bin, [age_bin, "-d", str(path)])
    output = b""
    typed = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not typed and b"passphrase" in output.lower():
                os.write(fd, passphrase + b"\r")
                typed = True
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


# --- homes as made before the post-quantum transition (issue 18) ------------------------


def classic_identity(owner: Owner, now: datetime, *, demo: bool = False) -> Identity:
    """An identity as made before issue 18: one classic (X25519) subkey for the current
    period and no hybrid one (a test helper, never a production option)."""
    identity = generate_identity(owner, now=now, subkeys=False, demo=demo)
    return identity.add_subkey(now, period_end(now), post_quantum=False)


def make_classic_staff(
    root: Path,
    agency: Path,
    *,
    nis: str = "11002",
    name: str = "An Peeters",
    role: str = "integratiebeambte",
    demo: bool = False,
    env: Mapping[str, str] | None = None,
) -> MunicipalInit:
    """A municipal home whose key holds classic subkeys only, as a home made before the
    post-quantum transition does: made as usual, then its subkeys replaced by one classic
    subkey for the current period (split out into its file, as the home does itself)."""
    from securexchange.municipality import subkeys

    made = make_staff(root, agency, nis=nis, name=name, role=role, demo=demo)
    secret = STAFF_PASS if not demo else b"securexchange-demo"
    with open_home(root, env=dict(env or {}), expect=HomeKind.MUNICIPALITY) as home:
        source = KeySource(home.paths.keys / "identity.key", lambda: secret, work_factor=FAST)
        identity = source.unlock()
        for held in subkeys.listed(home):
            (subkeys.subkey_dir(home) / held.file).unlink()
        with statedb.transaction(home.db):
            home.db.execute("DELETE FROM vault_subkeys")
        old = replace(identity, subkeys=(), split_subkeys=()).add_subkey(
            home.now, period_end(home.now), post_quantum=False
        )
        source.store(old)
        atomic_write(made.card, make_card(old, now=home.now), mode=0o644)
        subkeys.split_out(home, source)
    return made
