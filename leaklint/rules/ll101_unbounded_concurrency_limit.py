"""LL101: a concurrency, worker or connection limit given a value that is no limit."""
from __future__ import annotations

import ast
from typing import Any, Optional, Tuple

import libcst as cst

from leaklint.analysis.calls import argument, terminal_name
from leaklint.analysis.instances import instance_class
from leaklint.analysis.values import INF, WORK_SIZE, describe, is_sentinel
from leaklint.diagnostics import Applicability, Edit, Fix
from leaklint.knowledge import last_component
from leaklint.knowledge.limits import LIMIT_ATTRIBUTES, SHARED_BOUNDS, UNBOUNDED_DEFAULTS
from leaklint.knowledge.specs import LimitParam
from leaklint.rules.base import Rule
from leaklint.analysis.walk import walk
from leaklint.sieve import MODULE, Need, arguments, bounded_literal, may_evaluate, terminal


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
(`from asyncio import Semaphore as S`).

Not flagged: `len(args)` where `args` is the function's own `*args` parameter, never
rebound (`def wait_all(*events): ThreadPoolExecutor(max_workers=len(events))`). Its
size is the number of arguments a call site writes down (`wait_all(video, audio)`),
fixed in code rather than by input. It is reported when a call in the same module
unpacks a collection into the function (`wait_all(*pending)`, also
`partial(wait_all, *pending)` or `submit(wait_all, *pending)`): then the size is the
collection's again, and the message quotes that call. Call sites in other modules are
not read (the rule sees one file at a time), so a function called only from elsewhere
with `f(*items)` is missed: we accept that miss rather than report every `*args`
function, whose callers overwhelmingly list their arguments. `len()` of a plain
parameter, of a `*args` that is rebound, or of anything read from I/O is reported as
before.

