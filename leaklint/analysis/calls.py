"""Reading call arguments the way Python binds them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import libcst as cst

if TYPE_CHECKING:
    from leaklint.analysis.scopes import Scope


@dataclass(frozen=True)
class SpreadArg(cst.Arg):
    """An argument given through `**{...}`, `**dict(...)` or `**name` (a dict bound once):
    not in the call's own arguments; `origin` is where it is written (the dict's entry)."""

    origin: Optional[cst.CSTNode] = None


def argument(call: cst.Call, name: Optional[str], position: Optional[int],
             scope: Optional["Scope"] = None) -> Optional[cst.Arg]:
    """The argument bound to parameter `name` (by keyword) or at `position` (0-based,
    positional). None when absent, or when a `*args` makes a position uncertain.
    A keyword may come from a `**` mapping whose keys can be read: a dict display or a
    `dict(...)` call, or (given `scope`) a name bound to one; it is a SpreadArg then."""
    positional = 0
    spreads = []
    for arg in call.args:
        if arg.star == "**":
            spreads.append(arg)
            continue
        if arg.keyword is not None:
            if name is not None and arg.keyword.value == name:
                return arg
            continue
        if arg.star == "*":
            # everything from here on is unknown by position
            positional = -1
            continue
        if positional >= 0 and position is not None and positional == position:
            return arg
        if positional >= 0:
            positional += 1
    if name is not None:
        for arg in spreads:
            found = spread_entry(arg.value, name, scope)
            if found is not None:
                return found
    return None


def spread_entry(mapping: cst.BaseExpression, name: str, scope: Optional["Scope"]) -> Optional[SpreadArg]:
    """The entry for keyword `name` in a `**mapping`, when its keys can be read."""
    if type(mapping) is cst.Dict:
        found = None
        for element in mapping.elements:
            if type(element) is cst.DictElement and type(element.key) is cst.SimpleString:
                if element.key.evaluated_value == name:
                    found = element  # the later of two entries wins
            elif type(element) is not cst.DictElement:
                found = None  # `**other` after it may override it: cannot tell
        if found is not None:
            return SpreadArg(value=found.value, keyword=cst.Name(name), origin=found)
        return None
    if type(mapping) is cst.Call and type(mapping.func) is cst.Name and mapping.func.value == "dict":
        if scope is not None:
            from leaklint.analysis.scopes import qualified_name
            if qualified_name(mapping.func, scope) != "builtins.dict":
                return None
        found_arg = None
        for arg in mapping.args:
            if arg.keyword is not None and arg.keyword.value == name:
                found_arg = arg
        if found_arg is not None:
            return SpreadArg(value=found_arg.value, keyword=cst.Name(name), origin=found_arg)
        return None
    if type(mapping) is cst.Name and scope is not None:
        found_scope = scope.find(mapping.value)
        if found_scope is None:
            return None
        bindings = found_scope[1]
        if len(bindings) != 1 or bindings[0].kind not in ("assign", "annassign") or bindings[0].value is None:
            return None
        value = bindings[0].value
        if type(value) is cst.Name:
            return None  # one step only
        if _mutated(found_scope[0].node, mapping.value):
            return None  # `kwargs["max_size"] = ...` or `kwargs.update(...)`: cannot tell
        return spread_entry(value, name, None if type(value) is cst.Dict else found_scope[0])
    return None


def _mutated(owner: cst.CSTNode, name: str) -> bool:
    from leaklint.analysis.walk import walk
    for node in walk(owner):
        kind = type(node)
        if kind is cst.Subscript and type(node.value) is cst.Name and node.value.value == name:
            return True
        if kind is cst.Attribute and type(node.value) is cst.Name and node.value.value == name:
            return True  # `.update`, `.setdefault`, `.pop`...: may change the key
    return False


def has_star_kwargs(call: cst.Call) -> bool:
    return any(arg.star == "**" for arg in call.args)


def terminal_name(expr: cst.BaseExpression) -> Optional[str]:
    """`loop` for `loop`, `_loop` for `self._loop`; None for anything else."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return None


def call_holder(stack) -> Optional[cst.CSTNode]:
    """What holds the call on top of the walk's `stack`, looking through one `await`
    (`x = call()`, `x = await call()`, `await call()` as a statement); None at the top."""
    index = len(stack) - 2
    if index >= 0 and type(stack[index]) is cst.Await:
        index -= 1
    return stack[index] if index >= 0 else None

