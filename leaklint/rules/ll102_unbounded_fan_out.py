"""LL102: one task per item of a non-literal iterable, all started at once, unbounded."""
from __future__ import annotations

import ast
from typing import List, Optional, Tuple

import libcst as cst

from leaklint.analysis.calls import argument, terminal_name
from leaklint.analysis.guards import (
    function_of,
    guarded_work,
    is_release,
    repeated_spawn,
    runs_once_in,
    waits_in_loop,
)
from leaklint.analysis.spawning import (
    FAN_OUT_NAMES,
    bounded_iterable,
    comprehension_loops,
    consumer_iterable,
    describe_iterable,
    executor_bounded,
    few_items,
    receiver_kind,
    spawn_of,
    trigger_words,
    unwrap_awaitable,
    work_function,
)
from leaklint.analysis.provenance import GUARDED, article, io_reached, outside_size
from leaklint.analysis.walk import walk
from leaklint.diagnostics import Applicability, Fix
from leaklint.knowledge import io_apis as io_api
from leaklint.knowledge import spawns as api
from leaklint.analysis import sieve_ll1
from leaklint.rules.base import Rule

_COMPREHENSIONS = (cst.ListComp, cst.GeneratorExp, cst.SetComp)

# (the work's callable, the iterable that sets how many, the call made per item)
PerItem = Tuple[Optional[cst.BaseExpression], cst.BaseExpression, Optional[cst.Call]]


