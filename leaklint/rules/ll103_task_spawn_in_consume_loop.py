"""LL103: a task spawned for every message of an endless consume loop, with no back-pressure."""
from __future__ import annotations

import dataclasses

import ast

import libcst as cst

from leaklint.analysis.guards import feeds_under, function_of, holds_limiter, limiters_held, repeated_spawn
from leaklint.analysis.loops import bound_in, ends_after, is_async_for, is_forever, names_in
from leaklint.analysis.walk import walk
from leaklint.analysis.spawning import SPAWNER_NAMES, describe_iterable
from leaklint.diagnostics import Applicability, Fix
from leaklint.knowledge import spawns as api
from leaklint.analysis import sieve_ll1
from leaklint.pyast import walk as walk_ast
from leaklint.rules.base import Rule


class TaskSpawnInConsumeLoop(Rule):
    code = "LL103"
    name = "task-spawn-in-consume-loop"
    summary = "A task is spawned for every message of an endless consume loop, and nothing waits for capacity."
    rationale = """\
`async for msg in consumer: asyncio.create_task(handle(msg))` reads the next message
as soon as the task is created, not when it is done. While handling keeps up, nothing
shows; the day the database slows down, messages keep arriving at the broker's pace,
every one of them becomes a task that holds its message, its buffers and maybe a
connection, and the process grows until it is killed. This is `flatMapPar(Int.MaxValue)`
over a Kafka partition stream: a worker per element, no limit, a pool that only grows.
A semaphore *inside* the handler does not help: the tasks still pile up waiting for it.

Flagged: `asyncio.create_task`, `ensure_future`, `loop.create_task`,
`TaskGroup.create_task`, `nursery.start_soon`/`task_group.start_soon`,
`executor.submit` (the pool bounds the threads, not the queue of pending calls) and
`loop.run_in_executor`, inside `async for` over anything, `while True`, or a `for`
over a consumer (`kafka.KafkaConsumer`, `pubsub.listen()`, `channel.consume()`,
`sys.stdin`, a name such as `consumer`).

Not flagged when something in the loop waits for capacity before the next message is
read: acquiring a semaphore or limiter (`await sem.acquire()`, `async with sem:`),
awaiting the task (`await task`, `fut.result()`), `asyncio.wait(..., return_when=
FIRST_COMPLETED)` on the running set, a check such as `if len(running) >= N`, a
blocking `queue.put` (bounded queues wait when full), or a sleep that paces the loop;
nor when the spawn is awaited where it stands or the loop ends right after it. A
limiter held inside the spawned handler counts only when the code that feeds the
loop (a `send` or `put` into its stream) holds the same limiter: then the producer
waits for the handlers. A limiter taken one call away counts: the loop calls a method
of its class (`await self._acquire_slot()`) whose own body acquires a semaphore or
limiter (`await self._slots.acquire()`, `async with self._limiter:`), also the anyio and
trio ways of taking a token: `acquire_on_behalf_of(borrower)`, and the `_nowait` forms
(`acquire_nowait()`, `acquire_on_behalf_of_nowait(borrower)`), which raise `WouldBlock`
when no token is free, so the loop still runs no more tasks than there are tokens. A
helper that only looks at the limiter (`available_tokens`) takes nothing: reported.

Not a consume loop: a retry loop, one that is left (`break`, `return`, possibly under
a condition such as `if await self._handshake(): return`) on the spawn's success path
(later in its block, or in the `else:` of the `try` around it) and whose spawn reads
nothing bound per pass (`while True: try: self._task = loop.create_task(self._connect())
... except OSError: await asyncio.sleep(1) else: break`). It spawns the same work until
one attempt succeeds, not one task per message. A loop whose exit depends on the
message (`if msg is None: break`) and that spawns work for that message is still a
consume loop. The message says what each task is spawned for: every message of the
stream iterated, or every pass of `while True` (and what each pass waits for).

One leak, one finding: when the loop takes its items from a queue made with no size
(`item = await self.inbox.get()`), the queue never holds a backlog (the loop drains it
into tasks at once), so LL402 leaves it to this rule; the fix, workers fed by a bounded
queue, bounds both."""
    fix_applicability = Applicability.SUGGESTED
    fix_description = (
        "Wait for capacity before reading the next message: `await sem.acquire()` before "
        "spawning and `task.add_done_callback(lambda _: sem.release())`, or start a fixed "
        "number of workers that read from an `asyncio.Queue(maxsize=N)` the loop `await "
        "queue.put(msg)`s into."
    )
    flagged = (
        "import asyncio\n\nasync def consume(consumer):\n    async for msg in consumer:\n"
        "        asyncio.create_task(handle(msg))\n",
        "import asyncio\n\nasync def serve(queue):\n    while True:\n        job = await queue.get()\n"
        "        asyncio.ensure_future(run(job))\n",
        "import anyio\n\nasync def pump(receive):\n    async with anyio.create_task_group() as tg:\n"
        "        async for item in receive:\n            tg.start_soon(process, item)\n",
        "from concurrent.futures import ThreadPoolExecutor\nfrom kafka import KafkaConsumer\n\n"
        "def run():\n    pool = ThreadPoolExecutor(8)\n    for record in KafkaConsumer('orders'):\n"
        "        pool.submit(process, record)\n",
    )
    clean = (
        "import asyncio\n\nsem = asyncio.Semaphore(16)\n\nasync def consume(consumer):\n"
        "    async for msg in consumer:\n        await sem.acquire()\n"
        "        task = asyncio.create_task(handle(msg))\n        task.add_done_callback(lambda _: sem.release())\n",
        "import asyncio\n\nasync def consume(consumer):\n    async for msg in consumer:\n"
        "        await asyncio.create_task(handle(msg))\n",
        "import asyncio\n\nasync def consume(consumer, limit=32):\n    running = set()\n"
        "    async for msg in consumer:\n        if len(running) >= limit:\n"
        "            _, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)\n"
        "        running.add(asyncio.create_task(handle(msg)))\n",
        "import asyncio\n\nasync def supervise():\n    while True:\n        task = asyncio.create_task(run())\n"
        "        await task\n",
    )

    @classmethod
    def triggers(cls, knowledge):
        return SPAWNER_NAMES | frozenset(api.SPAWN_METHODS)

    @classmethod
    def candidates(cls, index):
        for call in sieve_ll1.spawns(index):
            loops = [loop for loop in sieve_ll1.loops_around(index, call) if sieve_ll1.may_consume(index, loop)]
            # every loop that may consume waits already: whichever drives the spawn is paced
            if loops and not all(sieve_ll1.surely_paced(loop, call) for loop in loops):
                need = sieve_ll1.spawn_need(index, call)
                # a work function under a limiter is cleared by a producer feeding under the
                # same limiter anywhere in the module
                if sieve_ll1.holds_with(index, need.names):
                    need = dataclasses.replace(need, also=(*need.also, *sieve_ll1.feeding_withs(index)))
                yield need
                helpers = _helpers(index, call, loops)
                if helpers:  # `await self._acquire_slot()`: the helper's limiter bounds the loop
                    yield index.need(call, *helpers, names=frozenset(h.name for h in helpers))

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        found = repeated_spawn(ctx, node, "consume")  # a consume loop that does not wait for capacity
        if found is None:
            return
        spawn, loop = found
        if ends_after(ctx.stack, loop) and not names_in(node) & bound_in(loop):
            # a retry loop (`while True: try: self._task = loop.create_task(self._connect());
            # ...; break`): it ends once the spawn succeeded, and each pass spawns the same
            # work, not one per message
            return
        if _helper_takes_limiter(ctx, loop, node):
            return
        work = function_of(ctx, spawn.work)
        if work is not None and feeds_under(ctx, limiters_held(ctx, work)):
            return
        self.report(
            node,
            f"{spawn.label} spawns a task {_per(ctx, loop, node)} and nothing in the loop waits for "
            "capacity; tasks pile up when they arrive faster than they finish — acquire a semaphore "
            "before spawning or use a fixed pool of workers fed by a bounded queue",
            Fix(Applicability.SUGGESTED, self.fix_description),
        )


