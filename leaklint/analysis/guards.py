"""What bounds work that has been started: a semaphore, limiter or lock held around it,
or a loop that waits (for capacity, for the task, or for time) before it goes round.

Used by the unbounded-parallelism rules (LL102, LL103). Any plausible guard counts:
when the analysis cannot tell whether work is bounded, it is treated as bounded.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Optional, Sequence, Set, Tuple

import libcst as cst

from leaklint.analysis.calls import argument, terminal_name
from leaklint.analysis.instances import instance_class
from leaklint.analysis.loops import Loop, enclosing_loops, is_async_for
from leaklint.analysis.spawning import SPAWNER_NAMES, Spawn, clauses_from, few_items, is_consume_loop, spawn_of, words
from leaklint.analysis.walk import SCOPE_NODES, iter_children, walk
from leaklint.knowledge import last_component
from leaklint.knowledge import spawns as api
from leaklint.knowledge.limits import FEED_METHODS, LIMITER_ACQUIRE_METHODS

if TYPE_CHECKING:
    from leaklint.context import FileContext

_LIMITER_WORDS = frozenset(api.LIMITER_WORDS)
_WAIT_METHODS = frozenset(api.CAPACITY_WAIT_METHODS)
_WAIT_PREFIXES = ("wait", "acquire")  # `wait_task_can_start`, `acquire_slot`
_RELEASES = frozenset(api.RELEASE_METHODS)
_WAIT_FUNCTION_NAMES = frozenset(last_component(n) for n in (*api.CAPACITY_WAIT_FUNCTIONS, *api.SLEEP_FUNCTIONS))
_WAIT_FUNCTIONS = frozenset(api.CAPACITY_WAIT_FUNCTIONS)
_SLEEPS = frozenset(api.SLEEP_FUNCTIONS)


def is_limiter(ctx: "FileContext", expr: cst.BaseExpression) -> bool:
    """`sem`, `self._limiter`, `lock`, `pool.acquire()`, `asyncio.Semaphore(4)`: something
    that admits a bounded number of holders."""
    if type(expr) is cst.Call:
        func = expr.func
        if type(func) is cst.Attribute and func.attr.value == "acquire":
            return True
        if ctx.call_name(expr) in api.LIMITER_FACTORIES:
            return True
        return bool(_LIMITER_WORDS.intersection(words(func)))
    if _LIMITER_WORDS.intersection(words(expr)):
        return True
    return instance_class(expr, ctx.scope) in api.LIMITER_FACTORIES


_HANDLERS = (cst.ExceptHandler, cst.ExceptStarHandler)
_TASK_GROUPS = frozenset(api.TASK_GROUP_FACTORIES)


def _statements(body: cst.CSTNode, skip: Optional[cst.CSTNode] = None, handlers: bool = True) -> Iterator[cst.CSTNode]:
    """Nodes of `body` that run in its own frame: nested functions, classes, lambdas and
    comprehensions are not entered, nor the subtree `skip`, nor (`handlers=False`)
    `except` clauses."""
    stack = [body]
    while stack:
        node = stack.pop()
        yield node
        if node is skip or (node is not body and type(node) in SCOPE_NODES):
            continue
        if not handlers and type(node) in _HANDLERS:
            continue
        stack.extend(iter_children(node))


def _limits_here(ctx: "FileContext", node: cst.CSTNode) -> bool:
    kind = type(node)
    if kind is cst.With:
        return any(is_limiter(ctx, item.item) for item in node.items)
    if kind is cst.Call:
        func = node.func
        return type(func) is cst.Attribute and func.attr.value in LIMITER_ACQUIRE_METHODS
    return False


def holds_limiter(ctx: "FileContext", function: cst.FunctionDef) -> bool:
    """Whether a function's own body enters a limiter (`async with sem:`, `with lock:`,
    `await sem.acquire()`, `limiter.acquire_on_behalf_of(x)`: knowledge.limits'
    LIMITER_ACQUIRE_METHODS) or a limiter decorates it."""
    for decorator in function.decorators:
        target = decorator.decorator
        if type(target) is cst.Call:
            target = target.func
        if _LIMITER_WORDS.intersection(words(target)):
            return True
    return any(_limits_here(ctx, node) for node in _statements(function.body))


def limiters_held(ctx: "FileContext", function: cst.FunctionDef) -> Set[str]:
    """The source text of the limiters a function's own body enters (`self.limiter`)."""
    code = ctx.module.code_for_node
    return {
        code(item.item).strip()
        for node in _statements(function.body)
        if type(node) is cst.With
        for item in node.items
        if is_limiter(ctx, item.item)
    }


