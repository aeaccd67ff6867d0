"""What the LL4 rules' candidate checks (see leaklint.sieve) share: CPython-`ast`
counterparts of the libcst helpers the rules use (argument binding, queue constructors,
hand-made size checks), each erring on the side of "may be"."""
from __future__ import annotations

import ast
import math
from typing import Any, Dict, Iterable, Iterator, List, Optional, Set, Tuple

from leaklint.analysis.values import is_sentinel
from leaklint.knowledge import last_component
from leaklint.knowledge.buffers import QUEUE_SIZE_CHECKS, QUEUES, QueueSpec
from leaklint.pyast import walk as walk_ast
from leaklint.sieve import CLASS, DEFINITIONS, FUNCTIONS, UNIT, AstFile, Need, terminal

_QUEUES_BY_LAST: Dict[str, Tuple[QueueSpec, ...]] = {}
for _spec in QUEUES:
    _last = last_component(_spec.callable)
    _QUEUES_BY_LAST[_last] = _QUEUES_BY_LAST.get(_last, ()) + (_spec,)
_SIZE_CALLS = QUEUE_SIZE_CHECKS | {"len"}

_NO_VALUE = object()


def constant(expr: ast.AST) -> Any:
    """The literal's value, or _NO_VALUE for anything that is not a literal."""
    return expr.value if type(expr) is ast.Constant else _NO_VALUE  # type: ignore[attr-defined]


def is_literal(value: Any) -> bool:
    return value is not _NO_VALUE


def number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def unbounded_number(value: Any, huge: int) -> bool:
    """FileContext.is_unbounded_number, for a literal."""
    return number(value) and (value == math.inf or value >= huge)


def has_star(call: ast.Call) -> bool:
    return any(type(a) is ast.Starred for a in call.args) or any(kw.arg is None for kw in call.keywords)


def self_attribute(expr: ast.AST) -> Optional[str]:
    """`x` for `self.x`, else None."""
    if type(expr) is not ast.Attribute:
        return None
    base = expr.value  # type: ignore[attr-defined]
    if type(base) is ast.Name and base.id == "self":  # type: ignore[attr-defined]
        return expr.attr  # type: ignore[attr-defined]
    return None


def stands_for(index: AstFile, label: Optional[str]) -> Set[str]:
    """The last names a call's label may resolve to (scopes.qualified_name): itself, and
    what it is an alias of."""
    if label is None:
        return set()
    return {label, *index.alias_origins.get(label, ())}


def in_class(index: AstFile, node: ast.AST) -> bool:
    return any(type(up) is ast.ClassDef for up in index.ancestors(node))


# --- queues ----------------------------------------------------------------------------


def queue_calls(index: AstFile) -> List[Tuple[ast.Call, Tuple[QueueSpec, ...]]]:
    """Calls that analysis.queues.queue_spec may resolve to a queue constructor, generic
    ones (`asyncio.Queue[int]()`) included, with the rows each may be."""
    found: List[Tuple[ast.Call, Tuple[QueueSpec, ...]]] = []
    for call in index.calls(_QUEUES_BY_LAST):
        found.append((call, _queue_specs(index, terminal(call.func))))
    for sub in index.of(ast.Subscript):
        parent = index.parent(sub)
        if type(parent) is ast.Call and parent.func is sub:  # type: ignore[attr-defined]
            specs = _queue_specs(index, terminal(sub.value))  # type: ignore[attr-defined]
            if specs:
                found.append((parent, specs))  # type: ignore[arg-type]
    return found


def _queue_specs(index: AstFile, label: Optional[str]) -> Tuple[QueueSpec, ...]:
    return tuple(spec for name in stands_for(index, label) for spec in _QUEUES_BY_LAST.get(name, ()))


def _root(expr: ast.AST) -> Optional[str]:
    """`q` for `q`, `q._state.data`, `q.statistics()`: the name analysis.queues._rooted_at
    walks back to."""
    while True:
        kind = type(expr)
        if kind is ast.Attribute or kind is ast.Starred:
            expr = expr.value  # type: ignore[attr-defined]
        elif kind is ast.Call:
            expr = expr.func  # type: ignore[attr-defined]
        elif kind is ast.Name:
            return expr.id  # type: ignore[attr-defined]
        else:
            return None


