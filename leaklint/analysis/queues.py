"""Queues for the LL4 rules: recognising their constructors at a call, generics included
(`asyncio.Queue[int]()`, `anyio.create_memory_object_stream[bytes](10)`), and telling
whether the code around a queue bounds it by hand."""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Dict, Optional, Sequence

import libcst as cst

from leaklint.analysis.calls import terminal_name
from leaklint.analysis.origins import enclosing_class, same_reference
from leaklint.analysis.scopes import qualified_name
from leaklint.analysis.walk import walk
from leaklint.knowledge import last_component
from leaklint.knowledge.buffers import FLOW_CONTROL_CALLS, QUEUE_SIZE_CHECKS, QUEUES, QueueSpec

if TYPE_CHECKING:
    from leaklint.context import FileContext

_BY_NAME: Dict[str, QueueSpec] = {spec.callable: spec for spec in QUEUES}


@lru_cache(maxsize=1)
def queue_short_names() -> frozenset:
    """Last names of the queue constructors."""
    return frozenset(last_component(name) for name in _BY_NAME)


@lru_cache(maxsize=1)
def queue_triggers() -> frozenset:
    """The words a file must contain to create a queue: a constructor's name called
    (`Queue(`), subscripted (`Queue[int]()`), imported under an alias (`Queue as Q`) or
    bound to another name (`Q = asyncio.Queue`, `Q = Queue`). The bare name would also
    match every `from collections import deque` and `kombu.Queue` declaration."""
    return frozenset(
        spelling.format(name)
        for name in queue_short_names()
        for spelling in ("{}(", "{}[", "{} as", ".{}\n", ".{}\r", "= {}")
    )


def queue_spec(ctx: "FileContext", call: cst.Call) -> Optional[QueueSpec]:
    """The queue table's row for the callable of `call`, through imports and aliases."""
    func = call.func
    if isinstance(func, cst.Subscript):  # a generic alias: Queue[int]()
        func = func.value
    label = terminal_name(func)
    if label is None or (label not in queue_short_names() and label not in ctx.alias_names):
        return None
    return _BY_NAME.get(qualified_name(func, ctx.scope) or "")


def _rooted_at(expr: cst.BaseExpression, reference: cst.BaseExpression) -> bool:
    """`reference` itself, or an attribute chain starting with it (`q._state.data`)."""
    while True:
        if same_reference(expr, reference):
            return True
        if isinstance(expr, cst.Attribute):
            expr = expr.value
        elif isinstance(expr, cst.Call):  # q.statistics().current_buffer_used
            expr = expr.func
        else:
            return False


def watches_size(region: cst.CSTNode, references: Sequence[cst.BaseExpression]) -> bool:
    """Whether the code in `region` that can see a queue checks its size (hand-made flow
    control): `len(q)`, `q.qsize()`, `q.full()`, `q.statistics()`, `len(q._state.data)`."""
    for node in walk(region):
        if type(node) is not cst.Call:
            continue
        func = node.func
        if type(func) is cst.Attribute:
            if func.attr.value in QUEUE_SIZE_CHECKS and any(_rooted_at(func.value, r) for r in references):
                return True
        elif type(func) is cst.Name and func.value == "len" and len(node.args) == 1:
            if any(_rooted_at(node.args[0].value, r) for r in references):
                return True
    return False


def pauses_reading(source: str) -> bool:
    """Whether the file pauses a transport by hand (`transport.pause_reading()`): its
    protocols' buffers are flow-controlled however they are declared."""
    return any(f".{name}(" in source for name in FLOW_CONTROL_CALLS)


# --- queues that logging's queue handlers own -------------------------------------------

# The logging cookbook's `QueueHandler(queue.Queue(-1))`: QueueHandler.enqueue calls
# `put_nowait`, so a bound would make a burst of records raise (and be dropped through
# handleError) instead of waiting. Unbounded is the documented, intended form.
# picologging's C QueueHandler (a drop-in for logging's) enqueues with put_nowait too.
LOGGING_QUEUE_USERS = frozenset({
    "logging.handlers.QueueHandler", "logging.handlers.QueueListener",
    "picologging.handlers.QueueHandler", "picologging.handlers.QueueListener",
})
_LOGGING_LAST = frozenset(last_component(name) for name in LOGGING_QUEUE_USERS)


def logging_queue_classes(ctx: "FileContext") -> frozenset:
    """Names of the classes this module derives from QueueHandler or QueueListener,
    directly (the base by any import or alias) or through another such class."""
    if not any(word in ctx.source for word in _LOGGING_LAST):
        return frozenset()
    classes = [node for node in walk(ctx.module) if type(node) is cst.ClassDef]
    names: set = set()
    grew = True
    while grew:  # a class derived from a derived class owns its queue the same way
        grew = False
        for node in classes:
            if node.name.value not in names and any(_logging_class(ctx, base.value, names) for base in node.bases):
                names.add(node.name.value)
                grew = True
    return frozenset(names)


def _logging_class(ctx: "FileContext", expr: cst.BaseExpression, subclasses: "frozenset | set") -> bool:
    """Whether `expr` names QueueHandler/QueueListener or a class of `subclasses`."""
    label = terminal_name(expr)
    if label in subclasses:
        return True
    if label not in _LOGGING_LAST and label not in ctx.alias_names:
        return False
    return qualified_name(expr, ctx.scope) in LOGGING_QUEUE_USERS


def _logging_user(ctx: "FileContext", call: cst.Call, subclasses: frozenset, in_subclass: bool) -> bool:
    """Whether `call` hands its arguments to a logging queue handler or listener: one
    is created, or its `__init__` is called from a derived class's method
    (`super().__init__(queue)`, `QueueHandler.__init__(self, queue)`)."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "__init__":
        owner = func.value
        if isinstance(owner, cst.Call) and terminal_name(owner.func) == "super":
            return in_subclass
        return _logging_class(ctx, owner, subclasses)
    return _logging_class(ctx, func, subclasses)


def handed_to_logging(ctx: "FileContext", region: Optional[cst.CSTNode],
                      references: Sequence[cst.BaseExpression]) -> bool:
    """Whether the queue being created (the call on top of the walk's stack), or a
    name or attribute it is bound to (`references`, seen from `region`), is handed to
    logging's QueueHandler or QueueListener (or a class of this module derived from one),
    also through a derived class's `super().__init__(queue)`."""
    subclasses = logging_queue_classes(ctx)
    if not subclasses and not any(word in ctx.source for word in _LOGGING_LAST):
        return False
    owner = enclosing_class(ctx)
    in_subclass = owner is not None and owner.name.value in subclasses
    parent, grand = ctx.parent(), ctx.parent(2)
    if type(parent) is cst.Arg and type(grand) is cst.Call and _logging_user(ctx, grand, subclasses, in_subclass):
        return True
    if region is None or not references:
        return False
    for node in walk(region):
        if type(node) is cst.Call and _logging_user(ctx, node, subclasses, in_subclass):
            if any(same_reference(arg.value, r) for arg in node.args for r in references):
                return True
    return False
