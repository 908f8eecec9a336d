"""No write follows a link below the home or a workbook's folder; the home is checked as
OpenSSH checks ``~/.ssh`` (issue 14, items 2 and 5). Real files, links, FIFOs and
sockets; no mocks."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli_helpers import assert_single_error, run_cli
from securexchange.errors import KeyPermissions, UnsafeHome
from securexchange.home.home import HomeKind, create_home, open_home

POSIX_ONLY = pytest.mark.skipif(os.name == "nt", reason="POSIX modes, links and FIFOs")
AS_ROOT = os.name != "nt" and os.geteuid() == 0
pytestmark = POSIX_ONLY

VICTIM_BYTES = b"a file of the user's that the tool has no business touching\n" * 4

# Paths whose opening the audit hook below reports; the hook stays for the process.
_WATCHED: list[str] = []
_OPENED: list[str] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and _WATCHED and args and isinstance(args[0], str | bytes):
        name = os.fsdecode(args[0])
        # A descriptor-relative open reports the bare name: match it at either end.
        if any(name == w or w.endswith(os.sep + name) for w in _WATCHED):
            _OPENED.append(name)


sys.addaudithook(_audit)


@contextmanager
def _watch_opens(path: Path) -> Iterator[list[str]]:
    _WATCHED.append(str(path))
    _OPENED.clear()
    try:
        yield _OPENED
    finally:
        _WATCHED.clear()


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "elsewhere" / "victim.txt"
    victim.parent.mkdir()
    victim.write_bytes(VICTIM_BYTES)
    return victim


def _home(tmp_path: Path, kind: HomeKind = HomeKind.MUNICIPALITY) -> Path:
    root = tmp_path / "home"
    create_home(root, kind, demo=True, env={})
    return root


# --- item 2: the shredder ----------------------------------------------------------------


def test_a_symlink_planted_at_a_registered_workbook_path_is_unlinked_and_its_target_kept(
    tmp_path: Path,
) -> None:
    from datetime import date

    from municipal_flows import make_package, make_world, muni, person

    world = make_world(tmp_path)
    made = make_package(world, [person(1, date(2026, 12, 15)), person(2, date(2027, 2, 1))])
    assert muni(world, "import", str(made.path)).code == 0
    opened = muni(world, "open")
    assert opened.code == 0, opened.stderr
    workbook = Path(opened.stdout.strip())
    victim = _victim(tmp_path)
    workbook.unlink()
    workbook.symlink_to(victim)

    result = muni(world, "shred", now="2026-12-16")
    assert result.code == 0, result.stderr
    assert victim.read_bytes() == VICTIM_BYTES  # not zero-filled through the link
    assert not os.path.lexists(workbook)


def test_a_symlinked_subkey_file_is_unlinked_on_destruction_and_its_target_kept(
    tmp_path: Path,
) -> None:
    from securexchange.municipality import subkeys

    root = _home(tmp_path)
    victim = _victim(tmp_path)
    recipient = "age1" + "q" * 58
    with open_home(root, env={}) as home:
        directory = subkeys.subkey_dir(home)
        directory.mkdir(mode=0o700)
        planted = directory / subkeys.file_name(recipient)
        planted.symlink_to(victim)
        subkeys.destroy(home, recipient)
    assert victim.read_bytes() == VICTIM_BYTES  # not overwritten with random bytes
    assert not os.path.lexists(planted)


def test_a_hard_link_at_a_workbook_path_is_unlinked_and_its_other_name_keeps_its_content(
    tmp_path: Path,
) -> None:
    from securexchange.municipality.workbook_files import remove_file

    victim = _victim(tmp_path)
    workbook = tmp_path / "out" / "wb.xlsx"
    workbook.parent.mkdir()
    os.link(victim, workbook)
    assert remove_file(workbook) is None
    assert not os.path.lexists(workbook)
    assert victim.read_bytes() == VICTIM_BYTES


def test_a_fifo_at_a_workbook_path_is_unlinked_without_being_opened(tmp_path: Path) -> None:
    from securexchange.municipality.workbook_files import remove_file

    workbook = tmp_path / "out" / "wb.xlsx"
    workbook.parent.mkdir()
    os.mkfifo(workbook, 0o600)
    with _watch_opens(workbook) as opened:
        assert remove_file(workbook) is None
    assert opened == []
    assert not os.path.lexists(workbook)


def test_a_socket_at_a_workbook_path_is_unlinked_and_does_not_hold_the_shredding_back(
    tmp_path: Path,
) -> None:
    from securexchange.municipality.workbook_files import remove_file

    directory = tmp_path / "out"
    directory.mkdir()
    workbook = directory / "wb.xlsx"
    cwd = Path.cwd()
    os.chdir(directory)  # a socket path has a short length limit
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind("wb.xlsx")
    finally:
        os.chdir(cwd)
    assert stat.S_ISSOCK(os.lstat(workbook).st_mode)
    assert remove_file(workbook) is None
    assert not os.path.lexists(workbook)


_READ_ONLY_SCRIPT = """
import os, sys
from pathlib import Path
from securexchange.municipality.workbooks import remove_file
path = Path(sys.argv[1])
path.write_bytes(b"personal data")
path.chmod(0o400)
try:
    open(path, "r+b").close()
    sys.exit("this process may still write a read-only file: the test proves nothing")
