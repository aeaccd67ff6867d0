"""What the LL2 rules' candidate checks (leaklint.sieve) share: resource creations by
their holder in CPython's tree, and every mention of a name or an attribute, which the
module-wide judgements (LL203's releases, LL206's removals) depend on."""
from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

from leaklint.analysis import resources as flow
from leaklint.knowledge import resources as table
from leaklint.pyast import walk as walk_ast
from leaklint.sieve import DEFINITIONS, DEFS, FUNCTIONS, MODULE, UNIT, Need, terminal

if TYPE_CHECKING:
    from leaklint.sieve import AstFile



class _Mentions:
    def __init__(self, index: "AstFile") -> None:
        self.attributes: Dict[str, List[ast.Attribute]] = {}
        for node in index.of(ast.Attribute):
            self.attributes.setdefault(node.attr, []).append(node)  # type: ignore[attr-defined]
        self.names: Dict[str, List[ast.Name]] = {}
        for node in index.of(ast.Name):
            self.names.setdefault(node.id, []).append(node)  # type: ignore[attr-defined]


def mentions(index: "AstFile") -> _Mentions:
    found = index.memo.get("ll2.mentions")
    if found is None:
        found = index.memo["ll2.mentions"] = _Mentions(index)
    return found


def creations(index: "AstFile") -> Iterator[Tuple[ast.Call, ast.AST, Optional[ast.AST]]]:
    """Each call that may create a resource (its last name is a resource's, a method
    resource's, or a possible alias), with the expression a name would be bound to (the
    `await` around it, if any) and that expression's parent: what the result is used for."""
    names = flow.short_names(index.knowledge)
    project = index.project
    if project is not None and project.short_names:  # the project's factories and resource classes
        names = names | project.short_names
    for call in index.calls(names):
        if _unresolvable(index, call):
            continue
        expr: ast.AST = call
        parent = index.parent(call)
        if type(parent) is ast.Await:
            expr, parent = parent, index.parent(parent)
        yield call, expr, parent


def _unresolvable(index: "AstFile", call: ast.Call) -> bool:
    """`self.connect()`, `conn.open()` with `conn` a parameter, `make().open()`: the
    callee has no qualified name (scopes.qualified_name), so only a method resource
    (`.pubsub()`) could be made."""
    func = call.func
    if type(func) is not ast.Attribute or func.attr in table.METHOD_RESOURCES:
        return False
    if index.project is not None and func.attr in index.project.short_names:
        return False  # `self.make()`: a project method may be a factory
    if func.attr in table.TYPED_METHOD_RESOURCES and _typed_receivers_imported(index):
        return False  # `Path(p).open()`, `zf.open(name)`: the receiver's class decides
    root = func.value
    while type(root) is ast.Attribute:
        root = root.value  # type: ignore[attr-defined]
    if type(root) is not ast.Name:
        return True
    function = index.function(call)  # the innermost def or lambda, no class between
    if function is None or root.id not in _parameters(function):  # type: ignore[attr-defined]
        return False
    return in_body(index, call, function)  # not a default or a decorator: those run outside


def _typed_receivers_imported(index: "AstFile") -> bool:
    """Whether the file names a package whose classes `TYPED_METHOD_RESOURCES` knows:
    `receiver_class` resolves a receiver only through such a name."""
    found = index.memo.get("ll2.typed")
    if found is None:
        packages = {cls.split(".")[0] for specs in table.TYPED_METHOD_RESOURCES.values() for cls in specs}
        found = index.memo["ll2.typed"] = any(package in index.text for package in packages)
    return found


def in_body(index: "AstFile", node: ast.AST, function: ast.AST) -> bool:
    child = node
    for up in index.ancestors(node):
        if up is function:
            body = function.body  # type: ignore[attr-defined]
            return child is body if type(function) is ast.Lambda else child in body
        child = up
    return False


def _parameters(function: ast.AST) -> FrozenSet[str]:
    args = function.args  # type: ignore[attr-defined]
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    names.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    return frozenset(names)


