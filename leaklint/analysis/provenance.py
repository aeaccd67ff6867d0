"""Where a fan-out's size comes from, and what its per-item work reaches (LL102, LL104).

`outside_size` says whether a collection is sized at run time by the world outside the
program: a parameter (a caller's or a handler's payload), I/O results (a response, rows,
a directory listing, a file's lines, a message batch), or something derived from those.
`io_reached` says whether a callable reaches a known network, file or process API
(knowledge/io_apis.py), directly or through functions and methods of this module (a
few calls deep, memoised per function), or GUARDED when a function on the way holds a
semaphore or limiter. Both answer None when they cannot show it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

import libcst as cst

from leaklint.analysis.instances import instance_class, self_assignments
from leaklint.analysis.scopes import Scope, qualified_name
from leaklint.analysis.walk import walk
from leaklint.knowledge import io_apis as api

if TYPE_CHECKING:
    from leaklint.context import FileContext

_MAX_CALL_DEPTH = 3  # calls followed from the work into this module's functions
# (analysis/sieve_ll1.reached_names keeps the definitions this may follow)
_MAX_VALUE_DEPTH = 10  # bindings followed back from an iterable
_BUDGET = 400  # expressions looked at per iterable: `x = x + y` chains branch
_HOLDERS = ("self", "cls")


@dataclass(frozen=True)
class IoUse:
    """A call to a known I/O API that some work reaches."""

    kind: str  # what one call opens: "HTTP request", "file", ...
    api: str  # the call as written: `session.get`, `open`
    via: Optional[str] = None  # the function of this module it is in, when followed


class _Memo:
    def __init__(self) -> None:
        self.functions: Dict[Tuple[int, int], Optional[IoUse]] = {}  # (id(FunctionDef), depth) -> reached
        self.scopes: Dict[int, Scope] = {}
        self.budget = 0  # steps left to the outside_size query being answered


def _memo(ctx: "FileContext") -> _Memo:
    return ctx.state(_Memo)


def _words(expr: Optional[cst.BaseExpression]) -> List[str]:
    name = None
    if type(expr) is cst.Name:
        name = expr.value
    elif type(expr) is cst.Attribute:
        name = expr.attr.value
    return api.name_words(name) if name else []


def article(kind: str) -> str:
    """`an HTTP request`, `a file`."""
    return ("an " if kind[:1] in "aeiouAEIOUH" else "a ") + kind


def _code(ctx: "FileContext", node: cst.CSTNode) -> str:
    text = " ".join(ctx.module.code_for_node(node).split())
    return text if len(text) <= 40 else text[:37] + "..."


# --- what the work reaches -------------------------------------------------------------


def io_reached(
    ctx: "FileContext", work: Optional[cst.BaseExpression], element: Optional[cst.Call] = None
) -> Optional[IoUse]:
    """The I/O API the work reaches: the call `element` itself (`session.get(u)`), or the
    callable `work` when it is (or leads to) a function or method of this module."""
    scope = ctx.scope
    if element is not None:
        found = io_call(ctx, element, scope)
        if found is not None:
            return found
    if work is None:
        return None
    if type(work) in (cst.Name, cst.Attribute):
        # `tg.start_soon(session.get, url)`: the work is an I/O method itself
        found = _io_callable(ctx, work, scope)
        if found is not None:
            return found
    target = _callee(ctx, work, scope)
    if target is None:
        return None
    function, function_scope = target
    found = _function_io(ctx, function, function_scope, 0)
    if found is None or found is GUARDED:
        return found
    return found if found.via else IoUse(found.kind, found.api, function.name.value)


def io_call(ctx: "FileContext", call: cst.Call, scope: Scope) -> Optional[IoUse]:
    """What `call` opens when it is a call to a known I/O API, else None."""
    return _io_callable(ctx, call.func, scope)


def _io_callable(ctx: "FileContext", func: cst.BaseExpression, scope: Scope) -> Optional[IoUse]:
    name = qualified_name(func, scope)
    if name is not None:
        kind = api.IO_FUNCTIONS.get(name)
        if kind is not None:
            return IoUse(kind, _code(ctx, func))
    if type(func) is not cst.Attribute:
        return None
    method = func.attr.value
    kind = api.IO_METHODS.get(method)
    if kind is not None:
        return IoUse(kind, _code(ctx, func))
    receiver = func.value
    made_by = instance_class(receiver, scope)
    if made_by is None and type(receiver) is cst.Name and receiver.value == "self" and not _own_method(scope, method):
        made_by = _client_base(scope)
    if made_by is not None:
        known = api.IO_CLIENT_METHODS.get(made_by)
        if known is not None:
            return IoUse(known[0], _code(ctx, func)) if known[1] == "*" or method in known[1] else None
        if made_by.split(".", 1)[0] in ("builtins", "collections", "typing"):
            return None  # `client = {}`: a container, whatever its name
    words = set(_words(receiver))
    if words:
        for kind, receivers, verbs in api.IO_RECEIVER_CONVENTIONS:
            if method in verbs and not words.isdisjoint(receivers):
                return IoUse(kind, _code(ctx, func))
    return None


def _scope_for(ctx: "FileContext", node: cst.FunctionDef, parent: Scope) -> Scope:
    found = ctx.scopes.get(node)
    if found is not None:
        return found
    memo = _memo(ctx)
    found = memo.scopes.get(id(node))
    if found is None:
        found = memo.scopes[id(node)] = Scope(node, parent)
    return found


def _callee(
    ctx: "FileContext", expr: Optional[cst.BaseExpression], scope: Scope
) -> Optional[Tuple[cst.FunctionDef, Scope]]:
    """The function of this module `expr` names, with its scope: a function (also one
    nested in the current one), a method of the enclosing class (`self.handle`), through
    `functools.partial`, lambdas and a name bound once to either."""
    for _ in range(5):
        if expr is None:
            return None
        kind = type(expr)
        if kind is cst.Call and qualified_name(expr.func, scope) == "functools.partial" and expr.args:
            expr = expr.args[0].value
            continue
        if kind is cst.Lambda:
            expr = expr.body.func if type(expr.body) is cst.Call else None
            continue
        if kind is cst.Name:
            found = scope.find(expr.value)
            if found is None or len(found[1]) != 1:
                return None
            owner, (binding,) = found
            if binding.kind == "def" and type(binding.node) is cst.FunctionDef:
                return binding.node, _scope_for(ctx, binding.node, owner)
            if binding.kind == "assign" and type(binding.value) in (cst.Call, cst.Lambda):
                expr = binding.value  # `bound = partial(fetch, client)`
                continue
            return None
        break
    if type(expr) is cst.Attribute and type(expr.value) is cst.Name and expr.value.value in _HOLDERS:
        class_scope = _class_of(scope)
        if class_scope is None:
            return None
        methods = [
            s for s in class_scope.node.body.body  # type: ignore[attr-defined]
            if type(s) is cst.FunctionDef and s.name.value == expr.attr.value
        ]
        if methods:  # several (property setters, overloads): the last one wins at runtime
            return methods[-1], _scope_for(ctx, methods[-1], class_scope)
    return None


def _class_of(scope: Scope) -> Optional[Scope]:
    """The class whose method (or a function nested in one) `scope` is in."""
    current: Optional[Scope] = scope
    while current is not None:
        if current.kind in ("function", "lambda") and current.parent is not None and current.parent.kind == "class":
            return current.parent
        current = current.parent
    return None


def _client_base(scope: Scope) -> Optional[str]:
    """`self.get(key)` in a subclass of a known client (`class Pool(redis.asyncio.Redis)`):
    the client base the method is inherited from, else None."""
    found = scope.memo.get("client_base", False)
    if found is not False:
        return found  # type: ignore[return-value]
    found = None
    owner = _class_of(scope)
    if owner is not None and owner.parent is not None:
        for base in owner.node.bases:
            name = _client_name(base.value, owner.parent)
            if name is not None:
                found = name
                break
    scope.memo["client_base"] = found
    return found


def _own_method(scope: Scope, method: str) -> bool:
    """Whether the class `scope` is in defines `method` itself (not inherited)."""
    owner = _class_of(scope)
    if owner is None:
        return False
    body = owner.node.body
    return any(type(s) is cst.FunctionDef and s.name.value == method for s in getattr(body, "body", ()))


def _client_name(expr: cst.BaseExpression, scope: Scope) -> Optional[str]:
    """The known client class `expr` names: directly, subscripted (`Redis[bytes]`), or
    through a name the module binds to one (`BaseRedis = Redis`, under
    `if TYPE_CHECKING:`/`else:` as often as not)."""
    if type(expr) is cst.Subscript:
        expr = expr.value
    name = qualified_name(expr, scope)
    if name in api.IO_CLIENT_METHODS:
        return name
    if type(expr) is cst.Name:
        found = scope.find(expr.value)
        for binding in found[1] if found is not None else ():
            value = binding.value
            if binding.kind != "assign" or value is None:
                continue
            if type(value) is cst.Subscript:
                value = value.value
            name = qualified_name(value, found[0])  # type: ignore[index]
            if name in api.IO_CLIENT_METHODS:
                return name
    return None


# What _function_io answers for work that passes through a function holding a semaphore
# or limiter (analysis/guards.holds_limiter) on its way to I/O: bounded, by neither rule.
GUARDED = IoUse("guarded", "")


def _holds_limiter(ctx: "FileContext", function: cst.FunctionDef) -> bool:
    from leaklint.analysis.guards import holds_limiter  # guards imports spawning, which imports this

    return holds_limiter(ctx, function)


def _function_io(ctx: "FileContext", function: cst.FunctionDef, scope: Scope, depth: int) -> Optional[IoUse]:
    """The first I/O API `function` reaches, itself or through this module's functions,
    following at most _MAX_CALL_DEPTH - depth more calls; GUARDED when all it reaches
    passes through a function (other than the work itself) that holds a limiter.
    Memoised by function and depth, so the answer never depends on which fan-out asked
    first (nor on the sieve)."""
    if depth > _MAX_CALL_DEPTH:
        return None
    memo = _memo(ctx).functions
    key = (id(function), depth)
    if key in memo:
        return memo[key]
    memo[key] = None  # a recursive call ends here (it would also end by depth)
    result: Optional[IoUse] = None
    followed: List[cst.Call] = []
    for node in walk(function.body):
        if type(node) is not cst.Call:
            continue
        result = io_call(ctx, node, scope)
        if result is not None:
            break
        followed.append(node)
    if result is None and depth < _MAX_CALL_DEPTH:
        for call in followed:
            target = _callee(ctx, call.func, scope)
            if target is None:
                continue
            found = _function_io(ctx, target[0], target[1], depth + 1)
            if found is GUARDED:
                result = GUARDED  # unless another path reaches I/O unguarded
            elif found is not None:
                result = found if found.via else IoUse(found.kind, found.api, target[0].name.value)
                break
    if result is not None and depth > 0 and _holds_limiter(ctx, function):
        result = GUARDED  # `async with self._sem:` on the way: the I/O is bounded there
    memo[key] = result
    return result


# --- where the size comes from -----------------------------------------------------------


def outside_size(ctx: "FileContext", expr: cst.BaseExpression, params: bool = True) -> Optional[str]:
    """How `expr`'s number of items is set from outside the program, as a message says it
    ("`urls`, a parameter of `crawl`", "a directory listing (`glob.glob`)"), or None.
    With `params=False` a bare parameter does not count (a `range` bound: `range(workers)`
    is a worker pool sized by its caller, not a batch of input)."""
    _memo(ctx).budget = _BUDGET
    return _origin(ctx, expr, ctx.scope, params, 0)


def _origin(ctx: "FileContext", expr: cst.BaseExpression, scope: Scope, params: bool, depth: int) -> Optional[str]:
    memo = _memo(ctx)
    memo.budget -= 1
    if depth > _MAX_VALUE_DEPTH or memo.budget < 0:
        return None
    kind = type(expr)
    if kind is cst.Name:
        return _name_origin(ctx, expr.value, scope, params, depth)
    if kind is cst.Attribute:
        name = qualified_name(expr, scope)
        if name in api.OUTSIDE_VALUES:
            return api.OUTSIDE_VALUES[name]
        # `request.urls`, `page.links`: part of an outside value (never `self.x`)
        if _rooted_outside_self(expr):
            return _origin(ctx, expr.value, scope, True, depth + 1)
        if type(expr.value) is cst.Name and expr.value.value == "self":
            return _held_origin(ctx, expr.attr.value, scope, depth)
        return None
    if kind is cst.Subscript:
        return _origin(ctx, expr.value, scope, True, depth + 1)
    if kind is cst.Await:
        return _origin(ctx, expr.expression, scope, params, depth)
    if kind is cst.BinaryOperation:
        return _origin(ctx, expr.left, scope, params, depth + 1) or _origin(ctx, expr.right, scope, params, depth + 1)
    if kind in (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp):
        return _origin(ctx, expr.for_in.iter, scope, params, depth + 1)
    if kind is cst.Call:
        return _call_origin(ctx, expr, scope, params, depth)
    return None


def _held_origin(ctx: "FileContext", attr: str, scope: Scope, depth: int) -> Optional[str]:
    """`self.<attr>`: outside only when a method of the class assigns it an I/O result
    (`self.urls = await self._load_sitemap()`), not when it stores what it was given
    (`self.entities = entities` is the program's own configuration)."""
    class_scope = _class_of(scope)
    if class_scope is None:
        return None
    for node, method_scope in self_assignments(class_scope).get(attr, ()):
        value = getattr(node, "value", None)
        if value is None:
            continue
        found = _origin(ctx, value, method_scope, False, depth + 1)
        if found is not None:
            return found
    return None


def _rooted_outside_self(expr: cst.Attribute) -> bool:
    root: cst.BaseExpression = expr
    while type(root) is cst.Attribute:
        root = root.value  # type: ignore[attr-defined]
    return not (type(root) is cst.Name and root.value in _HOLDERS)


def _name_origin(ctx: "FileContext", name: str, scope: Scope, params: bool, depth: int) -> Optional[str]:
    found = scope.find(name)
    if found is None:
        return None
    owner, bindings = found
    for binding in bindings:
        node = binding.node
        if binding.kind == "param":
            if not params or name in _HOLDERS or not api.CONFIG_WORDS.isdisjoint(api.name_words(name)):
                continue
            function = owner.node
            label = function.name.value if type(function) is cst.FunctionDef else "the lambda"
            return f"`{name}`, a parameter of `{label}`"
        if binding.kind in ("assign", "annassign") and binding.value is not None:
            value = binding.value
        elif binding.kind == "for" and type(node) in (cst.For, cst.CompFor):
            value = node.iter  # an item of an outside collection is outside too
        elif binding.kind == "with" and type(node) is cst.WithItem:
            value = node.item
        else:
            continue
        origin = _origin(ctx, value, owner, params, depth + 1)
        if origin is not None:
            return origin
    return None


def _call_origin(ctx: "FileContext", call: cst.Call, scope: Scope, params: bool, depth: int) -> Optional[str]:
    func = call.func
    io = io_call(ctx, call, scope)
    if io is not None:
        return f"the result of `{io.api}`, {article(io.kind)}"
    name = qualified_name(func, scope)
    if name == "builtins.range":  # a bound read from I/O, or `len(items)`; not `range(workers)`
        for arg in call.args:
            found = _origin(ctx, arg.value, scope, False, depth + 1)
            if found is not None:
                return found
        return None
    if name in api.SIZE_PASS_THROUGH:
        # `len(items)` counts what a caller passed, even as a `range` bound
        params = params or name == "builtins.len"
        for arg in call.args:
            if arg.keyword is None:
                found = _origin(ctx, arg.value, scope, params, depth + 1)
                if found is not None:
                    return found
        return None
    if name == "builtins.min":  # bounded by the smallest: outside only when all are
        origins = [_origin(ctx, a.value, scope, params, depth + 1) for a in call.args if a.keyword is None]
        return origins[0] if origins and all(origins) else None
    if type(func) is cst.Attribute:
        method = func.attr.value
        if method in api.LISTING_METHODS:
            return f"a {api.LISTING_METHODS[method]} (`{_code(ctx, func)}`)"
        if method in api.BATCH_METHODS and not set(_words(func.value)).isdisjoint(api.BATCH_RECEIVER_WORDS):
            return f"a message batch (`{_code(ctx, func)}`)"
        if type(func.value) is not cst.Name or func.value.value not in _HOLDERS:
            # `resp.json()`, `data.get("items")`, `text.splitlines()`: of an outside value
            found = _origin(ctx, func.value, scope, True, depth + 1)
            if found is not None:
                return found
    target = _callee(ctx, func, scope)
    if target is not None:
        # a function of this module that reads it from I/O
        io = _function_io(ctx, target[0], target[1], 1)
        if io is not None and io is not GUARDED:
            return f"the result of `{target[0].name.value}`, which makes {article(io.kind)} (`{io.api}`)"
        if type(func) is cst.Name:
            # one fed the outside value (`parse_links(html)`); not a method, which picks
            # from what the object holds (`self._live_receivers(sender)`)
            for arg in call.args:
                found = _origin(ctx, arg.value, scope, params, depth + 1)
                if found is not None:
                    return found
    return None
