"""What the LL2 rules that react to a resource's creation share: their trigger words,
a cheap gate on each call's last name, and the lookup in the resource table. (Not a
rule itself: the registry loads only `llNNN_*` modules.)"""
from __future__ import annotations

import ast

import libcst as cst

from leaklint.analysis import resources as flow
from leaklint.analysis import sieve_ll2
from leaklint.rules.base import Rule
from leaklint.sieve import UNIT, Need, single_target


class ResourceRule(Rule):
    """Subclasses implement `created(call, made)`, called for each resource creation."""

    @classmethod
    def triggers(cls, knowledge):
        return flow.triggers(knowledge)

    @classmethod
    def candidates(cls, index):
        # LL201/LL202: `name = <resource>` in a def; its fate is decided within that def
        for call, expr, holder in sieve_ll2.creations(index):
            target = single_target(holder)
            if target is None:
                continue
            function = index.function(call)
            if type(target) is not ast.Name or function is None or type(function) is ast.Lambda:
                continue
            # returned or handed over: not ours, unless bound again first (LL201's reopened name)
            if not sieve_ll2.escapes(index, function, target.id) or sieve_ll2.rebound(index, function, target.id):
                yield Need(call, UNIT)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._gate = flow.call_gate(ctx)

    def visit_Call(self, node: cst.Call) -> None:
        if flow.label(node) not in self._gate:
            return  # cheap: the great majority of calls
        made = flow.creation(self.ctx, node)
        if made is not None:
            self.created(node, made)

    def created(self, call: cst.Call, made: flow.Creation) -> None:
        raise NotImplementedError
