"""LL401: a queue or in-memory channel given a size that is no bound."""
from __future__ import annotations

import ast
from typing import Any, List, Optional, Tuple

import libcst as cst

from leaklint.analysis.calls import argument
from leaklint.analysis.values import INF, describe, is_sentinel
from leaklint.diagnostics import Applicability, Edit, Fix
from leaklint.knowledge.buffers import QueueSpec
from leaklint.pyast import walk as walk_ast
from leaklint.rules.base import Rule
from leaklint.analysis.origins import enclosing_class, same_reference, self_attribute
from leaklint.analysis.walk import walk
from leaklint.analysis.queues import handed_to_logging, queue_spec, queue_triggers, watches_size
from leaklint.analysis import sieve_ll4 as ll4
from leaklint.sieve import UNIT, Need, arguments


class UnboundedQueue(Rule):
    code = "LL401"
    name = "unbounded-queue"
    summary = "A queue, deque or memory channel is given a size that is no bound."
    rationale = """\
A queue between a producer and a consumer is where back-pressure comes from: when it is
full, the producer waits. Given no bound, the producer never waits, and whenever it is
faster than the consumer (a burst, a slow database, a stuck downstream) the queue holds
the whole backlog in memory until the process is killed. Nothing in the code looks
wrong until the day the consumer slows down.

What counts as unbounded follows each library's source: `maxsize <= 0` for `asyncio`,
`queue` and `multiprocessing` queues, `maxsize=0` for `tornado.queues`, `maxlen=None`
passed explicitly to `collections.deque`, and `math.inf` for
`anyio.create_memory_object_stream` and `trio.open_memory_channel` (whose default, 0,
is a bounded rendezvous). A size at or above `huge-threshold` counts too. A size equal
to the work (`len(items)`) is not flagged: the items are already in memory. Queues
created with no size at all are LL402's business, reported only when they are fed in a
loop or a handler. Values are followed through constants and aliases.

Not flagged: a queue handed to `logging.handlers.QueueHandler` or `QueueListener` (or a
class of the module derived from one, however the base is imported), directly
(`QueueHandler(queue.Queue(-1))`) or through the name or `self.` attribute it is bound
to; and likewise a queue a derived class hands to its base's `__init__`
(`class H(QueueHandler): def __init__(self): super().__init__(Queue(-1))`, or
`QueueHandler.__init__(self, ...)`). picologging's drop-in `QueueHandler` and
`QueueListener` count the same: its C `enqueue` uses `put_nowait` too. In a class that derives from neither,
`super().__init__(Queue(-1))` is still reported. That is the logging cookbook's
form: `QueueHandler.enqueue` uses `put_nowait`, so a bound would make a burst of
records raise `queue.Full` and be dropped instead of waiting — the suggested fix would
be wrong there.

One leak, one finding: a name or `self.` attribute bound to an unbounded queue in
several places (the two branches of an `if` in `__init__`) is reported once, at the
first, and its fix bounds every one of them."""
    fix_applicability = Applicability.UNSAFE
    fix_description = (
        "Replace the size by the `default-queue-size` setting (1000 unless configured). "
        "Unsafe: producers then wait (`put`) or fail (`put_nowait` raises `QueueFull`) "
        "when the queue is full, and a bounded deque silently drops its oldest items."
    )
    options = ("huge-threshold", "default-queue-size")
    flagged = (
        "import asyncio\n\nevents = asyncio.Queue(maxsize=0)\n",
        "import queue\n\nlog_records = queue.Queue(-1)\n",
        "import anyio, math\n\nsend, receive = anyio.create_memory_object_stream(math.inf)\n",
        "from collections import deque\n\nhistory = deque([], None)\n",
    )
    clean = (
        "import asyncio\n\nevents = asyncio.Queue(maxsize=100)\n",
        "import anyio\n\nsend, receive = anyio.create_memory_object_stream()  # 0: a rendezvous\n",
        "from collections import deque\n\nhistory = deque(maxlen=50)\n",
        "class Queue:\n    def __init__(self, maxsize): ...\n\njobs = Queue(0)  # not the standard library's\n",
        "import logging.handlers, queue\n\nhandler = logging.handlers.QueueHandler(queue.Queue(-1))  # the cookbook's form\n",
        "import logging.handlers, queue\n\nclass Handler(logging.handlers.QueueHandler):\n"
        "    def __init__(self):\n        super().__init__(queue.Queue(-1))  # the cookbook's form, derived\n",
    )

    @classmethod
    def triggers(cls, knowledge):
        return queue_triggers()

    @classmethod
    def candidates(cls, index):
        huge = index.settings.huge_threshold
        logging_needs = None
        for call, specs in ll4.queue_calls(index):
            if not any(_may_be_unbounded(index, call, spec, huge) for spec in specs):
                continue
            if logging_needs is None:
                logging_needs = ll4.logging_queue_users(index)
                # a queue handed to QueueHandler is skipped: the handler's call and the
                # classes derived from it, wherever they are
                yield from logging_needs
            parent = index.parent(call)
            if type(parent) in (ast.Assign, ast.AnnAssign) and parent.value is call:
                targets = parent.targets if type(parent) is ast.Assign else [parent.target]
                if any(ll4.self_attribute(n) for t in targets for n in walk_ast(t)) or (
                    index.function(call) is None and ll4.in_class(index, call)
                ):
                    # _flow_controlled looks for a size check on the targets in the whole class
                    yield ll4.in_class_using(index, call, _reference_words(targets))
                    continue
                if index.function(call) is None:
                    # a module-level queue: a size check on it may be in any function
                    yield from ll4.size_checks(index, ll4.target_names(targets))
            yield Need(call, UNIT)

    def visit_Call(self, node: cst.Call) -> None:
        spec = queue_spec(self.ctx, node)
        if spec is None or spec.param is None:
            return
        arg = argument(node, spec.param, spec.position)
        if arg is None:
            return
        value = self.ctx.value(arg.value)
        if not self._unbounded(value, spec) or self._flow_controlled(node):
            return
        region, references = self._region(node)
        if spec.kind == "queue" and handed_to_logging(self.ctx, region, references):
            return  # the logging cookbook's QueueHandler(queue.Queue(-1)): a bound drops records
        # one leak, one finding: a queue bound in two places (`if fast: self.q = Queue(0)
        # else: self.q = Queue(-1)`) is reported once, at the first, and fixed in both
        twins = self._twins(node, region, references)
        if twins and twins[0][0] is not node:
            return
        message = self._message(spec, arg.value, value)
        sizes = [size for _, size in twins] or [arg.value]
        if len(sizes) > 1:
            where = self.ctx.module.code_for_node(references[0]).strip()
            more = "one more place" if len(sizes) == 2 else f"{len(sizes) - 1} more places"
            message += f" (`{where}` is bound to an unbounded queue in {more}: bound it there too)"
        self.report(node, message, self._fix(*sizes))

    def _size(self, call: cst.Call) -> Optional[cst.BaseExpression]:
        """The size argument of a queue creation that LL401 reports, else None."""
        spec = queue_spec(self.ctx, call)
        if spec is None or spec.param is None:
            return None
        arg = argument(call, spec.param, spec.position)
        if arg is None or not self._unbounded(self.ctx.value(arg.value), spec):
            return None
        return arg.value

    def _twins(self, node: cst.Call, region: Optional[cst.CSTNode],
               references: List[cst.BaseExpression]) -> List[Tuple[cst.Call, cst.BaseExpression]]:
        """Every queue creation with an unbounded size bound to one of `references` in
        `region` (the class for `self.x`; else the scope itself, not nested ones), in
        source order; empty when `node` is the only one."""
        if region is None or not references:
            return []
        class_wide = isinstance(region, cst.ClassDef)
        found: List[Tuple[cst.Call, cst.BaseExpression]] = []
        for item in walk(region, into_scopes=class_wide):
            if isinstance(item, cst.Assign):
                targets = [t.target for t in item.targets]
            elif isinstance(item, cst.AnnAssign):
                targets = [item.target]
            else:
                continue
            value = item.value
            if type(value) is not cst.Call or not any(same_reference(t, r) for t in targets for r in references):
                continue
            size = self._size(value)
            if size is not None:
                found.append((value, size))
        return found if len(found) > 1 else []

    def _flow_controlled(self, node: cst.Call) -> bool:
        """Unbounded on purpose, with a size check of its own (websockets pauses reading
        when `len(self.frames...)` passes a high-water mark)."""
        region, references = self._region(node)
        return region is not None and bool(references) and watches_size(region, references)

    def _region(self, node: cst.Call) -> Tuple[Optional[cst.CSTNode], List[cst.BaseExpression]]:
        """The names or attributes the queue `node` is bound to, and the code that can
        see them (the class for `self.x`, else the scope)."""
        parent = self.ctx.parent()
        if isinstance(parent, cst.Assign) and parent.value is node:
            targets = [t.target for t in parent.targets]
        elif isinstance(parent, cst.AnnAssign) and parent.value is node:
            targets = [parent.target]
        else:
            return None, []
        references = [
            n for t in targets for n in (t.elements if isinstance(t, (cst.Tuple, cst.List)) else (t,))
        ]
        references = [r.value if isinstance(r, cst.Element) else r for r in references]
        region = enclosing_class(self.ctx) if any(self_attribute(r) for r in references) else self.ctx.scope.node
        return region, references

    def _unbounded(self, value: Any, spec: QueueSpec) -> bool:
        if is_sentinel(value, spec.unbounded):
            return True
        if spec.nonpositive and isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
            return True
        return self.ctx.is_unbounded_number(value)

    def _message(self, spec: QueueSpec, expr: cst.BaseExpression, value: Any) -> str:
        text = self.ctx.module.code_for_node(expr).strip()
        shown = describe(value)
        extra = "" if text in (shown, repr(value)) or (value == INF and "inf" in text.lower()) else f" (= {shown})"
        what = {"deque": "deque", "stream": "memory channel"}.get(spec.kind, "queue")
        return (
            f"{spec.callable}({spec.param}={text}){extra} is an unbounded {what}: whenever the producer "
            f"is faster than the consumer, the backlog grows in memory without limit — give it a fixed "
            f"size such as {self.ctx.settings.default_queue_size} so the producer waits"
        )

    def _fix(self, *exprs: cst.BaseExpression) -> Optional[Fix]:
        size = self.ctx.settings.default_queue_size
        return Fix(
            Applicability.UNSAFE,
            f"Bound it at {size} (the `default-queue-size` setting)",
            tuple(Edit(expr, cst.Integer(str(size))) for expr in exprs),
        )


def _may_be_unbounded(index, call: ast.Call, spec: QueueSpec, huge: int) -> bool:
    """Whether `_unbounded` may hold for the size argument."""
    if spec.param is None:
        return False

    def unbounded(value: Any) -> bool:
        return (
            is_sentinel(value, spec.unbounded) or ll4.unbounded_number(value, huge)
            or (spec.nonpositive and ll4.number(value) and value <= 0)
        )

    return any(ll4.may_be(index, expr, unbounded) for expr in arguments(call, spec.param, spec.position))


def _reference_words(targets) -> set:
    """What a size check on one of the targets mentions: `x` of `self.x` (not `self`), `q`."""
    words = set()
    for target in targets:
        bases = set()
        for node in walk_ast(target):
            if type(node) is ast.Attribute:
                words.add(node.attr)
                bases.add(id(node.value))
        words.update(n.id for n in walk_ast(target) if type(n) is ast.Name and id(n) not in bases)
    return words