def enclosing_def(index: "AstFile", node: ast.AST) -> Optional[ast.AST]:
    """The function libcst's `scope.function_scope` names for `node` (classes between
    are passed through): a def, or None in a lambda or at module level."""
    for up in index.ancestors(node):
        if isinstance(up, FUNCTIONS):
            return up if isinstance(up, DEFS) else None
    return None


def enclosing_class(index: "AstFile", node: ast.AST) -> Optional[ast.AST]:
    """The innermost class around `node`, through functions (None outside classes)."""
    for up in index.ancestors(node):
        if type(up) is ast.ClassDef:
            return up
    return None


def first_parameter(function: ast.AST) -> Optional[str]:
    args = function.args  # type: ignore[attr-defined]
    params = args.posonlyargs or args.args
    return params[0].arg if params else None


def mention_needs(index: "AstFile", found: List[ast.AST], owner: Optional[ast.AST],
                  when: Optional[ast.AST] = None) -> Iterator[Need]:
    """The units of `found` (every mention of one attribute), or the whole file when a
    class other than `owner` both stores the attribute and mentions it again: whether
    that class counts then depends on inheritance, which stubbed classes no longer show.
    `when`: only if that code reaches libcst anyway (see sieve.Need)."""
    by_class: Dict[Optional[ast.AST], List[ast.AST]] = {}
    for node in found:
        by_class.setdefault(enclosing_class(index, node), []).append(node)
    related: Optional[Set[ast.AST]] = None
    for cls, nodes in by_class.items():
        if cls is None or cls is owner or len(nodes) < 2:
            continue
        if any(_stored(index, node) for node in nodes):
            if related is None:
                related = related_classes(index, owner) if owner is not None else set()
            if cls in related:
                yield Need(index.tree, MODULE, when=when)
                return
    for node in found:
        yield Need(node, UNIT, when=when)


def related_classes(index: "AstFile", cls: ast.AST) -> Set[ast.AST]:
    """resources.related_classes over every class of the file, as the full run sees them
    (a stubbed class has no bases), counting `*bases` too."""
    bases: Dict[ast.AST, Tuple[str, ...]] = {}
    for node in index.of(ast.ClassDef):
        names = []
        for base in node.bases:  # type: ignore[attr-defined]
            if type(base) is ast.Starred:
                base = base.value  # type: ignore[attr-defined]
            if type(base) is ast.Name:
                names.append(base.id)  # type: ignore[attr-defined]
        bases[node] = tuple(names)
    return flow.related_classes(cls, bases, name_of=lambda c: c.name)  # type: ignore[attr-defined]


def _stored(index: "AstFile", node: ast.AST) -> bool:
    return type(node.ctx) is ast.Store  # type: ignore[attr-defined]


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def escapes(index: "AstFile", function: ast.AST, name: str) -> bool:
    """Whether `name` plainly escapes `function` (resources._classify): returned, assigned
    on, or handed to a call that is not a borrower, outside any nested scope."""
    for mention in mentions(index).names.get(name, ()):
        if type(mention.ctx) is not ast.Load:
            continue
        parent = index.parent(mention)
        up = parent
        while up is not None and up is not function and not isinstance(up, _SCOPES):
            up = index.parent(up)
        if up is not function or not in_body(index, mention, function):
            continue
        if _in_handler_named(index, mention, name, function):
            continue  # `except E as name`: the exception, not the resource
        kind = type(parent)
        if kind is ast.Return or kind is ast.Assign or kind is ast.AnnAssign:
            if parent.value is mention:  # type: ignore[union-attr]
                return True
        elif kind is ast.keyword:
            if _handed_over(index.parent(parent)):
                return True
        elif kind is ast.Call:
            if parent.func is not mention and _handed_over(parent) and not _getattr_called(index, parent, mention):
                return True
    return False


def _getattr_called(index: "AstFile", call: ast.AST, mention: ast.AST) -> bool:
    """`getattr(x, name)(...)`: a method call on `x` (resources._getattr_called)."""
    outer = index.parent(call)
    return (type(call.func) is ast.Name and call.func.id == "getattr"  # type: ignore[attr-defined]
            and bool(call.args) and call.args[0] is mention  # type: ignore[attr-defined]
            and type(outer) is ast.Call and outer.func is call)  # type: ignore[attr-defined]