Checked: asyncio and threading `Semaphore`/`BoundedSemaphore`, `concurrent.futures`
executors, `multiprocessing` pools, anyio and trio `CapacityLimiter`/`Semaphore` (and
`limiter.total_tokens = math.inf` afterwards), aiostream `task_limit=None`, aiometer
`max_at_once=None`, httpx `Limits(max_connections=None)`, httpcore pools, aiohttp
connectors (`limit=0` or `None`, unless `limit_per_host` still bounds them), redis
pools and clients (`max_connections=None` or `0` meant 2**31 connections before redis
8), faststream `broker.subscriber(max_workers=...)`, and the callables you declare in
`[tool.leaklint.limits]`. An explicit `None` is flagged even where it is the default:
it says "no limit" on purpose, and the next reader takes it at its word."""
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
        "import aiohttp\n\nconnector = aiohttp.TCPConnector(limit=0)\n",
        "import redis\n\npool = redis.ConnectionPool(host='cache', max_connections=None)\n",
        "from aiostream import stream\n\nresults = stream.map(source, enrich, task_limit=None)\n",
    )
    clean = (
        "import asyncio\n\nsem = asyncio.Semaphore(10)\n",
        "from concurrent.futures import ThreadPoolExecutor\n\n"
        "pool = ThreadPoolExecutor(max_workers=None)  # bounded: min(32, cpu + 4)\n",
        "import asyncio\n\nstarted = asyncio.Semaphore(0)  # a signal, not a limit\n",
        "class Semaphore:\n    def __init__(self, value): ...\n\nsem = Semaphore(10**9)  # not asyncio's\n",
        "import aiohttp\n\nconnector = aiohttp.TCPConnector(limit=0, limit_per_host=8)  # per host is bounded\n",
        "import httpx\n\nlimits = httpx.Limits(max_connections=100, max_keepalive_connections=None)\n",
        "from concurrent.futures import ThreadPoolExecutor\n\ndef wait_all(*events):\n"
        "    # as many as each call site writes down: wait_all(a, b)\n"
        "    with ThreadPoolExecutor(max_workers=len(events)) as pool:\n"
        "        return list(pool.map(lambda e: e.wait(), events))\n",
    )

    @classmethod
    def triggers(cls, knowledge):
        words = {_trigger(spec) for specs in knowledge.limits.values() for spec in specs}
        return words | set(LIMIT_ATTRIBUTES)

    @classmethod
    def candidates(cls, index):
        knowledge = index.knowledge
        threshold = index.settings.huge_threshold
        by_name = knowledge.by_last_name("limits")
        for call in index.calls(frozenset(by_name)):
            label = terminal(call.func)
            specs = [s for name in {label} | index.alias_origins.get(label, frozenset()) for s in by_name.get(name, ())]
            values = [v for spec in specs for v in arguments(call, spec.param, spec.position)
                      if not bounded_literal(v, threshold, spec.unbounded) and may_evaluate(index, v, call)]
            if values:
                if any(_varargs_size(index, call, v) for v in values):
                    # `len(args)` of the function's `*args`: judged by the module's call sites
                    yield Need(call, MODULE)
                    continue
                # constants resolve through module statements (always kept); `broker.subscriber`
                # is judged by what built the receiver, which may be `self.broker`: its class
                receiver = call.func.value if type(call.func) is ast.Attribute else call.func
                yield index.need(call, receiver)
        for statement in index.of(ast.Assign):  # `limiter.total_tokens = math.inf`
            for target in statement.targets:
                if (type(target) is ast.Attribute and target.attr in LIMIT_ATTRIBUTES
                        and not bounded_literal(statement.value, threshold)
                        and may_evaluate(index, statement.value, statement)):
                    yield index.need(target, target.value)

    def visit_Call(self, node: cst.Call) -> None:
        specs = self._specs(node)
        if not specs:
            return
        unbounded = []
        for spec in specs:
            arg = argument(node, spec.param, spec.position)
            if arg is None:
                continue
            value = self.ctx.value(arg.value)
            if self._unbounded(value, spec):
                unbounded.append((spec, arg, value))
        if not unbounded:
            return
        # `len(args)` of `*args`: as many as each call site writes down, unless one unpacks
        spread = {id(arg): self._spread_into(arg.value) if value is WORK_SIZE else None
                  for _, arg, value in unbounded}
        unbounded = [entry for entry in unbounded if spread[id(entry[1])] is not False]
        if not unbounded:
            return
        shared = SHARED_BOUNDS.get(specs[0].callable)
        if shared is not None:
            if not self._all_unbounded(node, specs, shared):
                return
            unbounded = unbounded[:1]  # one leak, one finding
        for spec, arg, value in unbounded:
            self.report(arg.value, self._message(spec, arg.value, value, spread=spread[id(arg)]), self._fix(arg.value))

    def _spread_into(self, expr: cst.BaseExpression):
        """For `len(args)` where `args` is the enclosing function's `*args` parameter (never
        rebound): the text of a call in this module that unpacks a collection into that
        function (`f(*items)`, also `partial(f, *items)`, `submit(f, *items)`), or False
        when there is none: every call site then writes its arguments down, so their
        number is fixed in code. None when `expr` is no such `len`."""
        if type(expr) is not cst.Call or len(expr.args) != 1 or type(expr.args[0].value) is not cst.Name:
            return None
        name = expr.args[0].value.value
        found = self.ctx.scope.find(name)
        if found is None:
            return None
        owner, bindings = found
        function = owner.node
        if owner.kind != "function" or type(function) is not cst.FunctionDef or len(bindings) != 1:
            return None
        star = function.params.star_arg
        if type(star) is not cst.Param or bindings[0].node is not star:
            return None
        callee = function.name.value
        for node in walk(self.ctx.module):
            if type(node) is not cst.Call or not any(a.star == "*" for a in node.args):
                continue
            if terminal_name(node.func) == callee or any(terminal_name(a.value) == callee for a in node.args):
                text = " ".join(self.ctx.module.code_for_node(node).split())
                return text if len(text) <= 60 else text[:57] + "..."
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        # `limiter.total_tokens = math.inf`: a limit lifted after creation
        for target in node.targets:
            target = target.target
            if type(target) is not cst.Attribute or target.attr.value not in LIMIT_ATTRIBUTES:
                continue
            classes, factories = LIMIT_ATTRIBUTES[target.attr.value]
            made_by = instance_class(target.value, self.ctx.scope)
            if made_by is None or (made_by not in classes and made_by not in factories):
                continue
            value = self.ctx.value(node.value)
            if self.ctx.is_unbounded_number(value) or value is WORK_SIZE:
                owner = f"{made_by}()" if made_by in factories else made_by
                spec = LimitParam(owner, target.attr.value, None)
                self.report(node.value, self._message(spec, node.value, value, attribute=True), self._fix(node.value))

    def _specs(self, node: cst.Call) -> Tuple[LimitParam, ...]:
        """The limit rows of the callable `node` calls: by qualified name, or for a method
        call on an instance, by the class that built the instance (`broker.subscriber`)."""
        knowledge = self.ctx.knowledge
        names = knowledge.short_names("limits")
        specs = knowledge.limits.get(self.ctx.callee(node, names) or "")
        if specs:
            return specs
        func = node.func
        if type(func) is cst.Attribute and func.attr.value in names:
            made_by = instance_class(func.value, self.ctx.scope)
            if made_by is not None:
                return knowledge.limits.get(f"{made_by}.{func.attr.value}", ())
        return ()

    def _all_unbounded(self, node: cst.Call, specs, params) -> bool:
        """Whether every one of `params` (caps on the same thing) is unbounded, given so or
        left at an unbounded default."""
        by_param = {spec.param: spec for spec in specs}
        for param in params:
            spec = by_param.get(param)
            if spec is None:
                return False
            arg = argument(node, spec.param, spec.position)
            if arg is None:
                if (spec.callable, param) not in UNBOUNDED_DEFAULTS:
                    return False
            elif not self._unbounded(self.ctx.value(arg.value), spec):
                return False
        return True

    def _unbounded(self, value: Any, spec: LimitParam) -> bool:
        return value is WORK_SIZE or is_sentinel(value, spec.unbounded) or self.ctx.is_unbounded_number(value)

    def _message(self, spec: LimitParam, expr: cst.BaseExpression, value: Any, attribute: bool = False,
                 spread: Optional[str] = None) -> str:
        text = self.ctx.module.code_for_node(expr).strip()
        shown = describe(value)
        if value is WORK_SIZE and spread:
            extra = f", the size of the work (`{spread}` unpacks a collection into the `*` parameter),"
        elif value is WORK_SIZE:
            extra = ", the size of the work,"
        elif text in (shown, repr(value)) or (value == INF and "inf" in text.lower()):
            extra = ""
        else:
            extra = f" (= {shown})"
        where = f"{spec.callable}.{spec.param} = {text}" if attribute else f"{spec.callable}({spec.param}={text})"
        note = f" ({spec.note})" if spec.note and is_sentinel(value, spec.unbounded) else ""
        return (
            f"{where}{extra} is no limit{note}: everything that arrives "
            f"runs at once and memory grows with the backlog — use a fixed bound such as {self.ctx.settings.default_limit}"
        )

    def _fix(self, expr: cst.BaseExpression) -> Fix:
        limit = self.ctx.settings.default_limit
        return Fix(
            Applicability.UNSAFE,
            f"Replace the limit with {limit} (the `default-limit` setting)",
            (Edit(expr, cst.Integer(str(limit))),),
        )


def _trigger(spec: LimitParam) -> str:
    """A word every file that can call `spec.callable` with its parameter contains: the
    callable's own name, the package it is imported from, or (keyword-only) the
    parameter; the longest of them, which is usually the rarest."""
    words = [last_component(spec.callable), spec.callable.split(".", 1)[0]]
    if spec.position is None:
        words.append(spec.param)
    return max(words, key=len)  # on a tie, the callable's own name


def _varargs_size(index, call: ast.Call, value: ast.AST) -> bool:
    """Whether `value` is `len(name)` where `name` is the `*` parameter of a function
    around `call` (LL101 then reads the module's call sites of that function)."""
    if type(value) is not ast.Call or terminal(value.func) != "len" or len(value.args) != 1:
        return False
    name = value.args[0]
    if type(name) is not ast.Name:
        return False
    for up in index.ancestors(call):
        if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)) and up.args.vararg is not None \
                and up.args.vararg.arg == name.id:
            return True
    return False
