"""Which subkey of each person a file is encrypted to now (packages, incident notices).

age never mixes hybrid post-quantum and classic recipients in one file, and a hybrid
subkey cannot read a classic stanza. So when every person with a subkey valid now holds
a hybrid one, the file is hybrid only; otherwise it is classic only, each to the
person's classic subkey valid now (a hybrid holder's classic companion), and the people
without a hybrid subkey are named as holding the file back (docs/architecture.md,
issue 18). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from securexchange.keys.identity import PublicIdentity, Subkey


@dataclass(frozen=True)
class Reach:
    chosen: tuple[tuple[PublicIdentity, Subkey], ...]  # in the order given
    held_back: tuple[PublicIdentity, ...]  # reachable, but without a hybrid subkey


def reach(people: Iterable[PublicIdentity], now: datetime) -> Reach:
    """The subkey each of ``people`` gets a file made ``now`` with; people without a
    subkey of the chosen kind are left out."""
    reachable = [p for p in people if p.subkey_at(now) is not None]
    held_back = tuple(p for p in reachable if p.subkey_at(now, post_quantum=True) is None)
    chosen = []
    for person in reachable:
        subkey = person.subkey_at(now, post_quantum=not held_back)
        if subkey is not None:
            chosen.append((person, subkey))
    return Reach(tuple(chosen), held_back)
