"""Key commands in a municipal home whose subkeys were split into their own files."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

from cli_helpers import run_cli
from municipal_flows import make_package, make_world, muni, person
from securexchange import age


def test_age_export_after_import_still_yields_the_subkey_that_opens_the_package(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    made = make_package(world, [person(1, date(2027, 3, 1))])
    assert muni(world, "import", str(made.path)).code == 0
    assert list((world.staff / "keys" / "subkeys").glob("*.key")), "subkeys were not split"
    result = run_cli(["keys", "export", "--age"], home=world.staff)
    assert result.code == 0, result.stderr
    identity = age.parse_identity(result.stdout.strip())
    assert result.stdout.startswith("AGE-SECRET-KEY-PQ-1")  # the hybrid subkey
    payload = zipfile.ZipFile(io.BytesIO(made.data)).read("payload.age")
    assert age.decrypt(payload, [identity])
    assert "escapes shredding" in result.stderr
