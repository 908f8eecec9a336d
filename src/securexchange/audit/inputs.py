"""What an audit reads: the files named (walked, capped), and the pinned root key card."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from securexchange.artifacts.zipstrict import DEFAULT_LIMITS
from securexchange.errors import (
    ArtifactError,
    NotAuthorised,
    SxError,
)
from securexchange.home.atomicio import read_capped
from securexchange.keys.card import read_card
from securexchange.keys.identity import ROLE_ROOT

ZIP_MAGIC = b"PK\x03\x04"
# Names securexchange gives its containers; a file with one of these is judged as an
# artifact even when its first bytes were damaged (so it fails instead of being skipped).
ARTIFACT_SUFFIXES = (".zip", ".sxpkg", ".sxr", ".sxntc", ".sxn", ".sxp", ".sxi", ".sxo", ".sxe")
# Any keyring format: a newer one is then refused with its own message, not skipped.
KEYRING_MAGIC = b'"format": "securexchange-keyring/'
MAX_FILE_BYTES = DEFAULT_LIMITS.max_total_size
MAX_FILES = 100_000


class TooLarge(ArtifactError):
    """A file too large to be any artifact (reported as such, not raised to the user)."""


# --- inputs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InputFile:
    """One file given to the auditor: its display name and bytes (``None``: unreadable)."""

    name: str
    data: bytes | None
    problem: str | None = None


def _walk(path: Path) -> Iterable[Path]:
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and not child.is_symlink():
                yield child
    else:
        yield path


def collect(paths: Sequence[Path]) -> list[InputFile]:
    """Every regular file under ``paths`` (directories recursively), in sorted order.

    Files larger than a container may be are not read (they are judged by their name
    alone). Raises nothing for unreadable files: they are reported.
    """
    files: list[InputFile] = []
    seen: set[Path] = set()
    for root in paths:
        for path in _walk(root):
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            if len(files) >= MAX_FILES:
                break
            # Capped, and only regular files: /dev/zero or a FIFO named on the command
            # line must not stall the audit of a whole directory.
            try:
                data = read_capped(path, limit=MAX_FILE_BYTES, what="file", too_large=TooLarge)
            except TooLarge:
                files.append(InputFile(str(path), None, "the file is larger than any artifact"))
            except SxError:
                files.append(InputFile(str(path), None, "the file cannot be read"))
            else:
                files.append(InputFile(str(path), data))
    return files


def root_key_from_card(data: bytes) -> bytes:
    """The agency root key from its card (the one municipalities pin). Raises
    Malformed/BadSignature for a bad card and NotAuthorised for another key's card."""
    card = read_card(data)
    if card.owner.role != ROLE_ROOT or not card.owner.is_agency:
        raise NotAuthorised(
            "the --agency-key card is not the agency's root key card",
            hint="use root.card.json from 'agency keyring publish' (fingerprint checked by phone)",
        )
    return card.identity.signing_key


def is_container(item: InputFile) -> bool:
    assert item.data is not None
    return item.data.startswith(ZIP_MAGIC) or item.name.lower().endswith(ARTIFACT_SUFFIXES)


def is_keyring_document(item: InputFile) -> bool:
    assert item.data is not None
    return item.name.endswith(".json") and (
        KEYRING_MAGIC in item.data[:4096] or Path(item.name).name.startswith("keyring-")
    )


def sig_name(json_name: str) -> str:
    return json_name[: -len(".json")] + ".sig"
