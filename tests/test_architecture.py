"""The house's rules, by folder: imports point down the ranks, no cycles, each concept once."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from package_graph import SRC, import_graph, module_imports, package_modules

# A module may import from its own folder and from folders of a lower rank, never from a
# folder of the same or a higher rank: so agency, municipality and audit never import each
# other, keys never reaches into artifacts. Every module directly in securexchange/ is
# base (rank 0): a new module there, or in a listed folder, needs no entry here.
RANK = {
    "age": 1,
    "home": 1,
    "keys": 2,
    "sheets": 2,
    "artifacts": 3,
    "intake": 3,
    "incidents": 4,
    "ending": 4,
    "agency": 5,
    "municipality": 5,
    "audit": 5,
    "demo": 6,
    "app": 7,  # the gemeente-app: an edge like the CLI, which starts it
    "cli": 8,
    "__main__": 9,
}
CLI = RANK["cli"]


def _folder(module: str) -> str | None:
    """The folder (or base) a module of ours lives in; None for other libraries."""
    parts = module.split(".")
    if parts[0] != "securexchange" or len(parts) == 1:
        return None
    return parts[1] if parts[1] in RANK else ""


def _layer(module: str) -> int:
    folder = _folder(module)
    if folder is None:
        return -1
    return RANK.get(folder, 0)


def test_every_folder_in_securexchange_has_a_rank() -> None:
    folders = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert folders <= RANK.keys()


def test_imports_point_down_the_folder_ranks_never_sideways() -> None:
    wrong = []
    for module, path in package_modules():
        mine = _layer(module)
        for imported in module_imports(path, module):
            theirs = _layer(imported)
            same_folder = _folder(imported) == _folder(module)
            if theirs > mine or (theirs == mine and not same_folder and mine > 0):
                wrong.append(f"{module} (rank {mine}) imports {imported} (rank {theirs})")
    assert wrong == []


def test_only_cli_imports_click() -> None:
    users = [
        m for m, p in package_modules() if "click" in module_imports(p, m) and _layer(m) != CLI
    ]
    assert users == []


def _imported_libraries(module: str, path: Path) -> set[str]:
    return {name.split(".")[0] for name in module_imports(path, module)}


def test_only_sheets_imports_openpyxl_or_calamine() -> None:
    users = [
        m
        for m, p in package_modules()
        if _imported_libraries(m, p) & {"openpyxl", "python_calamine"} and _folder(m) != "sheets"
    ]
    assert users == []


def test_format_parsers_import_no_cryptography() -> None:
    # The header, manifest and ZIP parsers see hostile bytes first; keeping them free of
    # cryptography keeps them pure parsers that a reviewer can read alone (hashlib is fine).
    parsers = ["securexchange.age.format", "securexchange.artifacts.manifest"]
    parsers.append("securexchange.artifacts.zipstrict")
    modules = dict(package_modules())
    users = [m for m in parsers if _imported_libraries(m, modules[m]) & {"cryptography", "nacl"}]
    assert users == []


def _calls(path: Path) -> Iterator[tuple[str, str, ast.Call]]:
    """(receiver name, called attribute, call) for every ``x.y(...)`` in a module."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            name = receiver.id if isinstance(receiver, ast.Name) else getattr(receiver, "attr", "")
            yield name, node.func.attr, node


def test_the_wall_clock_is_read_in_one_place() -> None:
    readers = [
        f"{m}:{call.lineno}"
        for m, p in package_modules()
        for receiver, attr, call in _calls(p)
        if (receiver, attr) in {("datetime", "now"), ("datetime", "utcnow"), ("date", "today")}
        or (receiver, attr) in {("time", "time"), ("time", "time_ns")}
    ]
    assert [r.split(":")[0] for r in readers] == ["securexchange.home.home"]


def test_only_home_reads_the_clock_override() -> None:
    # The override's name is clock.OVERRIDE_ENV; everything else asks the home's clock
    # (ClockReading.override, .behind) rather than the environment. Setting it for a
    # demo's homes (a key in a dict display) is not reading it.
    readers = []
    for module, path in package_modules():
        text = path.read_text(encoding="utf-8")
        if _folder(module) == "home" or module == "securexchange.clock":
            continue
        tree = ast.parse(text)
        set_here = {id(k) for d in ast.walk(tree) if isinstance(d, ast.Dict) for k in d.keys}
        for node in ast.walk(tree):
            if id(node) in set_here:
                continue
            if isinstance(node, ast.Name) and node.id == "OVERRIDE_ENV":
                readers.append(f"{module}:{node.lineno}")
            if isinstance(node, ast.Constant) and node.value == "SECUREXCHANGE_NOW":
                readers.append(f"{module}:{node.lineno}")
    assert readers == []


def test_only_statedb_opens_sqlite() -> None:
    users = [m for m, p in package_modules() if "sqlite3.connect" in p.read_text(encoding="utf-8")]
    assert users in ([], ["securexchange.home.statedb"])