def size_checks(index: AstFile, roots: Set[str]) -> Iterator[Need]:
    """A Need at every `len(q...)`, `q.qsize()`, `q.full()`, `q.statistics()` on one of
    `roots`: analysis.queues.watches_size reads them anywhere in the region that can see
    a module-level queue, i.e. in any function of the file."""
    if not roots:
        return
    for call in index.calls(_SIZE_CALLS):
        func = call.func
        if type(func) is ast.Attribute and func.attr in QUEUE_SIZE_CHECKS:
            exprs: Iterable[ast.AST] = (func.value,)
        elif type(func) is ast.Name and func.id == "len":
            exprs = [*call.args, *(kw.value for kw in call.keywords)]
        else:
            continue
        if any(_root(expr) in roots for expr in exprs):
            yield Need(call, UNIT)


def target_names(targets: Iterable[ast.AST]) -> Set[str]:
    """Every plain name in assignment targets (`q`, `a, b`, the `obj` of `obj.q`)."""
    return {n.id for t in targets for n in walk_ast(t) if type(n) is ast.Name}  # type: ignore[attr-defined]


def judge_literal(value: Any, unbounded: Tuple[Any, ...], maximum: Optional[int], huge: int) -> bool:
    """Whether LL403's `_check` (and `_parameter` for declared buffers) reports a literal."""
    if isinstance(value, bool):
        return False
    if is_sentinel(value, unbounded):
        return True
    if maximum is None:
        return unbounded_number(value, huge)
    return number(value) and value > maximum


# --- values: what analysis.values.evaluate may make of an expression --------------------

_NAMED_LAST = frozenset({"maxsize", "inf", "Inf"})  # last names of values._NAMED_CONSTANTS
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Div, ast.Pow, ast.LShift, ast.RShift)


def literal(expr: ast.AST) -> Any:
    """The value of a literal or a signed number literal (`-1`), else _NO_VALUE."""
    if type(expr) is ast.Constant:
        return expr.value  # type: ignore[attr-defined]
    if type(expr) is ast.UnaryOp and type(expr.operand) is ast.Constant:  # type: ignore[attr-defined]
        operand = expr.operand.value  # type: ignore[attr-defined]
        if number(operand) and type(expr.op) in (ast.USub, ast.UAdd):  # type: ignore[attr-defined]
            return -operand if type(expr.op) is ast.USub else operand  # type: ignore[attr-defined]
    return _NO_VALUE


def may_have_value(index: AstFile, expr: ast.AST) -> bool:
    """False when `evaluate` cannot give `expr` a number, None or a string (it is UNKNOWN
    or the size of the work): `x or 0`, `self.size`, a parameter of the function."""
    kind = type(expr)
    if kind is ast.Constant:
        return True
    if kind is ast.Name:
        return not _parameter(index, expr)
    if kind is ast.Attribute:
        return expr.attr in _NAMED_LAST  # type: ignore[attr-defined]
    if kind is ast.UnaryOp:
        operand = expr.operand  # type: ignore[attr-defined]
        return type(expr.op) in (ast.USub, ast.UAdd) and may_have_value(index, operand)  # type: ignore[attr-defined]
    if kind is ast.BinOp:
        return (
            isinstance(expr.op, _ARITHMETIC)  # type: ignore[attr-defined]
            and may_have_value(index, expr.left) and may_have_value(index, expr.right)  # type: ignore[attr-defined]
        )
    if kind is ast.Call:  # float(...) / int(...) of one argument, possibly through another name
        args, keywords = expr.args, expr.keywords  # type: ignore[attr-defined]
        if len(args) + len(keywords) != 1 or any(k.arg is not None for k in keywords):
            return False  # libcst sees `**kw` as the one argument too
        return not stands_for(index, terminal(expr.func)).isdisjoint(("float", "int"))  # type: ignore[attr-defined]
    return False


def _parameter(index: AstFile, name: ast.Name) -> bool:
    """A parameter of the innermost function around it (its only binding there, or one
    of several: either way not a single assignment), not declared global or nonlocal."""
    function = index.function(name)
    if function is None:
        return False
    child: ast.AST = name
    for up in index.ancestors(name):
        if up is function:
            break
        child = up
    body = function.body  # type: ignore[attr-defined]
    if not (child is body or (type(body) is list and child in body)):
        return False  # a default or an annotation: evaluated outside the function
    args = function.args  # type: ignore[attr-defined]
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    if not any(p is not None and p.arg == name.id for p in params):
        return False
    if type(function) is ast.Lambda:
        return True
    for node in walk_ast(function):
        if type(node) in (ast.Global, ast.Nonlocal) and name.id in node.names:  # type: ignore[attr-defined]
            return False
    return True


