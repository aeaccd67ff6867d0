"""Candidate checks of the unbounded-parallelism rules (LL101-LL103) on CPython's ast:
where a spawn, a fan-out or a limit could be, and what the rule must see to judge it
(see leaklint.sieve)."""
from __future__ import annotations

import ast
import dataclasses
from typing import FrozenSet, Iterator, List, Sequence, Set, Tuple

from leaklint.analysis.spawning import FAN_OUT_NAMES, SPAWNER_NAMES
from leaklint.knowledge import io_apis as io
from leaklint.knowledge import spawns as api
from leaklint.knowledge.limits import FEED_METHODS
from leaklint.pyast import walk as walk_ast
from leaklint.sieve import CLASS, COMPREHENSIONS, DEFS, FUNCTIONS, AstFile, Need, name_bindings, terminal

SPAWN_LABELS = SPAWNER_NAMES | frozenset(api.SPAWN_METHODS)
_WITH = (ast.With, ast.AsyncWith)


def spawns(index: AstFile) -> Iterator[ast.Call]:
    """Calls that may start work and are not awaited where they stand (guards.awaited):
    spawners by name, spawn methods, and names bound to them."""
    for call in index.calls(SPAWN_LABELS):
        if not _awaited(index, call):
            yield call


def _awaited(index: AstFile, node: ast.AST) -> bool:
    for up in index.ancestors(node):
        if type(up) is ast.Await:
            return True
        if isinstance(up, (ast.stmt, ast.Lambda) + COMPREHENSIONS):
            return False
    return False


def loops_around(index: AstFile, node: ast.AST) -> Iterator[ast.AST]:
    """The loops (and comprehensions) whose body or element holds `node`, innermost
    first, within its function: what the rules' enclosing_loops sees."""
    child = node
    for up in index.ancestors(node):
        if isinstance(up, FUNCTIONS) or type(up) is ast.ClassDef:
            return
        kind = type(up)
        if kind in (ast.For, ast.AsyncFor, ast.While):
            if child in up.body:  # type: ignore[attr-defined]
                yield up
        elif kind in COMPREHENSIONS:
            yield up
        child = up


def spawn_need(index: AstFile, call: ast.Call) -> Need:
    """A spawn at `call` in a loop: its unit, and what the rule reads there that may come
    from `self` -- the receiver (`self._tg.create_task`), a loop's iterable
    (`self._consumer`), a `with` in a loop (`async with self._sem`), the work method's
    own limiter -- and every definition the call names, whose `async with sem:` would
    bound it."""
    exprs: List[ast.AST] = [call]
    for loop in loops_around(index, call):
        iterable = getattr(loop, "iter", None)
        if iterable is not None:
            exprs.append(iterable)
        for node in walk_ast(loop):
            if isinstance(node, _WITH):
                exprs.extend(item.context_expr for item in node.items)  # type: ignore[attr-defined]
    names = index.identifiers(call)
    return index.need(call, *exprs, *_methods_named(index, call, names), names=names)


def fan_out_need(index: AstFile, call: ast.Call, work: Sequence[ast.AST]) -> Need:
    """A fan-out at `call` over `work` (the call itself and what it is given elsewhere):
    its unit, what the work's spawns and the work methods' limiters read from `self`,
    and every definition the work names."""
    exprs = [call, *work]
    names: FrozenSet[str] = frozenset().union(*(index.identifiers(e) for e in exprs))
    return index.need(call, *exprs, *_methods_named(index, call, names), names=names)


def _methods_named(index: AstFile, node: ast.AST, names: FrozenSet[str]) -> List[ast.AST]:
    """The methods of the class around `node` with one of `names`: a `self.handle` work
    function, whose `async with self._sem` is judged by what the class assigns."""
    owner = index.method_class(node)
    if owner is None:
        return []
    return [m for m in owner.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name in names]


