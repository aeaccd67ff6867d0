"""LL402: a queue created with no size, fed in a loop or a handler."""
from __future__ import annotations

import ast
from typing import Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from leaklint.analysis.calls import argument, terminal_name
from leaklint.analysis.loops import enclosing_loops, is_async_for, is_forever
from leaklint.analysis.origins import AttributeValues, origin, same_reference
from leaklint.analysis.queues import pauses_reading, queue_spec, queue_triggers, watches_size
from leaklint.analysis.spawning import spawn_of
from leaklint.analysis.walk import walk
from leaklint.diagnostics import Applicability, Edit, Fix
from leaklint.knowledge.buffers import (
    HANDLER_DECORATORS,
    HANDLER_METHODS,
    QUEUE_DRAINS,
    QUEUE_FEEDS,
    QueueSpec,
)
from leaklint.pyast import walk as walk_ast
from leaklint.rules.base import Rule
from leaklint.analysis import sieve_ll4 as ll4
from leaklint.sieve import COMPREHENSIONS, UNIT, Need, arguments, terminal

_FEED_KIND = {method: kind for kind, methods in QUEUE_FEEDS.items() for method in methods}


class DefaultUnboundedQueueFedInLoop(Rule):
    code = "LL402"
    name = "default-unbounded-queue-fed-in-loop"
    summary = "A queue created with no size (so unbounded) is fed inside a loop or a request/message handler."
    rationale = """\
`asyncio.Queue()`, `queue.Queue()`, `multiprocessing.Queue()`, `queue.SimpleQueue()` and
`collections.deque()` have no bound unless you give one. That is harmless for a queue
filled a known number of times, but a producer that runs in a `while` loop, an
`async for` over a stream, or once per request, message or chunk (a route handler, a
`data_received` callback) never waits for the consumer: whenever it is the faster of
the two, the queue silently becomes the backlog, and memory grows until the process
dies. This is the Kafka prefetch incident, rebuilt by hand.

Reported on the queue's creation, when a `put`/`put_nowait` on the same local name,
module name or `self.` attribute happens inside a `while` loop, an `async for`, or a
handler (also when the feed is handed over as a callable, as in
`loop.call_soon_threadsafe(q.put_nowait, item)`). Deques count only when they outlive
the call (a `self.` attribute or a module name) and are fed by `append` in an
`async for` or a handler: a local deque, or one fed in a `while`, is as often a work
list, a parser's pushback or a scheduler's stack. Not reported: queues given a size; a
`for` loop over a collection (it feeds a known number of items); a loop that also
takes from the same queue (a worker that re-queues, `while q.get(): ... q.put(x)`); a
relay from one in-process channel to another (the source's bound governs); and code
that manages the size by hand (`qsize()`, `full()`, `len(q)`, `statistics()`, or a
transport's `pause_reading()` in the file).

One leak, one finding: a queue made with no size in several places for the same name or
attribute is reported once, at the first, and the fix bounds each. A queue whose
consumer is a loop that takes each item (`await q.get()`) and spawns a task for it with
nothing else in the loop that could wait (no other `await`, `with`, `acquire` or exit)
is left to LL103, reported at the spawn: that loop drains the queue at once, so the
backlog piles up as tasks, not in the queue, and the spawn is the line to change (its
fix, a fixed pool of workers fed by a bounded queue, bounds the queue too).

A handler is a function decorated as a route or subscriber (`@app.post`, `@router.get`,
`@broker.subscriber`), as an event or message handler (`@sio.on("chat")`, `@sio.event`,
`@router.message()`, `@bot.message_handler`), or as a Celery task, or a callback a
framework calls per chunk or message (`data_received`, `on_message`, ...): a module-level
queue fed there grows by one item per request or message."""
    fix_applicability = Applicability.UNSAFE
    fix_description = (
        "Give the queue `maxsize=<default-queue-size>` (1000 unless configured), so `await put()` "
        "waits for the consumer. Unsafe: `put_nowait` then raises `QueueFull` when it is full. "
        "A `SimpleQueue` or a deque gets a suggestion instead (a different type, or a `maxlen` "
        "that drops items, is a design choice)."
    )
    options = ("default-queue-size",)
    flagged = (
        "import asyncio\n\nasync def pump(ws):\n    inbox = asyncio.Queue()\n"
        "    async for message in ws:\n        await inbox.put(message)\n",
        "import queue\n\nclass Reader:\n    def __init__(self, sock):\n        self.sock = sock\n"
        "        self.lines = queue.Queue()\n\n    def run(self):\n        while True:\n"
        "            self.lines.put(self.sock.recv(4096))\n",
        "import asyncio\n\nclass Protocol(asyncio.Protocol):\n    def __init__(self):\n"
        "        self.chunks = asyncio.Queue()\n\n    def data_received(self, data):\n"
        "        self.chunks.put_nowait(data)\n",
    )
    clean = (
        "import asyncio\n\nasync def pump(ws):\n    inbox = asyncio.Queue(maxsize=100)\n"
        "    async for message in ws:\n        await inbox.put(message)\n",
        "import asyncio\n\nasync def crawl(urls):\n    todo = asyncio.Queue()\n    for url in urls:\n"
        "        todo.put_nowait(url)  # a known number of items\n",
        "import asyncio\n\nasync def worker(q: asyncio.Queue):\n    retry = asyncio.Queue()\n    while True:\n"
        "        item = await retry.get()\n        await retry.put(item)  # takes as much as it feeds\n",
    )

    @classmethod
    def triggers(cls, knowledge):
        return queue_triggers()

    @classmethod
    def candidates(cls, index):
        names, attrs = _sizeless_creations(index)
        if not names and not attrs:
            return
        watched: Set[str] = set()
        for node in index.of(ast.Attribute):
            kind = _FEED_KIND.get(node.attr)
            if kind is None:
                continue
            parent = index.parent(node)
            if type(parent) is ast.Call:
                pass  # called, or handed over as an argument
            elif type(parent) not in (ast.keyword, ast.Starred):
                continue
            receiver = node.value
            attr = ll4.self_attribute(receiver)
            if attr is not None:
                if kind in attrs.get(attr, ()) and index.method_class(node) and _may_repeat(index, node, kind):
                    # the `self.x = ...` creations and size checks may be in any method
                    yield ll4.in_class_using(index, node, {attr})
                    owner = index.method_class(node)
                    if owner is not None:
                        # `_spawning_consumer`: the class's loops that take items and spawn,
                        # and what each spawn's receiver is (`self._tg`, set in any method)
                        yield from _consumer_needs(index, owner)
            elif type(receiver) is ast.Name and _may_repeat(index, node, kind) and ll4.visible(
                index, node, [home for home, kinds in names.get(receiver.id, ()) if kind in kinds]
            ):
                watched.add(receiver.id)
                if index.function(node) is None and ll4.in_class(index, node):
                    yield ll4.in_class_using(index, node, {receiver.id})  # a class-body queue: the class is its region
                else:
                    yield Need(node, UNIT)  # the creation is in the unit, or a module statement (always kept)
        # a module-level queue's size may be checked in any function, and its consumer
        # (`await q.get()` in a loop that spawns per item: `_spawning_consumer`) be anywhere
        yield from ll4.size_checks(index, watched)
        if watched:
            for call in index.calls(("get",)):
                func = call.func
                if type(func) is ast.Attribute and type(func.value) is ast.Name and func.value.id in watched:
                    function = index.function(call)
                    yield index.need(call, function) if function is not None else Need(call, UNIT)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._attributes = AttributeValues()
        self._reported: set = set()
        self._watched: Dict[Tuple[int, str], bool] = {}

    def visit_Call(self, node: cst.Call) -> None:
        if type(node.func) is cst.Attribute:
            self._feed(node.func, called=True)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        # `loop.call_soon_threadsafe(q.put_nowait, item)`: the feed handed over as a callable
        if type(self.ctx.parent()) is cst.Arg:
            self._feed(node, called=False)

    def _feed(self, func: cst.Attribute, called: bool) -> None:
        kind = _FEED_KIND.get(func.attr.value)
        if kind is None:
            return
        receiver = func.value
        if not isinstance(receiver, (cst.Name, cst.Attribute)):
            return
        creations = self._creations(receiver, kind)  # first: most `.append()`s are on lists
        if not creations:
            return
        where = self._producer_context(receiver, kind)
        if where is None:
            return
        values, region = creations
        if self._watches_size(region, receiver):
            return
        # one leak, one finding: a queue bound in two places (`if fast: self.q = Queue()
        # else: self.q = Queue()`) is reported once, at the first, and fixed in both
        if any(id(call) in self._reported for call, _ in values):
            return
        self._reported.update(id(call) for call, _ in values)
        if self._spawning_consumer(region, receiver):
            return  # reported once, as LL103, at the spawn (see the rationale)
        call, spec = values[0]
        method = func.attr.value + ("()" if called else "")
        message = self._message(spec, receiver, method, where)
        if len(values) > 1:
            more = "one more place" if len(values) == 2 else f"{len(values) - 1} more places"
            message += f" (`{self.ctx.module.code_for_node(receiver)}` is made with no size in {more}: bound it there too)"
        self.report(call, message, self._fix(values))

    # --- is the feed in a loop or a handler? ----------------------------------------

    def _producer_context(self, receiver: cst.BaseExpression, kind: str) -> Optional[str]:
        """How to describe where the feed runs repeatedly, or None if it does not."""
        loops = enclosing_loops(self.ctx)
        for loop in loops:
            if _drains(loop, receiver, kind):
                return None  # a worker that takes and re-queues: no net growth
        for loop in loops:
            # a deque in a `while` is as often a parser's pushback or a scheduler's stack
            # as a buffer: only queues count there
            if isinstance(loop, cst.While) and kind == "queue":
                return "inside a `while` loop"
            if is_async_for(loop) and not self._relays(loop):
                return "inside an `async for` loop"
        function = _innermost_function(self.ctx.stack)
        if function is None:
            return None
        if function.name.value in HANDLER_METHODS:
            return f"in `{function.name.value}`, once per call"
        for decorator in function.decorators:
            expr = decorator.decorator
            if isinstance(expr, cst.Call):
                expr = expr.func
            if terminal_name(expr) in HANDLER_DECORATORS:
                return f"in the handler `{function.name.value}`, once per request or message"
        return None

    def _relays(self, loop) -> bool:
        """`async for x in <a channel or queue made in this file>`: a relay between two
        in-process queues, paced by the source, whose own bound governs (LL401 reports an
        unbounded source)."""
        source = loop.iter
        if not isinstance(source, cst.Name):
            return False
        bindings = self.ctx.scope.lookup(source.value)
        if not bindings or len(bindings) != 1 or not isinstance(bindings[0].node, (cst.Assign, cst.AnnAssign)):
            return False
        value = bindings[0].node.value
        return isinstance(value, cst.Call) and queue_spec(self.ctx, value) is not None

    def _spawning_consumer(self, region: cst.CSTNode, receiver: cst.BaseExpression) -> bool:
        """Whether the queue's consumer is a loop that LL103 reports: `while True` or
        `async for` that takes each item (`await q.get()`) and spawns a task for it with
        nothing else in the loop (no other `await`, no `with`, no `acquire`, no exit, no
        helper of the class) that could wait for capacity. Such a queue never holds a
        backlog: the loop drains it at once into tasks, and the leak is the tasks."""
        for loop in walk(region):
            if not ((type(loop) is cst.While and is_forever(loop)) or (type(loop) is cst.For and loop.asynchronous)):
                continue
            takes = spawns = False
            todo: List[cst.CSTNode] = [loop.body]
            while todo:
                node = todo.pop()
                kind = type(node)
                if kind in _NOT_OWN:
                    continue  # nested definitions, and the error path
                if kind is cst.Call and terminal_name(node.func) in _SPAWNS and spawn_of(self.ctx, node) is not None:
                    spawns = True  # a spawn LL103 knows (`tg.create_task` of an unknown `tg` is not)
                    continue  # what the task runs is the task's business
                todo.extend(node.children)
                if kind is cst.Await:
                    value = node.expression
                    if not (type(value) is cst.Call and not value.args and type(value.func) is cst.Attribute
                            and value.func.attr.value == "get" and same_reference(value.func.value, receiver)):
                        break  # some other wait: LL103 may find the loop paced
                    takes = True
                elif kind in (cst.With, cst.Break, cst.Return, cst.Raise, cst.Continue, cst.Yield, cst.Comparison):
                    break
                elif kind is cst.Call:
                    func = node.func
                    if terminal_name(func) == "acquire" or (
                        type(func) is cst.Attribute and type(func.value) is cst.Name
                        and func.value.value in ("self", "cls")
                    ):
                        break  # a limiter, maybe one call away
            else:
                if takes and spawns:
                    return True
        return False

    # --- where was the queue made? ---------------------------------------------------

    def _creations(self, receiver: cst.BaseExpression, kind: str):
        values, region = origin(self.ctx, receiver, self._attributes)
        if not values or region is None:
            return None
        if kind == "deque" and isinstance(region, (cst.FunctionDef, cst.Lambda)):
            return None  # a local deque is a work list (BFS, batching) that dies with the call
        found: List[Tuple[cst.Call, QueueSpec]] = []
        for value in values:
            if not isinstance(value, cst.Call):
                return None
            spec = queue_spec(self.ctx, value)
            if spec is None or spec.kind != kind or not spec.default_unbounded:
                return None
            if any(arg.star for arg in value.args):
                return None  # *args / **kwargs may carry a size
            if spec.param is not None and argument(value, spec.param, spec.position) is not None:
                return None  # sized: LL401 judges the size
            found.append((value, spec))
        return found, region

    def _watches_size(self, region: cst.CSTNode, receiver: cst.BaseExpression) -> bool:
        """Flow control by hand: the code that sees the queue checks its size, or the
        file pauses its transport."""
        key = (id(region), self.ctx.module.code_for_node(receiver))
        cached = self._watched.get(key)
        if cached is None:
            cached = pauses_reading(self.ctx.source) or watches_size(region, (receiver,))
            self._watched[key] = cached
        return cached

    # --- report ----------------------------------------------------------------------

    def _message(self, spec: QueueSpec, receiver: cst.BaseExpression, method: str, where: str) -> str:
        name = self.ctx.module.code_for_node(receiver)
        what = "deque" if spec.kind == "deque" else "queue"
        return (
            f"{spec.callable}() has no size and `{name}.{method}` feeds it {where}: a producer with no "
            f"back-pressure, so whenever it outpaces the consumer the backlog grows in memory without "
            f"limit — bound the {what}"
            + (f" ({spec.param}={self.ctx.settings.default_queue_size})" if spec.param else " (use queue.Queue(maxsize=...))")
        )

    def _fix(self, values: List[Tuple[cst.Call, QueueSpec]]) -> Fix:
        size = self.ctx.settings.default_queue_size
        call, spec = values[0]
        if any(s.param is None or s.kind != "queue" for _, s in values):
            return Fix(
                Applicability.SUGGESTED,
                f"Use a queue with a bound ({'queue.Queue(maxsize=...)' if spec.param is None else 'maxlen=...'}) "
                "and make the producer wait when it is full",
            )
        return Fix(
            Applicability.UNSAFE,
            f"Bound the queue at {size} (the `default-queue-size` setting)",
            tuple(Edit(c, _sized(c, s.param, size)) for c, s in values),  # type: ignore[arg-type]
        )