except PermissionError:
    pass
keep = os.open(path, os.O_RDONLY)
problem = remove_file(path)
assert problem is None, problem
assert not path.exists()
assert os.pread(keep, 13, 0) == bytes(13), "not overwritten"
"""


def test_a_read_only_workbook_is_still_overwritten_and_removed(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", _READ_ONLY_SCRIPT, str(tmp_path / "wb.xlsx")]
    if AS_ROOT:  # root writes anything: drop the capability that lets it
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("root without setpriv cannot be denied a write")
        caps = "-dac_override,-dac_read_search"
        argv = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", *argv]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


def test_the_shredder_overwrites_a_regular_single_link_file_before_unlinking_it(
    tmp_path: Path,
) -> None:
    from securexchange.home import safefs

    target = tmp_path / "wb.xlsx"
    target.write_bytes(b"personal data" * 1000)
    keep = os.open(target, os.O_RDONLY)  # sees the inode after the unlink
    try:
        assert safefs.shred(tmp_path, ("wb.xlsx",)) is True
        assert os.pread(keep, 13000, 0) == bytes(13000)
    finally:
        os.close(keep)
    assert not target.exists()


def test_a_symlinked_directory_below_the_trusted_one_is_never_followed(tmp_path: Path) -> None:
    from securexchange.home import safefs

    victim = _victim(tmp_path)
    base = tmp_path / "base"
    base.mkdir()
    (base / "keys").symlink_to(victim.parent, target_is_directory=True)
    with pytest.raises(UnsafeHome):
        safefs.shred(base, ("keys", victim.name))
    assert victim.read_bytes() == VICTIM_BYTES


def test_a_symlinked_lock_file_is_refused_by_name_and_its_target_kept(tmp_path: Path) -> None:
    root = _home(tmp_path)
    victim = _victim(tmp_path)
    (root / ".lock").unlink(missing_ok=True)
    (root / ".lock").symlink_to(victim)
    result = run_cli(["municipality", "status"], home=root)
    assert_single_error(result, "SX-UNSAFE-HOME", 1)
    assert "move it aside" in result.stderr
    assert victim.read_bytes() == VICTIM_BYTES


def test_a_fifo_planted_as_the_lock_file_is_refused_and_never_opened(tmp_path: Path) -> None:
    root = _home(tmp_path)
    (root / ".lock").unlink(missing_ok=True)
    os.mkfifo(root / ".lock", 0o600)
    with pytest.raises(UnsafeHome), open_home(root, env={}):
        pass


@pytest.mark.parametrize("name", ["state.sqlite3", "log.jsonl", "home.json"])
def test_a_symlinked_file_of_the_home_is_refused_before_anything_writes_through_it(
    tmp_path: Path, name: str
) -> None:
    root = _home(tmp_path)
    moved = tmp_path / "elsewhere-home-file"
    if (root / name).exists():
        (root / name).rename(moved)
    else:
        moved.write_bytes(b"")  # no log line yet: the link would create it
    (root / name).symlink_to(moved)
    before = moved.read_bytes()
    result = run_cli(["municipality", "status"], home=root)
    assert_single_error(result, "SX-UNSAFE-HOME", 1)
    assert moved.read_bytes() == before


def test_a_hard_linked_state_database_is_refused(tmp_path: Path) -> None:
    root = _home(tmp_path)
    os.link(root / "state.sqlite3", tmp_path / "second-name.sqlite3")
    with pytest.raises(UnsafeHome, match="hard link"), open_home(root, env={}):
        pass


@pytest.mark.parametrize("parts", [("keys",), ("workbooks",), ("keys", "subkeys")])
def test_a_symlinked_directory_of_the_home_is_refused(
    tmp_path: Path, parts: tuple[str, ...]
) -> None:
    root = _home(tmp_path)
    path = root.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    elsewhere = tmp_path / "elsewhere-dir"
    if path.exists():
        path.rename(elsewhere)
    else:
        elsewhere.mkdir(mode=0o700)
    path.symlink_to(elsewhere, target_is_directory=True)
    result = run_cli(["municipality", "status"], home=root)
    assert_single_error(result, "SX-UNSAFE-HOME", 1)


# --- item 5: modes and owner, as OpenSSH checks them ---------------------------------------


@pytest.mark.parametrize(
    ("parts", "mode"),
    [((), 0o770), ((), 0o707), (("keys",), 0o775), (("workbooks",), 0o777)],
)
def test_a_home_directory_others_may_write_to_is_refused_with_the_chmod_to_run(
    tmp_path: Path, parts: tuple[str, ...], mode: int
) -> None:
    root = _home(tmp_path)
    path = root.joinpath(*parts)
    path.chmod(mode)
    result = run_cli(["municipality", "status"], home=root)
    assert_single_error(result, "SX-UNSAFE-HOME", 1)
    assert f"chmod 700 {path}" in result.stderr


def test_a_subkey_directory_others_may_write_to_is_refused(tmp_path: Path) -> None:
    root = _home(tmp_path)
    (root / "keys" / "subkeys").mkdir(mode=0o700)
    (root / "keys" / "subkeys").chmod(0o733)
    with pytest.raises(UnsafeHome, match="other users"), open_home(root, env={}):
        pass


def test_a_state_database_others_may_write_to_is_refused(tmp_path: Path) -> None:
    root = _home(tmp_path)
    (root / "state.sqlite3").chmod(0o666)
    with pytest.raises(UnsafeHome) as caught, open_home(root, env={}):
        pass
    assert caught.value.hint is not None and "chmod 600" in caught.value.hint


@pytest.mark.skipif(not AS_ROOT, reason="giving a directory away needs root")
def test_a_home_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    root = _home(tmp_path)
    os.chown(root, 65534, 65534)
    result = run_cli(["municipality", "status"], home=root)
    assert_single_error(result, "SX-UNSAFE-HOME", 1)
    assert "another user" in result.stderr


@pytest.mark.skipif(not AS_ROOT, reason="giving a directory away needs root")
def test_a_directory_another_user_owns_is_not_made_a_home(tmp_path: Path) -> None:
    root = tmp_path / "theirs"
    root.mkdir()
    root.chmod(0o777)
    os.chown(root, 65534, 65534)
    with pytest.raises(UnsafeHome, match="another user"):
        create_home(root, HomeKind.MUNICIPALITY, demo=True, env={})
    assert stat.S_IMODE(root.stat().st_mode) == 0o777  # not touched


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_passphrase_file_others_may_read_is_refused_before_it_is_read(
    tmp_path: Path, mode: int
) -> None:
    from securexchange.cli.keyopts import read_passphrase_file

    path = tmp_path / "pass"
    path.write_bytes(b"correct horse\n")
    path.chmod(mode)
    with pytest.raises(KeyPermissions) as caught:
        read_passphrase_file(path)
    assert caught.value.hint == f"make it private with: chmod 600 {path}"
    path.chmod(0o600)
    assert read_passphrase_file(path) == b"correct horse"


def test_a_passphrase_given_through_a_pipe_is_accepted(tmp_path: Path) -> None:
    from securexchange.cli.keyopts import read_passphrase_file

    read_end, write_end = os.pipe()
    os.write(write_end, b"correct horse\n")
    os.close(write_end)
    try:
        assert read_passphrase_file(Path(f"/dev/fd/{read_end}")) == b"correct horse"
    finally:
        os.close(read_end)


def test_a_home_made_private_is_accepted_again(tmp_path: Path) -> None:
    root = _home(tmp_path)
    root.chmod(0o777)
    with pytest.raises(UnsafeHome), open_home(root, env={}):
        pass
    root.chmod(0o700)
    with open_home(root, env={}):
        pass


@pytest.mark.skipif(not AS_ROOT, reason="giving a file away needs root")
def test_a_key_file_owned_by_another_user_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from securexchange.keys.identity import Owner, generate_identity
    from securexchange.keys.keyfile import read_key_file, write_key_file

    now = datetime(2026, 2, 10, 9, 30, tzinfo=UTC)
    identity, _ = generate_identity(
        Owner("An Peeters", "integratiebeambte", "11002"), now=now
    ).rotated(now)
    path = tmp_path / "export.key"
    write_key_file(path, identity, b"a passphrase", work_factor=2)
    os.chown(path, 65534, 65534)
    with pytest.raises(KeyPermissions, match="another user"):
        read_key_file(path, b"a passphrase")


def test_a_link_planted_at_the_log_after_the_checks_is_not_appended_through(
    tmp_path: Path,
) -> None:
    from securexchange.errors import LogBroken
    from securexchange.home.log_entries import Action

    root = _home(tmp_path)
    victim = _victim(tmp_path)
    with pytest.raises(LogBroken), open_home(root, env={}) as home:
        (root / "log.jsonl").unlink(missing_ok=True)
        (root / "log.jsonl").symlink_to(victim)
        home.record(Action.SHRED)
    assert victim.read_bytes() == VICTIM_BYTES


def test_a_fifo_planted_as_home_json_is_refused_without_hanging(tmp_path: Path) -> None:
    root = _home(tmp_path)
    (root / "home.json").unlink()
    os.mkfifo(root / "home.json", 0o600)
    result = run_cli(["municipality", "status"], home=root, timeout=30)
    assert_single_error(result, "SX-UNSAFE-HOME", 1)


def test_a_fifo_planted_as_a_key_file_is_refused_without_hanging(tmp_path: Path) -> None:
    import threading

    from securexchange.errors import Malformed
    from securexchange.keys.keyfile import read_key_file

    fifo = tmp_path / "identity.key"
    os.mkfifo(fifo, 0o600)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_key_file(fifo, b"a passphrase")
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # blocked in open(): give it a writer so the thread can end
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(10)
        pytest.fail("reading a FIFO planted as a key file blocked")
    assert len(outcome) == 1 and isinstance(outcome[0], Malformed), outcome


@pytest.mark.parametrize("parts", [("workbooks",), ("keys", "subkeys")])
def test_a_file_left_half_written_by_a_killed_command_is_shredded_by_the_next_one(
    tmp_path: Path, parts: tuple[str, ...]
) -> None:
    # A killed `open` leaves a clear-text workbook in workbooks/, a killed subkey split
    # a sealed subkey in keys/subkeys/: both must go, overwritten, at the next command.
    root = _home(tmp_path)
    directory = root.joinpath(*parts)
    directory.mkdir(mode=0o700, exist_ok=True)
    leftover = directory / ".sx-tmp-0123456789abcdef"
    leftover.write_bytes(b"personal data" * 100)
    keep = os.open(leftover, os.O_RDONLY)  # sees the inode after the unlink
    try:
        with open_home(root, env={}):
            pass
        assert not os.path.lexists(leftover)
        assert os.pread(keep, 1300, 0) == bytes(1300)
    finally:
        os.close(keep)


def test_a_leftover_name_planted_as_a_link_is_unlinked_and_its_target_kept(
    tmp_path: Path,
) -> None:
    root = _home(tmp_path)
    victim = _victim(tmp_path)
    planted = root / "keys" / ".sx-tmp-0123456789abcdef"
    planted.symlink_to(victim)
    with open_home(root, env={}):
        pass
    assert not os.path.lexists(planted)
    assert victim.read_bytes() == VICTIM_BYTES


@pytest.mark.skipif(shutil.which("chattr") is None, reason="needs chattr (root, ext4)")
def test_an_immutable_leftover_does_not_stop_every_later_command(tmp_path: Path) -> None:
    from municipal_flows import make_world, muni

    world = make_world(tmp_path)
    root = world.staff
    (root / "workbooks").mkdir(mode=0o700, exist_ok=True)
    leftover = root / "workbooks" / ".sx-tmp-0123456789abcdef"
    leftover.write_bytes(b"personal data")
    if subprocess.run(["chattr", "+i", str(leftover)], check=False).returncode != 0:
        pytest.skip("this filesystem has no immutable flag")
    try:
        result = muni(world, "status")
        assert result.code == 0, result.stderr
    finally:
        subprocess.run(["chattr", "-i", str(leftover)], check=True)
    with open_home(root, env={}):
        pass
    assert not leftover.exists()  # gone once it can go


def test_a_directory_planted_in_the_agency_outbox_does_not_break_the_export(
    tmp_path: Path,
) -> None:
    import flows
    from keys_helpers import EXPORT_PASS, passphrase_file

    agency = tmp_path / "agency"
    flows.make_agency(agency)
    flows.register(agency, "11002", "Antwerpen")
    flows.add_staff(agency, tmp_path / "a", "11002")
    (agency / "outbox").mkdir(mode=0o700, exist_ok=True)
    (agency / "outbox" / "planted").mkdir()
    master = flows.write_master(tmp_path / "m.xlsx", 5, ["11002"])
    secret = passphrase_file(tmp_path, "export.pass", EXPORT_PASS)
    argv = ["agency", "export", str(master), "--out", str(tmp_path / "out")]
    result = run_cli([*argv, "--passphrase-file", str(secret)], home=agency)
    assert result.code == 0, result.stderr
    assert len(list((tmp_path / "out").glob("11002-*.sxpkg"))) == 1


@pytest.mark.parametrize("plant", ["fifo", "dev-zero"])
def test_a_fifo_or_dev_zero_at_a_workbook_path_neither_hangs_nor_holds_back_the_shred(
    tmp_path: Path, plant: str
) -> None:
    from datetime import date

    from municipal_flows import make_package, make_world, muni, person

    world = make_world(tmp_path)
    made = make_package(world, [person(1, date(2026, 12, 15)), person(2, date(2027, 2, 1))])
    assert muni(world, "import", str(made.path)).code == 0
    opened = muni(world, "open")
    assert opened.code == 0, opened.stderr
    workbook = Path(opened.stdout.strip())
    workbook.unlink()
    if plant == "fifo":
        os.mkfifo(workbook, 0o600)
    else:
        workbook.symlink_to("/dev/zero")
    # The harvest reads the workbook before the shredder removes it: neither may block.
    result = run_cli(
        ["municipality", "shred"],
        home=world.staff,
        env={"SECUREXCHANGE_NOW": "2026-12-16T00:00:00Z"},
        timeout=60,
    )
    assert result.code == 0, result.stderr
    assert not os.path.lexists(workbook)
