"""Where the package uses a name one of POSIX and Windows lacks, and in what platform
context it runs there (tests/test_windows_paths.py).

Modules are parsed, never imported. A context is POSIX or WINDOWS when the code can run
there only: the branch of an ``if`` (or of a conditional expression, or an operand of
``and`` after one) whose test implies the platform, the rest of a block after ``if
<test>: return`` whose test's failure implies it, or a function in
:data:`POSIX_ONLY_FUNCTIONS`. Tests are understood from ``os.name``, ``sys.platform``,
``hasattr(os, NAME)``, ``getattr(os, NAME, 0)``, and from the package's own module-level
flags and one-line predicates built from those (``POSIX = os.name != "nt"``, ``def
can_tell(): return sys.platform.startswith("linux")``), found by :func:`platform_names`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

POSIX = "posix"
WINDOWS = "windows"
# What a test's truth says about the platform: (if true, only on ...; if false, only on ...).
Implied = tuple[str | None, str | None]
NOTHING: Implied = (None, None)

# os names that Python 3.11 on Windows lacks (set_blocking and fchmod came in 3.12, 3.13).
POSIX_ONLY_OS = frozenset(
    {
        *("getuid", "geteuid", "getgid", "getegid", "getgroups", "setuid", "seteuid"),
        *("setgid", "initgroups", "getresuid", "getlogin", "uname", "umask"),
        *("fchmod", "fchown", "chown", "lchown", "lchmod", "chroot", "fchdir"),
        *("statvfs", "fstatvfs", "sync", "fdatasync", "set_blocking", "get_blocking"),
        *("fork", "forkpty", "register_at_fork", "setsid", "getsid", "setpgid", "getpgid"),
        *("killpg", "wait3", "wait4", "WNOHANG", "nice", "getpriority", "setpriority"),
        *("mkfifo", "mknod", "major", "minor", "makedev", "pipe2", "openpty", "ttyname"),
        *("ctermid", "pathconf", "fpathconf", "sysconf", "confstr", "getloadavg"),
        *("posix_fadvise", "posix_fallocate", "sched_getaffinity", "sendfile"),
        *("pread", "preadv", "pwrite", "pwritev"),
        *("O_NOFOLLOW", "O_DIRECTORY", "O_NONBLOCK", "O_CLOEXEC", "O_NOCTTY", "O_SYNC"),
        *("O_DSYNC", "O_ASYNC", "O_NOATIME", "O_PATH", "O_TMPFILE"),
    }
)
WINDOWS_ONLY_OS = frozenset(
    {"startfile", "add_dll_directory", "O_BINARY", "O_TEXT", "O_NOINHERIT", "O_TEMPORARY"}
)
POSIX_ONLY_ATTRIBUTES = {
    "os": POSIX_ONLY_OS,
    "signal": frozenset(
        {"SIGKILL", "SIGHUP", "SIGALRM", "SIGUSR1", "SIGUSR2", "SIGCHLD", "SIGPIPE"}
        | {"SIGQUIT", "SIGTSTP", "SIGCONT", "SIGSTOP", "alarm", "setitimer", "getitimer"}
        | {"pause", "pthread_kill", "pthread_sigmask", "sigwait", "siginterrupt"}
    ),
    # How Linux tells a socket's owner, or shares a port: not on Windows.
    "socket": frozenset({"AF_UNIX", "SO_PEERCRED", "SCM_RIGHTS", "SO_PASSCRED", "SO_REUSEPORT"}),
}
WINDOWS_ONLY_ATTRIBUTES = {
    "os": WINDOWS_ONLY_OS,
    "signal": frozenset({"CTRL_C_EVENT", "CTRL_BREAK_EVENT", "SIGBREAK"}),
    "socket": frozenset({"SO_EXCLUSIVEADDRUSE"}),
}
POSIX_ONLY_MODULES = frozenset(
    {"fcntl", "pwd", "grp", "resource", "termios", "tty", "pty", "posix", "syslog"}
    | {"crypt", "spwd", "curses", "readline"}
)
WINDOWS_ONLY_MODULES = frozenset({"msvcrt", "winreg", "_winapi", "winsound", "nt"})
POSIX_PATHS = ("/proc/", "/dev/", "/sys/", "/etc/", "/run/", "/var/")
POSIX_SYSTEMS = ("linux", "darwin", "freebsd", "openbsd", "netbsd", "aix", "sunos")

# Functions on directory descriptors, run only where safefs.FD_RELATIVE holds: their
# bodies are a POSIX context, and every call of them must be in one too.
POSIX_ONLY_FUNCTIONS = {
    "securexchange.home.safefs": frozenset(
        {"open_dir", "entry", "_open_checked", "_open_for_overwrite", "shred_at"}
    ),
    # Runs only in a child that os.fork made (aside.can_fork: Linux).
    "securexchange.aside": frozenset({"_run_child"}),
}


def _other(platform: str | None) -> str | None:
    return {POSIX: WINDOWS, WINDOWS: POSIX}.get(platform or "")


def _string(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return ""


def _exact(platform: str | None) -> Implied:
    """A test that holds on ``platform`` and nowhere else."""
    return (platform, _other(platform)) if platform else NOTHING


def _system(text: str | None) -> str | None:
    """The platform a ``sys.platform`` value (or prefix) names."""
    if text is None:
        return None
    if text.startswith("win"):
        return WINDOWS
    return POSIX if text.startswith(POSIX_SYSTEMS) else None


def _compare(node: ast.Compare) -> Implied:
    if len(node.ops) != 1 or not isinstance(node.ops[0], ast.Eq | ast.NotEq):
        return NOTHING
    left, right = dotted(node.left), _string(node.comparators[0])
    if left == "os.name" and right in ("nt", "posix"):
        implied = _exact(WINDOWS if right == "nt" else POSIX)
    elif left == "sys.platform":
        # == "linux" holds on Linux only (POSIX); != "linux" says nothing.
        platform = _system(right)
        implied = _exact(platform) if platform == WINDOWS else (platform, None)
    else:
        return NOTHING
    return implied if isinstance(node.ops[0], ast.Eq) else (implied[1], implied[0])


def _call(node: ast.Call, names: dict[str, Implied]) -> Implied:
    called = dotted(node.func)
    if called == "sys.platform.startswith" and node.args:
        platform = _system(_string(node.args[0]))
        return _exact(platform) if platform == WINDOWS else (platform, None)
    if called in ("hasattr", "getattr") and len(node.args) >= 2 and dotted(node.args[0]) == "os":
        # getattr(os, "O_NOFOLLOW", 0) is true exactly where os has the name, as hasattr.
        if called == "getattr" and not _falsy_default(node):
            return NOTHING
        return _os_name(_string(node.args[1]))
    if not node.args and not node.keywords:
        return names.get(called.rsplit(".", 1)[-1] + "()", NOTHING)
    return NOTHING


def _falsy_default(node: ast.Call) -> bool:
    return len(node.args) == 3 and isinstance(node.args[2], ast.Constant) and not node.args[2].value


def _os_name(name: str | None) -> Implied:
    if name in POSIX_ONLY_OS:
        return _exact(POSIX)
    return _exact(WINDOWS) if name in WINDOWS_ONLY_OS else NOTHING


def implied(test: ast.expr, names: dict[str, Implied]) -> Implied:
    """What ``test`` being true, and being false, says about the platform."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        when_true, when_false = implied(test.operand, names)
        return when_false, when_true
    if isinstance(test, ast.BoolOp):
        parts = [implied(value, names) for value in test.values]
        some_true = {p[0] for p in parts} - {None}
        some_false = {p[1] for p in parts} - {None}
        every_true = {p[0] for p in parts}
        every_false = {p[1] for p in parts}
        if isinstance(test.op, ast.And):  # true: every part is; false: one is not
            return (
                some_true.pop() if len(some_true) == 1 else None,
                every_false.pop() if len(every_false) == 1 else None,
            )
        return (  # or: true: one part is; false: every part is not
            every_true.pop() if len(every_true) == 1 else None,
            some_false.pop() if len(some_false) == 1 else None,
        )
    if isinstance(test, ast.Compare):
        return _compare(test)
    if isinstance(test, ast.Name | ast.Attribute):
        return names.get(dotted(test).rsplit(".", 1)[-1], NOTHING)
    if isinstance(test, ast.Call):
        return _call(test, names)
    return NOTHING


