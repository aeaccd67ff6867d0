"""The shared visitor of the LL3 rules: each gets `check(sub)` for every subscription
the walk meets (a call, or a decorator that is not a call)."""
from __future__ import annotations

import libcst as cst

from leaklint.analysis import subscribing as subs
from leaklint.rules.base import Rule


class SubscriptionRule(Rule):
    @classmethod
    def triggers(cls, knowledge):
        return subs.triggers(knowledge)

    def visit_Call(self, node: cst.Call) -> None:
        self._visit()

    def visit_Decorator(self, node: cst.Decorator) -> None:
        self._visit()

    def _visit(self) -> None:
        # the LL3 rules visit the same node one after another: find its subscription once
        last = self.ctx.state(_Last)
        node = self.ctx.stack[-1]
        if last.node is not node:
            last.node, last.sub = node, subs.find_subscription(self.ctx)
        if last.sub is not None:
            self.check(last.sub)

    def check(self, sub: subs.Subscription) -> None:
        raise NotImplementedError


class _Last:
    """The node the LL3 rules last asked about, and its subscription."""

    def __init__(self) -> None:
        self.node = None
        self.sub = None

