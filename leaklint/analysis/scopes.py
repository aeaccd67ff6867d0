"""A light scope and import resolver.

libcst's ScopeProvider + QualifiedNameProvider cost about 10x the parse. The rules need
much less: what a name refers to through imports and aliases, and whether a name is
bound exactly once to a value. Each scope's bindings are collected lazily, the first
time a rule asks about a name inside it, by one walk over that scope's own statements.
"""
from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from leaklint.analysis.walk import walk

BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True)
class Binding:
    """One place a name is bound in a scope.

    kind: import, assign, annassign, augassign, for, with, except, def, class, param,
    del, walrus, match, global (declared global/nonlocal elsewhere).
    `qualified` is set for imports; `value` for a plain `name = value`."""

    name: str
    kind: str
    node: cst.CSTNode
    qualified: Optional[str] = None
    value: Optional[cst.BaseExpression] = None


def dotted_name(expr: Optional[cst.CSTNode]) -> Optional[str]:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: List[str] = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if isinstance(expr, cst.Name):
        parts.append(expr.value)
        return ".".join(reversed(parts))
    return None


class Scope:
    """A module, class, function, lambda or comprehension scope."""

    __slots__ = ("node", "parent", "kind", "_bindings", "_declared_global", "_declared_nonlocal", "memo")

    def __init__(self, node: cst.CSTNode, parent: Optional["Scope"]) -> None:
        self.node = node
        self.parent = parent
        if isinstance(node, cst.Module):
            self.kind = "module"
        elif isinstance(node, cst.ClassDef):
            self.kind = "class"
        elif isinstance(node, cst.FunctionDef):
            self.kind = "function"
        elif isinstance(node, cst.Lambda):
            self.kind = "lambda"
        else:
            self.kind = "comprehension"
        self._bindings: Optional[Dict[str, List[Binding]]] = None
        self._declared_global: Set[str] = set()
        self._declared_nonlocal: Set[str] = set()
        self.memo: Dict[str, object] = {}  # what analyses computed once for this scope

    @property
    def module_scope(self) -> "Scope":
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    @property
    def function_scope(self) -> Optional["Scope"]:
        """The innermost enclosing function (or lambda) scope, or None at module level."""
        scope: Optional[Scope] = self
        while scope is not None and scope.kind not in ("function", "lambda"):
            scope = scope.parent
        return scope

    def bindings(self) -> Dict[str, List[Binding]]:
        if self._bindings is None:
            self._bindings = _collect(self)
        return self._bindings

    def find(self, name: str) -> Optional[Tuple["Scope", List[Binding]]]:
        """The scope that binds `name` as seen from inside this scope (Python's LEGB, with
        class scopes invisible to the scopes nested in them) and its bindings there;
        None if unbound, i.e. a builtin or a name from a star import."""
        scope: Optional[Scope] = self
        innermost = True
        while scope is not None:
            if scope.kind == "class" and not innermost:
                scope = scope.parent
                continue
            found = scope.bindings().get(name)  # computing bindings fills the declarations
            if name in scope._declared_global:
                module = self.module_scope
                bindings = module.bindings().get(name)
                return (module, bindings) if bindings else None
            if found and name not in scope._declared_nonlocal:
                return scope, found
            innermost = False
            scope = scope.parent
        return None

    def lookup(self, name: str) -> Optional[List[Binding]]:
        found = self.find(name)
        return found[1] if found else None


def _bind(table: Dict[str, List[Binding]], binding: Binding) -> None:
    table.setdefault(binding.name, []).append(binding)


def _bind_target(table: Dict[str, List[Binding]], target: cst.CSTNode, kind: str, node: cst.CSTNode) -> None:
    if isinstance(target, cst.Name):
        _bind(table, Binding(target.value, kind, node))
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            _bind_target(table, element.value, kind, node)
    elif isinstance(target, cst.StarredElement):
        _bind_target(table, target.value, kind, node)


def _relative_prefix(node: cst.ImportFrom) -> str:
    return "." * len(node.relative)


