"""LL104: LL102's fan-out shapes where the size or the work cannot be shown to come from
outside or to reach I/O: the strict reading (off by default)."""
from __future__ import annotations

from leaklint.rules.ll102_unbounded_fan_out import UnboundedFanOut


class UnboundedFanOutUnknownSize(UnboundedFanOut):
    code = "LL104"
    name = "unbounded-fan-out-unknown-size"
    summary = (
        "One task per item is started all at once with nothing bounding it, where leaklint cannot show "
        "that the size comes from outside or that the work reaches I/O."
    )
    rationale = """\
LL102 reports a fan-out only when it can show both halves of the leak: the number of
items is set at run time from outside the program (a parameter, a response, rows, a
directory listing, a file's lines, a message batch), and each item's work reaches a
known network, file or process API. This rule reports the same shapes when one half
cannot be shown: one task per item of `self.entities`, of the receivers a signal holds,
of the platforms a configuration lists, or per item of a parameter whose work calls
nothing leaklint knows (a callback handed in, a method of another module).

Most of those are bounded by the program itself, which is why LL102 leaves them out and
why this rule is off by default. Turn it on (`extend-select = ["LL104"]`) in a code base
that wants every fan-out bounded, whatever feeds it.

Unlike LL102 it also reports one task per node, connection, listener or callback, and
per item of what the object holds: a population the program fixes is still no bound.
Not reported, as for LL102: literals, small constant ranges and `range(workers)` worker
pools, `*args` spelled out by the caller, fan-outs that only release what the program
holds (`close()`, `cancel()`), work bounded by a semaphore or limiter, a loop that waits
before it goes round, and work run by an executor (`to_thread`, `run_in_executor`,
`submit`): the pool's workers are the bound."""
    default = False
    strict = True
    flagged = (
        "import asyncio\n\nclass Hub:\n    async def update_all(self):\n"
        "        await asyncio.gather(*(e.async_update() for e in self.entities))\n",
        "import asyncio\n\nasync def send(receivers, event):\n"
        "    await asyncio.gather(*(r(event) for r in receivers))\n",
        "import asyncio\n\nasync def reproduce(states):\n    await asyncio.gather(*(apply_one(s) for s in states))\n\n"
        "async def apply_one(state):\n    state.applied = True\n",
    )
    clean = (
        "import asyncio\n\nasync def both():\n    await asyncio.gather(*[ping(h) for h in ('a', 'b')])\n",
        "import asyncio\n\nasync def resize_all(paths):\n"
        "    await asyncio.gather(*(asyncio.to_thread(shrink, p) for p in paths))\n",
        "import asyncio\n\nasync def close_all(conns):\n    await asyncio.gather(*(c.close() for c in conns))\n",
        "import asyncio\n\nasync def crawl(client, urls):\n"
        "    return await asyncio.gather(*(client.get(u) for u in urls))  # LL102's\n",
    )
