"""Imports point one way: cli -> workflows -> home infrastructure -> pure core."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "securexchange"

INFRA = {"home", "statedb", "atomicio", "eventlog", "safefs", "homeguard"}
WORKFLOW_PACKAGES = {"agency", "municipality", "audit"}
WORKFLOW_MODULES = {"keystore", "intake", "sample", "demo", "csvread", "normalise"}


def _layer(module: str) -> int:
    parts = module.split(".")
    if parts[0] != "securexchange" or len(parts) == 1:
        return -1
    head = parts[1]
    if head in {"cli", "__main__"}:
        return 3
    if head in WORKFLOW_PACKAGES or head in WORKFLOW_MODULES:
        return 2
    if head in INFRA:
        return 1
    return 0


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        found.append((name, path))
    return found


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_imports_point_from_cli_to_workflows_to_infrastructure_to_core() -> None:
    wrong = []
    for module, path in _modules():
        mine = _layer(module)
        for imported in _imports(path, module):
            theirs = _layer(imported)
            if theirs > mine:
                wrong.append(f"{module} (layer {mine}) imports {imported} (layer {theirs})")
    assert wrong == []


def test_only_cli_imports_click() -> None:
    users = [m for m, p in _modules() if "click" in _imports(p, m) and _layer(m) != 3]
    assert users == []


def test_only_statedb_opens_sqlite() -> None:
    users = [m for m, p in _modules() if "sqlite3.connect" in p.read_text(encoding="utf-8")]
    assert users in ([], ["securexchange.statedb"])


def _graph() -> dict[str, set[str]]:
    """module -> our modules it imports (lazy imports inside functions included)."""
    modules = dict(_modules())
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        deps: set[str] = set()
        for name in _imports(path, module):
            target = name
            while target and target not in modules:  # a name in a module: the module
                target = target.rsplit(".", 1)[0] if "." in target else ""
            if target and target != module and not module.startswith(target + "."):
                deps.add(target)
        graph[module] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_anywhere_lazy_imports_included() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_loads_our_modules_by_name() -> None:
    # importlib.import_module / __import__ hide an import from every check here (and from
    # mypy); a lazy ``from ... import`` inside a function keeps start-up cheap instead.
    loaders = []
    for module, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in {"import_module", "__import__"}:
                loaders.append(f"{module}:{node.lineno}")
    assert loaders == []


def test_library_code_never_prints() -> None:
    printers = []
    for module, path in _modules():
        if _layer(module) == 3:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                printers.append(module)
    assert printers == []


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    names = [m for m, _ in _modules() if not m.endswith("__main__")]
    code = "import importlib, sys\nfor n in sys.argv[1:]:\n    importlib.import_module(n)\n"
    subprocess.run([sys.executable, "-c", code, *names], check=True)


def test_the_nis_code_shape_is_written_once() -> None:
    writers = [m for m, p in _modules() if "[1-9][0-9]{4}" in p.read_text(encoding="utf-8")]
    assert writers == ["securexchange.ids"]
