"""Which calls start work now (a task, a thread-pool job), what the work is, and which
loops feed them: the shared analysis of the unbounded-parallelism rules (LL102, LL103).

The API names come from knowledge/spawns.py; receivers of spawn methods are recognised
by what built them (analysis.instances) or, failing that, by naming convention.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, FrozenSet, Iterator, List, Optional, Sequence

import libcst as cst

from leaklint.analysis.calls import argument, terminal_name
from leaklint.analysis.instances import instance_class
from leaklint.analysis.loops import Loop, is_async_for, is_forever
from leaklint.analysis.provenance import outside_size
from leaklint.analysis.values import WORK_SIZE
from leaklint.knowledge import last_component
from leaklint.knowledge import spawns as api
from leaklint.knowledge import tasks as task_api

if TYPE_CHECKING:
    from leaklint.context import FileContext


def _last_names(names) -> FrozenSet[str]:
    return frozenset(last_component(n) for n in names)


SPAWNER_NAMES = _last_names(api.TASK_SPAWNERS)
FAN_OUT_NAMES = _last_names(api.FAN_OUT_FUNCTIONS)
THREAD_RUNNER_NAMES = _last_names(api.THREAD_RUNNERS)
LOOP_CLASSES = frozenset(task_api.LOOP_FACTORIES) | frozenset(api.LOOP_FACTORIES_EXTRA)


def trigger_words() -> FrozenSet[str]:
    """Words a file must contain to hold a spawn or a fan-out (the rules' pre-filter).
    Thread runners (`to_thread`) are not among them: alone they start nothing."""
    return SPAWNER_NAMES | FAN_OUT_NAMES | frozenset(api.SPAWN_METHODS)


@dataclass(frozen=True)
class Spawn:
    """A call that starts work at once."""

    call: cst.Call
    label: str  # how messages name it: "asyncio.create_task()", "tg.start_soon()"
    work: Optional[cst.BaseExpression]  # the callable that is the work, when visible


_WORDS = re.compile(r"[a-z0-9]+")


def words(expr: Optional[cst.BaseExpression]) -> List[str]:
    """The words of an expression's last name: `self._task_group` -> ["task", "group"]."""
    name = terminal_name(expr) if expr is not None else None
    if name is None and type(expr) is cst.Call:  # `get_loop().create_task`
        name = terminal_name(expr.func)
    return _WORDS.findall(name.lower()) if name else []


def _named(expr: cst.BaseExpression, names: Sequence[str]) -> bool:
    """Whether the expression's last name is one of `names`, or ends in `_<name>`."""
    label = (terminal_name(expr) or "").lower().lstrip("_")
    return bool(label) and any(label == n or label.endswith("_" + n) for n in names)


def receiver_kind(ctx: "FileContext", expr: cst.BaseExpression) -> Optional[str]:
    """"loop", "group" or "executor" when `expr` holds one, else None."""
    if type(expr) is cst.Call and ctx.call_name(expr) in LOOP_CLASSES:
        return "loop"
    made_by = instance_class(expr, ctx.scope)
    if made_by is not None:
        if made_by in LOOP_CLASSES:
            return "loop"
        if made_by in api.TASK_GROUP_FACTORIES:
            return "group"
        if made_by in api.EXECUTOR_FACTORIES:
            return "executor"
    if _named(expr, api.LOOP_NAMES):
        return "loop"
    if _named(expr, api.GROUP_NAMES):
        return "group"
    if _named(expr, api.EXECUTOR_NAMES):
        return "executor"
    return None


def spawn_of(ctx: "FileContext", call: cst.Call) -> Optional[Spawn]:
    """The spawn `call` is, or None."""
    func = call.func
    name = ctx.callee(call, SPAWNER_NAMES)
    if name in api.TASK_SPAWNERS:
        first = argument(call, "coro", 0)
        if first is None:
            return None
        if type(first.value) is not cst.Call:
            # ensure_future(fut) returns fut and starts nothing; create_task(coro) starts it
            return None if last_component(name) in api.PASS_THROUGH_SPAWNERS else Spawn(call, f"{name}()", None)
        return Spawn(call, f"{name}()", first.value.func)
    if type(func) is not cst.Attribute:
        return None
    method = func.attr.value
    wanted = api.SPAWN_METHODS.get(method)
    if wanted is None:
        return None
    if "any" not in wanted and receiver_kind(ctx, func.value) not in wanted:
        return None
    position = api.WORK_FUNCTION_POSITION.get(method)
    if position is None:
        first = argument(call, "coro", 0)
        work = first.value.func if first is not None and type(first.value) is cst.Call else None
    else:
        arg = argument(call, None, position)
        work = arg.value if arg is not None else None
    receiver = terminal_name(func.value) or "…"
    return Spawn(call, f"{receiver}.{method}()", work)


def work_function(ctx: "FileContext", call: cst.Call) -> Optional[cst.BaseExpression]:
    """The callable a call to be awaited runs: `f` in `f(x)`, `asyncio.to_thread(f, x)`,
    `create_task(f(x))`, `tg.start_soon(f, x)`."""
    spawn = spawn_of(ctx, call)
    if spawn is not None:
        return spawn.work
    name = ctx.callee(call, THREAD_RUNNER_NAMES)
    if name in api.THREAD_RUNNERS:
        arg = argument(call, None, api.THREAD_RUNNERS[name])
        return arg.value if arg is not None else None
    return call.func


_WRAPPER_NAMES = _last_names(api.AWAITABLE_WRAPPERS)


def unwrap_awaitable(ctx: "FileContext", call: cst.Call) -> cst.Call:
    """The call an `asyncio.wait_for(...)` / `shield(...)` wraps, else `call` itself."""
    for _ in range(3):
        if ctx.callee(call, _WRAPPER_NAMES) not in api.AWAITABLE_WRAPPERS:
            break
        first = argument(call, None, 0)
        if first is None or type(first.value) is not cst.Call:
            break
        call = first.value
    return call


def executor_bounded(ctx: "FileContext", call: cst.Call) -> bool:
    """Whether `call` hands its work to an executor's fixed set of workers:
    `asyncio.to_thread(f, x)`, `loop.run_in_executor(None, f, x)`, `pool.submit(f, x)`."""
    if ctx.callee(call, THREAD_RUNNER_NAMES) in api.THREAD_RUNNERS:
        return True
    func = call.func
    if type(func) is cst.Attribute and func.attr.value in api.EXECUTOR_BOUNDED_METHODS:
        return spawn_of(ctx, call) is not None
    return False


# --- loops -----------------------------------------------------------------------


def comprehension_loops(comp: cst.CSTNode) -> Iterator[cst.CompFor]:
    """Every `for` clause of a comprehension, outermost first."""
    return clauses_from(getattr(comp, "for_in", None))


def consumer_iterable(ctx: "FileContext", expr: cst.BaseExpression) -> bool:
    """Whether a `for` over `expr` runs for as long as messages keep coming: a Kafka
    consumer, `pubsub.listen()`, `channel.consume(queue)`, `sys.stdin`, or a name that
    says consumer or subscription."""
    if type(expr) is cst.Call:
        func = expr.func
        if type(func) is cst.Attribute and func.attr.value in api.CONSUMER_METHODS:
            return True
        return ctx.call_name(expr) in api.CONSUMER_CLASSES
    if type(expr) in (cst.Name, cst.Attribute):
        if ctx.qualified_name(expr) in api.CONSUMER_CONSTANTS:
            return True
        if _named(expr, api.CONSUMER_NAMES):
            return True
        return instance_class(expr, ctx.scope) in api.CONSUMER_CLASSES
    return False


def is_consume_loop(ctx: "FileContext", loop: Loop) -> bool:
    """`async for` over anything, `while True`, or a `for` over a consumer."""
    if is_forever(loop) or is_async_for(loop):
        return True
    if type(loop) is cst.For:
        return consumer_iterable(ctx, loop.iter)
    return False


# --- how much work an iterable holds -------------------------------------------------

_PASS_THROUGH = ("builtins.enumerate", "builtins.reversed", "builtins.sorted", "builtins.list", "builtins.tuple",
                 "builtins.set", "builtins.frozenset", "builtins.iter")


def bounded_iterable(ctx: "FileContext", expr: cst.BaseExpression, _depth: int = 0) -> bool:
    """Whether iterating `expr` yields a fixed, small number of items the code spells out:
    a literal, `range(N)` (N constant or a setting, not `len(work)`), a name bound once to
    a literal, an UPPER_CASE constant, or one of these through enumerate/zip/sorted."""
    if _depth > 4:
        return False
    kind = type(expr)
    if kind in (cst.List, cst.Tuple, cst.Set):
        return not any(type(e) is cst.StarredElement for e in expr.elements)
    if kind is cst.Dict:
        return not any(type(e) is cst.StarredDictElement for e in expr.elements)
    if kind in (cst.SimpleString, cst.ConcatenatedString):
        return True
    if kind is cst.Name:
        if expr.value.isupper():
            return True
        found = ctx.scope.find(expr.value)
        if found is None or len(found[1]) != 1:
            return False
        binding = found[1][0]
        if binding.kind == "param":
            # `def run(*coros)`: the caller spells the items out one by one
            owner = found[0].node
            return type(owner) in (cst.FunctionDef, cst.Lambda) and owner.params.star_arg is binding.node
        value = binding.value
        return type(value) in (cst.List, cst.Tuple, cst.Set, cst.Dict) and bounded_iterable(ctx, value, _depth + 1)
    if kind is cst.Attribute:
        return expr.attr.value.isupper()
    if kind is cst.Subscript:
        # `items[:10]`: at most as many as the constant upper bound
        if len(expr.slice) == 1 and type(expr.slice[0].slice) is cst.Slice:
            part = expr.slice[0].slice
            return part.upper is not None and _small_constant(ctx, part.upper) and (
                part.lower is None or _small_constant(ctx, part.lower)
            )
        return False
    if kind is cst.Call:
        func = expr.func
        if type(func) is cst.Attribute and func.attr.value in ("items", "keys", "values") and not expr.args:
            return bounded_iterable(ctx, func.value, _depth + 1)
        name = ctx.call_name(expr)
        if name == "builtins.range":
            for arg in expr.args:
                value = ctx.value(arg.value)
                if value is WORK_SIZE or ctx.is_unbounded_number(value):
                    return False
                if type(arg.value) is cst.Call and ctx.call_name(arg.value) == "builtins.len":
                    return False
                if not isinstance(value, int) and outside_size(ctx, arg.value, params=False) is not None:
                    return False  # `range(2, last_page + 1)`, `last_page` read from a response
            return True
        if name == "itertools.islice" and len(expr.args) >= 2:
            return _small_constant(ctx, expr.args[-1 if len(expr.args) == 2 else 2].value)
        if name in _PASS_THROUGH and expr.args:
            return bounded_iterable(ctx, expr.args[0].value, _depth + 1)
        if name == "builtins.zip":
            return any(bounded_iterable(ctx, a.value, _depth + 1) for a in expr.args)
    return False


def _small_constant(ctx: "FileContext", expr: cst.BaseExpression) -> bool:
    value = ctx.value(expr)
    return isinstance(value, int) and not isinstance(value, bool) and not ctx.is_unbounded_number(value)


def few_items(
    ctx: "FileContext",
    iterable: cst.BaseExpression,
    target: Optional[cst.BaseExpression] = None,
    _depth: int = 0,
    strict: bool = False,
) -> bool:
    """Whether a loop over `iterable` (binding `target`) runs a number of times that does
    not grow with the input: a spelled-out collection, a fixed population, or what the
    object already holds. `strict` (LL104's reading): only what the code spells out."""
    if bounded_iterable(ctx, iterable):
        return True
    if strict:
        pass
    elif fixed_population(iterable) or fixed_population(target):
        return True
    elif held_state(ctx, iterable) and outside_size(ctx, iterable, params=False) is None:
        return True  # what the object holds, unless a method stored an I/O result there
    if type(iterable) is cst.Name and _depth < 4:
        # `coros = (anext(s) for s in streamers)`, then a loop over `coros`
        found = ctx.scope.find(iterable.value)
        values = [b.value for b in found[1]] if found is not None else []
        if values and all(type(v) in _COMPREHENSIONS for v in values):
            return all(
                few_items(ctx, c.iter, c.target, _depth + 1, strict) for v in values for c in comprehension_loops(v)
            )
    return False


_COMPREHENSIONS = (cst.GeneratorExp, cst.ListComp, cst.SetComp)
_HOLDERS = ("self", "cls")
_VIEWS = ("items", "keys", "values", "copy")


def held_state(ctx: "FileContext", expr: cst.BaseExpression, _depth: int = 0) -> bool:
    """Whether `expr` reads what the object already holds — `self._conns`,
    `self._subs.values()`, `list(self.nexts)` — or a local name bound only to such a
    thing (`nexts = self.nexts`; `tasks` in `for source, tasks in self.schedules`).
    One task per thing an object holds is bounded by what it was built with, not by
    the size of a request or a stream."""
    if _depth > 4:
        return False
    kind = type(expr)
    if kind is cst.Attribute:
        root = expr.value
        while type(root) is cst.Attribute:
            root = root.value
        return type(root) is cst.Name and root.value in _HOLDERS
    if kind is cst.Subscript:
        return held_state(ctx, expr.value, _depth + 1)
    if kind is cst.Call:
        func = expr.func
        if type(func) is cst.Attribute and func.attr.value in _VIEWS and not expr.args:
            return held_state(ctx, func.value, _depth + 1)
        if type(func) is cst.Name and func.value in _WRAPPERS and expr.args:
            return held_state(ctx, expr.args[0].value, _depth + 1)
        return False
    if kind is not cst.Name:
        return False
    found = ctx.scope.find(expr.value)
    if found is None:
        return False
    for binding in found[1]:
        if binding.kind in ("assign", "annassign") and binding.value is not None:
            source = binding.value
        elif binding.kind == "for" and type(binding.node) in (cst.For, cst.CompFor):
            source = binding.node.iter
        else:
            return False
        if not held_state(ctx, source, _depth + 1):
            return False
    return bool(found[1])


def describe_iterable(ctx: "FileContext", expr: cst.BaseExpression) -> str:
    text = ctx.module.code_for_node(expr).strip()
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."



def clauses_from(clause: Optional[cst.CompFor]) -> Iterator[cst.CompFor]:
    while clause is not None:
        yield clause
        clause = clause.inner_for_in


_FIXED_WORDS = api.FIXED_POPULATION_WORDS
_WRAPPERS = frozenset(last_component(n) for n in _PASS_THROUGH) | {"zip"}


def fixed_population(expr: Optional[cst.BaseExpression], _depth: int = 0) -> bool:
    """Whether an iterable or a loop variable names something a program holds a fixed
    handful of (`self._nodes`, `broker_ids`, `for conn in connections`, `callbacks`):
    see FIXED_POPULATION_WORDS."""
    if expr is None or _depth > 4:
        return False
    kind = type(expr)
    if kind in (cst.Tuple, cst.List):  # `for node_id, data in ...`
        return any(fixed_population(e.value, _depth + 1) for e in expr.elements)
    if kind is cst.Call:
        func = expr.func
        if type(func) is cst.Attribute and func.attr.value in ("items", "keys", "values") and not expr.args:
            return fixed_population(func.value, _depth + 1)  # `self._conns.values()`
        if type(func) is cst.Name and func.value in _WRAPPERS and expr.args:
            return fixed_population(expr.args[0].value, _depth + 1)  # `list(x)`, `enumerate(x)`
        return bool(_FIXED_WORDS.intersection(words(func)))  # `self.get_nodes()`
    if kind is cst.Subscript:
        return fixed_population(expr.value, _depth + 1)
    return bool(_FIXED_WORDS.intersection(words(expr)))
