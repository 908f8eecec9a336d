"""Who is at the other end of a loopback connection, where the platform can tell.

On a terminal server every user shares 127.0.0.1: a port is no boundary between them.
On Linux the kernel lists each TCP socket with its owner's uid in ``/proc/net/tcp``
(and ``tcp6``); the client's socket is the one whose local end is the connection's
remote end (127.0.0.1, or ::ffff:127.0.0.1 for an IPv6 socket, and its port) and whose
remote end is ours. Both addresses count, not only the ports: any user may bind
127.0.0.1:X while the app's user holds some other socket from port X to a server on
our port number (another address), and that socket must not vouch for them. Elsewhere
(Windows, macOS) this module cannot tell and says so (None); the app then rests on its
session cookie, which only the user's own launch file could obtain
(docs/threat-model.md).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
_TIME_WAIT = "06"  # a closed connection's remnant: the kernel lists it as uid 0


def _endpoint(text: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int] | None:
    """``0100007F:1F90`` (the kernel prints each 32-bit word of the address in host
    byte order) as (address, port); an IPv4-mapped IPv6 address as its IPv4 one."""
    address, _, port = text.partition(":")
    if len(address) not in (8, 32) or not port:
        return None
    try:
        words = [int(address[i : i + 8], 16) for i in range(0, len(address), 8)]
        number = int(port, 16)
    except ValueError:
        return None
    packed = b"".join(w.to_bytes(4, sys.byteorder) for w in words)
    found = ipaddress.ip_address(packed)
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped, number
    return found, number


def owner_of(client_port: int, server_port: int) -> int | None:
    """The uid owning the client end of the loopback connection from 127.0.0.1:
    ``client_port`` to 127.0.0.1:``server_port``; None where this cannot be known (not
    Linux, or the socket is already gone)."""
    if not sys.platform.startswith("linux"):
        return None
    client, server = (LOOPBACK, client_port), (LOOPBACK, server_port)
    for table in _TABLES:
        try:
            lines = table.read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 8 or fields[3] == _TIME_WAIT:
                continue
            if _endpoint(fields[1]) == client and _endpoint(fields[2]) == server:
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
