"""LL302: a subscription repeated by a loop."""
from __future__ import annotations

import ast
from typing import Optional, Sequence

import libcst as cst

from leaklint.analysis import sieve_ll3 as ll3
from leaklint.analysis import subscribing as subs
from leaklint.analysis.loops import (Loop, assigned_in, enclosing_loops, is_async_for, is_forever, names_in,
                                     target_names, varies_with)
from leaklint.analysis.walk import walk
from leaklint.diagnostics import Applicability, Fix
from leaklint.rules.subscription_rule import SubscriptionRule
from leaklint.sieve import CLASS, Need

_EXITS = (cst.Break, cst.Return)
_LOOPS = (cst.For, cst.While)


class SubscriptionInLoop(SubscriptionRule):
    code = "LL302"
    name = "subscription-in-loop"
    summary = "A subscription is made on every pass of a loop: with the same arguments, or in a `while True` / `async for` loop."
    rationale = """\
A subscription belongs before the loop that consumes. Inside it, each pass registers
again: a FastStream broker gets another subscriber for the same channel, a logger
another handler, `atexit` another callback. None of them is ever released, so the
process handles each message once more per pass and memory grows with the number of
passes. In a `while True` or `async for` loop, which runs once per message, a
subscription is a leak even when its channel changes each time.

Reported when the object subscribed on is the same on every pass and the arguments
do not change with the loop (they read no loop variable and nothing assigned in the
loop), or, for APIs that add a registration per call, whenever the loop is `while
True` or `async for`. Not reported: one subscription per item (`for topic in topics:
broker.subscriber(topic)(handle)`), a new receiver per pass (`for name in names:
logging.getLogger(name).addHandler(h)`), repeats the API ignores (the same handler
object given again to a logger or a signal), retry loops that leave after subscribing
(`break`/`return`), and a Kafka `subscribe` or redis `subscribe` at the top of a
reconnect loop whose inner loop consumes: those replace, not add. A Kafka consumer is
known by its class (through imports, assignments and annotations), or, in a module
that imports a Kafka client, as a name the same function also polls (`consumer.poll()`,
`consume()`, `getmany()`): the polling loop of a consumer passed in as a parameter."""
    fix_applicability = Applicability.SUGGESTED
    fix_description = "Subscribe once, before the loop; in the loop, only consume."
    flagged = (
        "from faststream.redis import RedisBroker\n\nbroker = RedisBroker()\n\n"
        "async def handle(msg):\n    ...\n\n"
        "def start(shards):\n    for shard in shards:\n        broker.subscriber(\"orders\")(handle)\n",
        "import logging\n\nlog = logging.getLogger(\"jobs\")\n\ndef run(jobs):\n    for job in jobs:\n"
        "        log.addHandler(logging.FileHandler(\"jobs.log\"))\n        job()\n",
        "from faststream.kafka import KafkaBroker\n\nbroker = KafkaBroker()\n\n"
        "async def route(stream):\n    async for event in stream:\n"
        "        broker.subscriber(event.reply_topic)(on_reply)\n",
        "from aiokafka import AIOKafkaConsumer\n\nasync def poll(consumer: AIOKafkaConsumer):\n"
        "    while True:\n        consumer.subscribe([\"orders\"])\n        batch = await consumer.getmany(timeout_ms=500)\n",
    )
    clean = (
        "from faststream.redis import RedisBroker\n\nbroker = RedisBroker()\n\n"
        "def start(topics, handle):\n    for topic in topics:\n        broker.subscriber(topic)(handle)\n",
        "import logging\n\nconsole = logging.StreamHandler()\n\ndef setup(names):\n"
        "    for name in names:\n        logging.getLogger(name).addHandler(console)\n",
        "from aiokafka import AIOKafkaConsumer\n\nasync def consume(consumer: AIOKafkaConsumer):\n"
        "    while True:  # reconnect loop: subscribe, then consume until it fails\n"
        "        consumer.subscribe([\"orders\"])\n        async for msg in consumer:\n            handle(msg)\n",
        "import atexit\n\ndef flush():\n    ...\n\nfor attempt in range(3):\n    try:\n"
        "        atexit.register(flush)\n        break\n    except RuntimeError:\n        pass\n",
    )

    @classmethod
    def candidates(cls, index):
        undone = set()
        for site in ll3.sites(index):
            if not index.in_loop(ll3.anchor(index, site.node)):
                continue
            if type(site.frame) is ast.ClassDef:
                yield Need(site.node, CLASS)  # `undo_calls` walks the whole class body
                continue
            yield ll3.need(index, site)
            if site.frame is index.tree:
                undone |= site.names
        # at module level, `undo_calls` walks the whole module: keep whatever may undo it
        yield from ll3.undo_needs(index, frozenset(undone))

    def check(self, sub: subs.Subscription) -> None:
        stack = self.ctx.stack
        anchor: cst.CSTNode = sub.node
        path: Sequence[cst.CSTNode] = stack
        if sub.decorator is not None:
            # a decorator runs where its def is: look for loops around the def
            owner = stack.index(sub.decorator) - 1
            anchor = stack[owner]
            path = list(stack[: owner + 1])
        frame = stack[sub.frame]
        for loop in enclosing_loops(self.ctx, path):
            why = self._repeats(sub, loop, anchor)
            if why is not None:
                if subs.undo_calls(self.ctx, sub, frame):
                    return  # undone in the same function (`atexit.unregister`, `removeHandler`)
                self.report(sub.node, self._message(sub, loop, why),
                            Fix(Applicability.SUGGESTED, self.fix_description))
                return

    def _repeats(self, sub: subs.Subscription, loop: Loop, anchor: cst.CSTNode) -> Optional[str]:
        """Why each pass of `loop` makes the subscription again, or None."""
        receiver = sub.receiver
        if receiver is not None and (subs.is_fresh(receiver, sub.scope) or varies_with(loop, receiver)):
            return None  # a new object each pass
        if _after(loop, anchor, _EXITS):
            return None  # a retry loop: it leaves once subscribed
        same_arguments = not any(varies_with(loop, value) for value in self._arguments(sub))
        repeat = sub.spec.repeat
        if repeat == subs.REPLACES:
            if same_arguments and not _after(loop, anchor, _LOOPS):
                return "replaces"
            return None
        if repeat == subs.BY_HANDLER:
            if same_arguments and not subs.held_weakly(sub) and self._fresh_each_pass(sub, loop):
                return "same"
            return None
        if same_arguments:
            return "same"
        if is_forever(loop) or is_async_for(loop):
            return "per-event"
        return None

    def _arguments(self, sub: subs.Subscription):
        """The values that decide what is subscribed: the call's arguments (a handler
        given as an argument included, unless it is the by-handler kind's handler)."""
        call = sub.call
        if call is None:
            return []
        values = []
        for arg in call.args:
            if sub.spec.repeat == subs.BY_HANDLER and subs.is_argument(call, sub.spec.handler, arg):
                continue
            values.append(arg.value)
        handler = sub.handler
        if sub.spec.repeat != subs.BY_HANDLER and handler is not None and not sub.is_def_handler:
            if not any(handler is value for value in values):
                values.append(handler)
        return values

    def _fresh_each_pass(self, sub: subs.Subscription, loop: Loop) -> bool:
        """A by-handler API adds a registration per pass only for a handler made anew
        on each pass, and made the same way (not from the loop's variables)."""
        handler = sub.handler
        changing = target_names(loop) | assigned_in(loop)
        if sub.is_def_handler:
            return True
        if handler is None:
            return False
        if subs.is_fresh(handler, sub.scope):
            return not (names_in(handler) & changing)
        if type(handler) is cst.Name:
            values = _assigned_in_body(loop, handler.value)
            if len(values) == 1 and subs.is_fresh(values[0], sub.scope):
                return not (names_in(values[0]) & (changing - {handler.value}))
        return False

    def _message(self, sub: subs.Subscription, loop: Loop, why: str) -> str:
        shown = subs.describe(self.ctx, sub)
        kind = _loop_kind(loop)
        if why == "replaces":
            return (
                f"`{shown}` re-subscribes on every pass of this {kind} with the same arguments: "
                "each call replaces the subscription (for a Kafka consumer, a group rebalance "
                "every pass) — subscribe once, before the loop"
            )
        if why == "per-event":
            return (
                f"`{shown}` runs once per event in this {kind}: each event adds {subs.what_it_adds(sub)}, "
                "and none is ever released — subscribe at start-up, before the loop"
            )
        return (
            f"`{shown}` runs on every pass of this {kind} with the same arguments: each pass adds "
            f"{subs.what_it_adds(sub)} and none is ever released — subscribe once, before the loop"
        )


def _loop_kind(loop: Loop) -> str:
    if is_forever(loop):
        return "`while True` loop"
    if is_async_for(loop):
        return "`async for` loop"
    if isinstance(loop, cst.While):
        return "`while` loop"
    if isinstance(loop, cst.CompFor):
        return "comprehension"
    return "`for` loop"


def _after(loop: Loop, anchor: cst.CSTNode, kinds: tuple) -> bool:
    """Whether a node of `kinds` comes after `anchor` in the loop's body."""
    body = getattr(loop, "body", None)
    if body is None:
        return False
    seen = False
    for node in walk(body, into_scopes=False):
        if node is anchor:
            seen = True
        elif seen and isinstance(node, kinds):
            return True
    return False


def _assigned_in_body(loop: Loop, name: str) -> list:
    body = getattr(loop, "body", None)
    values = []
    if body is None:
        return values
    for node in walk(body, into_scopes=False):
        if type(node) is cst.Assign and any(
            type(t.target) is cst.Name and t.target.value == name for t in node.targets
        ):
            values.append(node.value)
    return values
