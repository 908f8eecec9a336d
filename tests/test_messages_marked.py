"""Every message the municipal and key commands can show is marked for the catalog.

The catalog test (test_catalogs.py) proves that every *marked* message has Dutch text;
this one proves that nothing a municipal employee can read is left unmarked. It walks
every module the municipal and ``keys`` commands reach (lazy imports included) and
refuses a text literal with words in it that is not inside ``_()``, ``N_()`` or
``ngettext()``, where it is:
  - the message of an error of ours (a subclass of ``SxError``);
  - a ``hint=``, ``help=`` or ``prompt=`` given to anything;
  - the text of a click ``echo``, ``note``, ``prompt``, ``confirm`` or usage error;
  - a text set as an error's ``message`` or ``hint`` after it was made.

The agency's own modules are read by its data officers and auditors, in English: the
walk does not enter them (``AGENCY_SIDE``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from package_graph import package_modules, reachable

ROOTS = [
    "securexchange.cli.main",
    "securexchange.cli.municipality",
    "securexchange.cli.keys",
]
AGENCY_SIDE = (
    "securexchange.agency",
    "securexchange.intake",
    "securexchange.cli.agency",
    "securexchange.cli.audit",
    "securexchange.cli.sample",
    "securexchange.cli.demo",
    "securexchange.demo",
)
MARKERS = {"_", "N_", "ngettext"}
TEXT_KEYWORDS = {"hint", "help", "prompt"}
CLICK_TEXT = {"echo", "secho", "note", "prompt", "confirm", "fail", "BadParameter", "UsageError"}


@dataclass(frozen=True)
class Site:
    module: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: {self.text!r}"


def _error_classes(sources: dict[str, ast.Module]) -> set[str]:
    """The names of our error classes: SxError and every class deriving from one."""
    parents: dict[str, set[str]] = {}
    for tree in sources.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                parents[node.name] = {
                    b.id if isinstance(b, ast.Name) else b.attr
                    for b in node.bases
                    if isinstance(b, ast.Name | ast.Attribute)
                }
    errors = {"SxError"}
    grew = True
    while grew:
        found = {name for name, bases in parents.items() if bases & errors} - errors
        errors |= found
        grew = bool(found)
    return errors


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _unmarked_words(node: ast.AST) -> list[str]:
    """Text literals with letters in ``node`` that no marker call encloses."""
    if isinstance(node, ast.Call) and _callee(node) in MARKERS:
        return []
    if isinstance(node, ast.Constant):
        text = node.value
        return [text] if isinstance(text, str) and any(c.isalpha() for c in text) else []
    if isinstance(node, ast.FormattedValue):  # a {value}: its format spec is not prose
        return _unmarked_words(node.value)
    if isinstance(node, ast.Subscript):  # entry["name"]: a key, not prose
        return _unmarked_words(node.value)
    if isinstance(node, ast.Call):
        # What a call returns is not a literal, but a text it formats and what it splices
        # into that text are: "... {what}".format(what="the file").
        spliced = node.args + [k.value for k in node.keywords] if _callee(node) == "format" else []
        return [w for part in [node.func, *spliced] for w in _unmarked_words(part)]
    found: list[str] = []
    for child in ast.iter_child_nodes(node):
        found += _unmarked_words(child)
    return found


def _shown_texts(call: ast.Call, errors: set[str]) -> list[ast.AST]:
    """The parts of ``call`` that reach a person."""
    name = _callee(call)
    shown: list[ast.AST] = [k.value for k in call.keywords if k.arg in TEXT_KEYWORDS]
    if (name in errors or name in CLICK_TEXT) and call.args:
        shown.append(call.args[0])
    if name in errors:
        shown += [k.value for k in call.keywords if k.arg == "message"]
    return shown


def _rewritten_texts(node: ast.AST) -> list[ast.AST]:
    """What ``error.message = ...``, ``error.message += ...`` or ``error.hint = ...`` sets."""
    if isinstance(node, ast.Assign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(isinstance(t, ast.Attribute) and t.attr in {"message", "hint"} for t in targets):
            return [node.value]
    return []


def unmarked_sites(sources: dict[str, ast.Module], errors: set[str]) -> list[Site]:
    sites = []
    for module, tree in sorted(sources.items()):
        for node in ast.walk(tree):
            shown = _shown_texts(node, errors) if isinstance(node, ast.Call) else []
            for text in shown + _rewritten_texts(node):
                line = getattr(node, "lineno", 0)
                sites += [Site(module, line, t) for t in _unmarked_words(text)]
    return sites


def _parsed(paths: dict[str, Path]) -> dict[str, ast.Module]:
    return {m: ast.parse(p.read_text(encoding="utf-8")) for m, p in paths.items()}


def test_every_message_the_municipal_and_key_commands_show_is_marked() -> None:
    every = _parsed(dict(package_modules()))
    reached = reachable(ROOTS, stop=AGENCY_SIDE)
    unmarked = unmarked_sites({m: every[m] for m in reached}, _error_classes(every))
    assert [str(s) for s in unmarked] == []


def test_the_walk_reaches_the_modules_staff_errors_come_from() -> None:
    reached = reachable(ROOTS, stop=AGENCY_SIDE)
    for module in (
        "securexchange.municipality.importer",
        "securexchange.artifacts.package_open",
        "securexchange.age.stream",
        "securexchange.sheets.workbook_read",
        "securexchange.keys.keyfile",
        "securexchange.home.home",
    ):
        assert module in reached
    assert not any(m.startswith(AGENCY_SIDE) for m in reached)


SAMPLE = """
class SxError(Exception): ...
class Stale(SxError): ...
class Late(Stale): ...
def f(path, n):
    raise Late(f"{path.name} came too late")
    raise Stale(_("marked {x}").format(x=1), hint="not marked")
    raise Stale(ngettext("{n} day", "{n} days", n).format(n=n))
    raise ValueError("a programmer's error, never shown")
    click.echo(f"{n:>8}  {path}")
    click.echo(_("label") + ": " + str(n))
    click.echo(f"{_(n)}  {entry['fingerprint']}".encode("utf-8"))
    raise Late("{n} left".format(n=n), hint=_("x {y}").format(y="spliced words"))
    option("--x", help="Unmarked help.")
    note(N_("marked"))
    error.message += f"; and {n} more"
    error.hint = _("marked")
"""


def test_the_walk_finds_unmarked_messages_and_passes_marked_ones() -> None:
    sources = {"sample": ast.parse(SAMPLE)}
    found = sorted(s.text for s in unmarked_sites(sources, _error_classes(sources)))
    assert found == [
        " came too late",
        " more",
        "; and ",
        "Unmarked help.",
        "not marked",
        "spliced words",
        "{n} left",
    ]