class UnboundedFanOut(Rule):
    code = "LL102"
    name = "unbounded-fan-out"
    summary = (
        "One task per item of an input sized from outside the program, each reaching I/O, is started "
        "all at once, with nothing bounding it."
    )
    rationale = """\
`asyncio.gather(*(fetch(u) for u in urls))` starts a task for every URL at the same
moment. With ten URLs that is fine; with the 50 000 a caller passes one day it is
50 000 open sockets, 50 000 coroutine frames and their buffers, all at once, and the
remote side (or your file-descriptor limit) gives out first. The same happens with a
list of `create_task`, `TaskGroup.create_task` / `nursery.start_soon` in a loop, and
`Executor.map` over a generator, which reads the whole generator before it returns the
first result.

Reported only when both halves of that story can be shown:

- the number of items is set at run time from outside the program: the iterable (or a
  `range` bound, as in `range(2, last_page + 1)` with `last_page` read from a response)
  comes from a parameter (a caller's input, a request or message handler's payload),
  from I/O results (a response, rows, a directory listing or glob, a file's lines, a
  message batch), or from something derived from those;
- the work of each item reaches a known network, file or process API (an HTTP, database
  or broker client, `open`, sockets, subprocesses: leaklint/knowledge/io_apis.py), in
  the call itself or through functions and methods of the same module, a few calls deep.
  The message names what each item opens.

Skipped, because the program bounds them itself: a literal list or tuple, `range(N)`
with a constant or configured `N` (a fixed pool of workers is the cure, not the
disease), an UPPER_CASE constant, a fixed population (one task per node, broker,
connection, listener, receiver or callback), what the object holds (`self.entities`,
`self._platforms`, registries: sized by the program, not by a request; unless a method
of the class stores an I/O result there, as `self.urls = (await resp.text()).split()`),
a parameter named for configuration (`config`, `settings`, `options`), `*args` the
caller spells out one by one, and a fan-out that only releases what the program holds
(`close()`, `cancel()` on each connection or task). Skipped because something already
bounds it: work run by an executor (`asyncio.to_thread`, `loop.run_in_executor`,
`pool.submit` in a loop: the pool's fixed number of workers is the bound, and its size
is LL101's question), an `async with <semaphore/limiter/lock>` (or `acquire()`) in the
loop or in the callee's own body, and a loop that waits before it goes round (awaits the
task, `asyncio.wait`, a blocking `queue.put`, a sleep, an `if len(tasks) >= N` check).
Endless loops (`async for`, `while True`, a consumer) are LL103's.

The fan-outs left out because their size or their work cannot be shown to come from
outside or to reach I/O (work that calls a callback handed in, or nothing leaklint
knows) are LL104's, off by default: the strict reading."""
    strict = False  # LL104 reports the fan-outs this reading leaves out
    fix_applicability = Applicability.SUGGESTED
    fix_description = (
        "Bound the work: create an `asyncio.Semaphore(N)` (or `anyio.CapacityLimiter(N)`) once and "
        "hold it around the work (`async with sem: return await fetch(u)`), or start a fixed "
        "number of workers that take items from an `asyncio.Queue(maxsize=N)`; aiometer's "
        "`max_at_once=` and aiostream's `task_limit=` do the same."
    )
    flagged = (
        "import asyncio\n\nasync def crawl(session, urls):\n"
        "    return await asyncio.gather(*(session.get(u) for u in urls))\n",
        "import asyncio\nimport httpx\n\nasync def send(client, user):\n    await client.post('/mail', json=user)\n\n"
        "async def notify(users):\n    async with httpx.AsyncClient() as client:\n"
        "        tasks = [asyncio.create_task(send(client, u)) for u in users]\n        await asyncio.wait(tasks)\n",
        "import asyncio\nimport glob\n\nasync def load(path):\n    return await asyncio.create_subprocess_exec('gzip', path)\n\n"
        "async def compress_logs():\n    async with asyncio.TaskGroup() as tg:\n"
        "        for path in glob.glob('/var/log/*.log'):\n            tg.create_task(load(path))\n",
        "import asyncio\n\nasync def pages(session, url):\n    first = await (await session.get(url)).json()\n"
        "    return await asyncio.gather(\n"
        "        *(session.get(url, params={'page': n}) for n in range(2, first['last_page'] + 1))\n    )\n",
    )
    clean = (
        "import asyncio\n\nsem = asyncio.Semaphore(10)\n\nasync def fetch(session, u):\n    async with sem:\n"
        "        return await session.get(u)\n\nasync def crawl(session, urls):\n"
        "    return await asyncio.gather(*(fetch(session, u) for u in urls))\n",
        "import asyncio\n\nasync def main(session, queue):\n    await asyncio.gather(*(worker(session, queue) for _ in range(8)))\n",
        "import asyncio\n\nasync def both(session):\n    await asyncio.gather(*[session.get(h) for h in ('a', 'b')])\n",
        "import asyncio\n\nasync def close_all(conns):\n    await asyncio.gather(*(c.close() for c in conns))\n",
        "import asyncio\n\nclass Hub:\n    async def update_all(self):\n"
        "        # sized by the program: LL104's, when selected\n"
        "        await asyncio.gather(*(e.async_update() for e in self.entities))\n",
        "import asyncio\n\nasync def resize_all(paths):\n"
        "    # the default executor's workers bound it\n"
        "    return await asyncio.gather(*(asyncio.to_thread(shrink, p) for p in paths))\n",
    )

    @classmethod
    def triggers(cls, knowledge):
        return trigger_words() | {api.EXECUTOR_MAP_TRIGGER}

    @classmethod
    def candidates(cls, index):
        for call in sieve_ll1.fan_out_calls(index):
            bound = {a.id for a in call.args if type(a) is ast.Name}
            bound |= {a.value.id for a in call.args if type(a) is ast.Starred and type(a.value) is ast.Name}
            # `tasks = [...]` or `tasks.append(f(x))` elsewhere in the function: that work too
            filled = sieve_ll1.filled_with(index, call, frozenset(bound)) if bound else []
            yield from cls._judged(index, call, sieve_ll1.fan_out_need(index, call, filled))
        for call in sieve_ll1.spawns(index):
            if any(type(loop) is not ast.While for loop in sieve_ll1.loops_around(index, call)):
                yield from cls._judged(index, call, sieve_ll1.spawn_need(index, call))
        for call in index.calls((api.EXECUTOR_MAP,)):
            if type(call.func) is ast.Attribute and len(call.args) >= 2:
                # the receiver must be an executor (maybe `self._pool`); the iterable a
                # generator function of this module
                need = index.need(call, call.func.value, names=index.identifiers(call))
                yield from cls._judged(index, call, need)

    @classmethod
    def _judged(cls, index, call, need):
        """The need with what provenance reads; for LL102 only where the work may reach
        I/O (LL104, the strict reading, judges the rest)."""
        need = sieve_ll1.with_provenance(index, call, need)
        if cls.strict or sieve_ll1.may_reach_io(index, call, need):
            yield need

    _dry = False  # judging without reporting: would LL102 report this call?
    _would_report = False

    def visit_Call(self, node: cst.Call) -> None:
        if self.strict and self._ll102_reports(node):
            return  # one fan-out, one finding: LL102's reading found it (maybe over another loop)
        self._visit(node)

    def _ll102_reports(self, node: cst.Call) -> bool:
        self.strict, self._dry, self._would_report = False, True, False
        try:
            self._visit(node)
            return self._would_report
        finally:
            self.strict, self._dry = True, False

    def _visit(self, node: cst.Call) -> None:
        func = node.func
        label = terminal_name(func)
        if label is None:
            return
        aliased = label in self.ctx.alias_names
        if label in FAN_OUT_NAMES or aliased:
            name = self.ctx.callee(node, FAN_OUT_NAMES)
            if name in api.FAN_OUT_FUNCTIONS:
                self._fan_out(node, name)
                return
        if label == api.EXECUTOR_MAP and type(func) is cst.Attribute:
            self._executor_map(node)
            return
        self._spawn(node)

    # --- gather(*(f(x) for x in xs)) ------------------------------------------------

    def _fan_out(self, call: cst.Call, name: str) -> None:
        position = api.FAN_OUT_FUNCTIONS[name]
        if position == "*":
            exprs = [arg.value for arg in call.args if arg.star == "*"]
        else:
            arg = argument(call, None, position)
            exprs = [arg.value] if arg is not None else []
        for expr in exprs:
            found = self._per_item(expr)
            if found is None:
                continue
            work, iterable, element = found
            self._judge(call, f"{name}()", "starts", iterable, work, element,
                        f"hold a semaphore in {_work_text(self.ctx, work)} or run a fixed number of workers")
            return

    def _per_item(self, expr: cst.BaseExpression, depth: int = 0) -> Optional[PerItem]:
        """The work and the iterable when `expr` makes one awaitable per item."""
        kind = type(expr)
        if kind in _COMPREHENSIONS:
            element = expr.elt
            if type(element) is cst.Call:
                element = unwrap_awaitable(self.ctx, element)  # `wait_for(fetch(u), 5)`: fetch
            if type(element) is not cst.Call or spawn_of(self.ctx, element) is not None:
                return None  # not new work, or a spawn reported where it stands
            if executor_bounded(self.ctx, element):
                return None
            unbounded = self._unbounded_clauses(expr)
            if not unbounded:
                return None
            return self._unless_bounded(work_function(self.ctx, element), self._sized(unbounded), element)
        if kind is cst.Call and self.ctx.call_name(expr) == "builtins.map" and len(expr.args) >= 2:
            iterables = [a.value for a in expr.args[1:]]
            if any(few_items(self.ctx, it, strict=self.strict) for it in iterables):
                return None
            return self._unless_bounded(expr.args[0].value, iterables[0], None)
        if kind is cst.Name and depth == 0:
            return self._per_item_name(expr)
        return None

    def _per_item_name(self, name: cst.Name) -> Optional[PerItem]:
        found = self.ctx.scope.find(name.value)
        if found is None:
            return None
        owner, bindings = found
        assigns = [b for b in bindings if b.kind in ("assign", "annassign")]
        if len(assigns) != len(bindings) or len(assigns) != 1 or assigns[0].value is None:
            return None
        value = assigns[0].value
        if type(value) in _COMPREHENSIONS or type(value) is cst.Call:
            return self._per_item(value, depth=1)
        if type(value) is cst.List and not value.elements:
            return self._appended_in_loop(name.value, owner.node)
        return None

    def _appended_in_loop(self, name: str, scope_node: cst.CSTNode) -> Optional[PerItem]:
        """`tasks = []` then `tasks.append(f(x))` in a `for` over a non-literal iterable."""
        body = scope_node.body if type(scope_node) is cst.FunctionDef else scope_node
        for loop in walk(body, into_scopes=False):
            if type(loop) is not cst.For or loop.asynchronous is not None:
                continue
            if few_items(self.ctx, loop.iter, loop.target, strict=self.strict):
                continue
            for node in walk(loop.body, into_scopes=False):
                if not _is_append_to(node, name):
                    continue
                element = node.args[0].value
                if type(element) is cst.Call:
                    element = unwrap_awaitable(self.ctx, element)
                if type(element) is not cst.Call or spawn_of(self.ctx, element) is not None:
                    continue
                if executor_bounded(self.ctx, element):
                    continue
                if waits_in_loop(self.ctx, loop):
                    continue
                found = self._unless_bounded(work_function(self.ctx, element), loop.iter, element)
                if found is not None:
                    return found
        return None

    def _unless_bounded(
        self, work: Optional[cst.BaseExpression], iterable: cst.BaseExpression, element: Optional[cst.Call] = None
    ) -> Optional[PerItem]:
        if _releases(work, element) or guarded_work(self.ctx, work):
            return None
        return work, iterable, element

    def _sized(self, clauses: List[cst.CompFor]) -> cst.BaseExpression:
        """The iterable of the clause whose size comes from outside, else the first."""
        for clause in clauses:
            if outside_size(self.ctx, clause.iter) is not None:
                return clause.iter
        return clauses[0].iter

    def _unbounded_clauses(self, comprehension: cst.CSTNode) -> List[cst.CompFor]:
        return [
            c for c in comprehension_loops(comprehension)
            if not few_items(self.ctx, c.iter, c.target, strict=self.strict)
        ]

    # --- spawns in a loop or a comprehension ------------------------------------------

    def _spawn(self, call: cst.Call) -> None:
        ctx = self.ctx
        found = repeated_spawn(ctx, call, "items", self.strict)
        if found is None:
            return
        spawn, loop = found
        first = argument(call, "coro", 0)
        element = first.value if first is not None and type(first.value) is cst.Call else None
        work = spawn.work
        if element is not None:
            inner = unwrap_awaitable(ctx, element)
            if inner is not element:  # `create_task(wait_for(fetch(u), 5))`: the work is fetch
                element, work = inner, inner.func
        if _releases(work, call) or guarded_work(ctx, work):
            return
        if type(call.func) is cst.Attribute and call.func.attr.value in api.EXECUTOR_BOUNDED_METHODS:
            return  # the pool's fixed number of workers is the bound
        if element is not None and executor_bounded(ctx, element):
            return  # create_task(asyncio.to_thread(f, x)): the default executor bounds it
        if work is not None and ctx.qualified_name(work) in api.THREAD_RUNNERS:
            return  # tg.start_soon(anyio.to_thread.run_sync, f, x): so does the thread limiter
        if type(loop) is cst.CompFor:
            comprehension = _comprehension_of(ctx.stack, loop)
            unbounded = self._unbounded_clauses(comprehension) if comprehension is not None else []
            if not unbounded:
                return
            self._judge(comprehension, f"{spawn.label} in a comprehension", "starts", self._sized(unbounded),
                        work, element,
                        f"hold a semaphore in {_work_text(ctx, work)} or run a fixed number of workers")
            return
        if runs_once_in(ctx, loop) or waits_in_loop(ctx, loop, call):
            return
        self._judge(call, f"{spawn.label} in a loop", "starts", loop.iter, work, element,
                    "acquire a semaphore before spawning or feed a fixed number of workers")

    # --- executor.map over a generator ------------------------------------------------

    def _executor_map(self, call: cst.Call) -> None:
        ctx = self.ctx
        if receiver_kind(ctx, call.func.value) != "executor":
            return
        buffer = argument(call, api.EXECUTOR_MAP_BUFFER, None)
        if buffer is not None and ctx.value(buffer.value) is not None:
            return
        iterables: List[cst.BaseExpression] = [
            a.value for a in call.args[1:] if a.keyword is None and a.star == ""
        ]
        if not iterables or not all(self._lazy(it) for it in iterables):
            return
        function = argument(call, "fn", 0)
        work = function.value if function is not None else None
        self._judge(call, f"{terminal_name(call.func.value)}.map()", "submits", iterables[0], work, None,
                    "Executor.map reads the whole iterable before it yields the first result: submit in "
                    "bounded batches, or pass buffersize= (Python 3.14+)")

    # --- judging one fan-out ----------------------------------------------------------

    def _judge(
        self,
        node: cst.CSTNode,
        label: str,
        verb: str,
        iterable: cst.BaseExpression,
        work: Optional[cst.BaseExpression],
        element: Optional[cst.Call],
        advice: str,
    ) -> None:
        """Report the fan-out when this rule's reading of it holds: LL102 when its size is
        set from outside and its work reaches I/O (LL104, the strict reading, otherwise)."""
        ctx = self.ctx
        size = outside_size(ctx, iterable)
        io = io_reached(ctx, work, element) if size is not None or self.strict else None
        if io is GUARDED:
            return  # a function on the way to the I/O holds a semaphore: bounded there
        # LL104 keeps what LL102 leaves (visit_Call has already dropped what LL102 reports),
        # including a size from outside with I/O over a population LL102 reads as fixed
        if not self.strict and (size is None or io is None):
            return
        if self._dry:
            self._would_report = True
            return
        items = describe_iterable(ctx, iterable)
        fix = Fix(Applicability.SUGGESTED, self.fix_description)
        if not self.strict:
            where = f" in `{io.via}`" if io.via else ""
            self.report(
                node,
                f"{label} {verb} one {io.kind} (`{io.api}`{where}) per item of `{items}` ({size}), all at "
                f"once, with no semaphore or limit: a larger input means as many {io_api.PLURALS.get(io.kind, io.kind)} "
                f"at the same moment — {advice}",
                fix,
            )
            return
        if size is None and io is None:
            why = "where its size comes from and whether the work reaches I/O cannot be told"
        elif size is None:
            why = f"its size is not shown to come from outside the program; each item opens {article(io.kind)}"
        elif io is None:
            why = f"the work reaches no known network, file or process API; the size comes from {size}"
        else:
            why = (f"each item opens {article(io.kind)} and the size comes from {size}, but its items "
                   "look like a population the program holds (nodes, workers, plugins, handlers...)")
        self.report(
            node,
            f"{label} {verb} one task per item of `{items}`, all at once, with no semaphore or limit "
            f"({why}) — {advice}",
            fix,
        )

    def _lazy(self, expr: cst.BaseExpression) -> bool:
        """A generator or stream: items that would otherwise arrive one at a time."""
        ctx = self.ctx
        if type(expr) is cst.Name:
            found = ctx.scope.find(expr.value)
            if found is not None and len(found[1]) == 1 and found[1][0].kind == "assign":
                value = found[1][0].value
                if type(value) is cst.GeneratorExp:
                    expr = value
        if type(expr) is cst.GeneratorExp:
            return not all(bounded_iterable(ctx, c.iter) for c in comprehension_loops(expr))
        if type(expr) is cst.Call and _is_generator(ctx, expr):
            return True
        return consumer_iterable(ctx, expr)


