"""Keyring views through ``municipality import``: root-signed, never rolled back."""

from __future__ import annotations

import shutil
from pathlib import Path

from cli_helpers import assert_single_error, run_cli
from municipal_flows import World, make_world, muni, other_world
from securexchange import sshsig
from securexchange.keys.keyfile import DEMO_PASSPHRASE, read_key_file


def _publish(world: World, out: Path) -> Path:
    result = run_cli(["agency", "keyring", "publish", "--out", str(out)], home=world.agency)
    assert result.code == 0, result.stderr
    return out / f"keyring-{world.nis}.json"


def test_a_newer_keyring_view_is_imported_and_an_older_one_is_refused_as_rollback(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    old = _publish(world, tmp_path / "v-old")
    other_world(world, tmp_path, nis=world.nis, name="Colleague")  # a keyring change
    new = _publish(world, tmp_path / "v-new")
    assert muni(world, "import", str(new)).code == 0
    result = muni(world, "import", str(old))
    assert_single_error(result, "SX-ROLLBACK", 1)


def test_a_keyring_signed_by_the_export_key_instead_of_the_root_is_refused(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    view = _publish(world, tmp_path / "pub")
    forged = tmp_path / "forged"
    forged.mkdir()
    shutil.copy(view, forged / view.name)
    export_seed = read_key_file(world.agency / "keys" / "export.key", DEMO_PASSPHRASE).seed
    signature = sshsig.sign(export_seed, view.read_bytes(), sshsig.NAMESPACE_KEYRING)
    (forged / view.name).with_suffix(".sig").write_text(signature, encoding="ascii")
    result = muni(world, "import", str(forged / view.name))
    assert_single_error(result, "SX-BAD-SIGNATURE", 1)
