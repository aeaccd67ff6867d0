"""The second pre-filter: each selected rule looks at CPython's `ast` of the file (parsed
anyway, as libcst's guard) for candidates, and says how much of the file it needs to
judge them. libcst then parses only that: the other definitions are cut, each leaving
a one-line stub so its name still binds; kept lines are whole (columns do not change)
and a line map gives each its line in the file. A file with no candidate is not given
to libcst at all.

A rule's `candidates()` must over-approximate: it may keep what turns out clean, never
drop what the full run would report. tests/test_sieve.py and benchmarks/sieve_check.py
compare the findings with and without the sieve over the fixtures and real corpora.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Type

from leaklint.pyast import index_tree, walk

if TYPE_CHECKING:
    from leaklint.config import Settings
    from leaklint.knowledge import Knowledge
    from leaklint.rules.base import Rule

# How much of the file a candidate needs around it:
UNIT = "unit"  # its top-level statement, or its method when that is in a top-level class
CLASS = "class"  # its whole top-level class (a candidate outside classes: its unit)
MODULE = "module"  # the whole file

DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)  # what a slice may cut
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_HOLDERS = frozenset(("self", "cls"))
@dataclass(frozen=True)
class Need:
    """A candidate at `node`, and what its rule must see to judge it: `scope` around it,
    and the definitions (functions, methods, classes) named in `names`, wherever they are.

    With `when`, the need holds only if the code at `when` reaches libcst anyway (kept
    for some rule): a rule that finds nothing to report at `when` *because of* code
    elsewhere (a release in another method) must still be shown that code whenever it
    is shown `when`, or it would report there."""

    node: ast.AST
    scope: str = UNIT
    names: FrozenSet[str] = field(default_factory=frozenset)
    when: Optional[ast.AST] = None
    also: Tuple[ast.AST, ...] = ()  # other places whose units it needs (methods that set `self.x`)


def terminal(expr: ast.AST) -> Optional[str]:
    """`f` for `f(...)`, `create_task` for `loop.create_task(...)`; else None."""
    if type(expr) is ast.Name:
        return expr.id  # type: ignore[attr-defined]
    if type(expr) is ast.Attribute:
        return expr.attr  # type: ignore[attr-defined]
    return None


def name_bindings(root: ast.AST) -> Iterator[Tuple[Set[str], ast.AST]]:
    """The plain names each binding under `root` binds, with the value bound (an
    assignment's value, a loop's iterable, a `with` item's context expression)."""
    for node in walk(root):
        kind = type(node)
        if kind is ast.Assign:
            targets, value = node.targets, node.value  # type: ignore[attr-defined]
        elif kind in (ast.AnnAssign, ast.AugAssign, ast.NamedExpr):
            targets, value = [node.target], node.value  # type: ignore[attr-defined]
        elif kind in (ast.For, ast.AsyncFor, ast.comprehension):
            targets, value = [node.target], node.iter  # type: ignore[attr-defined]
        elif kind is ast.withitem:
            targets, value = [node.optional_vars], node.context_expr  # type: ignore[attr-defined]
        else:
            continue
        if value is None:
            continue
        bound = {n.id for t in targets if t is not None for n in walk(t) if type(n) is ast.Name}  # type: ignore[attr-defined]
        if bound:
            yield bound, value


class AstFile:
    """CPython's tree of one file with parent links and its nodes by type: what the
    rules' candidate checks read. Built in one walk."""

    def __init__(self, tree: ast.Module, text: str, settings: "Settings", knowledge: "Knowledge") -> None:
        self.tree = tree
        self.text = text
        self.settings = settings
        self.knowledge = knowledge
        self.parents, self.by_type = index_tree(tree)  # one walk: what the candidate checks read
        self._calls: Optional[Dict[str, List[ast.Call]]] = None
        self._aliases: Optional[FrozenSet[str]] = None
        self._origins: Optional[Dict[str, FrozenSet[str]]] = None
        self._derived: Dict[ast.AST, FrozenSet[str]] = {}
        self._stores: Optional[Dict[ast.AST, Dict[str, List[Tuple[ast.AST, ast.AST]]]]] = None
        self._summaries: Dict[ast.AST, Summary] = {}
        self._wanted: Dict[FrozenSet[str], List[ast.Call]] = {}
        self.memo: Dict[str, Any] = {}  # what the families' candidate checks compute once per file
        self.project: Any = None  # the project index as this file sees it (set by the engine)

    # --- finding candidates -------------------------------------------------------

    def of(self, *kinds: type) -> Iterator[ast.AST]:
        """Every node of these types (no particular order)."""
        for kind in kinds:
            yield from self.by_type.get(kind, ())

    @property
    def aliases(self) -> FrozenSet[str]:
        """Names the file binds to another name (see alias_origins): a call through one
        of them may be a call of any API. What scopes.qualified_name follows, read off
        the tree; the text-based `context._ALIASES` finds the same and more, 4x slower."""
        if self._aliases is None:
            self._aliases = frozenset(self.alias_origins)
        return self._aliases

    @property
    def alias_origins(self) -> Dict[str, FrozenSet[str]]:
        """For each name the file binds to another name (`from m import x as N`, `N =
        a.b.x`, `N = x`, also `:=` and annotated), the last names it may stand for,
        followed through chains of such bindings."""
        if self._origins is None:
            direct: Dict[str, Set[str]] = {}
            for node in self.of(ast.ImportFrom, ast.Import):
                for alias in node.names:  # type: ignore[attr-defined]
                    if alias.asname:
                        direct.setdefault(alias.asname, set()).add(alias.name.rsplit(".", 1)[-1])
            for node in self.of(ast.Assign, ast.AnnAssign, ast.NamedExpr):
                value = getattr(node, "value", None)
                label = terminal(value) if value is not None else None
                if label is None:
                    continue
                targets = node.targets if type(node) is ast.Assign else [node.target]  # type: ignore[attr-defined]
                for target in targets:
                    if type(target) is ast.Name:
                        direct.setdefault(target.id, set()).add(label)  # type: ignore[attr-defined]
            origins: Dict[str, FrozenSet[str]] = {}
            for name in direct:
                seen: Set[str] = set()
                todo = list(direct[name])
                while todo:
                    label = todo.pop()
                    if label not in seen:
                        seen.add(label)
                        todo.extend(direct.get(label, ()))
                origins[name] = frozenset(seen)
            self._origins = origins
        return self._origins

    def _call_table(self) -> Dict[str, List[ast.Call]]:
        if self._calls is None:
            table: Dict[str, List[ast.Call]] = {}
            for call in self.by_type.get(ast.Call, ()):
                label = terminal(call.func)  # type: ignore[attr-defined]
                if label is not None:
                    table.setdefault(label, []).append(call)  # type: ignore[arg-type]
            self._calls = table
        return self._calls

    def called_labels(self) -> FrozenSet[str]:
        """The last names of every callable the file calls (`create_task` for
        `loop.create_task(...)`), and the names they may stand for through aliases."""
        found = self.memo.get("called_labels")
        if found is None:
            labels = set(self._call_table())
            origins = self.alias_origins
            for label in list(labels):
                labels |= origins.get(label, frozenset())
            found = self.memo["called_labels"] = frozenset(labels)
        return found

    def calls(self, names: Iterable[str]) -> Iterator[ast.Call]:
        """Calls whose callable's last name is one of `names`, or a name bound to one."""
        self._call_table()
        key = names if isinstance(names, frozenset) else frozenset(names)
        found = self._wanted.get(key)
        if found is None:  # the rules ask with the same few sets, many times
            wanted = set(key)
            wanted |= {alias for alias, origins in self.alias_origins.items() if not origins.isdisjoint(key)}
            table = self._calls
            found = self._wanted[key] = [call for name in wanted & table.keys() for call in table[name]]
        return iter(found)

    # --- where a node is ----------------------------------------------------------

    def parent(self, node: ast.AST) -> Optional[ast.AST]:
        return self.parents.get(node)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        parent = self.parents.get(node)
        while parent is not None:
            yield parent
            parent = self.parents.get(parent)

    def function(self, node: ast.AST) -> Optional[ast.AST]:
        """The innermost function or lambda around `node`, or None at module or class level."""
        for up in self.ancestors(node):
            if isinstance(up, FUNCTIONS):
                return up
            if type(up) is ast.ClassDef:
                return None
        return None

    def in_loop(self, node: ast.AST) -> bool:
        """Inside a loop's body (or a comprehension) in the same function."""
        child = node
        for up in self.ancestors(node):
            if isinstance(up, FUNCTIONS) or type(up) is ast.ClassDef:
                return False
            if type(up) is ast.While or isinstance(up, COMPREHENSIONS):
                return True
            if isinstance(up, (ast.For, ast.AsyncFor)) and child is not up.iter:
                return True  # the iterable is evaluated once; the body and target each time
            child = up
        return False

    def method_class(self, node: ast.AST) -> Optional[ast.ClassDef]:
        """The class whose method `node` is in (directly, or in a function nested in it)."""
        found = self._method(node)
        return found[1] if found is not None else None

    def _method(self, node: ast.AST) -> Optional[Tuple[ast.AST, ast.ClassDef]]:
        """(the method, its class) around `node`; None outside methods."""
        function = None
        for up in self.ancestors(node):
            if isinstance(up, FUNCTIONS):
                function = up
            elif type(up) is ast.ClassDef:
                return (function, up) if function is not None else None  # type: ignore[return-value]
        return None

    def around(self, node: ast.AST, *exprs: Optional[ast.AST]) -> str:
        """UNIT, or CLASS when what the expressions hold may depend on the rest of the
        class: in a method, they mention `self`/`cls` or a name the function binds to
        something that does (`loop = self._loop`). Without expressions: CLASS in any method."""
        found = self._method(node)
        return UNIT if found is None or not self._from_self(found[0], exprs) else CLASS

    def _from_self(self, method: ast.AST, exprs: Sequence[Optional[ast.AST]]) -> bool:
        """Whether `exprs` (none: cannot tell) may read `self`: they mention it, or a name
        the method binds to something that does. The whole method, nested functions
        included: `loop = self._loop` in the method reaches a closure inside it."""
        if not exprs:
            return True
        derived = self.self_derived(method)
        return any(not self.summary(e).names.isdisjoint(derived) for e in exprs if e is not None)

    def need(self, node: ast.AST, *exprs: Optional[ast.AST], names: FrozenSet[str] = frozenset()) -> Need:
        """A candidate at `node` whose rule reads what `exprs` hold through
        analysis.instances (`self._loop` is what the class's methods assign to it): its
        unit, and in a method of a top-level class the methods that assign the `self`
        attributes it may read, followed through `self.a = self.b`. The whole class when
        that cannot be told (a nested class, no expressions)."""
        found = self._method(node)
        if found is None or not self._from_self(found[0], exprs):
            return Need(node, UNIT, names)
        method, owner = found
        if not exprs or self.parents.get(owner) is not self.tree:
            return Need(node, CLASS, names)
        summaries = [self.summary(e) for e in exprs if e is not None]
        wanted: Set[str] = set().union(*(s.held for s in summaries))
        locals_ = self.self_derived(method) - _HOLDERS
        if any(not s.names.isdisjoint(locals_) for s in summaries):
            wanted |= self.summary(method).held  # `loop = self._loop; loop.create_task(...)`
        stores = self._self_stores(owner)
        members: Set[ast.AST] = set()
        todo = list(wanted)
        while todo:
            attr = todo.pop()
            for member, value in stores.get(attr, ()):
                members.add(member)
                found = self.summary(value)
                more = set(found.held)
                if not found.names <= _HOLDERS:
                    more |= self.summary(member).held  # a value through the method's own names
                for name in more - wanted:
                    wanted.add(name)
                    todo.append(name)
        return Need(node, UNIT, names, also=tuple(members))

    def summary(self, node: ast.AST) -> "Summary":
        """The names, attribute names and `self.x` attributes under `node` (memoized:
        candidate checks ask about the same methods many times)."""
        found = self._summaries.get(node)
        if found is None:
            names: Set[str] = set()
            attrs: Set[str] = set()
            held: Set[str] = set()
            for sub in walk(node):
                kind = type(sub)
                if kind is ast.Name:
                    names.add(sub.id)  # type: ignore[attr-defined]
                elif kind is ast.Attribute:
                    attrs.add(sub.attr)  # type: ignore[attr-defined]
                    value = sub.value  # type: ignore[attr-defined]
                    if type(value) is ast.Name and value.id in _HOLDERS:
                        held.add(sub.attr)  # type: ignore[attr-defined]
            found = self._summaries[node] = Summary(frozenset(names), frozenset(attrs), frozenset(held))
        return found

    @property
    def imports(self) -> Tuple[FrozenSet[str], FrozenSet[str]]:
        """(the names the file's imports bind, the top-level packages they import from,
        relative imports aside): what qualified names can resolve through."""
        found = self.memo.get("imports")
        if found is None:
            names: Set[str] = set()
            packages: Set[str] = set()
            for node in self.of(ast.Import, ast.ImportFrom):
                for alias in node.names:  # type: ignore[attr-defined]
                    names.add(alias.asname or alias.name.split(".")[0])
                    if type(node) is ast.Import:
                        packages.add(alias.name.split(".", 1)[0])
                if type(node) is ast.ImportFrom and node.module and not node.level:  # type: ignore[attr-defined]
                    packages.add(node.module.split(".", 1)[0])  # type: ignore[attr-defined]
            found = self.memo["imports"] = (frozenset(names), frozenset(packages))
        return found

    def stored_names(self, function: ast.AST) -> FrozenSet[str]:
        """The plain names stored anywhere under `function` (nested scopes included)."""
        key = ("stored_names", function)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = frozenset(
                n.id for n in walk(function)  # type: ignore[attr-defined]
                if type(n) is ast.Name and type(n.ctx) is not ast.Load)  # type: ignore[attr-defined]
        return found

    def identifiers(self, node: ast.AST) -> FrozenSet[str]:
        """Every name and attribute name under `node`: what a `Need.names` asks for when
        the rule may follow any of them to a definition (`partial(self.handle, x)`)."""
        found = self.summary(node)
        return found.names | found.attrs

    def _self_stores(self, owner: ast.ClassDef) -> Dict[str, List[Tuple[ast.AST, ast.AST]]]:
        """`self.x = value` (and annotated) in the methods of `owner`: x -> (method, value)."""
        if self._stores is None:  # every class's at once, from the stored attributes
            stores: Dict[ast.AST, Dict[str, List[Tuple[ast.AST, ast.AST]]]] = {}
            for target in self.by_type.get(ast.Attribute, ()):
                if (type(target.ctx) is not ast.Store or type(target.value) is not ast.Name  # type: ignore[attr-defined]
                        or target.value.id not in _HOLDERS):  # type: ignore[attr-defined]
                    continue
                statement = self.statement(target)  # the assignment (through tuple targets)
                kind = type(statement)
                if kind is ast.Assign:
                    value = statement.value  # type: ignore[attr-defined]
                elif kind is ast.AnnAssign and statement.value is not None:  # type: ignore[attr-defined]
                    value = statement.value  # type: ignore[attr-defined]
                else:
                    continue
                member = statement
                for up in self.ancestors(statement):  # the method, then its class
                    if type(up) is ast.ClassDef:
                        if isinstance(member, DEFS) and member in up.body:  # type: ignore[attr-defined]
                            stores.setdefault(up, {}).setdefault(target.attr, []).append((member, value))  # type: ignore[attr-defined]
                        break
                    member = up
            self._stores = stores
        return self._stores.get(owner, {})

    def self_derived(self, function: ast.AST) -> FrozenSet[str]:
        """`self`, `cls`, and the names `function` binds to values that mention them,
        directly or through each other."""
        memo = self._derived.get(function)
        if memo is not None:
            return memo
        bindings: List[Tuple[Set[str], Set[str]]] = [  # (targets, names in the value)
            (bound, {n.id for n in walk(value) if type(n) is ast.Name})  # type: ignore[attr-defined]
            for bound, value in name_bindings(function)
        ]
        derived = set(_HOLDERS)
        changed = True
        while changed:
            changed = False
            for bound, used in bindings:
                if not bound <= derived and not used.isdisjoint(derived):
                    derived |= bound
                    changed = True
        memo = self._derived[function] = frozenset(derived)
        return memo

    def statement(self, node: ast.AST) -> ast.AST:
        """The statement `node` is part of."""
        while not isinstance(node, ast.stmt):
            parent = self.parents.get(node)
            if parent is None:
                return node
            node = parent
        return node


@dataclass(frozen=True)
class Summary:
    names: FrozenSet[str]  # Name ids
    attrs: FrozenSet[str]  # attribute names
    held: FrozenSet[str]  # x of `self.x` / `cls.x`


def arguments(call: ast.Call, name: Optional[str], position: Optional[int],
              index: Optional["AstFile"] = None) -> List[ast.AST]:
    """Every expression libcst's `calls.argument` may bind to parameter `name` or
    `position`: the keyword, the positional argument there when no `*args` comes
    before it, and an entry of a `**` mapping (a dict display, `dict(...)`, or with
    `index` a name assigned one anywhere in the file)."""
    found: List[ast.AST] = [kw.value for kw in call.keywords if name is not None and kw.arg == name]
    if name is not None:
        for kw in call.keywords:
            if kw.arg is None:
                found.extend(_spread_values(kw.value, name, index))
    if position is not None:
        for at, arg in enumerate(call.args):
            if type(arg) is ast.Starred:
                break
            if at == position:
                found.append(arg)
                break
    return found


def _spread_values(mapping: ast.AST, name: str, index: Optional["AstFile"], depth: int = 0) -> List[ast.AST]:
    kind = type(mapping)
    if kind is ast.Dict:
        return [value for key, value in zip(mapping.keys, mapping.values)  # type: ignore[attr-defined]
                if type(key) is ast.Constant and key.value == name]  # type: ignore[attr-defined]
    if kind is ast.Call and type(mapping.func) is ast.Name and mapping.func.id == "dict":  # type: ignore[attr-defined]
        return [kw.value for kw in mapping.keywords if kw.arg == name]  # type: ignore[attr-defined]
    if kind is ast.Name and index is not None and depth == 0:
        out: List[ast.AST] = []
        for stored in index.of(ast.Assign, ast.AnnAssign):
            target = single_target(stored)
            if type(target) is ast.Name and target.id == mapping.id and stored.value is not None:  # type: ignore
                out.extend(_spread_values(stored.value, name, index, 1))  # type: ignore[attr-defined]
        return out
    return []


def single_target(statement: ast.AST) -> Optional[ast.AST]:
    """The one target of `x = ...` or `x: T = ...`; None for other statements."""
    if type(statement) is ast.Assign and len(statement.targets) == 1:  # type: ignore[attr-defined]
        return statement.targets[0]  # type: ignore[attr-defined]
    if type(statement) is ast.AnnAssign:
        return statement.target  # type: ignore[attr-defined]
    return None


def bounded_literal(expr: ast.AST, threshold: int, sentinels: Iterable[object] = ()) -> bool:
    """A literal that no rule can read as "no limit": a string, a bool, or a number
    below `threshold` that is none of `sentinels` (an API's "unlimited" values)."""
    if type(expr) is not ast.Constant:
        return False
    value = expr.value  # type: ignore[attr-defined]
    if isinstance(value, (str, bytes, bool)):
        return True
    if isinstance(value, (int, float)):
        if value != value or value >= threshold:  # NaN, or huge
            return False
        return not any(s is not None and not isinstance(s, str) and value == s for s in sentinels)
    return False  # None, Ellipsis, complex


# The last names of analysis.values' named constants (`sys.maxsize`, `math.inf`, `np.Inf`)
_CONSTANT_NAMES = frozenset({"maxsize", "inf", "Inf"})
# calls analysis.values evaluates: `len(x)` (the work's size), `float("inf")`, `int(...)`
_EVALUATED_CALLS = frozenset({"len", "float", "int"})


def may_evaluate(index: "AstFile", expr: ast.AST, at: ast.AST) -> bool:
    """Whether analysis.values may give `expr` (read at `at`) a value, which is what a
    rule needs to call a limit unbounded: it answers UNKNOWN for a parameter, an
    attribute other than a named constant, or a call other than `len`/`float`/`int`.
    Over-approximates (a name the function assigns may hold anything)."""
    kind = type(expr)
    if kind is ast.Constant:
        return True
    if kind is ast.UnaryOp:
        return may_evaluate(index, expr.operand, at)  # type: ignore[attr-defined]
    if kind is ast.BinOp:
        return may_evaluate(index, expr.left, at) and may_evaluate(index, expr.right, at)  # type: ignore[attr-defined]
    if kind is ast.Call:
        label = terminal(expr.func)  # type: ignore[attr-defined]
        return label is not None and bool(({label} | index.alias_origins.get(label, frozenset())) & _EVALUATED_CALLS)
    if kind is ast.Attribute:
        return expr.attr in _CONSTANT_NAMES  # type: ignore[attr-defined]
    if kind is ast.Name:
        name = expr.id  # type: ignore[attr-defined]
        if name in _CONSTANT_NAMES or not index.alias_origins.get(name, frozenset()).isdisjoint(_CONSTANT_NAMES):
            return True
        for up in index.ancestors(at):  # the innermost function that binds it decides
            if isinstance(up, FUNCTIONS):
                if name in index.stored_names(up):
                    return True
                args = up.args  # type: ignore[attr-defined]
                params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
                if any(p is not None and p.arg == name for p in params):
                    return False  # a parameter: never one value
        return True
    return False


# --- slicing --------------------------------------------------------------------


def _start(node: ast.AST) -> int:
    decorators = getattr(node, "decorator_list", None)
    line = node.lineno  # type: ignore[attr-defined]
    if decorators:
        line = min(line, min(d.lineno for d in decorators))
    return line


class _Plan:
    """What to keep: whole top-level statements, and members of top-level classes."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.whole_file = False
        self.keep: Set[ast.AST] = set()  # top-level statements kept whole
        self.members: Dict[ast.AST, Set[ast.AST]] = {}  # top-level class -> members kept
        self.pending: List[Need] = []  # needs that hold once their `when` is kept
        self._defined: Optional[Dict[str, List[Tuple[ast.AST, Optional[ast.AST]]]]] = None

    def add(self, need: Need, index: AstFile) -> None:
        if need.when is not None and not self.whole_file:
            self.pending.append(need)
            return
        if need.scope == MODULE:
            self.whole_file = True
            return
        if self.whole_file:
            return
        self._place(need.node, need.scope, index)
        for node in need.also:
            self._place(node, UNIT, index)
        for name in need.names:
            for node, owner in self.defined().get(name, ()):
                if owner is None:
                    self.keep.add(node)
                else:
                    self.members.setdefault(owner, set()).add(node)

    def _where(self, node: ast.AST, index: AstFile) -> Optional[Tuple[ast.AST, Optional[ast.AST]]]:
        """(the top-level statement holding `node`, the statement of its body holding it
        when that is a class, else None); None when `node` is not under this module."""
        chain = [node, *index.ancestors(node)]  # from node up to the module
        if len(chain) < 2 or chain[-1] is not self.tree:
            return None
        top = chain[-2]
        return top, chain[-3] if type(top) is ast.ClassDef and len(chain) >= 3 else None

    def _place(self, node: ast.AST, scope: str, index: AstFile) -> None:
        where = self._where(node, index)
        if where is None:
            self.whole_file = True  # not under this module (cannot happen): be safe
            return
        top, member = where
        if member is None or scope == CLASS:
            self.keep.add(top)
        else:
            self.members.setdefault(top, set()).add(member)

    def defined(self) -> Dict[str, List[Tuple[ast.AST, Optional[ast.AST]]]]:
        """Top-level definitions and top-level classes' members, by name."""
        if self._defined is None:
            table: Dict[str, List[Tuple[ast.AST, Optional[ast.AST]]]] = {}
            for stmt in self.tree.body:
                if isinstance(stmt, DEFINITIONS):
                    table.setdefault(stmt.name, []).append((stmt, None))
                if type(stmt) is ast.ClassDef:
                    for member in stmt.body:
                        if isinstance(member, DEFINITIONS):
                            table.setdefault(member.name, []).append((member, stmt))
            self._defined = table
        return self._defined

    def empty(self) -> bool:
        return not self.whole_file and not self.keep and not self.members

    def kept(self, node: ast.AST, index: AstFile) -> bool:
        """Whether the slice keeps the code at `node`."""
        where = None if self.whole_file else self._where(node, index)
        if where is None:
            return True  # everything, or cannot tell: say kept, which asks for more
        top, member = where
        if top in self.keep or not isinstance(top, DEFINITIONS):
            return True
        members = self.members.get(top)
        if members is None:
            return False  # a stub
        # the class's own header and decorators stay with its members
        return member is None or member in members or not isinstance(member, DEFINITIONS)

    def settle(self, index: AstFile) -> None:
        """Add the pending needs whose `when` is kept, until no more are."""
        while self.pending and not self.whole_file:
            ready, waiting = [], []
            for need in self.pending:
                (ready if self.kept(need.when, index) else waiting).append(need)  # type: ignore[arg-type]
            if not ready:
                return
            self.pending = waiting
            for need in ready:
                self.add(Need(need.node, need.scope, need.names, also=need.also), index)


class _Whole:
    whole_file = True


WHOLE = _Whole()  # the plan that keeps everything


def plan(rules: Sequence[Type["Rule"]], index: AstFile) -> Optional[_Plan]:
    """What libcst must parse for `rules`; None when no rule has a candidate."""
    result = _Plan(index.tree)
    for rule in rules:
        for need in rule.candidates(index):
            result.add(need, index)
            if result.whole_file:
                return result
    if result.empty():
        return None
    for node in index.of(ast.Global):  # a function that rebinds a module name changes what it holds
        result.add(Need(node), index)
    result.settle(index)
    return result


# Python's own line breaks: str.splitlines also splits at form feeds and other
# separators, which would put the ast's line numbers out of step with the text.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def slice_text(text: str, tree: ast.Module, kept: _Plan) -> Tuple[str, Optional[List[int]]]:
    """What libcst parses: `text` without the definitions the plan does not keep, each
    replaced by a one-line stub (`def name(): pass`) where it started, so its name still
    binds. Statements other than definitions are always kept: imports and module
    constants are what names resolve through. Returns the text and, for each of its
    lines, the line of `text` it comes from (None when nothing was cut). Kept lines are
    whole, so columns do not change; dropping the cut lines rather than blanking them
    saves libcst a fifth of its parse."""
    if kept.whole_file:
        return text, None
    lines = _LINE.findall(text)
    cuts: Dict[int, Tuple[int, str, int]] = {}  # first index -> (end index, stub, def line)
    for stmt in tree.body:
        if stmt in kept.keep or not isinstance(stmt, DEFINITIONS):
            continue
        members = kept.members.get(stmt)
        if members is None:
            _cut(lines, stmt, cuts)
            continue
        for member in stmt.body:  # type: ignore[attr-defined]
            if member not in members and isinstance(member, DEFINITIONS):
                _cut(lines, member, cuts)
    if not cuts:
        return text, None
    out: List[str] = []
    line_map: List[int] = []
    index, count = 0, len(lines)
    while index < count:
        cut = cuts.get(index)
        if cut is None:
            out.append(lines[index])
            index += 1
            line_map.append(index)
            continue
        end, stub, line = cut
        out.append(stub)
        line_map.append(line)
        index = end
    return "".join(out), line_map


def sliced_text(text: str, tree: ast.Module, kept: _Plan) -> str:
    return slice_text(text, tree, kept)[0]


def _cut(lines: List[str], node: ast.AST, cuts: Dict[int, Tuple[int, str, int]]) -> None:
    first, last = _start(node) - 1, node.end_lineno  # type: ignore[attr-defined]
    if last is None or last > len(lines) or first < 0:
        return  # positions out of step with the text: keep it
    header = lines[node.lineno - 1]  # type: ignore[attr-defined]
    indent = header[: len(header) - len(header.lstrip(" \t\f"))]
    ending = lines[last - 1][len(lines[last - 1].rstrip("\r\n")):] or "\n"
    keyword = "class" if type(node) is ast.ClassDef else "def"
    signature = "" if keyword == "class" else "()"
    cuts[first] = (last, f"{indent}{keyword} {node.name}{signature}: pass{ending}", node.lineno)  # type: ignore[attr-defined]