def may_be(index: AstFile, expr: ast.AST, judge) -> bool:
    """Whether `judge(value)` may hold for what `evaluate` makes of `expr`."""
    value = literal(expr)
    if value is not _NO_VALUE:
        return bool(judge(value))
    return may_have_value(index, expr)


def visible(index: AstFile, node: ast.AST, homes: Iterable[Optional[ast.AST]]) -> bool:
    """Whether a name bound in one of `homes` (the innermost function around each binding,
    None at module or class level) may be what `node` sees: Scope.find looks in the
    functions around `node`, then the module."""
    homes = list(homes)
    if any(home is None for home in homes):
        return True
    around = {id(up) for up in index.ancestors(node) if isinstance(up, FUNCTIONS)}
    return any(id(home) in around for home in homes)


# --- a class's members, instead of the whole class -------------------------------------



def _size(node: ast.AST) -> int:
    decorators = getattr(node, "decorator_list", None) or ()
    first = min([node.lineno, *(d.lineno for d in decorators)])  # type: ignore[attr-defined]
    return (node.end_lineno or node.lineno) - first + 1  # type: ignore[attr-defined]


def _definition_sizes(tree: ast.Module) -> Dict[str, int]:
    """How many lines keeping a name costs: as sieve._Plan.defined, every top-level
    definition and top-level class member of that name."""
    if _SIZES[0] is tree:
        return _SIZES[1]
    sizes: Dict[str, int] = {}
    for stmt in tree.body:
        if isinstance(stmt, DEFINITIONS):
            sizes[stmt.name] = sizes.get(stmt.name, 0) + _size(stmt)
        if type(stmt) is ast.ClassDef:
            for member in stmt.body:
                if isinstance(member, DEFINITIONS):
                    sizes[member.name] = sizes.get(member.name, 0) + _size(member)
    _SIZES[:] = [tree, sizes]
    return sizes


_SIZES: List[Any] = [None, None]  # the last file's, asked for once per candidate


def _mentions(node: ast.AST, words: Set[str]) -> bool:
    kind = type(node)
    if kind is ast.Attribute:
        return node.attr in words  # type: ignore[attr-defined]
    return kind is ast.Name and node.id in words  # type: ignore[attr-defined]


def in_class_using(index: AstFile, node: ast.AST, words: Set[str]) -> Need:
    """A Need for `node` in a method whose rule reads the whole class for `words` (a
    `self.x` attribute's assignments and size checks, a class-level name): its unit and
    the members of its top-level class that mention a word, when they cost less than
    the whole class; else CLASS."""
    top = None
    for up in index.ancestors(node):
        if type(up) is ast.Module:
            break
        top = up
    if type(top) is not ast.ClassDef:
        return Need(node, UNIT)  # the unit is the whole top-level statement
    using = {
        member.name  # type: ignore[attr-defined]
        for member in top.body  # type: ignore[attr-defined]
        if isinstance(member, DEFINITIONS) and any(_mentions(n, words) for n in walk_ast(member))
    }
    sizes = _definition_sizes(index.tree)
    if sum(sizes.get(name, 0) for name in using) < _size(top):
        return Need(node, UNIT, frozenset(using))
    return Need(node, CLASS)


# --- logging's queue handlers (analysis.queues.handed_to_logging) ----------------------

_LOGGING_USERS = frozenset({"QueueHandler", "QueueListener"})


def logging_queue_users(index: AstFile) -> List[Need]:
    """What handed_to_logging reads anywhere in the file: the classes derived from
    QueueHandler/QueueListener, directly (the base by any alias) or through one another
    (by name, so a stub does not hide their bases), and every call of those, of such a
    class or of an `__init__` (a derived class's `super().__init__(queue)`)."""
    if not any(word in index.text for word in _LOGGING_USERS):
        return []
    origins = index.alias_origins
    users = set(_LOGGING_USERS) | {alias for alias, names in origins.items() if not names.isdisjoint(_LOGGING_USERS)}
    defined = list(index.of(ast.ClassDef))
    classes: set = set()
    grew = True
    while grew:
        grew = False
        for node in defined:
            if node.name not in classes and any(  # type: ignore[attr-defined]
                terminal(base) in users or terminal(base) in classes for base in node.bases  # type: ignore[attr-defined]
            ):
                classes.add(node.name)  # type: ignore[attr-defined]
                grew = True
    names = frozenset(classes)
    wanted = frozenset(_LOGGING_USERS | classes | ({"__init__"} if classes else set()))
    return [Need(call, UNIT, names) for call in index.calls(wanted)]
