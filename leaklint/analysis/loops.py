"""Loops around the node being visited: several rule families ask "is this inside a
loop, which kind, and does this expression change from one iteration to the next?"."""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Sequence, Set, Union

import libcst as cst

from leaklint.analysis.walk import walk

if TYPE_CHECKING:
    from leaklint.context import FileContext

Loop = Union[cst.For, cst.While, cst.CompFor]

_BOUNDARIES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


def enclosing_loops(ctx: "FileContext", stack: Optional[Sequence[cst.CSTNode]] = None) -> List[Loop]:
    """Loops (innermost first) whose body, not header, holds the node being visited,
    within the current function. A `for` header's iterable runs once, so a node there
    is not "in" that loop; a comprehension's element is. `stack` replaces `ctx.stack`
    (a decorator runs where its function is defined: pass the path without the def)."""
    loops: List[Loop] = []
    stack = ctx.stack if stack is None else stack
    for index in range(len(stack) - 2, -1, -1):
        node = stack[index]
        if isinstance(node, _BOUNDARIES):
            break
        child = stack[index + 1]
        if isinstance(node, (cst.For, cst.While)):
            if child is node.body:  # not the header, and not the `else:` (runs once)
                loops.append(node)
        elif isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            if child is not node.for_in:
                loops.append(node.for_in)
    return loops


def is_forever(loop: Loop) -> bool:
    """`while True:` / `while 1:` — runs until something breaks out."""
    if not isinstance(loop, cst.While):
        return False
    test = loop.test
    if isinstance(test, cst.Name):
        return test.value == "True"
    if isinstance(test, cst.Integer):
        return test.value not in ("0", "0x0", "0o0", "0b0")
    return False


def is_async_for(loop: Loop) -> bool:
    return isinstance(loop, (cst.For, cst.CompFor)) and loop.asynchronous is not None


def target_names(loop: Loop) -> Set[str]:
    """Names a `for` loop (or comprehension) binds on each iteration."""
    if isinstance(loop, cst.While):
        return set()
    return {n.value for n in walk(loop.target) if isinstance(n, cst.Name)}


def assigned_in(loop: Loop) -> Set[str]:
    """Names (re)bound anywhere in the loop's body: they may change per iteration."""
    body: Optional[cst.CSTNode] = getattr(loop, "body", None)
    names: Set[str] = set()
    if body is None:
        return names
    for node in walk(body, into_scopes=False):
        if isinstance(node, cst.AssignTarget):
            names.update(n.value for n in walk(node.target) if isinstance(n, cst.Name))
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.NamedExpr)):
            names.update(n.value for n in walk(node.target) if isinstance(n, cst.Name))
        elif isinstance(node, (cst.For, cst.CompFor)):
            names.update(n.value for n in walk(node.target) if isinstance(n, cst.Name))
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            names.update(n.value for n in walk(node.asname.name) if isinstance(n, cst.Name))
    return names


def names_in(expr: cst.CSTNode) -> Set[str]:
    """Every plain name an expression reads (attribute names excluded)."""
    return {n.value for n in walk(expr) if isinstance(n, cst.Name)}


def varies_with(loop: Loop, expr: cst.CSTNode) -> bool:
    """Whether `expr` can differ between iterations of `loop`: it reads a loop target
    or a name bound in the loop's body, or it calls something (unknown: assume yes)."""
    changing = target_names(loop) | assigned_in(loop)
    for node in walk(expr):
        if isinstance(node, cst.Name) and node.value in changing:
            return True
        if isinstance(node, (cst.Call, cst.Await, cst.Yield)):
            return True
    return False


_NESTED = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_BLOCKS = (cst.IndentedBlock, cst.SimpleStatementSuite, cst.SimpleStatementLine)


def ends_after(stack: Sequence[cst.CSTNode], loop: Loop) -> bool:
    """Whether `loop` is left (`break`, `return`) on the success path of the node on top
    of `stack`: later in its block or in an enclosing block inside the loop, or in the
    `else:` of a `try` whose body holds it (`while True: try: connect() except OSError:
    sleep() else: break`). The exit may be conditional (`if await ready(): return`)."""
    try:
        start = next(i for i in range(len(stack) - 1, -1, -1) if stack[i] is loop)
    except StopIteration:
        return False
    for index in range(len(stack) - 2, start, -1):
        node, child = stack[index], stack[index + 1]
        if isinstance(node, _BLOCKS):
            body = node.body
            try:
                position = next(i for i, item in enumerate(body) if item is child)
            except StopIteration:
                continue
            if any(_leaves(item) for item in body[position + 1:]):
                return True
        elif isinstance(node, (cst.Try, cst.TryStar)) and child is node.body and node.orelse is not None:
            if _leaves(node.orelse):
                return True
    return False


def _leaves(node: cst.CSTNode) -> bool:
    """A `return`, or a `break` of the loop being judged, in `node` (nested loops' own
    breaks and nested definitions excluded)."""
    todo = [node]
    while todo:
        current = todo.pop()
        kind = type(current)
        if kind is cst.Return or kind is cst.Break:
            return True
        if isinstance(current, _NESTED):
            continue
        if kind is cst.For or kind is cst.While:  # its breaks are its own
            if any(type(n) is cst.Return for n in walk(current, into_scopes=False)):
                return True
            continue
        todo.extend(current.children)
    return False


def bound_in(loop: Loop) -> Set[str]:
    """Names the loop binds on each pass: its target and the plain names its body
    assigns (`msg = await q.get()`, `a, b = ...`), not the `self` of `self.x = ...`."""
    names = target_names(loop)
    body = getattr(loop, "body", None)
    if body is None:
        return names
    for node in walk(body, into_scopes=False):
        if isinstance(node, cst.AssignTarget):
            targets = [node.target]
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.NamedExpr, cst.For, cst.CompFor)):
            targets = [node.target]
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            targets = [node.asname.name]
        elif isinstance(node, cst.ExceptHandler) and node.name is not None:
            targets = [node.name.name]
        else:
            continue
        while targets:
            target = targets.pop()
            if isinstance(target, cst.Name):
                names.add(target.value)
            elif isinstance(target, (cst.Tuple, cst.List)):
                targets.extend(e.value for e in target.elements)
            elif isinstance(target, cst.StarredElement):
                targets.append(target.value)
    return names
