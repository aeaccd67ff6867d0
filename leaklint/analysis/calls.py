"""Reading call arguments the way Python binds them."""
from __future__ import annotations

from typing import Optional

import libcst as cst


def argument(call: cst.Call, name: Optional[str], position: Optional[int]) -> Optional[cst.Arg]:
    """The argument bound to parameter `name` (by keyword) or at `position` (0-based,
    positional). None when absent, or when a `*args`/`**kwargs` makes it uncertain."""
    positional = 0
    for arg in call.args:
        if arg.star == "**":
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
    return None


def has_star_kwargs(call: cst.Call) -> bool:
    return any(arg.star == "**" for arg in call.args)


def terminal_name(expr: cst.BaseExpression) -> Optional[str]:
    """`loop` for `loop`, `_loop` for `self._loop`; None for anything else."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return None
