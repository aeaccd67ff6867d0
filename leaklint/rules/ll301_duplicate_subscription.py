"""LL301: the same subscription made twice in one module, function or class body."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import libcst as cst

from leaklint.analysis import sieve_ll3 as ll3
from leaklint.analysis import subscribing as subs
from leaklint.diagnostics import Applicability, Edit, Fix
from leaklint.rules.subscription_rule import SubscriptionRule


class DuplicateSubscription(SubscriptionRule):
    code = "LL301"
    name = "duplicate-subscription"
    summary = "The same subscription is made twice: same receiver, same channel or event, same handler."
    rationale = """\
A subscription registers a consumer on an object that outlives it: a FastStream
broker keeps every `subscriber()` it was given, an aiohttp app runs every callback in
`on_startup`, `atexit` runs a function once per registration. Made twice, the second
registration does not replace the first: every message is handled twice (or the
callback runs twice), and closing or stopping the broker does not give the extra one
back. A copy-pasted decorator or a repeated notebook cell is how this usually happens.

Two subscriptions are the same when they are made on the same object (names are
followed to what they are bound to, `self.x` included), with the same channel or
topic (compared by value, through constants), the same other arguments, and the same
handler (by name). Only repeats the API does not ignore count: the same handler object
given twice to `logger.addHandler` or to a blinker or Django signal is ignored by those
APIs and is not reported, while a new `StreamHandler()` each time is. Kafka's
`subscribe` replaces the previous subscription and redis ignores a channel a PubSub
already has, so those are never duplicates here. The two must run in the same module,
function or class body, and the first must run whenever the second does (it is not in
another branch of an `if` or `try`)."""
    fix_applicability = Applicability.UNSAFE
    fix_description = (
        "Remove the later duplicate (the decorator, or the statement that is only the "
        "subscription). Unsafe: if the second was meant to differ (another channel, "
        "another handler), fix that instead."
    )
    flagged = (
        "from faststream.redis import RedisBroker\n\nbroker = RedisBroker()\n\n"
        "async def handle(msg):\n    ...\n\n"
        "broker.subscriber(\"orders\")(handle)\nbroker.subscriber(\"orders\")(handle)\n",
        "from faststream.kafka import KafkaBroker\n\nbroker = KafkaBroker()\nTOPIC = \"orders\"\n\n"
        "@broker.subscriber(TOPIC)\n@broker.subscriber(\"orders\")\nasync def handle(msg):\n    ...\n",
        "import logging\n\nlog = logging.getLogger(\"app\")\n\ndef setup():\n"
        "    log.addHandler(logging.StreamHandler())\n    log.addHandler(logging.StreamHandler())\n",
        "import atexit\n\ndef flush():\n    ...\n\natexit.register(flush)\natexit.register(flush)\n",
    )
    clean = (
        "from faststream.redis import RedisBroker\n\nbroker = RedisBroker()\n\n"
        "@broker.subscriber(\"orders\")\nasync def handle(msg):\n    ...\n\n"
        "@broker.subscriber(\"refunds\")  # another channel\nasync def refund(msg):\n    ...\n",
        "from faststream.redis import RedisBroker\n\nmain, backup = RedisBroker(), RedisBroker()\n\n"
        "async def handle(msg):\n    ...\n\n"
        "main.subscriber(\"orders\")(handle)\nbackup.subscriber(\"orders\")(handle)  # another broker\n",
        "import logging\n\nlog = logging.getLogger(\"app\")\nconsole = logging.StreamHandler()\n"
        "log.addHandler(console)\nlog.addHandler(console)  # ignored: the same handler object\n",
        "import atexit\n\ndef flush():\n    ...\n\nif DEBUG:\n    atexit.register(flush)\nelse:\n    atexit.register(flush)\n",
    )

    @classmethod
    def candidates(cls, index):
        for site in ll3.repeated(index):
            # identity reads the receiver's class (`self.x`: CLASS), names in scope and constants
            yield ll3.need(index, site)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        # per frame (module, function or class body): the subscriptions seen so far
        self._seen: Dict[int, List[Tuple[tuple, subs.Subscription]]] = {}

    def check(self, sub: subs.Subscription) -> None:
        key = self._identity(sub)
        if key is None:
            return
        earlier = self._seen.setdefault(id(self.ctx.stack[sub.frame]), [])
        for other_key, other in earlier:
            # the first must run whenever the second does: its branches are a prefix
            if other_key == key and sub.path[: len(other.path)] == other.path:
                self.report(sub.node, self._message(sub), self._fix(sub))
                return
        earlier.append((key, sub))

    def _identity(self, sub: subs.Subscription) -> Optional[tuple]:
        fresh = sub.is_def_handler or subs.is_fresh(sub.handler, sub.scope)
        if not subs.registers_again(sub, fresh):
            return None
        parts = (
            subs.receiver_key(self.ctx, sub),
            subs.arguments_key(self.ctx, sub),
            subs.handler_key(self.ctx, sub),
        )
        if any(part is None for part in parts):
            return None
        return (sub.spec.callable, *parts)

    def _message(self, sub: subs.Subscription) -> str:
        frame = self.ctx.stack[sub.frame]
        where = f"function `{frame.name.value}`" if isinstance(frame, (cst.FunctionDef, cst.ClassDef)) else (
            "notebook" if self.ctx.is_notebook else "module")
        return (
            f"`{subs.describe(self.ctx, sub)}` repeats a subscription made earlier in this {where} "
            f"with the same receiver, arguments and handler: it adds {subs.what_it_adds(sub)}, so each "
            "event is handled twice and the extra registration is never released — remove one of them"
        )

    def _fix(self, sub: subs.Subscription) -> Fix:
        edit = self._removal(sub)
        if edit is None:
            return Fix(Applicability.SUGGESTED, "Remove the later duplicate subscription.")
        return Fix(Applicability.UNSAFE, "Remove the later duplicate subscription.", (edit,))

    def _removal(self, sub: subs.Subscription) -> Optional[Edit]:
        if sub.decorator is not None:
            return Edit(sub.decorator, cst.RemovalSentinel.REMOVE)
        stack = self.ctx.stack
        index = len(stack) - 1
        # `x.subscriber("a")(handler)`: the statement is the outer call
        if index >= 1 and type(stack[index - 1]) is cst.Call and stack[index - 1].func is stack[index]:
            index -= 1
        if index >= 1 and type(stack[index - 1]) is cst.Await:
            index -= 1
        if index < 2 or type(stack[index - 1]) is not cst.Expr:
            return None  # its value is used (`sub = ...`): removing it would break the code
        expr, line = stack[index - 1], stack[index - 2]
        if type(line) not in (cst.SimpleStatementLine, cst.SimpleStatementSuite):
            return None
        if len(line.body) > 1:
            return Edit(expr, cst.RemovalSentinel.REMOVE)
        if type(line) is cst.SimpleStatementSuite:
            return Edit(expr, cst.Pass())
        block = stack[index - 3]
        if type(block) is cst.IndentedBlock and len(block.body) == 1:
            return Edit(line, line.with_changes(body=[cst.Pass()]))
        return Edit(line, cst.RemovalSentinel.REMOVE)