def feeds_under(ctx: "FileContext", limiters: Set[str]) -> bool:
    """Whether this module sends or puts into a stream or queue while it holds one of
    `limiters`: then a producer and the handlers share one limiter, and the producer
    cannot run ahead of the handlers (the tokens pass back and forth)."""
    if not limiters:
        return False
    code = ctx.module.code_for_node
    for node in walk(ctx.module):
        if type(node) is not cst.With or not any(code(i.item).strip() in limiters for i in node.items):
            continue
        for inner in _statements(node.body):
            if type(inner) is cst.Call and type(inner.func) is cst.Attribute and inner.func.attr.value in FEED_METHODS:
                return True
    return False



def function_of(ctx: "FileContext", expr: Optional[cst.BaseExpression]) -> Optional[cst.FunctionDef]:
    """The function `expr` names when it is defined in this module: a function, a method of
    the enclosing class (`self.handle`), through `functools.partial` and lambdas."""
    for _ in range(4):
        if expr is None:
            return None
        kind = type(expr)
        if kind is cst.Call and ctx.call_name(expr) == "functools.partial" and expr.args:
            expr = expr.args[0].value
            continue
        if kind is cst.Lambda:
            expr = expr.body.func if type(expr.body) is cst.Call else None
            continue
        break
    else:
        return None
    if type(expr) is cst.Name:
        found = ctx.scope.find(expr.value)
        if found is not None and len(found[1]) == 1 and found[1][0].kind == "def":
            node = found[1][0].node
            return node if type(node) is cst.FunctionDef else None
        return None
    if type(expr) is cst.Attribute and type(expr.value) is cst.Name and expr.value.value in ("self", "cls"):
        function = ctx.scope.function_scope
        owner = function.parent if function is not None else None
        if owner is None or owner.kind != "class":
            return None
        methods = [
            s for s in owner.node.body.body if type(s) is cst.FunctionDef and s.name.value == expr.attr.value
        ]
        # several definitions (property setters, overloads): the last one wins at runtime
        return methods[-1] if methods else None
    return None


def guarded_work(ctx: "FileContext", work: Optional[cst.BaseExpression]) -> bool:
    """Whether the work is a function of this module that holds a limiter itself."""
    function = function_of(ctx, work)
    return function is not None and holds_limiter(ctx, function)


