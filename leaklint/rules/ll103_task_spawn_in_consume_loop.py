"""LL103: a task spawned for every message of an endless consume loop, with no back-pressure."""
from __future__ import annotations

import libcst as cst

from leaklint.analysis.guards import feeds_under, function_of, limiters_held, repeated_spawn
from leaklint.analysis.loops import is_async_for, is_forever
from leaklint.analysis.spawning import SPAWNER_NAMES, describe_iterable
from leaklint.diagnostics import Applicability, Fix
from leaklint.knowledge import spawns as api
from leaklint.analysis import sieve_ll1
from leaklint.rules.base import Rule
from leaklint.sieve import MODULE, Need


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
waits for the handlers."""
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
            if any(sieve_ll1.may_consume(index, loop) for loop in sieve_ll1.loops_around(index, call)):
                need = sieve_ll1.spawn_need(index, call)
                # a work function under a limiter is cleared by a producer feeding under the
                # same limiter anywhere in the module
                yield Need(call, MODULE) if sieve_ll1.holds_with(index, need.names) else need

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        found = repeated_spawn(ctx, node, "consume")  # a consume loop that does not wait for capacity
        if found is None:
            return
        spawn, loop = found
        work = function_of(ctx, spawn.work)
        if work is not None and feeds_under(ctx, limiters_held(ctx, work)):
            return
        self.report(
            node,
            f"{spawn.label} spawns a task for every message of an unbounded loop ({_loop_text(ctx, loop)}); "
            "tasks pile up when messages arrive faster than they finish — acquire a semaphore before "
            "spawning or use a fixed pool of workers fed by a bounded queue",
            Fix(Applicability.SUGGESTED, self.fix_description),
        )


def _loop_text(ctx, loop) -> str:
    if is_forever(loop):
        return "`while True`"
    iterable = describe_iterable(ctx, loop.iter)
    return f"`async for … in {iterable}`" if is_async_for(loop) else f"`for … in {iterable}`"