def _is_append_to(node: cst.CSTNode, name: str) -> bool:
    if type(node) is not cst.Call or len(node.args) != 1 or node.args[0].keyword is not None:
        return False
    func = node.func
    return (
        type(func) is cst.Attribute
        and func.attr.value == "append"
        and type(func.value) is cst.Name
        and func.value.value == name
    )


def _releases(work: Optional[cst.BaseExpression], call: Optional[cst.Call] = None) -> bool:
    """`conn.close`, `task.cancel`, `create_task(item.close)`: the work gives back what the
    program already holds."""
    if is_release(work):
        return True
    first = call.args[0].value if call is not None and call.args else None
    return is_release(first.func if type(first) is cst.Call else first)


def _work_text(ctx, work: Optional[cst.BaseExpression]) -> str:
    """Where the semaphore goes: in the work's function when this module defines it,
    else around the call (`session.get`, a function imported from elsewhere)."""
    name = terminal_name(work) if work is not None else None
    return f"`{name}`" if name and function_of(ctx, work) is not None else "a function around the work"


def _comprehension_of(stack, clause: cst.CompFor) -> Optional[cst.CSTNode]:
    for node in reversed(stack):
        if type(node) in _COMPREHENSIONS or type(node) is cst.DictComp:
            if node.for_in is clause:
                return node
    return None


def _is_generator(ctx, call: cst.Call) -> bool:
    """A call to a generator function of this module (its body yields)."""
    function = function_of(ctx, call.func)
    if function is None:
        return False
    return any(type(n) is cst.Yield for n in walk(function.body, into_scopes=False))
