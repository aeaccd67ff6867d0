"""One file's summary for the project index, read off CPython's `ast` (the tree the
engine parses anyway): plain JSON-able data, so it can be cached by content hash and
sent between processes.

What it records (names are as written, resolved through the module's own imports to
absolute dotted names; `self.m` for a method called on the instance):
- imports: local name -> absolute dotted name (relative imports resolved);
- functions (`f`, `Class.m`): the callees of what each `return` hands back, when every
  returned value is a fresh call (or `None`), the function is no generator and carries
  no decorator but `staticmethod`/`classmethod`;
- classes: bases; `self.x = <call>` in `__init__` (what it may own); which methods
  release which `self` attributes (`self.x.close()`, `with self.x`, handed to an exit
  stack); its method names;
- objects: module-level `name = <call>`; attrs: `a.b.c = <call>` anywhere, keyed by the
  absolute name of the chain;
- uses: every absolute name the file calls, subclasses or reads attributes through,
  which is what decides which other summaries its findings can depend on.

The summary says nothing about what is a resource: the index decides that with the
knowledge tables, so a summary stays valid when only the tables change.
"""
from __future__ import annotations

import ast
import builtins
from typing import Any, Dict, List, Optional, Set, Tuple

from leaklint.pyast import walk as walk_ast

FORMAT = 1
_BUILTINS = frozenset(dir(builtins))
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
_PLAIN_DECORATORS = frozenset({"staticmethod", "classmethod", "abstractmethod", "override"})
# calls that take a resource over for release: `stack.enter_context(self.x)`
_HANDOVERS = frozenset({"enter_context", "enter_async_context", "push", "push_async_callback", "callback",
                        "closing", "aclosing"})
_INIT = frozenset({"__init__", "__post_init__"})


def resolve_relative(module: str, is_package: bool, level: int, name: Optional[str]) -> str:
    """The absolute name of `from <level dots><name> import ...` in `module`."""
    parts = module.split(".") if module else []
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    if name:
        parts = parts + name.split(".")
    return ".".join(parts)


def _chain(expr: ast.AST) -> Optional[List[str]]:
    parts: List[str] = []
    while type(expr) is ast.Attribute:
        parts.append(expr.attr)  # type: ignore[attr-defined]
        expr = expr.value  # type: ignore[attr-defined]
    if type(expr) is ast.Name:
        parts.append(expr.id)  # type: ignore[attr-defined]
        parts.reverse()
        return parts
    return None


