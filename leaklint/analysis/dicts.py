"""The entries of a configuration dict handed to a call: a literal, or a name bound to
one in the function or the module (`CONF = {...}`; `{**BASE, "k": v}`; `dict(BASE, k=v)`;
`BASE.copy()`), plus the `name["k"] = v` and `name.update(...)` statements of the scope
that binds the name. Keys are string constants; anything else is skipped, so the entries
are what can be seen, never a guess."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import libcst as cst

from leaklint.analysis.scopes import Scope, qualified_name
from leaklint.analysis.values import evaluate
from leaklint.analysis.walk import walk

_MAX_DEPTH = 8


@dataclass(frozen=True)
class Entry:
    key: str
    value: cst.BaseExpression
    scope: Scope  # the scope to evaluate `value` in
    node: cst.CSTNode  # where the entry is written: a DictElement, an Arg or an Assign


def dict_entries(expr: Optional[cst.BaseExpression], scope: Scope) -> List[Entry]:
    """The entries `expr` is seen to hold, the later of two entries for a key winning."""
    found: List[Entry] = []
    _collect(expr, scope, found, 0)
    last: Dict[str, Entry] = {}
    for entry in found:
        last.pop(entry.key, None)  # keep source order of the winners
        last[entry.key] = entry
    return list(last.values())


def _key(expr: Optional[cst.BaseExpression], scope: Scope) -> Optional[str]:
    if expr is None:
        return None
    value = evaluate(expr, scope)
    return value if isinstance(value, str) else None


def _collect(expr: Optional[cst.BaseExpression], scope: Scope, out: List[Entry], depth: int) -> None:
    if expr is None or depth > _MAX_DEPTH:
        return
    if isinstance(expr, cst.Dict):
        for element in expr.elements:
            if isinstance(element, cst.DictElement):
                key = _key(element.key, scope)
                if key is not None:
                    out.append(Entry(key, element.value, scope, element))
            elif isinstance(element, cst.StarredDictElement):
                _collect(element.value, scope, out, depth + 1)
    elif isinstance(expr, cst.Call):
        func = expr.func
        if qualified_name(func, scope) == "builtins.dict":
            for arg in expr.args:
                if arg.keyword is not None:
                    out.append(Entry(arg.keyword.value, arg.value, scope, arg))
                elif arg.star in ("", "**"):
                    _collect(arg.value, scope, out, depth + 1)
        elif isinstance(func, cst.Attribute) and func.attr.value == "copy" and not expr.args:
            _collect(func.value, scope, out, depth + 1)
    elif isinstance(expr, cst.Name):
        found = scope.find(expr.value)
        if found is None:
            return
        owner, bindings = found
        assigned = [b for b in bindings if b.kind in ("assign", "annassign")]
        if len(assigned) != 1 or len(bindings) != 1:
            return
        _collect(assigned[0].value, owner, out, depth + 1)
        _updates(expr.value, owner, out, depth)


def _updates(name: str, scope: Scope, out: List[Entry], depth: int) -> None:
    """`name["k"] = v` and `name.update(...)` in the scope that binds `name`."""
    root = scope.node
    start = root.body if isinstance(root, (cst.FunctionDef, cst.ClassDef)) else root
    for node in walk(start, into_scopes=False):
        if type(node) is cst.Assign:
            for target in node.targets:
                sub = target.target
                if (
                    isinstance(sub, cst.Subscript)
                    and isinstance(sub.value, cst.Name)
                    and sub.value.value == name
                    and len(sub.slice) == 1
                    and isinstance(sub.slice[0].slice, cst.Index)
                ):
                    key = _key(sub.slice[0].slice.value, scope)
                    if key is not None:
                        out.append(Entry(key, node.value, scope, node))
        elif type(node) is cst.Call:
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "update"
                and isinstance(func.value, cst.Name)
                and func.value.value == name
            ):
                for arg in node.args:
                    if arg.keyword is not None:
                        out.append(Entry(arg.keyword.value, arg.value, scope, arg))
                    elif arg.star in ("", "**"):
                        _collect(arg.value, scope, out, depth + 1)
