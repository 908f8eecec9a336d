"""The benchmarks import only names the package still has.

They are run by hand, not by the suite, and import most names lazily inside functions:
a name removed from the package (as ``registry.ensure_schema`` was) broke
``benchmarks/export.py`` without any test noticing. This reads every ``from
securexchange... import name`` in ``benchmarks/`` and checks that the name exists.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _imported_names(source: str) -> list[tuple[str, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("securexchange"):
            found += [(node.module or "", alias.name) for alias in node.names]
    return found


def test_every_name_a_benchmark_imports_from_the_package_exists() -> None:
    missing = []
    for script in sorted(BENCHMARKS.glob("*.py")):
        for module, name in _imported_names(script.read_text(encoding="utf-8")):
            imported = importlib.import_module(module)
            if not hasattr(imported, name):
                try:
                    importlib.import_module(f"{module}.{name}")
                except ModuleNotFoundError:
                    missing.append(f"{script.name}: {module}.{name}")
    assert missing == []


def test_the_check_sees_a_removed_name() -> None:
    source = "def f():\n    from securexchange.errors import NoSuchError\n"
    assert _imported_names(source) == [("securexchange.errors", "NoSuchError")]
    assert not hasattr(importlib.import_module("securexchange.errors"), "NoSuchError")
