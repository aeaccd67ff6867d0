"""LL303: a subscription made inside a message or request handler."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.analysis import sieve_ll3 as ll3
from leaklint.analysis import subscribing as subs
from leaklint.analysis.calls import terminal_name
from leaklint.analysis.scopes import Scope, qualified_name
from leaklint.diagnostics import Applicability, Fix
from leaklint.knowledge import subscriptions as table
from leaklint.rules.subscription_rule import SubscriptionRule


class SubscriptionPerCall(SubscriptionRule):
    code = "LL303"
    name = "subscription-per-call"
    summary = "A message or request handler subscribes on a long-lived object, so every call adds a subscriber."
    rationale = """\
A function decorated as a message or request handler (`@broker.subscriber(...)`,
`@app.get`/`post`/`route`/`websocket`, `@router.*`, `@bp.route`, `@app.task`) runs
once per message or request. A subscription made there on an object that outlives the
call (a module-level broker, logger or consumer, `self.x`, `atexit`) adds one more
registration per call: after a day of traffic the broker holds thousands of
subscribers for the same channel, each message is handled thousands of times, and
nothing ever releases them.

Not reported: subscriptions on an object the handler creates itself (a PubSub per
websocket connection), handlers that undo what they did (`unsubscribe`,
`removeHandler` in the same function), and repeats the API ignores (the same handler
object given again to a logger or a signal)."""
    fix_applicability = Applicability.SUGGESTED
    fix_description = "Subscribe once at start-up (module level, or the app's start-up hook), not per call."
    flagged = (
        "from faststream.redis import RedisBroker\n\nbroker = RedisBroker()\n\n"
        "@broker.subscriber(\"orders\")\nasync def on_order(order):\n"
        "    broker.subscriber(f\"order-{order['id']}\")(on_update)\n",
        "import logging\nfrom fastapi import FastAPI\n\napp = FastAPI()\nlog = logging.getLogger(\"api\")\n\n"
        "@app.post(\"/jobs\")\ndef create_job():\n    log.addHandler(logging.StreamHandler())\n",
        "import atexit\nfrom flask import Flask\n\napp = Flask(__name__)\n\n"
        "@app.route(\"/upload\")\ndef upload():\n    atexit.register(cleanup_uploads)\n",
    )
    clean = (
        "from faststream.redis import RedisBroker\n\nbroker = RedisBroker()\n\n"
        "@broker.subscriber(\"orders\")  # subscribed once, at import\nasync def on_order(order):\n"
        "    await broker.publish(order, \"audit\")\n",
        "from fastapi import FastAPI\nimport redis.asyncio as redis\n\napp = FastAPI()\nclient = redis.Redis()\n\n"
        "@app.websocket(\"/feed\")\nasync def feed(ws):\n    pubsub = client.pubsub()  # one per connection\n"
        "    await pubsub.subscribe(\"feed\")\n    ...\n    await pubsub.aclose()\n",
        "import logging\nfrom fastapi import FastAPI\n\napp = FastAPI()\nlog = logging.getLogger(\"api\")\n"
        "console = logging.StreamHandler()\n\n"
        "@app.get(\"/\")\ndef index():\n    log.addHandler(console)  # the same handler: ignored\n",
    )

    @classmethod
    def candidates(cls, index):
        for site in ll3.sites(index):
            # the handler's decorators and body are in its unit; `self.x` receivers need CLASS
            if ll3.is_handler(index, site.frame):
                yield ll3.need(index, site)

    def check(self, sub: subs.Subscription) -> None:
        function = self.ctx.stack[sub.frame]
        if type(function) is not cst.FunctionDef:
            return
        outer = sub.scope.parent or sub.scope
        decorator = _handler_decorator(self.ctx, function, outer)
        if decorator is None or not self._long_lived(sub):
            return
        # a Kafka or redis re-subscribe on a shared consumer counts too: churn, or channels piling up
        if sub.spec.repeat != subs.REPLACES and not subs.registers_again(sub, self._fresh_per_call(sub)):
            return
        if subs.undo_calls(self.ctx, sub, function.body):
            return
        self.report(sub.node, self._message(sub, function, decorator), Fix(Applicability.SUGGESTED, self.fix_description))

    def _long_lived(self, sub: subs.Subscription) -> bool:
        """The receiver outlives one call: a process-wide registry, a module-level or
        enclosing name, `self.x`, or a shared factory's object (`getLogger(...)`)."""
        receiver = sub.receiver
        if receiver is None:
            return True
        root = receiver
        while True:
            if type(root) is cst.Attribute:
                root = root.value
            elif type(root) is cst.Call:
                if subs.is_shared_factory_call(root, sub.scope):
                    return True
                return False  # a new object per call
            else:
                break
        if type(root) is not cst.Name:
            return False
        if root.value == "self":
            return True
        found = sub.scope.find(root.value)
        if found is None:
            return True  # a builtin or a star import: module level
        owner, bindings = found
        if owner is not sub.scope:
            return True
        # a local: long-lived only when it names a shared object (`log = getLogger()`)
        return all(b.kind == "assign" and b.value is not None and subs.is_shared_factory_call(b.value, owner)
                   for b in bindings)

    def _fresh_per_call(self, sub: subs.Subscription) -> bool:
        handler = sub.handler
        if sub.is_def_handler or subs.is_fresh(handler, sub.scope):
            return True
        if type(handler) is cst.Name:
            found = sub.scope.find(handler.value)
            if found is not None and found[0] is sub.scope:
                return all(
                    (b.kind == "assign" and subs.is_fresh(b.value, sub.scope)) or b.kind == "def"
                    for b in found[1]
                )
        return False

    def _message(self, sub: subs.Subscription, function: cst.FunctionDef, decorator: str) -> str:
        shown = subs.describe(self.ctx, sub)
        if sub.spec.repeat == subs.REPLACES:
            effect = "re-subscribes the shared object on every call (a Kafka rebalance, or one more channel a redis PubSub never leaves)"
        else:
            effect = f"adds {subs.what_it_adds(sub)} on every call, and none is ever released"
        return (
            f"`{shown}` runs inside handler `{function.name.value}` ({decorator}), once per message or "
            f"request: it {effect} — subscribe once at start-up"
        )


def _handler_decorator(ctx, function: cst.FunctionDef, scope: Scope) -> Optional[str]:
    """`@app.post(...)` if `function` is decorated as a message or request handler."""
    for decorator in function.decorators:
        expr = decorator.decorator
        func = expr.func if type(expr) is cst.Call else expr
        if qualified_name(func, scope) in table.HANDLER_DECORATOR_FUNCTIONS:
            return f"@{subs.text(ctx, func)}"
        if type(func) is not cst.Attribute:
            continue
        method = func.attr.value
        if method in table.HANDLER_DECORATOR_ANY_RECEIVER or (
            method in table.HANDLER_DECORATOR_METHODS
            and (terminal_name(func.value) or "").lower().endswith(table.HANDLER_RECEIVER_WORDS)
        ):
            return f"@{subs.text(ctx, func)}"
    return None