_SPAWNS = frozenset({"create_task", "ensure_future", "start_soon"})


def _consumer_needs(index, owner: ast.AST) -> Iterator[Need]:
    """What `_spawning_consumer` reads in the class `owner`: each spawn in a `while` or
    `async for` loop that also calls some `.get()`, with the methods that set what the
    spawn's receiver holds."""
    key = ("ll402_consumers", owner)
    found = index.memo.get(key)
    if found is None:
        found = []
        for loop in walk_ast(owner):
            if type(loop) not in (ast.While, ast.AsyncFor):
                continue
            calls = [n for n in walk_ast(loop) if type(n) is ast.Call]
            if not any(type(c.func) is ast.Attribute and c.func.attr == "get" for c in calls):
                continue
            found.extend(index.need(c, c.func) for c in calls if terminal(c.func) in _SPAWNS)
        index.memo[key] = found
    return iter(found)
_NOT_OWN = (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.ExceptHandler, cst.ExceptStarHandler)


def _sized(call: cst.Call, param: str, size: int) -> cst.Call:
    keyword = cst.Arg(
        keyword=cst.Name(param),
        value=cst.Integer(str(size)),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )
    args = list(call.args)
    if args:
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return call.with_changes(args=args + [keyword])


def _innermost_function(stack: List[cst.CSTNode]) -> Optional[cst.FunctionDef]:
    for node in reversed(stack):
        if isinstance(node, cst.FunctionDef):
            return node
        if isinstance(node, (cst.Lambda, cst.ClassDef)):
            return None
    return None


