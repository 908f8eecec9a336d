"""A registered workbook's file: its name, whether it sits in a synced folder, the lock
file Excel leaves beside it, and its removal (overwritten first, never through a link)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from securexchange.home import safefs
from securexchange.i18n import N_

if TYPE_CHECKING:
    pass


SYNC_MARKERS = ("onedrive", "dropbox", "sharepoint", "google drive", "googledrive", "icloud")


def looks_synced(path: Path) -> bool:
    """True when ``path`` looks like a folder a sync client copies to the cloud."""
    text = str(path.resolve()).lower()
    return any(marker in text for marker in SYNC_MARKERS) or "mobile documents" in text


def owner_files(path: Path) -> list[Path]:
    """Excel's lock ("owner") files beside ``path`` (they may be stale or planted)."""
    names = {"~$" + path.name, "~$" + path.name[2:]}
    return [path.parent / n for n in sorted(names) if safefs.exists(path.parent / n)]


def file_name(nis: str, day: str, workbook_id: str) -> str:
    """The name ``open`` gives a workbook file (the only name shredding ever removes)."""
    return f"inburgeraars-{nis}-{day}-{workbook_id[3:11]}.xlsx"


def own_name(workbook_id: str, path: Path) -> bool:
    """Whether ``path`` has the name :func:`file_name` gives ``workbook_id``'s file.

    The registered path is a clear column of the state database: whoever can edit it
    could point the shredder, which runs as the staff member, at any file they may
    write (overwritten, then deleted). Only a name this tool gives that very workbook
    is ever removed; any other is not ours to touch.
    """
    token = re.escape(workbook_id[3:11])
    pattern = rf"inburgeraars-[0-9]+-[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}-{token}\.xlsx"
    return len(workbook_id) >= 11 and re.fullmatch(pattern, path.name) is not None


def remove_file(path: Path) -> str | None:
    """Overwrite and delete a workbook file; returns a problem text, or None when gone.

    The workbook's folder is trusted as registered; the name in it is never followed:
    a symbolic link, a hard link, a FIFO or any other non-regular file standing there
    is unlinked without being opened, and a read-only workbook is still overwritten
    (safefs). Overwriting helps on plain disks only; on SSDs and copy-on-write
    filesystems the old blocks may survive (docs/threat-model.md). Excel owner files
    are no reason to wait (anyone can create one): the removal is tried, and where
    Excel really holds the file (Windows) it fails and is retried at the next command.
    """
    owners = owner_files(path)
    problem = safefs.remove(path.parent, (path.name,))
    if problem is not None:
        if owners and problem == safefs.NOT_REMOVABLE:
            return N_("open in Excel (an owner file ~$ is next to it), close it")
        return problem
    for owner in owners:
        safefs.remove(path.parent, (owner.name,))  # a stale lock file naming the staff member
    return None
