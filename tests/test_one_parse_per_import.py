"""An import reads each container once: a municipality's package (its keyring verified
once too), the agency's returns.

Counted by wrapping the real functions (the strict ZIP reader, the SSHSIG verifier):
nothing is replaced, every check still runs on the real bytes. The shred every command
ends with re-reads the signed copies the vault holds (municipality/bounds.py: a row
edited in the database between commands must not move a deadline); that is the shred's
own check, not the import's, and is not counted.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from municipal_flows import make_package, make_world, person
from return_flows import agency_export_source, demo_source, make_channel, seal_delta, status
from securexchange import sshsig
from securexchange.agency.returns import import_returns
from securexchange.artifacts import keyring, zipstrict
from securexchange.artifacts.container import ReadContainer, read_container, read_members
from securexchange.artifacts.manifest import KEYRING, MANIFEST
from securexchange.artifacts.package_open import PackageTrust, open_package
from securexchange.errors import InternalError, Malformed
from securexchange.home.home import HomeKind, open_home
from securexchange.municipality.enrolment import pinned_root_key
from securexchange.municipality.importer import import_files

FAR = date.today() + timedelta(days=400)


def _counting(
    monkeypatch: pytest.MonkeyPatch, module: object, name: str, key: Callable[..., str]
) -> list[str]:
    seen: list[str] = []
    real = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not any(Path(frame.filename).name == "bounds.py" for frame in inspect.stack()):
            seen.append(key(*args, **kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return seen


def test_a_package_import_parses_the_container_once_and_verifies_its_keyring_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR), person(2, FAR)])
    members = read_members(made.data)
    reads = _counting(
        monkeypatch, zipstrict, "read", lambda data, *a, **k: hashlib.sha256(data).hexdigest()
    )
    verified = _counting(
        monkeypatch, sshsig, "verify", lambda sig, message, namespace, key: bytes(message)
    )
    # This process verified the same keyring while the package was made: a command
    # starts with nothing kept (artifacts/keyring.py).
    keyring._verified.cache_clear()
    with open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        done = import_files(home, [made.path], demo_source(world.staff / "keys" / "identity.key"))
    assert [item.records for item in done] == [2]
    assert reads.count(made.sha256) == 1
    assert verified.count(members[KEYRING]) == 1  # the keyring view the package carries
    assert verified.count(members[MANIFEST]) == 1


def test_a_return_import_parses_each_return_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = make_channel(tmp_path)
    record = "R-AAAAAAAAAAAAAAAAAAAA"
    name, data = seal_delta(channel.staff, [status(record)])
    digest = hashlib.sha256(data).hexdigest()
    reads = _counting(
        monkeypatch, zipstrict, "read", lambda data, *a, **k: hashlib.sha256(data).hexdigest()
    )
    with open_home(channel.agency, env={}, expect=HomeKind.AGENCY) as home:
        result = import_returns(
            home,
            agency_export_source(channel.agency),
            [(name, data)],
            sent_records=lambda _home, _party: frozenset({record}),
        )
    assert [r.statuses for r in result.results] == [1]
    assert reads.count(digest) == 1


def test_a_read_container_is_made_only_by_read_container(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    read = read_container(made.data)
    with pytest.raises(InternalError):
        ReadContainer(read.data, read.members, read.limits)


def test_a_container_read_with_looser_caps_is_not_verified_under_tighter_ones(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, FAR)])
    with open_home(world.staff, env={}, expect=HomeKind.MUNICIPALITY) as home:
        root = pinned_root_key(home)
    with pytest.raises(Malformed):  # read with the tighter caps themselves: refused
        open_package(made.data, trust=PackageTrust(root), identities=None, max_payload=1000)
    with pytest.raises(InternalError):  # read with looser caps first: never accepted
        open_package(
            read_container(made.data), trust=PackageTrust(root), identities=None, max_payload=1000
        )
