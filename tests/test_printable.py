"""No name or value the tool prints can forge output: control, bidi and line-separator
characters are shown escaped, in tables, notes, errors and JSON alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli_helpers import run_cli
from keys_helpers import make_agency
from securexchange.printable import escape, escape_json, is_unsafe, neutralise

FORGED = "x.sxp  package  P-1  11002  1  verified"
# A newline and a forged report line, a carriage return and an ANSI "erase line", a
# right-to-left override (shows "exe.txt" as "txt.exe"), a zero-width joiner, a C1
# control (NEL), a line separator and a tag character from beyond the BMP.
HOSTILE = f"notes\n{FORGED}\r\x1b[2K\u202eexe.txt\u200d\x85\u2028\U000e0041"


def _raw_unsafe(text: str) -> list[str]:
    """The unsafe characters in printed text, its own line breaks aside."""
    return [c for c in text if is_unsafe(c) and c != "\n"]


@pytest.mark.parametrize(
    ("char", "shown"),
    [
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        ("\x00", "\\x00"),
        ("\x1b", "\\x1b"),
        ("\x7f", "\\x7f"),
        ("\x85", "\\x85"),
        ("\u061c", "\\u061c"),  # Arabic letter mark (Cf)
        ("\u200b", "\\u200b"),  # zero-width space (Cf)
        ("\u202a", "\\u202a"),
        ("\u202e", "\\u202e"),
        ("\u2066", "\\u2066"),  # left-to-right isolate
        ("\u2069", "\\u2069"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
        ("\ufeff", "\\ufeff"),
        ("\U000e0001", "\\U000e0001"),
        ("\udcff", "\\udcff"),  # an undecodable byte of a file name (surrogateescape)
    ],
)
def test_every_control_bidi_and_separator_character_is_shown_escaped(char: str, shown: str) -> None:
    assert escape(f"a{char}b") == f"a{shown}b"
    assert neutralise(f"a{char}b") == f"a{shown}b"


def test_escaped_values_stay_distinct_and_visible_text_is_untouched() -> None:
    assert escape("a\\nb") != escape("a\nb")
    assert escape("a\\b") == "a\\\\b"
    visible = "Sint-Niklaas/café déjà vu — 東京 ✓ «x» 'y' \"z\" é\u0301"
    assert escape(visible) == visible
    assert neutralise(visible + "\\") == visible + "\\"
    assert neutralise("one\ntwo\u202e", keep_newlines=True) == "one\ntwo\\u202e"


@given(st.text(), st.text())
def test_escape_leaves_no_unsafe_character_and_keeps_distinct_values_distinct(
    a: str, b: str
) -> None:
    assert not any(is_unsafe(c) for c in escape(a))
    assert (escape(a) == escape(b)) == (a == b)
    assert not any(is_unsafe(c) and c != "\n" for c in neutralise(a, keep_newlines=True))


@given(
    st.recursive(
        st.text() | st.integers(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)
    )
)
def test_escaped_json_of_any_value_decodes_to_that_value(value: object) -> None:
    document = escape_json(json.dumps(value, ensure_ascii=False, indent=2))
    assert _raw_unsafe(document) == []
    assert json.loads(document) == value


def test_escaped_json_decodes_to_the_same_value_and_holds_no_unsafe_character() -> None:
    value = {"file": HOSTILE, "lone": "\udcff", "ok": "café"}
    document = escape_json(json.dumps(value, ensure_ascii=False, indent=2))
    assert _raw_unsafe(document) == []
    assert json.loads(document) == value
    assert "café" in document  # non-ASCII text stays readable


@pytest.fixture(scope="module")
def root_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    agency = tmp_path_factory.mktemp("agency") / "home"
    make_agency(agency, demo=True)
    return agency / "keys" / "root.card.json"


def test_a_newline_in_a_file_name_cannot_forge_a_line_of_audit_verify(
    tmp_path: Path, root_card: Path
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / f"{HOSTILE}.sxp").write_bytes(b"not a container")  # judged, fails
    (folder / HOSTILE).write_bytes(b"not an artifact")  # skipped
    result = run_cli(["audit", "verify", str(folder), "--agency-key", str(root_card)])
    assert result.code == 1, result.stderr
    lines = result.stdout.splitlines()
    assert not any(line.startswith(FORGED) for line in lines), result.stdout
    assert _raw_unsafe(result.stdout + result.stderr) == []
    # The names are there, escaped: each on the one line it belongs to.
    shown = escape(HOSTILE)
    assert any(f"/{shown}.sxp " in line and line.endswith("FAILED") for line in lines)
    assert any(line.startswith("skipped  ") and f"/{shown}  (" in line for line in lines)


def test_a_bidi_override_in_a_file_name_reaches_audit_verify_json_escaped(
    tmp_path: Path, root_card: Path
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / HOSTILE).write_bytes(b"not an artifact")
    result = run_cli(["audit", "verify", str(folder), "--agency-key", str(root_card), "--json"])
    assert _raw_unsafe(result.stdout + result.stderr) == []
    report = json.loads(result.stdout)
    assert [Path(s["file"]).name for s in report["skipped"]] == [HOSTILE]


def test_a_control_character_in_a_path_argument_cannot_forge_an_error_line(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nothing\nerror: SX-OK: all fine\u202e"
    result = run_cli(["audit", "verify", str(missing), "--agency-key", str(missing)])
    assert result.code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and not errors[0].startswith("error: SX-OK"), result.stderr
    assert _raw_unsafe(result.stderr) == []


def test_cli_modules_write_text_only_through_the_escaping_echo() -> None:
    """A new ``click.echo`` with a raw value would bring the forged lines back."""
    cli = Path(__file__).resolve().parents[1] / "src" / "securexchange" / "cli"
    allowed = {
        "common.py": 2,  # echo and echo_json themselves
        "main.py": 2,  # the error and hint lines (neutralised)
        "keys.py": 1,  # the card file itself, byte for byte
    }
    counts = {p.name: p.read_text(encoding="utf-8").count("click.echo(") for p in cli.glob("*.py")}
    assert {name: n for name, n in counts.items() if n} == allowed


def test_a_newline_in_the_demo_directory_cannot_split_the_demo_report(tmp_path: Path) -> None:
    directory = tmp_path / "demo\nall 99 steps ok"
    result = run_cli(["demo", "--dir", str(directory)], timeout=300)
    assert result.code == 0, result.stderr
    assert not any(line.startswith("all 99 steps ok") for line in result.stdout.splitlines())
    assert _raw_unsafe(result.stdout + result.stderr) == []
    assert escape(str(directory)) in result.stdout
