"""Leaving the process without tearing the interpreter down.

A normal exit frees every object and module before the process ends: about 30 ms for
a municipal command's ~200 modules, a fifth of a short command's run and more than its
own work for ``shred`` (issue 22). Nothing of ours waits for that teardown: the state
database commits (rollback journal, never WAL) and closes, the home lock is released
and every file is written, fsynced and closed inside the command, before this runs.

So, once the command has returned: the standard streams are flushed, every ``atexit``
handler runs (what libraries register to run at exit still does), and the process
ends with ``os._exit``, as mypy's ``hard_exit`` does. Only when another non-daemon
thread is still running does the exit take the normal path, which waits for it.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from contextlib import suppress
from typing import NoReturn

# The status ``sys.exit`` gives a process for a message (a code that is not an int).
_MESSAGE_STATUS = 1


def status_of(code: str | int | None) -> int:
    """The exit status ``SystemExit(code)`` gives the process."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return _MESSAGE_STATUS


def _only_daemons_left() -> bool:
    current = threading.current_thread()
    return all(t is current or t.daemon for t in threading.enumerate())


def leave(code: str | int | None) -> NoReturn:
    """End the process with the status ``sys.exit(code)`` would give it."""
    if not _only_daemons_left():
        sys.exit(code)
    if isinstance(code, str):
        # Printed as sys.exit prints it (nothing where there is no stderr); from here
        # its status stands for it, so the normal exit below cannot print it twice.
        if sys.stderr is not None:
            with suppress(OSError, ValueError):
                sys.stderr.write(f"{code}\n")
        code = _MESSAGE_STATUS
    atexit._run_exitfuncs()
    try:
        # None where the process started without the stream (a scheduler that closed
        # it): the normal exit skips it, and so does this one.
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        # A closed or broken stream: the normal exit reports it and fails the same way.
        sys.exit(code)
    os._exit(status_of(code))