def awaited(ctx: "FileContext", levels_from_top: int = 0) -> bool:
    """Whether the call being visited is waited for where it stands: `await spawn(...)`,
    `await asyncio.wait_for(spawn(...), t)`, `executor.submit(f).result()`."""
    stack = ctx.stack
    index = len(stack) - 1 - levels_from_top
    child = stack[index]
    for position in range(index - 1, -1, -1):
        node = stack[position]
        kind = type(node)
        if kind is cst.Await:
            return True
        if kind is cst.Attribute and node.value is child and node.attr.value in _WAIT_METHODS:
            return True
        if kind in SCOPE_NODES or isinstance(node, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            return False
        child = node
    return False


def waits_in_loop(ctx: "FileContext", loop: Loop, spawn: Optional[cst.Call] = None) -> bool:
    """Whether the loop's body waits before it goes round again: it holds or acquires a
    limiter, waits for tasks or futures (`await task`, `asyncio.wait`, `fut.result()`,
    `queue.join()`), awaits the release of what it started before (`await
    worker.close()`), puts into a queue (bounded queues block), sleeps, or checks how
    many are running (`if len(tasks) >= N`). The spawn's own arguments do not count, nor a
    wait on the error path only (a back-off sleep in an `except` clause)."""
    body = getattr(loop, "body", None)
    if body is None:  # a comprehension: nothing runs between its items
        return False
    for node in _statements(body, skip=spawn, handlers=False):
        if node is spawn:
            continue
        kind = type(node)
        if kind is cst.With:
            if any(is_limiter(ctx, item.item) or _task_group(ctx, item.item) for item in node.items):
                return True  # a task group opened in the loop waits for its tasks at the end
        elif kind is cst.Await:
            if type(node.expression) in (cst.Name, cst.Attribute, cst.Subscript):
                return True  # `await task`, `await self._done`
            if _releases_awaited(node.expression):
                return True  # `await worker.close()`: the previous one is stopped first
        elif kind is cst.Call:
            if _waits(ctx, node):
                return True
        elif kind in (cst.If, cst.While, cst.IfExp):
            if _counts_running(node.test):
                return True
    return False


def _waits(ctx: "FileContext", call: cst.Call) -> bool:
    func = call.func
    if type(func) is cst.Attribute:
        method = func.attr.value
        if method == "join":
            # `", ".join(parts)` is no wait: a queue's or a thread's join takes no position
            return not any(a.keyword is None for a in call.args)
        if method in _WAIT_METHODS or method.split("_", 1)[0] in _WAIT_PREFIXES:
            return True
    name = ctx.callee(call, _WAIT_FUNCTION_NAMES)
    if name in _WAIT_FUNCTIONS:
        return True
    if name in _SLEEPS:
        delay = argument(call, "delay", 0) or argument(call, "seconds", 0)
        return delay is None or ctx.value(delay.value) != 0  # sleep(0) only yields
    return False


def is_release(expr: Optional[cst.BaseExpression]) -> bool:
    """`conn.close`, `task.cancel`, `node.disconnect_free_connections`: a method that gives
    back what the object holds (matched on the method name's first word)."""
    return type(expr) is cst.Attribute and expr.attr.value.lstrip("_").split("_", 1)[0] in _RELEASES


def _releases_awaited(expr: cst.BaseExpression) -> bool:
    return type(expr) is cst.Call and is_release(expr.func)


def _counts_running(test: cst.BaseExpression) -> bool:
    """`len(tasks) >= limit`, `running < max_workers`: a test on how much is in flight."""
    for node in _statements(test):
        if type(node) is cst.Comparison:
            for part in _statements(node):
                if type(part) is cst.Call and type(part.func) is cst.Name and part.func.value == "len":
                    return True
    return False



def _task_group(ctx: "FileContext", expr: cst.BaseExpression) -> bool:
    return type(expr) is cst.Call and ctx.call_name(expr) in _TASK_GROUPS


def driving_loop(ctx: "FileContext", loops: Sequence[Loop], spawn: Optional[cst.Call] = None, strict: bool = False):
    """Which loop makes the node being visited (a spawn) run many times, innermost loops
    first: ("consume", loop) for an endless consume loop that does not wait for
    capacity (LL103's); otherwise ("items", loop) for the innermost `for` or comprehension
    over a non-literal iterable (LL102's); None when there is none, or when a `while
    <condition>` makes it impossible to tell. Loops over a few fixed items only multiply
    by a constant and are looked through."""
    items = None
    for loop in loops:
        if is_consume_loop(ctx, loop):
            if runs_once_in(ctx, loop) or waits_in_loop(ctx, loop, spawn):
                break  # paced: what runs inside one round is a fan-out, if anything
            return "consume", loop
        if type(loop) is cst.While:
            break
        if type(loop) is cst.CompFor:
            clauses = list(clauses_from(loop))
            if any(is_async_for(c) for c in clauses):
                return "consume", loop
            if all(few_items(ctx, c.iter, c.target, strict=strict) for c in clauses):
                continue
        elif few_items(ctx, loop.iter, loop.target, strict=strict):
            continue
        if items is None:
            items = loop
    return ("items", items) if items is not None else None


_EXITS = (cst.Break, cst.Return, cst.Raise)


def runs_once_in(ctx: "FileContext", loop: Loop) -> bool:
    """Whether the node being visited is followed, in its own block or an enclosing one
    inside `loop`, by an unconditional `break`, `return` or `raise`: then it runs at
    most once per entry to the loop (`while True: ... create_task(run()); break`)."""
    stack = ctx.stack
    try:
        start = next(i for i in range(len(stack) - 1, -1, -1) if stack[i] is loop)
    except StopIteration:
        return False
    for index in range(len(stack) - 2, start, -1):
        block = stack[index]
        if type(block) not in (cst.IndentedBlock, cst.SimpleStatementSuite, cst.SimpleStatementLine):
            continue
        child = stack[index + 1]
        body = block.body
        try:
            position = next(i for i, statement in enumerate(body) if statement is child)
        except StopIteration:
            continue
        for statement in body[position:]:
            if type(statement) in _EXITS:
                return True
            if type(statement) is cst.SimpleStatementLine and any(type(s) in _EXITS for s in statement.body):
                return True
    return False


_SPAWN_LABELS = SPAWNER_NAMES | frozenset(api.SPAWN_METHODS)


def repeated_spawn(
    ctx: "FileContext", call: cst.Call, kind: str, strict: bool = False
) -> Optional[Tuple[Spawn, Loop]]:
    """When the call being visited starts work that is not awaited where it stands, and
    the loop that repeats it (see driving_loop; `strict`: see few_items) is of `kind`
    ("consume" or "items"): the spawn and that loop."""
    label = terminal_name(call.func)
    if label is None or (label not in _SPAWN_LABELS and label not in ctx.alias_names):
        return None
    spawn = spawn_of(ctx, call)
    if spawn is None or awaited(ctx):
        return None
    owner = driving_loop(ctx, enclosing_loops(ctx), call, strict)
    if owner is None or owner[0] != kind:
        return None
    return spawn, owner[1]