def _drains(loop, receiver: cst.BaseExpression, kind: str) -> bool:
    """Whether the loop also takes from the queue: in its body, or in a `while` test
    (`while q.get(): ... q.put(x)`)."""
    drains = QUEUE_DRAINS[kind]
    parts = [getattr(loop, "body", None), getattr(loop, "test", None)]
    for part in parts:
        if part is None:  # a comprehension's for: nothing to drain in
            continue
        for node in walk(part, into_scopes=False):
            if type(node) is cst.Call and type(node.func) is cst.Attribute and node.func.attr.value in drains:
                if same_reference(node.func.value, receiver):
                    return True
    return False


_Homes = Dict[str, List[Tuple[Optional[ast.AST], Set[str]]]]  # name -> (function binding it, queue kinds)


def _sizeless_creations(index) -> Tuple[_Homes, Dict[str, Set[str]]]:
    """The names and `self.` attributes bound (as `origin` follows them) to a queue call
    that `_creations` may take for sizeless, with the kinds of queue each may be (and for
    names, the function that binds it)."""
    names: _Homes = {}
    attrs: Dict[str, Set[str]] = {}
    for call, specs in ll4.queue_calls(index):
        if ll4.has_star(call):
            continue
        kinds = {
            spec.kind for spec in specs
            if spec.default_unbounded and (spec.param is None or not arguments(call, spec.param, spec.position))
        }
        if not kinds:
            continue
        parent = index.parent(call)
        targets: List[ast.AST] = []
        name = None
        if type(parent) is ast.Assign and parent.value is call:
            targets = parent.targets
            if len(targets) == 1 and type(targets[0]) is ast.Name:
                name = targets[0].id
        elif type(parent) is ast.AnnAssign and parent.value is call:
            targets = [parent.target]
            if type(parent.target) is ast.Name:
                name = parent.target.id
        elif type(parent) is ast.withitem and parent.context_expr is call and type(parent.optional_vars) is ast.Name:
            name = parent.optional_vars.id
        if name is not None:
            names.setdefault(name, []).append((index.function(call), kinds))
        for target in targets:
            attr = ll4.self_attribute(target)
            if attr is not None:
                attrs.setdefault(attr, set()).update(kinds)
    return names, attrs


def _may_repeat(index, node: ast.AST, kind: str) -> bool:
    """Whether `_producer_context` may find the feed in a `while` (queues), an `async
    for`, an async comprehension, or a handler."""
    child = node
    for up in index.ancestors(node):
        up_type = type(up)
        if up_type is ast.FunctionDef or up_type is ast.AsyncFunctionDef:
            return _handler(up)
        if up_type is ast.Lambda or up_type is ast.ClassDef:
            return False
        if (up_type is ast.While and kind == "queue") or up_type is ast.AsyncFor:
            if child in up.body:
                return True
        elif up_type in COMPREHENSIONS and any(g.is_async for g in up.generators):
            return True
        child = up
    return False


def _handler(function) -> bool:
    if function.name in HANDLER_METHODS:
        return True
    for decorator in function.decorator_list:
        expr = decorator.func if type(decorator) is ast.Call else decorator
        if terminal(expr) in HANDLER_DECORATORS:
            return True
    return False
