"""A bounded, seeded fuzz of every reader of hostile files: only the error tree comes out.

Mutated packages, returns, notices, keyrings, cards, workbooks (as staff return them
and as they sit inside packages) and masters are fed to the library entry points
(``open_package``, the audit, ``read_card``, the workbook readers, ``read_master``) and
to the CLI in-process (``municipality import``, ``agency import-return``, ``audit
verify``). Allowed outcomes: success, or an :class:`SxError` other than SX-INTERNAL
(exit 1 or 2). Anything else fails with the seed and target, so it can be replayed.

Bounded: ``SECUREXCHANGE_FUZZ_SECONDS`` (default 3) per target, well under a minute in
all. Run it longer by hand, e.g.::

    SECUREXCHANGE_FUZZ_SECONDS=120 SECUREXCHANGE_FUZZ_SEED=7 \\
        nice python -m pytest -q tests/test_fuzz_hostile.py

Mutations: bit flips, byte runs overwritten, inserted, deleted or duplicated,
truncation, and structure-aware ones: a ZIP member's content mutated and the archive
rebuilt (so the damage gets past the container's CRCs to the parsers behind them), and
JSON text with lone surrogates, deep nesting, huge numbers or swapped types.
"""

from __future__ import annotations

import io
import os
import random
import signal
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from municipal_flows import World, home_identities, make_package, make_world, muni, person
from securexchange.errors import SxError

SECONDS = float(os.environ.get("SECUREXCHANGE_FUZZ_SECONDS", "3"))
SEED = int(os.environ.get("SECUREXCHANGE_FUZZ_SEED", "1"))
T = date(2030, 1, 1)

_JSON_SNIPPETS = (
    b'"\\ud800"',
    b'"\\udfff\\ud800"',
    b"[" * 40 + b"]" * 40,
    b"1" * 400,
    b"1e999",
    b"-0",
    b"null",
    b"true",
    b"{}",
    b'""',
    b'"\\u0000"',
    b'"\\u202e"',
)


def _bytes_mutation(rng: random.Random, data: bytes) -> bytes:
    raw = bytearray(data)
    if not raw:
        return bytes(rng.randbytes(rng.randint(1, 64)))
    choice = rng.randrange(7)
    at = rng.randrange(len(raw))
    if choice == 0:
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(raw))
            raw[i] ^= 1 << rng.randrange(8)
    elif choice == 1:
        n = rng.randint(1, 64)
        raw[at : at + n] = rng.randbytes(min(n, len(raw) - at))
    elif choice == 2:
        raw[at:at] = rng.randbytes(rng.randint(1, 64))
    elif choice == 3:
        del raw[at : at + rng.randint(1, 256)]
    elif choice == 4:
        raw = raw[: rng.randrange(len(raw))]
    elif choice == 5:
        end = min(len(raw), at + rng.randint(1, 512))
        raw[at:at] = raw[at:end] * rng.randint(1, 4)
    else:
        raw[at : at + 1] = rng.choice([b"\x00", b"\xff", b"\x7f", b"\x80", b"<", b'"', b"\\"])
    return bytes(raw)


def _json_mutation(rng: random.Random, text: bytes) -> bytes:
    """Replace a JSON string or number with something a parser might trip on."""
    spots = [i for i, c in enumerate(text) if c in b'"0123456789']
    if not spots:
        return _bytes_mutation(rng, text)
    start = rng.choice(spots)
    end = start + 1
    if text[start : start + 1] == b'"':
        while end < len(text) and text[end : end + 1] != b'"':
            end += 2 if text[end : end + 1] == b"\\" else 1
        end += 1
    else:
        while end < len(text) and text[end : end + 1].isdigit():
            end += 1
    return text[:start] + rng.choice(_JSON_SNIPPETS) + text[end:]


def _container_member_mutation(rng: random.Random, data: bytes) -> bytes | None:
    """For a securexchange container: one member mutated, rebuilt by zipstrict itself, so
    the damage gets past the strict ZIP layer to the manifest and signature checks."""
    from securexchange.artifacts import zipstrict
    from securexchange.artifacts.manifest import MEMBER_ORDER

    try:
        members = list(zipstrict.read(data, MEMBER_ORDER))
    except SxError:
        return None
    i = rng.randrange(len(members))
    content = members[i].data
    looks_json = content[:1] in (b"{", b"[")
    changed = (_json_mutation if looks_json and rng.random() < 0.7 else _bytes_mutation)(
        rng, content
    )
    members[i] = zipstrict.Member(members[i].name, changed)
    try:
        return zipstrict.write(members)
    except (ValueError, SxError):
        return None


