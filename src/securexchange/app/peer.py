"""Who is at the other end of a loopback connection, where the platform can tell.

On a terminal server every user shares 127.0.0.1: a port is no boundary between them.
On Linux the kernel lists each TCP socket with its owner's uid in ``/proc/net/tcp``
(and ``tcp6``); the client's socket is the one whose local port is the connection's
remote port and whose remote port is ours. Elsewhere (Windows, macOS) this module
cannot tell and says so (None); the app then rests on its session cookie, which only
the user's own launch file could obtain (docs/threat-model.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


def _port(address: str) -> int:
    return int(address.rpartition(":")[2], 16)


def owner_of(client_port: int, server_port: int) -> int | None:
    """The uid owning the client end of a loopback connection; None where this cannot
    be known (not Linux, or the socket is already gone)."""
    if not sys.platform.startswith("linux"):
        return None
    for table in _TABLES:
        try:
            lines = table.read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 8:
                continue
            if _port(fields[1]) == client_port and _port(fields[2]) == server_port:
                return int(fields[7])
    return None


def can_tell() -> bool:
    return sys.platform.startswith("linux")


def same_user(client_port: int, server_port: int) -> bool:
    """False when the platform can tell and the client is another user (or unknown)."""
    if not can_tell():
        return True
    owner = owner_of(client_port, server_port)
    return owner is not None and owner == os.geteuid()
