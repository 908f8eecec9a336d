"""Windows: no POSIX-only call without a Windows branch, and no Windows-only call without a
POSIX one (issue 21; docs/guides/windows-it.md, "What differs on Windows").

Every module of the package is parsed (tests/platform_scan.py; nothing is imported or
run), and each name that one of the two systems lacks must sit in code that runs on the
other one only: ``os.geteuid``, ``os.O_NOFOLLOW``, ``fcntl``, ``/proc/...``, a
``dir_fd=`` call, a descriptor-only function of safefs. A call of ``os.open`` that may
run on Windows must carry ``O_BINARY``: Windows opens a descriptor in text mode unless
told otherwise (a Ctrl-Z byte ends a read, CR LF becomes LF, LF becomes CR LF).

Then the Windows branches themselves run here, on real files, with the one flag that
selects them switched (``safefs.FD_RELATIVE``): they must keep the same promises as the
POSIX ones (no link followed, leftovers overwritten before they go).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from package_graph import package_modules
from platform_scan import POSIX_ONLY_FUNCTIONS, problems
from securexchange.errors import UnsafeHome
from securexchange.home import atomicio, safefs
from securexchange.municipality import damaged


def _package() -> dict[str, str]:
    return {module: path.read_text(encoding="utf-8") for module, path in package_modules()}


def _scan(source: str) -> list[str]:
    return [p.split(": ", 1)[1] for p in problems({"snippet": source})]


# --- the package ------------------------------------------------------------------------


def test_no_platform_only_call_runs_without_a_branch_for_the_other_platform() -> None:
    assert problems(_package()) == []


def test_the_posix_only_functions_named_by_the_scan_still_exist() -> None:
    sources = _package()
    for module, functions in POSIX_ONLY_FUNCTIONS.items():
        tree = ast.parse(sources[module])
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert functions <= defined, module


# --- the scan finds what it should, and only that ---------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import os\nos.geteuid()",
        "import os\nflags = os.O_RDONLY | os.O_NOFOLLOW",
        "import fcntl",
        "def f():\n    import pwd",
        "import signal\nsignal.alarm(3)",
        "from pathlib import Path\nPath('/proc/self/status').read_text()",
        "import os\nos.unlink('x', dir_fd=3)",
        "import os\nos.open('x', os.O_RDONLY)",
        "import os\nif os.name == 'nt':\n    os.fchmod(3, 0o600)",
        "import os\nif os.name != 'nt':\n    pass\nelse:\n    os.getuid()",
        "import os\nPOSIX = os.name != 'nt'\nif POSIX or os.getuid() == 0:\n    pass",
        "import os\ndef f(fd):\n    return os.listdir(fd)",
        "from securexchange.home import safefs\nsafefs.open_dir('/x')",
        "import os\nos.startfile('a.xlsx')",
        "import socket\nsocket.SO_PEERCRED",
        "import os, sys\nif sys.platform != 'linux':\n    os.getuid()",
    ],
)
def test_the_scan_finds_a_platform_only_name_outside_its_platform(source: str) -> None:
    assert _scan(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "import os\nif os.name != 'nt':\n    os.geteuid()",
        "import os\nif os.name == 'nt':\n    pass\nelse:\n    os.geteuid()",
        "import os\ndef f():\n    if os.name == 'nt':\n        return\n    os.fchmod(3, 0o600)",
        "import os\nPOSIX = os.name != 'nt'\nok = POSIX and os.geteuid() == 0",
        "import os\nNOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)\nflags = os.O_RDONLY | NOFOLLOW",
        "import os\nif hasattr(os, 'fchmod'):\n    os.fchmod(3, 0o600)",
        "import sys\nif sys.platform == 'win32':\n    import msvcrt",
        "import os\nx = os.getuid() if os.name == 'posix' else 0",
        "import os\nos.open('x', os.O_RDONLY | getattr(os, 'O_BINARY', 0))",
        "import os\ndef f():\n    flags = os.O_RDONLY\n    flags |= getattr(os, 'O_BINARY', 0)\n"
        "    return os.open('x', flags)",
        "import os, sys\nfrom pathlib import Path\nT = Path('/proc/net/tcp')\n"
        "def can():\n    return sys.platform.startswith('linux')\n"
        "def f():\n    if not can():\n        return None\n    return T.read_text(), os.geteuid()",
        "import os\ndef f():\n    if not FD_RELATIVE:\n        try:\n            return 1\n"
        "        except OSError:\n            return 2\n    return os.listdir(fd)\n"
        "FD_RELATIVE = os.name != 'nt' and os.open in os.supports_dir_fd",
    ],
)
def test_the_scan_accepts_a_platform_only_name_inside_its_branch(source: str) -> None:
    assert _scan(source) == []


# --- the Windows branches, run here on real files --------------------------------------


@pytest.fixture
def by_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the branches Windows takes (no directory descriptors): paths and lstat."""
    monkeypatch.setattr(safefs, "FD_RELATIVE", False)