_NOT_THE_PASS = (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.ExceptHandler, cst.ExceptStarHandler)


def _helper_takes_limiter(ctx, loop, spawn: cst.Call) -> bool:
    """Whether the loop's body (on its normal path, the spawn aside) calls a method of the
    class (`await self._acquire_slot()`) whose own body takes a limiter or semaphore
    (`await self._sem.acquire()`, `async with self._limiter:`): the loop waits there
    for capacity, one call away."""
    body = getattr(loop, "body", None)
    if body is None:
        return False
    todo = [body]
    while todo:
        node = todo.pop()
        if node is spawn or type(node) in _NOT_THE_PASS:
            continue  # the spawned work itself, nested definitions, the error path
        todo.extend(node.children)
        if type(node) is not cst.Call:
            continue
        func = node.func
        if type(func) is cst.Attribute and type(func.value) is cst.Name and func.value.value in ("self", "cls"):
            helper = function_of(ctx, func)
            if helper is not None and holds_limiter(ctx, helper):
                return True
    return False


def _per(ctx, loop, spawn: cst.Call) -> str:
    """What the loop spawns a task for: each message of the stream it iterates, or each
    pass of `while True` (with what the pass waits for before the spawn, if anything)."""
    if not is_forever(loop):
        iterable = describe_iterable(ctx, loop.iter)
        header = f"`async for … in {iterable}`" if is_async_for(loop) else f"`for … in {iterable}`"
        return f"for every message of an unbounded loop ({header})"
    waited = _first_await(ctx, loop, spawn)
    each = f" (each `{waited}`)" if waited else ""
    return f"on every pass of an endless `while True` loop{each}"


def _first_await(ctx, loop, spawn: cst.Call):
    """The first `await ...` of the loop's body before the spawn: what each pass waits for."""
    for node in walk(loop.body, into_scopes=False):
        if node is spawn:
            return None
        if type(node) is cst.Await:
            text = " ".join(ctx.module.code_for_node(node).split())
            return text if len(text) <= 50 else text[:47] + "..."
    return None


def _helpers(index, call: ast.Call, loops) -> list:
    """The methods of the class around `call` that a loop around it calls on `self`/`cls`
    (guards.waits_in_loop asks whether they take a limiter)."""
    owner = index.method_class(call)
    if owner is None:
        return []
    called = set()
    for loop in loops:
        for node in walk_ast(loop):
            if type(node) is ast.Call and type(node.func) is ast.Attribute and type(node.func.value) is ast.Name \
                    and node.func.value.id in ("self", "cls"):
                called.add(node.func.attr)
    return [m for m in owner.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name in called]
