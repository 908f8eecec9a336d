"""Files chosen (or dropped) on the Importeren page, imported one by one as
``municipality import`` does: the first refusal stops, the files before it stay imported.

Nothing is read from disk: a package or notice goes to ``importer.import_data``, and a
keyring view to ``importer.import_keyring_pair`` with its ``.sig`` chosen beside it
(the command line finds the ``.sig`` next to the file; a browser sends no folder).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from securexchange.errors import Malformed, SxError
from securexchange.home.home import Home
from securexchange.i18n import _
from securexchange.keys.keystore import KeySource
from securexchange.municipality.importer import Imported, import_data, import_keyring_pair


@dataclass(frozen=True)
class Upload:
    name: str  # the file's own name, without any folder the browser sent
    data: bytes = b""


class UploadRefused(Exception):
    """The file ``name`` was refused with ``error``; the files before it were imported."""

    def __init__(self, name: str, error: SxError) -> None:
        super().__init__(name)
        self.name = name
        self.error = error


def file_name(sent: str) -> str:
    """The last part of a name as a browser sends it (``C:\\fakepath\\x``, ``a/b``)."""
    return Path(sent.replace("\\", "/")).name or "file"


def import_uploads(
    home: Home,
    uploads: Sequence[Upload],
    source: KeySource,
    on_imported: Callable[[Imported], None],
) -> None:
    signatures = {Path(u.name).stem: u for u in uploads if u.name.endswith(".sig")}
    keyrings = {Path(u.name).stem for u in uploads if u.name.endswith(".json")}
    for upload in uploads:
        path = Path(upload.name)
        try:
            if path.suffix == ".sig":
                if path.stem in keyrings:
                    continue  # imported with its keyring
                raise Malformed(
                    _("{file} is a signature: choose its keyring (.json) with it").format(
                        file=upload.name
                    )
                )
            if path.suffix == ".json":
                signature = signatures.get(path.stem)
                if signature is None:
                    raise Malformed(
                        _("{file} is a keyring: choose its .sig file with it").format(
                            file=upload.name
                        )
                    )
                item = import_keyring_pair(home, path, upload.data, signature.data)
            else:
                item = import_data(home, path, upload.data, source)
        except SxError as exc:
            raise UploadRefused(upload.name, exc) from None
        on_imported(item)
