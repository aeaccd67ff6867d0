"""LL101: a concurrency, worker or connection limit given a value that is no limit."""
from __future__ import annotations

from typing import Any

import libcst as cst

from leaklint.analysis.calls import argument
from leaklint.analysis.values import INF, WORK_SIZE, describe, is_sentinel
from leaklint.diagnostics import Applicability, Edit, Fix
from leaklint.knowledge import last_component
from leaklint.knowledge.specs import LimitParam
from leaklint.rules.base import Rule


class UnboundedConcurrencyLimit(Rule):
    code = "LL101"
    name = "unbounded-concurrency-limit"
    summary = "A concurrency, worker or connection limit is given a value that is no limit."
    rationale = """\
A semaphore, limiter, pool or connector exists to cap how much runs at once. Given
`sys.maxsize`, `math.inf`, a huge number, the API's own "no limit" sentinel, or the size
of the work itself (`len(items)`), it caps nothing: under load every request, message
or item gets its own task, thread or connection at the same moment, memory and file
descriptors grow with the backlog, and the process falls over exactly when it is
busiest. This is `flatMapPar(Int.MaxValue)` over a Kafka stream, in Python.

What counts as unbounded differs per API, and leaklint follows each library's source:
`Semaphore(0)` blocks forever (not flagged), `ThreadPoolExecutor(max_workers=None)`
is bounded by the standard library at `min(32, cpu + 4)` (not flagged), while a `0` or
`None` is the documented "unlimited" for some connection pools. Values are followed
through module and function constants (`LIMIT = 2**63 - 1`) and aliases
(`from asyncio import Semaphore as S`)."""
    fix_applicability = Applicability.UNSAFE
    fix_description = "Replace the limit by the `default-limit` setting (32 unless configured)."
    options = ("huge-threshold", "default-limit", "limits")
    flagged = (
        "import asyncio, sys\n\nsem = asyncio.Semaphore(sys.maxsize)\n",
        "from asyncio import Semaphore as S\nimport math\n\nlimiter = S(value=math.inf)\n",
        "import threading\n\nLIMIT = 2**63 - 1\ngate = threading.BoundedSemaphore(LIMIT)\n",
        "from concurrent.futures import ThreadPoolExecutor\n\n"
        "def fetch_all(urls):\n    with ThreadPoolExecutor(max_workers=len(urls)) as pool:\n"
        "        return list(pool.map(download, urls))\n",
    )
    clean = (
        "import asyncio\n\nsem = asyncio.Semaphore(10)\n",
        "from concurrent.futures import ThreadPoolExecutor\n\n"
        "pool = ThreadPoolExecutor(max_workers=None)  # bounded: min(32, cpu + 4)\n",
        "import asyncio\n\nstarted = asyncio.Semaphore(0)  # a signal, not a limit\n",
        "class Semaphore:\n    def __init__(self, value): ...\n\nsem = Semaphore(10**9)  # not asyncio's\n",
    )

    @classmethod
    def triggers(cls, knowledge):
        return knowledge.short_names("limits")

    def visit_Call(self, node: cst.Call) -> None:
        knowledge = self.ctx.knowledge
        specs = knowledge.limits.get(self.ctx.callee(node, knowledge.short_names("limits")) or "")
        if not specs:
            return
        for spec in specs:
            arg = argument(node, spec.param, spec.position)
            if arg is None:
                continue
            value = self.ctx.value(arg.value)
            if self._unbounded(value, spec):
                self.report(arg.value, self._message(spec, arg.value, value), self._fix(arg.value))

    def _unbounded(self, value: Any, spec: LimitParam) -> bool:
        return value is WORK_SIZE or is_sentinel(value, spec.unbounded) or self.ctx.is_unbounded_number(value)

    def _message(self, spec: LimitParam, expr: cst.BaseExpression, value: Any) -> str:
        text = self.ctx.module.code_for_node(expr).strip()
        shown = describe(value)
        if value is WORK_SIZE:
            extra = ", the size of the work,"
        elif text in (shown, repr(value)) or (value == INF and "inf" in text.lower()):
            extra = ""
        else:
            extra = f" (= {shown})"
        return (
            f"{spec.callable}({spec.param}={text}){extra} is no limit: everything that arrives "
            f"runs at once and memory grows with the backlog — use a fixed bound such as {self.ctx.settings.default_limit}"
        )

    def _fix(self, expr: cst.BaseExpression) -> Fix:
        limit = self.ctx.settings.default_limit
        return Fix(
            Applicability.UNSAFE,
            f"Replace the limit with {limit} (the `default-limit` setting)",
            (Edit(expr, cst.Integer(str(limit))),),
        )