# Symbolic links need administrator rights or developer mode on Windows itself.
LINKS = pytest.mark.skipif(os.name == "nt", reason="symbolic links, on POSIX")


def test_a_real_directory_chain_is_accepted_by_path(tmp_path: Path) -> None:
    (tmp_path / "keys" / "subkeys").mkdir(parents=True)
    assert safefs.check_dirs(tmp_path, ["keys", "subkeys"]) == tmp_path / "keys" / "subkeys"


@LINKS
def test_a_linked_directory_below_the_trusted_one_is_refused_by_path(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "keys").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafeHome):
        safefs.check_dirs(tmp_path / "home", ["keys"])


def test_a_missing_directory_is_told_apart_from_a_link_by_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        safefs.check_dirs(tmp_path, ["gone"])


@LINKS
@pytest.mark.usefixtures("by_path")
def test_the_path_shredder_never_follows_a_linked_directory(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "sk-1.key"
    victim.write_bytes(b"not the tool's to touch")
    home = tmp_path / "home"
    home.mkdir()
    (home / "keys").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafeHome):
        safefs.shred(home, ["keys", "sk-1.key"])
    assert victim.read_bytes() == b"not the tool's to touch"


@LINKS
@pytest.mark.usefixtures("by_path")
def test_the_path_shredder_overwrites_a_file_before_removing_it(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    target = tmp_path / "keys" / "sk-1.key"
    target.write_bytes(b"secret" * 100)
    kept = os.open(target, os.O_RDONLY)  # a second view of the same inode
    try:
        assert safefs.shred(tmp_path, ["keys", "sk-1.key"]) is True
        assert not target.exists()
        assert os.pread(kept, 600, 0) == bytes(600)
    finally:
        os.close(kept)


@LINKS
@pytest.mark.usefixtures("by_path")
def test_leftover_temporary_files_are_shredded_by_path_and_a_linked_one_only_unlinked(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    folder = tmp_path / "workbooks"
    folder.mkdir()
    (folder / f"{atomicio.TEMP_PREFIX}half").write_bytes(b"half a workbook")
    (folder / f"{atomicio.TEMP_PREFIX}link").symlink_to(victim)
    (folder / "kept.xlsx").write_bytes(b"not a leftover")
    assert atomicio.remove_temp_leftovers(folder) == 2
    assert sorted(p.name for p in folder.iterdir()) == ["kept.xlsx"]
    assert victim.read_bytes() == b"keep me"


@LINKS
@pytest.mark.usefixtures("by_path")
def test_a_damaged_home_lists_its_files_by_path_and_never_through_a_link(
    tmp_path: Path,
) -> None:
    (tmp_path / "keys" / "subkeys").mkdir(parents=True)
    (tmp_path / "keys" / "subkeys" / "sk-1.key").write_bytes(b"k")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "inburgeraars-1.xlsx").write_bytes(b"w")
    (tmp_path / "workbooks").symlink_to(elsewhere, target_is_directory=True)
    gone = damaged.destroy_without_state(tmp_path)
    assert (gone.subkey_files, gone.workbooks, gone.remaining) == (1, 0, 0)
    assert (elsewhere / "inburgeraars-1.xlsx").exists()


@LINKS
@pytest.mark.usefixtures("by_path")
def test_a_capped_read_by_path_reads_a_regular_file_and_no_link(tmp_path: Path) -> None:
    (tmp_path / "real.json").write_bytes(b"{}")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    assert safefs.read_regular(tmp_path / "real.json", limit=10) == b"{}"
    assert safefs.read_regular(tmp_path / "link.json", limit=10) is None
    assert safefs.read_regular(tmp_path / "missing.json", limit=10) is None