def feeding_withs(index: AstFile) -> List[ast.AST]:
    """The `with` blocks of the module that send or put into something
    (analysis.guards.feeds_under): a producer maybe holding a handler's limiter."""
    found = index.memo.get("ll1_feeding_withs")
    if found is None:
        found = index.memo["ll1_feeding_withs"] = [
            node for node in index.of(ast.With, ast.AsyncWith)
            if any(type(n) is ast.Call and type(n.func) is ast.Attribute and n.func.attr in FEED_METHODS  # type: ignore[attr-defined]
                   for n in walk_ast(node))]
    return found


def holds_with(index: AstFile, names: FrozenSet[str]) -> bool:
    """Whether a definition of one of `names` in this module enters a `with` block (a
    limiter, maybe, shared with a producer elsewhere in the module)."""
    for node in index.of(ast.FunctionDef, ast.AsyncFunctionDef):
        if node.name in names and any(isinstance(n, _WITH) for n in walk_ast(node)):  # type: ignore[attr-defined]
            return True
    return False


def fan_out_calls(index: AstFile) -> Iterator[ast.Call]:
    """`gather(*xs)`, `wait(xs)`: a fan-out function given something that may hold one
    awaitable per item (a comprehension, a call such as `map`, or a name)."""
    for call in index.calls(FAN_OUT_NAMES):
        for arg in call.args:
            value = arg.value if type(arg) is ast.Starred else arg
            if type(value) in COMPREHENSIONS or type(value) in (ast.Call, ast.Name):
                yield call
                break


def filled_with(index: AstFile, call: ast.Call, names: FrozenSet[str]) -> List[ast.AST]:
    """What the function around `call` (or the module) binds to `names` or appends to
    them: the per-item work a `gather(*tasks)` may be given."""
    found: List[ast.AST] = []
    for node in walk_ast(index.function(call) or index.tree):
        kind = type(node)
        if kind is ast.Assign and any(type(t) is ast.Name and t.id in names for t in node.targets):
            found.append(node.value)
        elif kind is ast.AnnAssign and type(node.target) is ast.Name and node.target.id in names and node.value:
            found.append(node.value)
        elif (kind is ast.Call and type(node.func) is ast.Attribute and type(node.func.value) is ast.Name
              and node.func.value.id in names):
            found.extend(node.args)
    return found


def may_consume(index: AstFile, loop: ast.AST) -> bool:
    """A loop that may run for as long as messages come (spawning.is_consume_loop):
    `async for`, `while` with a constant true test, an async comprehension, or a `for`
    over something that is not spelled out (a consumer, by class, method or name)."""
    kind = type(loop)
    if kind is ast.AsyncFor:
        return True
    if kind is ast.While:
        test = loop.test  # type: ignore[attr-defined]
        return type(test) is ast.Constant and bool(test.value)  # type: ignore[attr-defined]
    if kind is ast.For:
        return type(loop.iter) in (ast.Name, ast.Attribute, ast.Call)  # type: ignore[attr-defined]
    return any(g.is_async for g in loop.generators)  # type: ignore[attr-defined]


_OWN_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, *COMPREHENSIONS)
_AWAITED_REFERENCES = (ast.Name, ast.Attribute, ast.Subscript)


def surely_paced(loop: ast.AST, spawn: ast.AST) -> bool:
    """Whether guards.waits_in_loop surely finds the loop paced: its body (not its
    `except` clauses, nested scopes or the spawn itself) awaits a task or future by
    reference (`await task`, `await self._done`)."""
    if type(loop) not in (ast.For, ast.AsyncFor, ast.While):
        return False  # a comprehension: nothing runs between its items
    todo: List[ast.AST] = list(loop.body)  # type: ignore[attr-defined]
    while todo:
        node = todo.pop()
        if node is spawn or isinstance(node, _OWN_SCOPES) or type(node) is ast.ExceptHandler:
            continue
        if type(node) is ast.Await and type(node.value) in _AWAITED_REFERENCES:  # type: ignore[attr-defined]
            return True
        todo.extend(ast.iter_child_nodes(node))
    return False


