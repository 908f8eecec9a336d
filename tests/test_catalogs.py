"""The Dutch catalog: every marked message has Dutch text that keeps its placeholders, and
the compiled catalog the package ships is the one the .po says (scripts/catalogs.py)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "catalogs.py"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@pytest.fixture(scope="module")
def catalogs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("catalogs_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["catalogs_script"] = module
    spec.loader.exec_module(module)
    return module


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_the_catalog_holds_exactly_the_messages_the_code_marks_and_is_compiled(
    catalogs: ModuleType,
) -> None:
    assert catalogs.problems() == []


def test_every_marked_message_has_dutch_text(catalogs: ModuleType) -> None:
    untranslated = [m.id for m in catalogs.read_catalog() if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []


def test_no_translation_drops_or_adds_a_placeholder(catalogs: ModuleType) -> None:
    broken = []
    for message in catalogs.read_catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = _placeholders(ids[-1])
        broken += [message.id for s in strings if _placeholders(s) != wanted]
    assert broken == []


def test_the_placeholder_check_sees_a_dropped_placeholder() -> None:
    assert _placeholders("Op {date} worden {n} dossiers vernietigd.") == ["{date}", "{n}"]
    assert _placeholders("Op {date} worden dossiers vernietigd.") != ["{date}", "{n}"]


def test_the_extraction_finds_messages_in_every_marking_form(catalogs: ModuleType) -> None:
    found = {m.id for m in catalogs.extracted()}
    assert "Commands" in found  # _() in the CLI
    assert "The municipal client: import, open, return." in found  # N_() in a table
    assert "in use" in found  # the status wording
