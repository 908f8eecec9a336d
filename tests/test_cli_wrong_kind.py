"""Every kind of file into every command that takes a file: a named error, never exit 3.

The matrix of issue 14 item 10: each artifact kind (package, return, keyring, notice,
incident notice, written notice of the protocol, report of measures, card,
allowed_signers, workbook, master), random bytes, an empty file, a directory, a
FIFO, /dev/zero, a symbolic link, a dangling link, a socket (opening one fails, also as
root, where mode 0000 does not stop a read) and a file over every cap, given to each
command that reads a file named on the command line. The right kind may succeed;
anything else ends in exactly one ``error: SX-...`` line with exit 1 or 2, within a
few seconds (a FIFO without a writer must not block the open).

The CLI runs in-process (``cli.main.main``) so the ~250 cells take seconds; a watchdog
alarm turns a hang into a failure instead of a stuck test run. In-process, every
module the demo imported stays loaded, so a command that depends on what it imports
lazily (the return body parser was never loaded by ``municipality import``) is also
run as a real subprocess below.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from securexchange.cli.main import main
from securexchange.demo.run import run_demo

KINDS = (
    "package",
    "return",
    "keyring",
    "keyring-sig",
    "notice",
    "incident",
    "protocol-notice",
    "evidence",
    "card",
    "allowed_signers",
    "workbook",
    "master",
    "random",
    "empty",
    "directory",
    "fifo",
    "dev-zero",
    "symlink",
    "dangling",
    "socket",
    "unreadable",
    "over-cap",
)
SPECIAL = ("directory", "fifo", "dev-zero", "dangling", "socket", "over-cap")


@dataclass(frozen=True)
class World:
    files: dict[str, Path]
    agency: Path
    municipality: Path
    root_card: Path
    staff_card: Path
    staff_fingerprint: str
    master: Path
    scratch: Path


def _build(base: Path) -> World:
    demo = base / "demo"
    workbook_copy: Path | None = None
    for step in run_demo(demo):
        if step.name == "edit workbook" and step.where is not None:
            workbook_copy = base / "workbook.xlsx"
            shutil.copyfile(step.where, workbook_copy)
    assert workbook_copy is not None
    kinds = base / "kinds"
    kinds.mkdir()
    files: dict[str, Path] = {}

    def put(name: str, source: Path, file_name: str) -> None:
        target = kinds / file_name
        shutil.copyfile(source, target)
        target.chmod(0o600)  # so a key-file reader gets past its permission check
        files[name] = target

    put("package", sorted((demo / "exports").glob("11002-*"))[0], "package.sxpkg")
    put("return", sorted((demo / "returns").iterdir())[0], "return.sxr")
    put("keyring", demo / "keyring" / "keyring-11002.json", "keyring-11002.json")
    put("keyring-sig", demo / "keyring" / "keyring-11002.sig", "keyring-11002.sig")
    put("notice", sorted((demo / "notices").iterdir())[0], "notice.sxn")
    put("incident", sorted((demo / "incidents").glob("*.sxi"))[0], "incident.sxi")
    put("protocol-notice", sorted((demo / "protocol-notices").glob("*.sxo"))[0], "notice.sxo")
    put("evidence", sorted((demo / "evidence").glob("*.sxe"))[0], "report.sxe")
    staff = demo / "staff-11002-an-peeters"
    put("card", staff / "keys" / "identity.card.json", "card.json")
    put("allowed_signers", demo / "keyring" / "allowed_signers", "allowed_signers")
    put("workbook", workbook_copy, "inburgeraars.xlsx")
    put("master", demo / "demo-master.xlsx", "master.xlsx")
    (kinds / "random.bin").write_bytes(os.urandom(5000))
    files["random"] = kinds / "random.bin"
    (kinds / "empty").write_bytes(b"")
    files["empty"] = kinds / "empty"
    (kinds / "directory").mkdir()
    files["directory"] = kinds / "directory"
    os.mkfifo(kinds / "fifo")
    files["fifo"] = kinds / "fifo"
    files["dev-zero"] = Path("/dev/zero")
    (kinds / "symlink.xlsx").symlink_to(kinds / "random.bin")
    files["symlink"] = kinds / "symlink.xlsx"
    (kinds / "dangling.json").symlink_to(kinds / "nowhere")
    files["dangling"] = kinds / "dangling.json"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(kinds / "socket"))
    sock.close()  # the socket file stays; opening it fails (ENXIO), also as root
    files["socket"] = kinds / "socket"
    unreadable = kinds / "unreadable.json"
    unreadable.write_bytes(b'{"card": "x"}')
    unreadable.chmod(0)  # refused by open() unless we are root; then it is just bytes
    files["unreadable"] = unreadable
    over = kinds / "over-cap.xlsx"
    with open(over, "wb") as handle:
        handle.truncate(300 << 20)  # sparse: over every cap, costs no disk
    files["over-cap"] = over
    card = json.loads(json.loads((staff / "keys" / "identity.card.json").read_text())["card"])
    return World(
        files=files,
        agency=demo / "agency",
        municipality=staff,
        root_card=demo / "keyring" / "root.card.json",
        staff_card=files["card"],
        staff_fingerprint=str(card["fingerprint"]),
        master=files["master"],
        scratch=base / "scratch",
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return _build(tmp_path_factory.mktemp("kinds"))


def _commands(w: World, f: Path) -> dict[str, list[str]]:
    out = str(w.scratch / "out")
    return {
        "municipality import": ["--home", str(w.municipality), "municipality", "import", str(f)],
        "municipality init --agency-key": [
            "--home",
            str(w.scratch / "new-home"),
            "municipality",
            "init",
            "--nis",
            "11002",
            "--name",
            "X",
            "--role",
            "integratiebeambte",
            "--agency-key",
            str(f),
            "--demo",
        ],
        "agency import-return": ["--home", str(w.agency), "agency", "import-return", str(f)],
        "agency incident import": ["--home", str(w.agency), "agency", "incident", "import", str(f)],
        "agency notice import": ["--home", str(w.agency), "agency", "notice", "import", str(f)],
        "municipality incident import": [
            *("--home", str(w.municipality), "municipality", "incident", "import", str(f)),
        ],
        "municipality notice import": [
            *("--home", str(w.municipality), "municipality", "notice", "import", str(f)),
            *("--out", out),
        ],
        "agency evidence import": ["--home", str(w.agency), "agency", "evidence", "import", str(f)],
        "municipality evidence --declarations": [
            *("--home", str(w.municipality), "municipality", "evidence"),
            *("--out", str(w.scratch / "report.sxe"), "--declarations", str(f)),
        ],
        "agency recipient add": [
            "--home",
            str(w.agency),
            "agency",
            "recipient",
            "add",
            "--nis",
            "11002",
            "--fingerprint",
            w.staff_fingerprint,
            str(f),
        ],
        "agency export": ["--home", str(w.agency), "agency", "export", str(f), "--out", out],
        "agency export --mapping": [
            "--home",
            str(w.agency),
            "agency",
            "export",
            str(w.master),
            "--mapping",
            str(f),
            "--dry-run",
            "--out",
            out,
        ],
        "audit verify": ["audit", "verify", str(f), "--agency-key", str(w.root_card)],
        "audit verify --agency-key": [
            "audit",
            "verify",
            str(w.files["package"]),
            "--agency-key",
            str(f),
        ],
        "keys passwd --root --root-key": [
            "--home",
            str(w.agency),
            "keys",
            "passwd",
            "--root",
            "--root-key",
            str(f),
        ],
    }


COMMANDS = (
    "municipality import",
    "municipality init --agency-key",
    "agency import-return",
    "agency incident import",
    "agency notice import",
    "municipality incident import",
    "municipality notice import",
    "agency evidence import",
    "municipality evidence --declarations",
    "agency recipient add",
    "agency export",
    "agency export --mapping",
    "audit verify",
    "audit verify --agency-key",
    "keys passwd --root --root-key",
    "keys passwd --new-passphrase-file",
)
# Where the right kind goes in, success is fine (e.g. the same package again).
RIGHT = {
    ("municipality import", "package"),
    ("municipality import", "keyring"),
    ("municipality import", "keyring-sig"),
    ("agency import-return", "return"),
    ("agency incident import", "incident"),
    ("agency notice import", "protocol-notice"),
    ("municipality incident import", "incident"),
    ("agency evidence import", "evidence"),
    ("municipality evidence --declarations", "empty"),  # no declarations: all not declared
    ("agency recipient add", "card"),
    ("agency export", "master"),
    ("audit verify", "package"),
    ("audit verify", "directory"),  # a directory of artifacts; an empty one holds none
}


class Hang(BaseException):
    """Raised by the watchdog alarm: not an Exception, so main() cannot swallow it."""


def _on_alarm(_signum: int, _frame: object) -> None:
    raise Hang


@dataclass(frozen=True)
class Outcome:
    code: int
    stderr: str


def _run(args: list[str], capsys: pytest.CaptureFixture[str], seconds: int = 20) -> Outcome:
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(seconds)
    code: int | str | None = 0
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code
    except Hang:
        pytest.fail(f"hung: {' '.join(args)}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert isinstance(code, int), code
    return Outcome(code, capsys.readouterr().err)


def _assert_named(outcome: Outcome, what: str) -> None:
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("error: ")]
    assert outcome.code in (1, 2), (what, outcome.code, outcome.stderr)
    assert len(errors) == 1, (what, outcome.stderr)
    assert errors[0].startswith("error: SX-"), (what, outcome.stderr)
    assert "SX-INTERNAL" not in outcome.stderr, (what, outcome.stderr)
    assert "Traceback" not in outcome.stderr, (what, outcome.stderr)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, world: World) -> Iterator[None]:
    for name in (
        "SECUREXCHANGE_HOME",
        "SECUREXCHANGE_NOW",
        "SECUREXCHANGE_PASSPHRASE_FILE",
        "SECUREXCHANGE_ROOT_PASSPHRASE_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    world.scratch.mkdir(exist_ok=True)
    yield
    shutil.rmtree(world.scratch, ignore_errors=True)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", COMMANDS)
def test_the_wrong_kind_of_file_into_any_command_is_a_named_error_never_exit_3_or_a_hang(
    world: World, command: str, kind: str, capsys: pytest.CaptureFixture[str], clean_env: None
) -> None:
    path = world.files[kind]
    if command == "keys passwd --new-passphrase-file":
        # Any regular file's first line is a passphrase; only what cannot be read is
        # wrong here (and must not change the key).
        if kind not in SPECIAL:
            pytest.skip("any regular file is a valid passphrase file")
        args = ["--home", str(world.municipality), "keys", "passwd"]
        args += ["--new-passphrase-file", str(path)]
    else:
        args = _commands(world, path)[command]
    outcome = _run(args, capsys)
    if (command, kind) in RIGHT and outcome.code == 0:
        return
    _assert_named(outcome, f"{command} <- {kind}")


def test_a_return_given_to_municipality_import_is_the_wrong_kind(
    world: World, capsys: pytest.CaptureFixture[str], clean_env: None
) -> None:
    outcome = _run(_commands(world, world.files["return"])["municipality import"], capsys)
    _assert_named(outcome, "return into import")
    assert "error: SX-WRONG-KIND: " in outcome.stderr


def test_a_package_or_notice_given_to_agency_import_return_is_the_wrong_kind(
    world: World, capsys: pytest.CaptureFixture[str], clean_env: None
) -> None:
    for kind in ("package", "notice"):
        outcome = _run(_commands(world, world.files[kind])["agency import-return"], capsys)
        _assert_named(outcome, f"{kind} into import-return")
        assert "error: SX-WRONG-KIND: " in outcome.stderr


def test_audit_verify_of_dev_zero_or_a_fifo_ends_at_once(
    world: World, capsys: pytest.CaptureFixture[str], clean_env: None
) -> None:
    for kind in ("dev-zero", "fifo"):
        outcome = _run(_commands(world, world.files[kind])["audit verify"], capsys, seconds=10)
        _assert_named(outcome, f"audit verify {kind}")


def test_a_return_into_municipality_import_through_the_real_cli_is_sx_wrong_kind(
    world: World, clean_env: None
) -> None:
    from cli_helpers import assert_single_error, run_cli

    result = run_cli(
        ["municipality", "import", str(world.files["return"])], home=world.municipality
    )
    assert_single_error(result, "SX-WRONG-KIND", 1)