def _collect(scope: Scope) -> Dict[str, List[Binding]]:
    table: Dict[str, List[Binding]] = {}
    root = scope.node
    if isinstance(root, (cst.FunctionDef, cst.Lambda)):
        params = root.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            _bind(table, Binding(param.name.value, "param", param))
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                _bind(table, Binding(star.name.value, "param", star))
    start: List[cst.CSTNode]
    if isinstance(root, (cst.FunctionDef, cst.ClassDef)):
        start = [root.body]
    elif isinstance(root, cst.Lambda):
        start = [root.body]
    elif isinstance(root, cst.Module):
        start = [root]
    else:  # comprehension: its targets and conditions
        start = [root]
    for top in start:
        for node in walk(top, into_scopes=False):
            kind = type(node)  # exact type checks: isinstance on libcst's ABCs is slow
            if kind is cst.FunctionDef or kind is cst.ClassDef:
                if node is not root:
                    _bind(table, Binding(node.name.value, "def" if kind is cst.FunctionDef else "class", node))
            elif kind is cst.Import:
                for alias in node.names:
                    full = dotted_name(alias.name) or ""
                    if alias.asname is not None and type(alias.asname.name) is cst.Name:
                        _bind(table, Binding(alias.asname.name.value, "import", node, qualified=full))
                    else:
                        first = full.split(".")[0]
                        _bind(table, Binding(first, "import", node, qualified=first))
            elif kind is cst.ImportFrom:
                if type(node.names) is cst.ImportStar:
                    continue
                module = _relative_prefix(node) + (dotted_name(node.module) or "")
                for alias in node.names:
                    imported = dotted_name(alias.name) or ""
                    qualified = module + imported if module.endswith(".") else f"{module}.{imported}"
                    local = imported
                    if alias.asname is not None and type(alias.asname.name) is cst.Name:
                        local = alias.asname.name.value
                    _bind(table, Binding(local, "import", node, qualified=qualified))
            elif kind is cst.Assign:
                if len(node.targets) == 1 and type(node.targets[0].target) is cst.Name:
                    _bind(table, Binding(node.targets[0].target.value, "assign", node, value=node.value))
                else:
                    for target in node.targets:
                        _bind_target(table, target.target, "assign", node)
            elif kind is cst.AnnAssign:
                if type(node.target) is cst.Name and node.value is not None:
                    _bind(table, Binding(node.target.value, "annassign", node, value=node.value))
            elif kind is cst.AugAssign:
                _bind_target(table, node.target, "augassign", node)
            elif kind is cst.For or kind is cst.CompFor:
                _bind_target(table, node.target, "for", node)
            elif kind is cst.WithItem:
                if node.asname is not None:
                    _bind_target(table, node.asname.name, "with", node)
            elif kind is cst.ExceptHandler or kind is cst.ExceptStarHandler:
                if node.name is not None and type(node.name.name) is cst.Name:
                    _bind(table, Binding(node.name.name.value, "except", node))
            elif kind is cst.NamedExpr:
                _bind_target(table, node.target, "walrus", node)
            elif kind is cst.Del:
                _bind_target(table, node.target, "del", node)
            elif kind is cst.MatchAs or kind is cst.MatchStar:
                if node.name is not None:
                    _bind(table, Binding(node.name.value, "match", node))
            elif kind is cst.Global:
                scope._declared_global.update(item.name.value for item in node.names)
            elif kind is cst.Nonlocal:
                scope._declared_nonlocal.update(item.name.value for item in node.names)
    return table


# Qualified names the knowledge tables hold (knowledge.Knowledge.build adds them): of a
# name imported two ways, the spelling a table knows is the one the rules are given.
KNOWN_NAMES: Set[str] = set()


def alternatives(scope: Scope, name: str) -> Optional[Tuple[str, ...]]:
    """For a name imported two ways in alternative arms of one `if`/`else` (a version
    check) or `try`/`except ImportError`, the qualified names it may be, in source
    order; None when it is bound any other way."""
    memo = scope.memo.get("alternatives")
    if memo is None:
        memo = scope.memo["alternatives"] = _alternative_imports(scope)
    return memo.get(name)  # type: ignore[union-attr]