def _docstring_free(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and _string(body[0].value) is not None:
        return body[1:]
    return body


def platform_names(trees: Iterable[ast.Module]) -> dict[str, Implied]:
    """The package's module-level names that tell the platform: ``NAME`` for a flag,
    ``NAME()`` for a predicate whose body is one ``return`` of such a test."""
    names: dict[str, Implied] = {}
    statements = [node for tree in trees for node in tree.body]
    for _round in range(3):  # a flag may be built from another module's flag
        for node in statements:
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                found = implied(node.value, names)
                for target in _targets(node):
                    if isinstance(target, ast.Name) and found != NOTHING:
                        names[target.id] = found
            elif isinstance(node, ast.FunctionDef) and not node.args.args:
                body = _docstring_free(node.body)
                if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value:
                    found = implied(body[0].value, names)
                    if found != NOTHING:
                        names[node.name + "()"] = found
    return names


def exits(body: list[ast.stmt]) -> bool:
    """Whether ``body`` never runs on to the statement after it."""
    if not body:
        return False
    last = body[-1]
    if isinstance(last, ast.If):
        return exits(last.body) and exits(last.orelse)
    if isinstance(last, ast.Try):
        return exits(last.body) and all(exits(h.body) for h in last.handlers)
    if isinstance(last, ast.With):
        return exits(last.body)
    return isinstance(last, ast.Return | ast.Raise | ast.Continue | ast.Break)


def assignments(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, str]:
    """Each name assigned in ``function``: the source of everything assigned to it."""
    found: dict[str, str] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) and node.value:
            for target in _targets(node):
                if isinstance(target, ast.Name):
                    found[target.id] = found.get(target.id, "") + ast.unparse(node.value)
    return found