# How far LL102/LL104 follow calls from a fan-out into this module's functions
# (analysis/provenance: the work's I/O, the helpers an iterable came from), plus one.
_REACH = 5


def with_provenance(index: AstFile, call: ast.AST, need: Need) -> Need:
    """`need` widened to what provenance reads (LL102/LL104): the definitions a few calls
    deep from the fan-out and from what its iterable was bound to (the work's callees,
    a helper that read the iterable from I/O), and in a method the methods that assign
    the `self` attributes those read (`self._session` is what `__init__` assigns; the
    `self.urls` iterated is what `load()` read from a response), and what those call."""
    unit = _outermost_function(index, call)
    seeds = set(need.names)
    exprs: List[ast.AST] = [call]
    if unit is not None:
        names, values = _binding_names(index, unit, call)
        seeds |= names
        exprs.extend(values)
    for loop in loops_around(index, call):
        iterable = getattr(loop, "iter", None)
        if iterable is not None:
            exprs.append(iterable)
    owner = index.method_class(call)
    stores = index._self_stores(owner) if owner is not None else {}
    table = _definitions(index)
    widened = need
    for _ in range(4):
        names = reached_names(index, frozenset(seeds))
        followed = [d for name in names if name in table for d in table[name]]
        widened = index.need(call, *exprs, *followed, names=need.names | frozenset(n for n in names if n in table))
        held: Set[str] = set()
        for expr in (*exprs, *followed):
            held |= index.summary(expr).held
        extra: Set[str] = set()
        for attr in held:  # what `self.x` was assigned may come from a helper's I/O
            for _member, value in stores.get(attr, ()):
                extra |= index.identifiers(value)
        if extra <= seeds:
            break
        seeds |= extra
    return dataclasses.replace(
        need,
        scope=CLASS if CLASS in (need.scope, widened.scope) else need.scope,
        names=widened.names,
        also=tuple(dict.fromkeys((*need.also, *widened.also))),
    )


def _binding_names(index: AstFile, unit: ast.AST, call: ast.AST) -> Tuple[Set[str], List[ast.AST]]:
    """The names under `call` and the loops around it, and under what the function binds
    to them, followed through the function's own bindings; and those bound values."""
    names: Set[str] = set(index.identifiers(call))
    for loop in loops_around(index, call):
        iterable = getattr(loop, "iter", None)
        if iterable is not None:
            names |= index.identifiers(iterable)
    bindings = index.memo.get(("ll1_bindings", unit))
    if bindings is None:
        bindings = [(bound, index.identifiers(value), value) for bound, value in name_bindings(unit)]
        index.memo[("ll1_bindings", unit)] = bindings
    values: List[ast.AST] = []
    taken: Set[int] = set()
    changed = True
    while changed:
        changed = False
        for at, (bound, used, value) in enumerate(bindings):
            if at not in taken and not bound.isdisjoint(names):
                taken.add(at)
                values.append(value)
                names |= used
                changed = True
    return names, values


def _definitions(index: AstFile):
    table = index.memo.get("ll1_definitions")
    if table is None:
        table = {}
        for node in index.of(ast.FunctionDef, ast.AsyncFunctionDef):
            table.setdefault(node.name, []).append(node)  # type: ignore[attr-defined]
        index.memo["ll1_definitions"] = table
    return table


def _outermost_function(index: AstFile, node: ast.AST):
    found = None
    for up in index.ancestors(node):
        if isinstance(up, DEFS):
            found = up
        elif type(up) is ast.ClassDef:
            break
    return found


def reached_names(index: AstFile, seeds: FrozenSet[str]) -> FrozenSet[str]:
    """`seeds` and the names the definitions they name call, followed _REACH times."""
    table = _definitions(index)
    names = set(seeds)
    frontier = [n for n in seeds if n in table]
    for _ in range(_REACH):
        fresh = set()
        for name in frontier:
            for definition in table[name]:
                fresh |= _called_names(index, definition)
        fresh -= names
        if not fresh:
            break
        names |= fresh
        frontier = [n for n in fresh if n in table]
    return frozenset(names)


