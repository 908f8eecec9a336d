"""Run a piece of Python in a child process under hard time and memory limits.

Hostile-input tests use it to prove a refusal is cheap: the child gets ``mem`` bytes of
address space (RLIMIT_AS, so an attempt to allocate more fails inside the child instead
of swapping the machine) and ``timeout`` seconds of wall time (``subprocess`` raises
``TimeoutExpired`` past it). The code typically builds the hostile input itself (so a
10 MB sample need not travel through argv), calls the library and prints what it got.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

_PRELUDE = """\
import resource
resource.setrlimit(resource.RLIMIT_AS, ({mem}, {mem}))
"""


def run_limited(
    code: str, timeout: float = 5, mem: int = 256 << 20
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (dedented) with ``sys.executable -c``; stdout and stderr as text."""
    return subprocess.run(
        [sys.executable, "-c", _PRELUDE.format(mem=mem) + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
