"""A static look at a submission: which graded functions lean on a forbidden library.

The child process watches what code *runs*; this module reads the source, so that a call in a
branch the checks never reach is caught too. Plain numpy is allowed everywhere; numpy's own
``np.convolve`` and ``np.correlate`` are not allowed where an exercise sets
``numpy_convolution_banned``.
"""

from __future__ import annotations

import ast

from minicnn.grade._child import FORBIDDEN_NAMES, NUMPY_CONVOLUTIONS


def _top(module: str | None) -> str:
    return (module or "").split(".")[0]


def _dynamic_import(node: ast.AST) -> str | None:
    """'scipy.signal' for __import__("scipy.signal") or importlib.import_module("scipy")."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(
        func, ast.Attribute) else ""
    arg = node.args[0]
    if name in {"__import__", "import_module"} and isinstance(arg, ast.Constant) and isinstance(
            arg.value, str) and _top(arg.value) in FORBIDDEN_NAMES:
        return arg.value
    return None


class _Scope:
    """What one function (or the module's top level) imports, loads and calls."""

    def __init__(self) -> None:
        self.imports: list[str] = []  # "scipy.signal (line 3)"
        self.bound: dict[str, str] = {}  # name -> where it comes from
        self.numpy_aliases: set[str] = set()
        self.numpy_convolutions: set[str] = set()  # names bound to np.convolve & co
        self.loads: set[str] = set()
        self.attrs: set[tuple[str, str]] = set()
        self.stars: list[str] = []

    def visit(self, node: ast.AST, top_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if top_level and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                ast.ClassDef, ast.Lambda)):
                continue
            self._note(child)
            self.visit(child, top_level)

    def _note(self, node: ast.AST) -> None:
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            for alias in node.names:
                self._bind(alias.asname or alias.name.split(".")[0], alias.name, line)
                if alias.name == "numpy":
                    self.numpy_aliases.add(alias.asname or "numpy")
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                origin = f"{node.module}.{alias.name}"
                if alias.name == "*" and _top(node.module) in FORBIDDEN_NAMES:
                    self.stars.append(f"{node.module} (line {line})")
                elif _top(node.module) == "numpy" and alias.name in NUMPY_CONVOLUTIONS:
                    self.numpy_convolutions.add(alias.asname or alias.name)
                else:
                    self._bind(alias.asname or alias.name, origin, line,
                               module=node.module)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            self.loads.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            self.attrs.add((node.value.id, node.attr))
        dynamic = _dynamic_import(node)
        if dynamic:
            self.imports.append(f"{dynamic} (line {line})")

    def _bind(self, name: str, origin: str, line: int, module: str | None = None) -> None:
        if _top(module or origin) in FORBIDDEN_NAMES:
            self.bound[name] = f"{origin} (line {line})"
            self.imports.append(f"{module or origin} (line {line})")


def scan(source: str, functions: dict[str, bool]) -> dict[str, str]:
    """Map each graded function that uses a forbidden library to the reason.

    ``functions`` maps a function name to whether numpy's own convolution is banned in it.
    A source with a syntax error gives no findings (the child reports the error).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    top = _Scope()
    top.visit(tree, top_level=True)
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef,
                                                             ast.AsyncFunctionDef))}
    scopes = {}
    for name, node in defs.items():
        scope = _Scope()
        scope.visit(node, top_level=False)
        scopes[name] = scope
    # module-level assignments from forbidden names: f = forbidden_module.f
    for node in tree.body:
        if isinstance(node, ast.Assign):
            used = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
            hits = sorted(used & top.bound.keys())
            for target in node.targets:
                if isinstance(target, ast.Name) and hits:
                    top.bound[target.id] = top.bound[hits[0]]
    findings = {}
    for name, banned in functions.items():
        reason = _reason(name, banned, defs, scopes, top)
        if reason:
            findings[name] = reason
    return findings


def _reason(name: str, banned: bool, defs: dict, scopes: dict, top: _Scope) -> str:
    if name not in defs:
        if name in top.bound:
            return f"`{name}` comes from {top.bound[name]}"
        if top.stars:
            return f"`{name}` is not defined here but * is imported from {top.stars[0]}"
        return ""
    seen, todo = set(), [name]
    while todo:  # the function and every module-level helper it calls
        current = todo.pop()
        if current in seen or current not in scopes:
            continue
        seen.add(current)
        scope = scopes[current]
        if scope.imports:
            return f"{_label(name, current)} imports {scope.imports[0]}"
        for loaded in sorted(scope.loads & top.bound.keys() - scope.bound.keys()):
            return f"{_label(name, current)} uses `{loaded}` from {top.bound[loaded]}"
        if banned:
            aliases = top.numpy_aliases | scope.numpy_aliases
            for alias, attr in sorted(scope.attrs):
                if alias in aliases and attr in NUMPY_CONVOLUTIONS:
                    return f"{_label(name, current)} calls {alias}.{attr}, which does the " \
                           "whole convolution for you"
            for loaded in sorted(scope.loads & (top.numpy_convolutions |
                                                scope.numpy_convolutions)):
                return f"{_label(name, current)} calls numpy's {loaded}, which does the " \
                       "whole convolution for you"
        todo.extend(sorted(scope.loads & defs.keys()))
    return ""


def _label(name: str, current: str) -> str:
    return f"`{name}`" if name == current else f"`{name}` (through `{current}`)"