def rebound(index: "AstFile", function: ast.AST, name: str) -> bool:
    """Whether `name` is assigned more than once in `function` (resources.reopened: the
    first may be reported even when a later one escapes)."""
    stores = 0
    for mention in mentions(index).names.get(name, ()):
        if type(mention.ctx) is ast.Store and type(index.parent(mention)) is ast.Assign:
            up = index.parent(mention)
            while up is not None and up is not function and not isinstance(up, _SCOPES):
                up = index.parent(up)
            if up is function:
                stores += 1
    return stores > 1

def _in_handler_named(index: "AstFile", node: ast.AST, name: str, function: ast.AST) -> bool:
    for up in index.ancestors(node):
        if up is function:
            return False
        if type(up) is ast.ExceptHandler and up.name == name:  # type: ignore[attr-defined]
            return True
    return False


def _handed_over(call: Optional[ast.AST]) -> bool:
    """An argument of `call` escapes: it is not a borrower (resources.is_borrower)."""
    return type(call) is ast.Call and terminal(call.func) not in flow._BORROWER_NAMES  # type: ignore[attr-defined]


# `except E as name`, and match captures (3.10+)
_CAPTURES = tuple(getattr(ast, kind) for kind in ("ExceptHandler", "MatchAs", "MatchStar", "MatchMapping")
                  if hasattr(ast, kind))


def bound_under(index: "AstFile", node: ast.AST) -> FrozenSet[str]:
    """Every name some binding under `node` makes (assignment and loop targets, `as`
    names, imports, parameters, nested defs and classes, match captures): a superset of
    what the scope of `node` binds."""
    memo = index.memo.setdefault("ll2.bound", {})
    found = memo.get(node)
    if found is None:
        names = set()
        for sub in walk_ast(node):
            kind = type(sub)
            if kind is ast.Name:
                if type(sub.ctx) is not ast.Load:  # type: ignore[attr-defined]
                    names.add(sub.id)  # type: ignore[attr-defined]
            elif kind is ast.alias:
                names.add((sub.asname or sub.name).split(".")[0])  # type: ignore[attr-defined]
            elif kind is ast.arg:
                names.add(sub.arg)  # type: ignore[attr-defined]
            elif kind in DEFINITIONS:
                if sub is not node:
                    names.add(sub.name)  # type: ignore[attr-defined]
            elif kind in _CAPTURES:
                for value in (getattr(sub, "name", None), getattr(sub, "rest", None)):
                    if value:
                        names.add(value)
        found = memo[node] = frozenset(names)
    return found


def surely_released(index: "AstFile", attr: str, found: List[ast.Attribute], owner: ast.AST) -> bool:
    """Whether `AttributeUses.released` surely says yes for `owner`'s `self.<attr>`: the
    name is quoted somewhere, or `….attr` is released or handed over in `owner` or
    outside classes (whatever the resource's own release method is)."""
    strings = index.memo.get("ll2.strings")
    if strings is None:
        strings = index.memo["ll2.strings"] = frozenset(flow._STRING.findall(index.text))
    if attr in strings:
        return True
    for node in found:
        parent = index.parent(node)
        kind = type(parent)
        if kind is ast.Attribute:
            surely = parent.value is node and parent.attr in table.GENERIC_RELEASE  # type: ignore[attr-defined]
        elif kind is ast.withitem:
            surely = parent.context_expr is node  # type: ignore[attr-defined]
        elif kind is ast.keyword:
            surely = _handed_over(index.parent(parent))
        elif kind is ast.Call:
            surely = parent.func is not node and _handed_over(parent)  # type: ignore[attr-defined]
        elif kind is ast.Assign or kind is ast.AnnAssign:
            surely = parent.value is node  # type: ignore[attr-defined]
        elif kind is ast.Dict:  # a key or a value; `{**x}` is not an element
            keys, values = parent.keys, parent.values  # type: ignore[attr-defined]
            surely = node in keys or any(v is node and k is not None for k, v in zip(keys, values))
        else:
            surely = kind is ast.List or kind is ast.Set or kind is ast.IfExp
        if surely and enclosing_class(index, node) in (None, owner):
            return True
    return False