def _zip_member_mutation(rng: random.Random, data: bytes) -> bytes:
    """Mutate one member's content and rebuild the archive (valid CRCs, same order)."""
    rebuilt = _container_member_mutation(rng, data)
    if rebuilt is not None:
        return rebuilt
    try:
        source = zipfile.ZipFile(io.BytesIO(data))
        infos = source.infolist()
        contents = [source.read(info) for info in infos]
    except Exception:
        return _bytes_mutation(rng, data)
    if not infos:
        return _bytes_mutation(rng, data)
    i = rng.randrange(len(infos))
    looks_json = contents[i][:1] in (b"{", b"[")
    contents[i] = (_json_mutation if looks_json and rng.random() < 0.6 else _bytes_mutation)(
        rng, contents[i]
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info, content in zip(infos, contents, strict=True):
            target.writestr(info, content)
    return out.getvalue()


def mutate(rng: random.Random, data: bytes) -> bytes:
    roll = rng.random()
    if data[:2] == b"PK" and roll < 0.5:
        return _zip_member_mutation(rng, data)
    if data[:1] in (b"{", b"[") and roll < 0.6:
        return _json_mutation(rng, data)
    return _bytes_mutation(rng, data)


@dataclass(frozen=True)
class Corpus:
    world: World
    package: bytes
    return_: bytes
    keyring: bytes
    keyring_sig: bytes
    card: bytes
    workbook: bytes
    package_workbook: bytes
    records: int
    package_id: str
    master: bytes
    csv_master: bytes
    root_key: bytes
    scratch: Path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    from securexchange.audit.inputs import root_key_from_card
    from securexchange.intake.sample import csv_bytes, generate_master
    from securexchange.sheets.layout import WorkbookMeta
    from securexchange.sheets.master_write import xlsx_bytes
    from securexchange.sheets.workbook import write_workbook

    base = tmp_path_factory.mktemp("fuzz")
    world = make_world(base)
    rows = [person(n, T) for n in range(1, 6)]
    made = make_package(world, rows)
    assert muni(world, "import", str(made.path)).code == 0
    opened = muni(world, "open")
    assert opened.code == 0, opened.stderr
    workbook = Path(opened.stdout.strip()).read_bytes()
    record = rows[0].record_id
    assert muni(world, "set-status", record, "gecontacteerd").code == 0
    returned = muni(world, "return", "--out", str(base))
    assert returned.code == 0, returned.stderr
    return_path = Path(returned.stdout.strip())
    keyring_dir = base / "keyring"
    from cli_helpers import run_cli

    published = run_cli(
        ["agency", "keyring", "publish", "--out", str(keyring_dir)], home=world.agency
    )
    assert published.code == 0, published.stderr
    keyring = sorted(keyring_dir.glob("keyring-*.json"))[0]
    root_card = (world.agency / "keys" / "root.card.json").read_bytes()
    meta = WorkbookMeta(
        package_id=made.package_id,
        nis=world.nis,
        municipality="Antwerpen",
        destroy_by=T,
        demo=True,
    )
    scratch = base / "scratch"
    scratch.mkdir()
    return Corpus(
        world=world,
        package=made.data,
        return_=return_path.read_bytes(),
        keyring=keyring.read_bytes(),
        keyring_sig=keyring.with_suffix(".sig").read_bytes(),
        card=(world.staff / "keys" / "identity.card.json").read_bytes(),
        workbook=workbook,
        package_workbook=write_workbook(rows, meta),
        records=len(rows),
        package_id=made.package_id,
        master=xlsx_bytes(generate_master(20, nis=[world.nis])),
        csv_master=csv_bytes(generate_master(20, nis=[world.nis], hostile=True), excel_be=True),
        root_key=root_key_from_card(root_card),
        scratch=scratch,
    )


class Hang(BaseException):
    """The watchdog: not an Exception, so nothing under test can swallow it."""


def _on_alarm(_signum: int, _frame: object) -> None:
    raise Hang


def _expect_error_tree(call: Callable[[], object], what: str) -> None:
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(20)
    try:
        call()
    except SxError as error:
        assert error.name != "SX-INTERNAL", f"{what}: {error.name}: {error.message}"
        assert int(error.exit_code) in (1, 2), what
    except Hang:
        pytest.fail(f"{what}: hung")
    except SystemExit as exit_:
        assert exit_.code in (0, 1, 2), f"{what}: exit {exit_.code}"
    except Exception as exc:
        pytest.fail(f"{what}: {type(exc).__name__} escaped the error tree")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _fuzz(name: str, seed_input: bytes, target: Callable[[bytes], object]) -> int:
    """Mutate ``seed_input`` for SECONDS, feeding each to ``target``; the run count."""
    deadline = time.monotonic() + SECONDS
    runs = 0
    while time.monotonic() < deadline:
        seed = SEED * 1_000_003 + runs
        rng = random.Random(f"{name}-{seed}")
        data = seed_input
        for _ in range(rng.randint(1, 3)):
            data = mutate(rng, data)
        _expect_error_tree(lambda: target(data), f"{name} seed {seed}")  # noqa: B023
        runs += 1
    if "SECUREXCHANGE_FUZZ_SECONDS" in os.environ:  # a long run by hand: say how long
        print(f"fuzz {name}: {runs} runs, seed {SEED}", file=sys.__stderr__)
    return runs


def _cli(args: list[str]) -> None:
    from securexchange.cli.main import main

    main(args)


def test_mutated_packages_give_only_named_errors(corpus: Corpus) -> None:
    from securexchange.artifacts.package_open import PackageTrust, open_package

    identities = home_identities(corpus.world.staff)

    def target(data: bytes) -> None:
        open_package(data, trust=PackageTrust(corpus.root_key), identities=identities)

    assert _fuzz("package", corpus.package, target) > 0


def test_mutated_artifacts_give_only_named_errors_in_the_audit(corpus: Corpus) -> None:
    from securexchange.audit.inputs import InputFile
    from securexchange.audit.verify import verify_artifacts

    def audit(name: str) -> Callable[[bytes], object]:
        def target(data: bytes) -> None:
            files = [InputFile(name, data)]
            if name.endswith(".json"):
                files.append(InputFile(name[: -len(".json")] + ".sig", corpus.keyring_sig))
            verify_artifacts(files, corpus.root_key)

        return target

    assert _fuzz("audit-package", corpus.package, audit("p.sxpkg")) > 0
    assert _fuzz("audit-return", corpus.return_, audit("r.sxr")) > 0
    assert _fuzz("audit-keyring", corpus.keyring, audit("keyring-11002.json")) > 0


def test_mutated_cards_give_only_named_errors(corpus: Corpus) -> None:
    from securexchange.keys.card import read_card

    assert _fuzz("card", corpus.card, read_card) > 0


def test_mutated_workbooks_give_only_named_errors(corpus: Corpus) -> None:
    from securexchange.sheets.package_read import read_package_rows
    from securexchange.sheets.workbook_read import read_workbook_cells

    def staff_workbook(data: bytes) -> None:
        read_workbook_cells(
            data,
            package_id=corpus.package_id,
            written=None,
            record_count=corpus.records,
            name="inburgeraars.xlsx",
        )

    def package_workbook(data: bytes) -> None:
        read_package_rows(data, records=corpus.records)

    assert _fuzz("staff-workbook", corpus.workbook, staff_workbook) > 0
    assert _fuzz("package-workbook", corpus.package_workbook, package_workbook) > 0


def test_mutated_masters_give_only_named_errors(corpus: Corpus) -> None:
    from securexchange.intake.master import read_master

    path = corpus.scratch / "master.xlsx"

    def target(data: bytes) -> None:
        path.write_bytes(data)
        read_master(path)

    assert _fuzz("master", corpus.master, target) > 0
    csv_path = corpus.scratch / "master.csv"

    def csv_target(data: bytes) -> None:
        csv_path.write_bytes(data)
        read_master(csv_path)

    assert _fuzz("csv-master", corpus.csv_master, csv_target) > 0


def test_mutated_files_through_the_cli_give_only_named_errors(
    corpus: Corpus, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SECUREXCHANGE_HOME", "SECUREXCHANGE_NOW", "SECUREXCHANGE_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    root_card = corpus.world.agency / "keys" / "root.card.json"
    cases = (
        ("cli-import", corpus.package, "pkg.sxpkg", ["--home", str(corpus.world.staff)]),
        ("cli-import-return", corpus.return_, "ret.sxr", ["--home", str(corpus.world.agency)]),
        ("cli-audit", corpus.return_, "ret.sxr", []),
    )
    for label, seed_input, file_name, home in cases:
        path = corpus.scratch / file_name
        command = {
            "cli-import": ["municipality", "import", str(path)],
            "cli-import-return": ["agency", "import-return", str(path)],
            "cli-audit": ["audit", "verify", str(path), "--agency-key", str(root_card)],
        }[label]

        def target(data: bytes, path: Path = path, args: list[str] = home + command) -> None:
            path.write_bytes(data)
            try:
                _cli(args)
            finally:
                err = capsys.readouterr().err
                assert "SX-INTERNAL" not in err, err
                assert "Traceback" not in err, err

        assert _fuzz(label, seed_input, target) > 0