def _targets(node: ast.stmt) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return node.targets
    if isinstance(node, ast.AnnAssign | ast.AugAssign):
        return [node.target]
    return []


def posix_path_names(tree: ast.Module) -> set[str]:
    """Module-level names bound to a POSIX-only path (``_TABLES = (Path("/proc/..."),)``):
    naming the path at import is harmless; each use of the name is checked instead."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            texts = [_string(n) for n in ast.walk(node.value) if isinstance(n, ast.Constant)]
            if any(t and t.startswith(POSIX_PATHS) for t in texts):
                names |= {t.id for t in _targets(node) if isinstance(t, ast.Name)}
    return names


def imported_posix_functions(tree: ast.Module) -> set[str]:
    """How a module may call a POSIX-only function of another: ``safefs.open_dir``, or
    ``open_dir`` when imported by name."""
    names: set[str] = set()
    for module, functions in POSIX_ONLY_FUNCTIONS.items():
        short = module.rsplit(".", 1)[-1]
        names |= {f"{short}.{f}" for f in functions}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == module:
                names |= {a.asname or a.name for a in node.names if a.name in functions}
    return names


class Scan:
    """The platform-specific uses of one module that run outside their platform."""

    def __init__(self, module: str, tree: ast.Module, names: dict[str, Implied]) -> None:
        self.module = module
        self.names = names
        self.posix_functions = POSIX_ONLY_FUNCTIONS.get(module, frozenset())
        self.imported_posix_functions = imported_posix_functions(tree)
        self.posix_paths = posix_path_names(tree)
        self.problems: list[str] = []
        self._assigned: dict[str, str] = {}
        for node in tree.body:  # a path named at module level is checked where used
            if not {dotted(t) for t in _targets(node)} & self.posix_paths:
                self._block([node], None)

    def _block(self, body: list[ast.stmt], context: str | None) -> None:
        for statement in body:
            self._statement(statement, context)
            if isinstance(statement, ast.If) and not statement.orelse and exits(statement.body):
                context = implied(statement.test, self.names)[1] or context

    def _statement(self, node: ast.stmt, context: str | None) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inner = POSIX if node.name in self.posix_functions else context
            saved, self._assigned = self._assigned, assignments(node)
            for default in [*node.args.defaults, *node.decorator_list]:
                self._expression(default, context)
            self._block(_docstring_free(node.body), inner)
            self._assigned = saved
        elif isinstance(node, ast.ClassDef):
            self._block(_docstring_free(node.body), context)
        elif isinstance(node, ast.If):
            when_true, when_false = implied(node.test, self.names)
            self._expression(node.test, context)
            self._block(node.body, when_true or context)
            self._block(node.orelse, when_false or context)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            self._import(node, context)
        else:
            self._fields(node, context)

    def _fields(self, node: ast.AST, context: str | None) -> None:
        """Every part of ``node``: statement lists as blocks, the rest one by one."""
        for _field, value in ast.iter_fields(node):
            items = value if isinstance(value, list) else [value]
            if items and isinstance(items[0], ast.stmt):
                self._block(items, context)
                continue
            for item in items:
                if isinstance(item, ast.expr):
                    self._expression(item, context)
                elif isinstance(item, ast.AST):  # handlers, keywords, comprehensions, ...
                    self._fields(item, context)

    def _expression(self, node: ast.expr, context: str | None) -> None:
        if isinstance(node, ast.IfExp):
            when_true, when_false = implied(node.test, self.names)
            self._expression(node.test, context)
            self._expression(node.body, when_true or context)
            self._expression(node.orelse, when_false or context)
            return
        if isinstance(node, ast.BoolOp):
            for value in node.values:  # each operand runs only when those before it
                self._expression(value, context)  # held (and) or failed (or)
                when_true, when_false = implied(value, self.names)
                held = when_true if isinstance(node.op, ast.And) else when_false
                context = held or context
            return
        self._use(node, context)
        self._fields(node, context)

    def _use(self, node: ast.expr, context: str | None) -> None:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner, name = node.value.id, node.attr
            if name in POSIX_ONLY_ATTRIBUTES.get(owner, ()) and context != POSIX:
                self._found(node, f"{owner}.{name} (POSIX only)")
            if name in WINDOWS_ONLY_ATTRIBUTES.get(owner, ()) and context != WINDOWS:
                self._found(node, f"{owner}.{name} (Windows only)")
        text = _string(node)
        if text is not None and text.startswith(POSIX_PATHS) and context != POSIX:
            self._found(node, f"the path {text!r} (POSIX only)")
        if isinstance(node, ast.Name) and node.id in self.posix_paths and context != POSIX:
            self._found(node, f"{node.id} (a POSIX-only path)")
        if isinstance(node, ast.Call):
            self._call(node, context)

    def _call(self, node: ast.Call, context: str | None) -> None:
        if context == POSIX:
            return
        called = dotted(node.func)
        ours = called in self.posix_functions  # called by its bare name in its module
        if ours or called in self.imported_posix_functions:
            self._found(node, f"{called}() (runs on POSIX only)")
        first = dotted(node.args[0]) if node.args else ""
        if called in ("os.listdir", "os.scandir") and first.endswith("fd"):  # fd, dir_fd
            self._found(node, f"{called} of a descriptor (POSIX only)")
        if any(k.arg == "dir_fd" for k in node.keywords):
            self._found(node, f"{called}(dir_fd=...) (no directory descriptors on Windows)")
        if called == "os.open" and not self._binary(node):
            self._found(node, "os.open without O_BINARY (Windows would read it as text)")

    def _binary(self, node: ast.Call) -> bool:
        """Whether O_BINARY is among the flags, or in what the names used there hold."""
        flags = node.args[1] if len(node.args) > 1 else None
        if flags is None:
            return False
        names = {n.id for n in ast.walk(flags) if isinstance(n, ast.Name)}
        return "BINARY" in ast.unparse(flags) or any(
            "BINARY" in self._assigned.get(n, "") for n in names
        )

    def _import(self, node: ast.Import | ast.ImportFrom, context: str | None) -> None:
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
        for name in names:
            top = (name or "").split(".")[0]
            if top in POSIX_ONLY_MODULES and context != POSIX:
                self._found(node, f"import {name} (POSIX only)")
            if top in WINDOWS_ONLY_MODULES and context != WINDOWS:
                self._found(node, f"import {name} (Windows only)")

    def _found(self, node: ast.AST, what: str) -> None:
        self.problems.append(f"{self.module}:{getattr(node, 'lineno', '?')}: {what}")


def problems(sources: dict[str, str]) -> list[str]:
    """Every platform-specific use outside its platform in ``sources`` (module: text)."""
    trees = {module: ast.parse(source) for module, source in sources.items()}
    names = platform_names(trees.values())
    return [p for module, tree in trees.items() for p in Scan(module, tree, names).problems]
