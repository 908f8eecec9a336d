"""``municipality import A B C``: not all-or-nothing, but exact about what was imported."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from cli_helpers import assert_single_error
from municipal_flows import log_lines, make_package, make_world, muni, person, vault_tables

DEADLINE = date(2027, 3, 1)


def test_a_multi_file_import_failing_on_the_second_file_reports_exactly_what_was_imported(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    first = make_package(world, [person(1, DEADLINE)], sequence=1)
    broken = world.out / "broken.sxp"
    broken.write_bytes(b"PK\x03\x04 not a package")
    third = make_package(world, [person(2, DEADLINE)], sequence=2, supersedes=first)

    result = muni(world, "import", str(first.path), str(broken), str(third.path))

    assert_single_error(result, "SX-MALFORMED", 1)
    lines = result.stderr.splitlines()
    imported = [line for line in lines if line.startswith("imported ")]
    stopped = [line for line in lines if line.startswith("stopped at ")]
    # The first file is imported and says so; the refused one and the one after are not.
    assert len(imported) == 1 and first.package_id in imported[0], result.stderr
    assert len(stopped) == 1 and "broken.sxp" in stopped[0], result.stderr
    assert "1 file after it" in stopped[0] and "1 file before it imported" in stopped[0]
    assert lines.index(imported[0]) < lines.index(stopped[0]) < len(lines)
    packages = vault_tables(world)["vault_packages"]
    assert [row[0] for row in packages] == [first.package_id]
    # The log agrees: one import, then the refusal.
    entries = [json.loads(line) for line in log_lines(world)]
    imports = [e for e in entries if e["action"] == "import"]
    assert [e["artifacts"] for e in imports] == [[first.package_id]]
    assert entries[-1]["action"] == "refusal"

    # The rest imports once the refused file is set aside.
    assert muni(world, "import", str(third.path)).code == 0