def test_every_table_is_declared_in_the_home_tables_registry() -> None:
    declaring = sorted(
        m
        for m, p in package_modules()
        if "CREATE TABLE" in p.read_text(encoding="utf-8")
        or "executescript" in p.read_text(encoding="utf-8")
    )
    # The registry, and the part of it it imports for the protocol's operations.
    assert declaring == ["securexchange.home.protocol_tables", "securexchange.home.tables"]


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
    assert _cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_loads_our_modules_by_name() -> None:
    # importlib.import_module / __import__ hide an import from every check here (and from
    # mypy); a lazy ``from ... import`` inside a function keeps start-up cheap instead.
    loaders = []
    for module, path in package_modules():
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
    for module, path in package_modules():
        if _layer(module) == CLI:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                printers.append(module)
    assert printers == []


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    names = [m for m, _ in package_modules() if not m.endswith("__main__")]
    code = "import importlib, sys\nfor n in sys.argv[1:]:\n    importlib.import_module(n)\n"
    subprocess.run([sys.executable, "-c", code, *names], check=True)


def test_the_nis_code_shape_is_written_once() -> None:
    writers = [m for m, p in package_modules() if "[1-9][0-9]{4}" in p.read_text(encoding="utf-8")]
    assert writers == ["securexchange.ids"]


def test_instants_are_parsed_in_one_place() -> None:
    parsers = sorted(
        {
            m
            for m, p in package_modules()
            for receiver, attr, _call in _calls(p)
            if receiver == "datetime" and attr in {"fromisoformat", "strptime"}
        }
    )
    assert parsers == ["securexchange.clock"]


def test_no_cli_module_imports_another_commands_module() -> None:
    # Shared options and helpers live in cli/common.py and cli/keyopts.py, the language of
    # the run in cli/language.py, the translated help frame in cli/translated.py,
    # click's own messages in cli/click_messages.py and what the two incident groups
    # share in cli/incident_views.py;
    # cli/main.py's lazy command table is the one place that names the command modules.
    # A command group may be a package of modules (cli/agency/, cli/municipality/): they
    # share among themselves, never with another group.
    shared = {
        "securexchange.cli",
        "securexchange.cli.click_messages",
        "securexchange.cli.common",
        "securexchange.cli.incident_views",
        "securexchange.cli.keyopts",
        "securexchange.cli.language",
        "securexchange.cli.translated",
    }

    def group(module: str) -> str:
        return ".".join(module.split(".")[:3])

    graph = import_graph()
    wrong = [
        f"{module} imports {imported}"
        for module, deps in graph.items()
        if _folder(module) == "cli" and module != "securexchange.cli.main"
        for imported in deps
        if _folder(imported) == "cli"
        and imported not in shared
        and group(imported) != group(module)
    ]
    assert wrong == []


def test_printing_never_narrows_a_result_with_assert() -> None:
    # A workflow returns a typed result; the CLI annotates it (a TYPE_CHECKING import
    # keeps start-up cheap) instead of taking ``object`` and asserting its type.
    found = [
        f"{module}:{node.lineno}"
        for module, path in package_modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
        and isinstance(node.test, ast.Call)
        and getattr(node.test.func, "id", "") == "isinstance"
    ]
    assert found == []


def _code_words(path: Path) -> Iterator[tuple[int, str]]:
    """Names, attributes and string values of a module, its docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield node.lineno, node.id
        elif isinstance(node, ast.Attribute):
            yield node.lineno, node.attr
        elif isinstance(node, ast.alias):
            yield node.lineno, node.name
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.lineno, node.value


def test_a_recipient_type_is_named_only_in_age_and_keys() -> None:
    # Everything else goes through age.parse_recipient / parse_identity /
    # well_formed_stanza, so a new recipient type is one module in age/ and its entry
    # in age.recipients.KEY_TYPES.
    named = [
        f"{module}:{line}"
        for module, path in package_modules()
        if _folder(module) not in {"age", "keys"}
        for line, word in _code_words(path)
        if "x25519" in word.lower()
    ]
    assert named == []


def test_workflows_return_typed_results_not_untyped_dicts() -> None:
    # A dict of Any is the JSON form of a result (to_json), never the result itself.
    untyped = []
    for module, path in package_modules():
        if _folder(module) not in {"agency", "municipality", "audit"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            returns = ast.unparse(node.returns) if node.returns else ""
            loose = returns.startswith(("dict[str, Any]", "dict[str, object]", "Mapping[str, Any]"))
            if loose and node.name != "to_json":
                untyped.append(f"{module}.{node.name}")
    assert untyped == []


# Issue 16 asks for no module over 500 lines and no function over 80. What still exceeds
# them is listed here with its size today as a cap: it may shrink (then lower or drop
# the entry), never grow, and nothing new may join. Empty lists close the ratchet.
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
LONG_MODULES = {}
LONG_FUNCTIONS = {}


def test_no_module_grows_past_500_lines() -> None:
    over = {
        module: len(path.read_text(encoding="utf-8").splitlines())
        for module, path in package_modules()
        if len(path.read_text(encoding="utf-8").splitlines()) > MAX_MODULE_LINES
    }
    assert set(over) <= set(LONG_MODULES), "a new module over 500 lines"
    assert all(lines <= LONG_MODULES[m] for m, lines in over.items()), over


def test_no_function_grows_past_80_lines() -> None:
    over = {}
    for module, path in package_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    over[f"{module}.{node.name}"] = length
    assert set(over) <= set(LONG_FUNCTIONS), "a new function over 80 lines"
    assert all(lines <= LONG_FUNCTIONS[f] for f, lines in over.items()), over


def test_every_module_says_its_one_job() -> None:
    silent = [
        m for m, p in package_modules() if not ast.get_docstring(ast.parse(p.read_text("utf-8")))
    ]
    assert silent == []