def _alternative_imports(scope: Scope) -> Dict[str, Tuple[str, ...]]:
    bindings = scope.bindings()
    wanted = {name for name, found in bindings.items()
              if len({b.qualified for b in found if b.kind == "import"}) > 1}
    if not wanted:
        return {}
    root = scope.node
    start = root.body if isinstance(root, (cst.FunctionDef, cst.ClassDef)) else root
    arms_of: Dict[int, Tuple[int, int]] = {}  # id(import statement) -> (id(compound), arm)
    for node in walk(start, into_scopes=False):
        kind = type(node)
        if kind is cst.If:
            arms = [node.body] + ([node.orelse] if node.orelse is not None else [])
        elif kind is cst.Try:
            if not all(_catches_import_error(h) for h in node.handlers):
                continue
            arms = [node.body, *node.handlers]
        else:
            continue
        for number, arm in enumerate(arms):
            for inner in walk(arm, into_scopes=False):
                if type(inner) in (cst.Import, cst.ImportFrom) and id(inner) not in arms_of:
                    arms_of[id(inner)] = (id(node), number)
    out: Dict[str, Tuple[str, ...]] = {}
    for name in wanted:
        found = bindings[name]
        places = []
        for binding in found:
            if binding.kind == "import":
                place = arms_of.get(id(binding.node))
                if place is None:
                    break
                places.append(place)
            elif not _is_none_assignment(binding):
                break
        else:
            if len({compound for compound, _ in places}) == 1 and len({arm for _, arm in places}) > 1:
                ordered: List[str] = []
                for binding in found:
                    if binding.kind == "import" and binding.qualified not in ordered:
                        ordered.append(binding.qualified or "")
                out[name] = tuple(ordered)
    return out


def _catches_import_error(handler: cst.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = [element.value for element in handler.type.elements] if isinstance(handler.type, cst.Tuple) else [
        handler.type]
    return any(dotted_name(n) in ("ImportError", "ModuleNotFoundError", "Exception", "BaseException")
               for n in names)


def qualified_name(expr: cst.CSTNode, scope: Scope, _depth: int = 0) -> Optional[str]:
    """As `_qualified_name`; of a name imported two ways (see `alternatives`), the
    spelling a knowledge table holds, else the first."""
    found = _qualified_name(expr, scope, _depth)
    if found is None or _depth or found in KNOWN_NAMES:
        return found
    root = expr
    suffix: List[str] = []
    while isinstance(root, cst.Attribute):
        suffix.append(root.attr.value)
        root = root.value
    if not isinstance(root, cst.Name):
        return found
    located = scope.find(root.value)
    if located is None or len(located[1]) < 2:
        return found
    choices = alternatives(located[0], root.value)
    if not choices:
        return found
    tail = "".join(f".{part}" for part in reversed(suffix))
    if not KNOWN_NAMES:  # a worker process given a Knowledge it did not build
        from leaklint.knowledge import register_builtin_names
        register_builtin_names()
    for choice in choices:
        if choice + tail in KNOWN_NAMES:
            return choice + tail
    return found


def _qualified_name(expr: cst.CSTNode, scope: Scope, _depth: int = 0) -> Optional[str]:
    """`asyncio.Semaphore` for `Semaphore` imported from asyncio, `S` bound by
    `from asyncio import Semaphore as S`, `aio.Semaphore` after `import asyncio as
    aio`, or `S` after `S = asyncio.Semaphore`; `builtins.open` for an unshadowed
    builtin; None when the name is local, ambiguous or unknown."""
    if _depth > 8:
        return None
    if isinstance(expr, cst.Attribute):
        base = qualified_name(expr.value, scope, _depth + 1)
        return f"{base}.{expr.attr.value}" if base else None
    if not isinstance(expr, cst.Name):
        return None
    name = expr.value
    found = scope.find(name)
    if found is None:
        return f"builtins.{name}" if name in BUILTIN_NAMES else None
    owner, bindings = found
    imports = {b.qualified for b in bindings if b.kind == "import"}
    others = [b for b in bindings if b.kind != "import"]
    if imports:
        # `try: import x / except ImportError: x = None` still means x
        if len(imports) == 1 and all(_is_none_assignment(b) for b in others):
            return imports.pop()
        # imported two ways (a version check, a fallback import): the first, unless the
        # caller prefers another (`qualified_name`)
        choices = alternatives(owner, name)
        return choices[0] if choices else None
    if len(others) == 1 and others[0].kind in ("assign", "annassign"):
        value = others[0].value
        if isinstance(value, (cst.Name, cst.Attribute)):
            return qualified_name(value, owner, _depth + 1)
    return None


def _is_none_assignment(binding: Binding) -> bool:
    return binding.kind in ("assign", "annassign") and isinstance(binding.value, cst.Name) and binding.value.value == "None"


def single_binding(scope: Scope, name: str) -> Optional[Binding]:
    """The one binding of `name` visible from `scope`, when it is bound exactly once."""
    bindings = scope.lookup(name)
    if bindings and len(bindings) == 1:
        return bindings[0]
    return None
