"""Simple constant propagation: what number (or None) an expression stands for.

Literals, `sys.maxsize`, `math.inf`, `float("inf")`, `None`, arithmetic on those, and
names bound exactly once (in their module or function) to such a value. Nothing is ever
evaluated: huge powers and shifts are capped, so `10**10**10` costs nothing.
"""
from __future__ import annotations

import math
from typing import Any, Optional, Set

import libcst as cst

from leaklint.analysis.scopes import Scope, qualified_name


class _Sentinel:
    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return self.label


UNKNOWN = _Sentinel("UNKNOWN")
# `len(items)`: a limit as large as the work itself is no limit
WORK_SIZE = _Sentinel("WORK_SIZE")

INF = math.inf
_BIG = 2**4096  # above this, a number is as good as infinite for every rule

_NAMED_CONSTANTS = {
    "sys.maxsize": 2**63 - 1,
    "math.inf": INF,
    "numpy.inf": INF,
    "numpy.Inf": INF,
}
_INF_STRINGS = {"inf", "+inf", "infinity", "+infinity"}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cap(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _BIG:
        return INF if value > 0 else -INF
    return value


def evaluate(expr: Optional[cst.BaseExpression], scope: Scope, _seen: Optional[Set[int]] = None) -> Any:
    """The value `expr` stands for: an int, float (math.inf for infinity), None, a str,
    WORK_SIZE for `len(...)`, or UNKNOWN."""
    if expr is None:
        return UNKNOWN
    seen = _seen if _seen is not None else set()
    if id(expr) in seen or len(seen) > 32:
        return UNKNOWN
    seen.add(id(expr))
    try:
        return _evaluate(expr, scope, seen)
    finally:
        seen.discard(id(expr))


def _evaluate(expr: cst.BaseExpression, scope: Scope, seen: Set[int]) -> Any:
    if isinstance(expr, cst.Integer):
        try:
            return _cap(int(expr.value.replace("_", ""), 0))
        except ValueError:
            # Python 2 style octal such as 0777 does not parse in Python 3 anyway
            return UNKNOWN
    if isinstance(expr, cst.Float):
        try:
            return float(expr.value.replace("_", ""))
        except ValueError:
            return UNKNOWN
    if isinstance(expr, cst.SimpleString):
        try:
            return expr.evaluated_value
        except Exception:  # byte strings, odd prefixes: not a number either way
            return UNKNOWN
    if isinstance(expr, cst.Name) and expr.value in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[expr.value]
    if isinstance(expr, cst.UnaryOperation):
        operand = evaluate(expr.expression, scope, seen)
        if _number(operand):
            if isinstance(expr.operator, cst.Minus):
                return -operand
            if isinstance(expr.operator, cst.Plus):
                return operand
        return UNKNOWN
    if isinstance(expr, cst.BinaryOperation):
        return _binary(expr, scope, seen)
    if isinstance(expr, cst.Call):
        return _call(expr, scope, seen)
    if isinstance(expr, (cst.Name, cst.Attribute)):
        qualified = qualified_name(expr, scope)
        if qualified in _NAMED_CONSTANTS:
            return _NAMED_CONSTANTS[qualified]
        if isinstance(expr, cst.Name):
            found = scope.find(expr.value)
            if found is not None:
                owner, bindings = found
                if len(bindings) == 1 and bindings[0].kind in ("assign", "annassign"):
                    return evaluate(bindings[0].value, owner, seen)
        return UNKNOWN
    return UNKNOWN


def _binary(expr: cst.BinaryOperation, scope: Scope, seen: Set[int]) -> Any:
    left = evaluate(expr.left, scope, seen)
    right = evaluate(expr.right, scope, seen)
    if not (_number(left) and _number(right)):
        return UNKNOWN
    op = expr.operator
    try:
        if isinstance(op, cst.Add):
            return _cap(left + right)
        if isinstance(op, cst.Subtract):
            return _cap(left - right)
        if isinstance(op, cst.Multiply):
            return _cap(left * right)
        if isinstance(op, cst.FloorDivide):
            return _cap(left // right)
        if isinstance(op, cst.Divide):
            return left / right
        if isinstance(op, cst.Power):
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
                if right * math.log2(abs(left)) > 4096:
                    return INF if left > 0 or right % 2 == 0 else -INF
            return _cap(left**right)
        if isinstance(op, cst.LeftShift) and isinstance(left, int) and isinstance(right, int):
            if right > 4096:
                return INF if left > 0 else (-INF if left < 0 else 0)
            return _cap(left << right)
        if isinstance(op, cst.RightShift) and isinstance(left, int) and isinstance(right, int):
            return left >> right
    except (ArithmeticError, ValueError, TypeError):
        return UNKNOWN
    return UNKNOWN


def _call(expr: cst.Call, scope: Scope, seen: Set[int]) -> Any:
    func = qualified_name(expr.func, scope)
    if func == "builtins.len" and len(expr.args) == 1:
        return WORK_SIZE
    if func in ("builtins.float", "builtins.int") and len(expr.args) == 1 and not expr.args[0].keyword:
        value = evaluate(expr.args[0].value, scope, seen)
        if isinstance(value, str):
            if func == "builtins.float" and value.strip().lower() in _INF_STRINGS:
                return INF
            try:
                return float(value) if func == "builtins.float" else int(value.strip().replace("_", ""))
            except ValueError:
                return UNKNOWN
        if _number(value):
            if func == "builtins.int" and value in (INF, -INF):
                return UNKNOWN  # int(inf) raises
            return float(value) if func == "builtins.float" else int(value)
    return UNKNOWN


def describe(value: Any) -> str:
    """How a message shows a resolved value: `None`, `infinity`, `9.2e+18`, `500`."""
    if value is WORK_SIZE:
        return "the size of the work"
    if value is None:
        return "None"
    if _number(value) and value in (INF, -INF):
        return "infinity" if value > 0 else "-infinity"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**7:
        return f"{value:.2g}"
    return repr(value)


def is_sentinel(value: Any, sentinels: tuple) -> bool:
    """Whether `value` is one of an API's "no limit" values (None, 0, -1, ...)."""
    for sentinel in sentinels:
        if sentinel is None:
            if value is None:
                return True
        elif _number(value) and value == sentinel:
            return True
    return False