class _Summarizer:
    def __init__(self, tree: ast.Module, module: str, is_package: bool, by_type: Dict[type, List[ast.AST]],
                 parents: Dict[ast.AST, ast.AST], release_names: frozenset) -> None:
        self.tree = tree
        self.module = module
        self.is_package = is_package
        self.by_type = by_type
        self.parents = parents
        self.release_names = release_names
        self.imports: Dict[str, str] = {}
        self._out_classes_ref: Dict[str, Any] = {}  # the classes' entries, as _classes fills them
        # the first parameters of top-level classes' methods (`self`, `cls`): a cheap test
        # before asking where a `<name>.x` is
        self.holders: Set[str] = set()
        for stmt in tree.body:
            if type(stmt) is ast.ClassDef:
                for member in stmt.body:
                    if isinstance(member, _DEFS):
                        params = member.args.posonlyargs or member.args.args
                        if params:
                            self.holders.add(params[0].arg)
        self.local_defs: Set[str] = set()
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.local_defs.add(stmt.name)
            elif type(stmt) is ast.Assign:
                for target in stmt.targets:
                    if type(target) is ast.Name:
                        self.local_defs.add(target.id)
        self._imports()

    def of(self, *kinds: type):
        for kind in kinds:
            yield from self.by_type.get(kind, ())

    def _imports(self) -> None:
        nested: Dict[str, str] = {}
        for node in self.of(ast.Import, ast.ImportFrom):
            table = self.imports if self.parents.get(node) is self.tree else nested
            if type(node) is ast.Import:
                for alias in node.names:  # type: ignore[attr-defined]
                    if alias.asname:
                        table[alias.asname] = alias.name
                    else:
                        first = alias.name.split(".")[0]
                        table[first] = first
                continue
            level = node.level or 0  # type: ignore[attr-defined]
            base = node.module or ""  # type: ignore[attr-defined]
            if level:
                base = resolve_relative(self.module, self.is_package, level, base or None)
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.name == "*":
                    continue
                table[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
        for name, target in nested.items():  # imports inside functions: a fallback
            self.imports.setdefault(name, target)

    # --- names ------------------------------------------------------------------

    def absolute(self, expr: ast.AST, holder: Optional[str] = None) -> Optional[str]:
        """The absolute dotted name of a Name/Attribute chain, through the module's imports
        and definitions; `self.m` when rooted at the method's first parameter `holder`."""
        parts = _chain(expr)
        if parts is None:
            return None
        root = parts[0]
        if holder is not None and root == holder and len(parts) >= 2:
            return "self." + ".".join(parts[1:])
        if root in self.imports:
            return ".".join([self.imports[root], *parts[1:]])
        if root in self.local_defs:
            return ".".join([self.module, *parts]) if self.module else ".".join(parts)
        if root in _BUILTINS:
            return "builtins." + ".".join(parts)
        return None

    def callee(self, value: ast.AST, holder: Optional[str]) -> Optional[str]:
        """What a fresh value is made by: `pkg.mod.make` for `make(...)`, `.pubsub` for
        `<anything>.pubsub()` left unresolved, `await` looked through."""
        if type(value) is ast.Await:
            value = value.value  # type: ignore[attr-defined]
        if type(value) is not ast.Call:
            return None
        func = value.func  # type: ignore[attr-defined]
        found = self.absolute(func, holder)
        if found is not None:
            return found
        if type(func) is ast.Attribute:
            return "." + func.attr  # type: ignore[attr-defined]
        return None

    # --- where a node is ----------------------------------------------------------

    def owner(self, node: ast.AST):
        """(qualname, function, class) of the module-level function or top-level class's
        method `node` is directly in (not in a nested function); None elsewhere."""
        function = None
        up = self.parents.get(node)
        while up is not None:
            kind = type(up)
            if kind in _DEFS:
                if function is not None:
                    return None  # nested function
                function = up
            elif kind is ast.Lambda:
                return None
            elif kind is ast.ClassDef:
                if function is None or self.parents.get(up) is not self.tree:
                    return None
                return f"{up.name}.{function.name}", function, up  # type: ignore[attr-defined]
            elif kind is ast.Module:
                if function is None:
                    return None
                return function.name, function, None  # type: ignore[attr-defined]
            up = self.parents.get(up)
        return None

    @staticmethod
    def holder(function: ast.AST, cls: Optional[ast.AST]) -> Optional[str]:
        if cls is None:
            return None
        for decorator in function.decorator_list:  # type: ignore[attr-defined]
            if type(decorator) is ast.Name and decorator.id == "staticmethod":
                return None
        args = function.args  # type: ignore[attr-defined]
        params = args.posonlyargs or args.args
        return params[0].arg if params else None

    # --- the summary ----------------------------------------------------------------

    def run(self) -> Dict[str, Any]:
        classes = self._classes()
        return {
            "format": FORMAT,
            "module": self.module,
            "imports": self.imports,
            "functions": self._functions(),
            "classes": classes,
            "objects": self._objects(),
            "attrs": self._attrs(),
            "uses": sorted(self._uses()),
        }

    def _functions(self) -> Dict[str, Any]:
        returns: Dict[ast.AST, List[ast.Return]] = {}
        spoiled: Set[ast.AST] = set()
        owners: Dict[ast.AST, Any] = {}
        for node in self.of(ast.Return):
            found = self.owner(node)
            if found is not None:
                returns.setdefault(found[1], []).append(node)  # type: ignore[arg-type]
                owners[found[1]] = found
        for node in self.of(ast.Yield, ast.YieldFrom):
            found = self.owner(node)
            if found is not None:
                spoiled.add(found[1])
        # `name = <call>` in those functions: only such a returned name may be fresh
        bound: Set[Tuple[ast.AST, str]] = set()
        returned = {node.value.id for nodes in returns.values() for node in nodes  # type: ignore[attr-defined]
                    if type(node.value) is ast.Name}  # type: ignore[attr-defined]
        for node in self.of(ast.Assign) if returned else ():
            value = node.value  # type: ignore[attr-defined]
            if type(value) is ast.Await:
                value = value.value  # type: ignore[attr-defined]
            if type(value) is not ast.Call or len(node.targets) != 1 or type(node.targets[0]) is not ast.Name:  # type: ignore[attr-defined]
                continue
            if node.targets[0].id not in returned:  # type: ignore[attr-defined]
                continue
            found = self.owner(node)
            if found is not None and found[1] in returns:
                bound.add((found[1], node.targets[0].id))  # type: ignore[attr-defined]
        out: Dict[str, Any] = {}
        for function, nodes in returns.items():
            if function in spoiled or any(not self._plain(d) for d in function.decorator_list):  # type: ignore[attr-defined]
                continue
            qualname, _f, cls = owners[function]
            holder = self.holder(function, cls)
            made: List[Any] = []
            for node in nodes:
                value = node.value
                if value is None or (type(value) is ast.Constant and value.value is None):
                    continue
                ref, line = self.callee(value, holder), node.lineno
                if ref is None and type(value) is ast.Name and (function, value.id) in bound:
                    ref, line = self._fresh_local(function, value.id, holder)
                if ref is None:
                    made = []
                    break
                if [ref, line] not in made:
                    made.append([ref, line])
            if made:
                out[qualname] = {"line": function.lineno, "returns": made,  # type: ignore[attr-defined]
                                 "async": type(function) is ast.AsyncFunctionDef}
        return out

    @staticmethod
    def _plain(decorator: ast.AST) -> bool:
        parts = _chain(decorator)
        return parts is not None and parts[-1] in _PLAIN_DECORATORS

    def _fresh_local(self, function: ast.AST, name: str, holder: Optional[str]) -> Tuple[Optional[str], int]:
        """The callee of `name = <call>` when that is the name's one binding in
        `function` and every other mention only reads attributes of it (`f.write()`):
        stored, aliased or handed to a call, the caller may not be its only owner."""
        made: Optional[str] = None
        line = 0
        for node in walk_ast(function):
            if type(node) is ast.Name and node.id == name:  # type: ignore[attr-defined]
                parent = self.parents.get(node)
                kind = type(parent)
                if type(node.ctx) is ast.Store:  # type: ignore[attr-defined]
                    if made is not None or kind is not ast.Assign or len(parent.targets) != 1:  # type: ignore[union-attr]
                        return None, 0
                    made, line = self.callee(parent.value, holder), node.lineno  # type: ignore[union-attr]
                    if made is None:
                        return None, 0
                elif kind is ast.Attribute or kind is ast.Return:
                    continue
                else:
                    return None, 0
            elif type(node) is ast.arg and node.arg == name:  # type: ignore[attr-defined]
                return None, 0
        return made, line

    def _classes(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for stmt in self.tree.body:
            if type(stmt) is not ast.ClassDef:
                continue
            bases = []
            for base in stmt.bases:
                name = self.absolute(base)
                if name is not None:
                    bases.append(name)
            methods = {m.name: type(m) is ast.AsyncFunctionDef for m in stmt.body if isinstance(m, _DEFS)}
            out[stmt.name] = {"line": stmt.lineno, "bases": bases, "methods": methods, "stores": {},
                              "releases": {}, "attrs": [], "calls": []}
        self._out_classes_ref = out
        if not out:
            return out
        # self.x = <call> in __init__
        for node in self.of(ast.Assign, ast.AnnAssign):
            targets = node.targets if type(node) is ast.Assign else [node.target]  # type: ignore[attr-defined]
            value = node.value  # type: ignore[attr-defined]
            if value is None or len(targets) != 1 or type(targets[0]) is not ast.Attribute:
                continue
            found = self.owner(node)
            if found is None or found[2] is None:
                continue
            holder = self.holder(found[1], found[2])
            target = targets[0]
            if holder is None or type(target.value) is not ast.Name or target.value.id != holder:  # type: ignore[attr-defined]
                continue
            entry = out[found[2].name]  # type: ignore[attr-defined]
            if target.attr not in entry["attrs"]:  # type: ignore[attr-defined]
                entry["attrs"].append(target.attr)  # type: ignore[attr-defined]
            if found[1].name not in _INIT:  # type: ignore[attr-defined]
                continue  # what instances own from the start: stored in __init__
            ref = self.callee(value, holder)
            if ref is not None:
                stores = out[found[2].name]["stores"]  # type: ignore[attr-defined]
                stores.setdefault(target.attr, []).append([ref, node.lineno])  # type: ignore[attr-defined]
        # which methods release which self attributes
        release_names, holders = self.release_names, self.holders
        for node in self.by_type.get(ast.Attribute, ()):
            if node.attr not in release_names:  # type: ignore[attr-defined]
                continue  # the cheap test first: most attributes are no release
            value = node.value  # type: ignore[attr-defined]
            if type(value) is not ast.Attribute or type(value.value) is not ast.Name:  # type: ignore[attr-defined]
                continue
            if value.value.id not in holders:  # type: ignore[attr-defined]
                continue
            self._released(node, value, node.attr)  # type: ignore[attr-defined]
        for node in self.of(ast.withitem):
            expr = node.context_expr  # type: ignore[attr-defined]
            if type(expr) is ast.Attribute and type(expr.value) is ast.Name:  # type: ignore[attr-defined]
                self._released(node, expr, "__exit__")
        for node in self.by_type.get(ast.Call, ()):
            func = node.func  # type: ignore[attr-defined]
            kind = type(func)
            if kind is ast.Attribute:
                name = func.attr  # type: ignore[attr-defined]
                if type(func.value) is ast.Name and func.value.id in holders:  # type: ignore[attr-defined]
                    self._self_call(node, func)
            elif kind is ast.Name:
                name = func.id  # type: ignore[attr-defined]
            else:
                continue
            if name not in _HANDOVERS:
                continue
            for arg in node.args:  # type: ignore[attr-defined]
                if type(arg) is ast.Attribute and type(arg.value) is ast.Name:  # type: ignore[attr-defined]
                    self._released(node, arg, name)
        return out

    def _released(self, node: ast.AST, attribute: ast.AST, how: str) -> None:
        found = self.owner(node)
        if found is None or found[2] is None:
            return
        holder = self.holder(found[1], found[2])
        if holder is None or attribute.value.id != holder:  # type: ignore[attr-defined]
            return
        entry = self._class_entry(found[2])
        methods = entry["releases"].setdefault(attribute.attr, {})  # type: ignore[attr-defined]
        methods.setdefault(found[1].name, [])  # type: ignore[attr-defined]
        if how not in methods[found[1].name]:  # type: ignore[attr-defined]
            methods[found[1].name].append(how)  # type: ignore[attr-defined]

    def _self_call(self, node: ast.AST, func: ast.AST) -> None:
        """`self.m()` in a method: m may be a factory found in a base class."""
        found = self.owner(node)
        if found is None or found[2] is None:
            return
        if func.value.id != self.holder(found[1], found[2]):  # type: ignore[attr-defined]
            return
        calls = self._class_entry(found[2])["calls"]
        if func.attr not in calls:  # type: ignore[attr-defined]
            calls.append(func.attr)  # type: ignore[attr-defined]

    def _class_entry(self, cls: ast.AST) -> Dict[str, Any]:
        return self._out_classes_ref[cls.name]  # type: ignore[attr-defined]

    def _objects(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for stmt in self.tree.body:
            if type(stmt) is ast.Assign and len(stmt.targets) == 1 and type(stmt.targets[0]) is ast.Name:
                ref = self.callee(stmt.value, None)
                if ref is not None:
                    out[stmt.targets[0].id] = [ref, stmt.lineno]
        return out

    def _attrs(self) -> Dict[str, Any]:
        """`a.b.c = <call>` anywhere, the chain rooted at an import or a module-level name."""
        out: Dict[str, Any] = {}
        for node in self.of(ast.Assign):
            targets = node.targets  # type: ignore[attr-defined]
            if len(targets) != 1 or type(targets[0]) is not ast.Attribute:
                continue
            name = self.absolute(targets[0])
            if name is None or name.startswith(("self.", "builtins.")):
                continue
            found = self.owner(node)
            holder = self.holder(found[1], found[2]) if found is not None else None
            ref = self.callee(node.value, holder)  # type: ignore[attr-defined]
            if ref is not None:
                out.setdefault(name, [ref, node.lineno])  # type: ignore[attr-defined]
        return out

    def _uses(self) -> Set[str]:
        uses: Set[str] = set()
        imports, local = self.imports, self.local_defs
        for node in self.of(ast.Call):
            root = node.func  # type: ignore[attr-defined]
            while type(root) is ast.Attribute:
                root = root.value  # type: ignore[attr-defined]
            if type(root) is not ast.Name or (root.id not in imports and root.id not in local):  # type: ignore[attr-defined]
                continue  # a builtin, a local variable, `self.x()`: nothing the index can name
            name = self.absolute(node.func)  # type: ignore[attr-defined]
            if name is not None and not name.startswith("builtins."):
                uses.add(name)
        for entry in self._out_classes_ref.values():
            uses.update(entry["bases"])
        return uses


def summarize(tree: ast.Module, module: str, is_package: bool, by_type: Dict[type, List[ast.AST]],
              parents: Dict[ast.AST, ast.AST], release_names: frozenset) -> Dict[str, Any]:
    """The summary of one module (see the module docstring)."""
    return _Summarizer(tree, module, is_package, by_type, parents, release_names).run()


_SHAPE = {"module": str, "imports": dict, "functions": dict, "classes": dict, "objects": dict, "attrs": dict,
          "uses": list}


def valid(summary: Any) -> bool:
    """Whether `summary` (read back from a cache file) has this version's shape: a cache
    written by another version, or edited by hand, is read as no summary."""
    if not isinstance(summary, dict) or summary.get("format") != FORMAT:
        return False
    if not all(isinstance(summary.get(key), kind) for key, kind in _SHAPE.items()):
        return False
    for entry in summary["classes"].values():
        if not isinstance(entry, dict) or not all(
                isinstance(entry.get(k), t) for k, t in (("bases", list), ("methods", dict), ("stores", dict),
                                                         ("releases", dict), ("attrs", list), ("calls", list))):
            return False
    return all(isinstance(f, dict) and isinstance(f.get("returns"), list) for f in summary["functions"].values())