def _called_names(index: AstFile, definition: ast.AST) -> FrozenSet[str]:
    """What provenance may follow from inside `definition` (analysis/provenance._callee):
    the functions it calls by name, the `self`/`cls` methods it calls, and what it hands
    to `partial`."""
    key = ("ll1_called", definition)
    found = index.memo.get(key)
    if found is None:
        names: Set[str] = set()
        for node in walk_ast(definition):
            if type(node) is not ast.Call:
                continue
            func = node.func  # type: ignore[attr-defined]
            if type(func) is ast.Name:
                names.add(func.id)
            elif type(func) is ast.Attribute and type(func.value) is ast.Name and func.value.id in ("self", "cls"):
                names.add(func.attr)
            if terminal(func) == "partial":
                for arg in node.args:  # type: ignore[attr-defined]
                    names |= index.identifiers(arg)
        found = index.memo[key] = frozenset(names)
    return found


# --- could the work reach I/O? (analysis.provenance.io_reached, over-approximated) ---

_IO_METHODS = frozenset(io.IO_METHODS)
# `a.b.c` of IO_FUNCTIONS: `c` counts where the file imports `a`
_IO_FUNCTIONS: Tuple[Tuple[str, str], ...] = tuple(sorted({
    (name.split(".", 1)[0], name.rsplit(".", 1)[-1]) for name in io.IO_FUNCTIONS}))
# a client's verbs count where the file may hold the client: it imports the package
_IO_CLIENTS: Tuple[Tuple[str, str, object], ...] = tuple(
    (name.split(".", 1)[0], name.rsplit(".", 1)[-1], verbs) for name, (_kind, verbs) in io.IO_CLIENT_METHODS.items())


def _io_words(index: AstFile) -> Tuple[FrozenSet[str], bool]:
    """The identifiers that may make a call I/O in this file, and whether any call may
    (a client whose every method is I/O may be here)."""
    found = index.memo.get("ll1_io_words")
    if found is None:
        typed = index.project.type_words if index.project is not None else frozenset()
        # qualified names resolve through imports: a package counts where it is imported
        present = index.imports[1] | {"builtins"}
        words: Set[str] = set(_IO_METHODS)
        anything = False
        for package, last in _IO_FUNCTIONS:
            if package in present:
                words.add(last)
        for package, cls, verbs in _IO_CLIENTS:
            if package in present or cls in typed:
                if verbs == "*":
                    anything = True
                else:
                    words.update(verbs)  # type: ignore[arg-type]
        found = index.memo["ll1_io_words"] = (frozenset(words), anything)
    return found


def may_reach_io(index: AstFile, call: ast.AST, need: Need) -> bool:
    """Whether the work of the fan-out or spawn at `call` may reach a known I/O API, as
    analysis.provenance.io_reached judges it, reading what `need` keeps (the call, the
    definitions it names, the methods that set what it reads): some identifier there
    is an I/O function or method the file can mean, or a client's verb on a receiver
    named like one (`session.get`)."""
    words, anything = _io_words(index)
    if anything:
        return True
    table = _definitions(index)
    nodes = [call, *need.also, *(d for name in need.names for d in table.get(name, ()))]
    ids: Set[str] = set(need.names)  # the work's names, also where it was bound (`tasks.append(...)`)
    for node in nodes:
        ids |= index.identifiers(node)
    unit = _outermost_function(index, call)
    if unit is not None:  # `bound = partial(client.get, ...)` in the function
        ids |= _binding_names(index, unit, call)[0]
    for name in list(ids):
        ids |= index.alias_origins.get(name, frozenset())
    if not words.isdisjoint(ids):
        return True
    parts = {part for name in ids for part in io.name_words(name)}
    return any(not verbs.isdisjoint(ids) and not receivers.isdisjoint(parts)
               for _kind, receivers, verbs in io.IO_RECEIVER_CONVENTIONS)



