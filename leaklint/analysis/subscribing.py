"""Subscriptions, for the LL3 rules: which call registers a consumer of events, on what
object and with which handler; which function runs it; and whether running it again
registers another consumer or is ignored by the API (the same handler object given
again to a logger or a signal, a Kafka `subscribe` that replaces the last one).

Everything here answers "cannot tell" (None, False) rather than guess.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Tuple

import libcst as cst

from leaklint.analysis.instances import self_assignments
from leaklint.analysis.calls import argument, terminal_name
from leaklint.analysis.scopes import Binding, Scope, qualified_name
from leaklint.analysis.values import UNKNOWN, WORK_SIZE, evaluate
from leaklint.analysis.walk import SCOPE_NODES, walk
from leaklint.knowledge import last_component
from leaklint.knowledge import subscriptions as table
from leaklint.knowledge.specs import ArgAt, SubscriptionSpec

if TYPE_CHECKING:
    from leaklint.context import FileContext
    from leaklint.knowledge import Knowledge

ADDS, BY_HANDLER, REPLACES = table.ADDS, table.BY_HANDLER, table.REPLACES

_DEFS = (cst.FunctionDef, cst.ClassDef)
# nodes whose children do not all run, or not once: a subscription in one arm does not
# dominate one in another
_BRANCHING = frozenset({cst.If, cst.Try, cst.TryStar, cst.For, cst.While, cst.Match, cst.IfExp, cst.BooleanOperation,
                        cst.With})
_MAX_DEPTH = 4


@dataclass(frozen=True)
class Subscription:
    """One subscription found at the node being visited."""

    spec: SubscriptionSpec
    node: cst.CSTNode  # what a finding is reported on: the call, or a bare decorator's expression
    call: Optional[cst.Call]  # None for a bare decorator (`@atexit.register`)
    receiver: Optional[cst.BaseExpression]  # what it is registered on; None: a process-wide registry
    handler: Optional[cst.CSTNode]  # the handler expression, or the decorated def
    decorator: Optional[cst.Decorator]  # set when applied as a decorator
    result_used: bool  # the call's result is kept (`sub = broker.subscriber("x")`): a handler may come later
    frame: int  # index in ctx.stack of the module, function or class body that runs it
    scope: Scope  # where its names are read
    path: Tuple[Tuple[int, int], ...]  # the branches (node, arm) it sits in, from the frame down

    @property
    def is_def_handler(self) -> bool:
        return isinstance(self.handler, _DEFS)


# --- recognising a subscription ----------------------------------------------------

class _Index:
    """The knowledge table arranged for look-ups by method name."""

    def __init__(self, knowledge: "Knowledge") -> None:
        self.names = knowledge.short_names("subscriptions")
        self.table = knowledge.subscriptions
        self.any_receiver: Dict[str, SubscriptionSpec] = {}
        for specs in knowledge.subscriptions.values():
            for spec in specs:
                if spec.any_receiver:
                    self.any_receiver.setdefault(method_of(spec), spec)


_indexes: Dict[int, Tuple["Knowledge", _Index]] = {}


def _index(knowledge: "Knowledge") -> _Index:
    hit = _indexes.get(id(knowledge))
    if hit is None or hit[0] is not knowledge:
        hit = (knowledge, _Index(knowledge))
        _indexes[id(knowledge)] = hit
    return hit[1]


def method_of(spec: SubscriptionSpec) -> str:
    """`subscriber`, `on_startup.append`: the spec's method path after its class."""
    return spec.method or last_component(spec.callable)


def triggers(knowledge: "Knowledge") -> set:
    """Words a file must contain to hold a subscription."""
    return {spec.trigger or last_component(spec.callable) for specs in knowledge.subscriptions.values() for spec in specs}


def frame_index(stack: Sequence[cst.CSTNode]) -> int:
    """Index of the innermost module, function, lambda, class or comprehension whose
    execution runs the last node of `stack`. A decorator runs where its def is."""
    index = len(stack) - 2
    while index > 0:
        if type(stack[index]) in SCOPE_NODES and type(stack[index + 1]) is not cst.Decorator:
            return index
        index -= 1
    return 0


def branch_path(stack: Sequence[cst.CSTNode], frame: int) -> Tuple[Tuple[int, int], ...]:
    return tuple(
        (id(stack[i]), id(stack[i + 1]))
        for i in range(frame + 1, len(stack) - 1)
        if type(stack[i]) in _BRANCHING
    )


def find_subscription(ctx: "FileContext") -> Optional[Subscription]:
    """The subscription made by the node being visited: a Call, or a Decorator whose
    expression is not a call (`@atexit.register`, `@signal.connect`)."""
    index = _index(ctx.knowledge)
    stack = ctx.stack
    node = stack[-1]
    if type(node) is cst.Decorator:
        if type(node.decorator) is cst.Call:
            return None  # the call itself is visited
        func: cst.BaseExpression = node.decorator
        call = None
    elif type(node) is cst.Call:
        func = node.func
        call = node
    else:
        return None
    label = terminal_name(func)
    if label is None or (label not in index.names and label not in ctx.alias_names):
        return None
    frame = frame_index(stack)
    scope = ctx.scope_of(stack[frame]) or ctx.scope
    matched = _match(func, scope, index)
    if matched is None:
        return None
    spec, receiver = matched
    if receiver is None and spec.receiver_arg is not None and call is not None:
        arg = argument(call, *spec.receiver_arg)
        receiver = arg.value if arg is not None else None
    handler: Optional[cst.CSTNode] = None
    decorator: Optional[cst.Decorator] = None
    parent = stack[-2] if len(stack) > 1 else None
    if type(node) is cst.Decorator:
        decorator = node
    elif type(parent) is cst.Decorator and parent.decorator is node:
        decorator = parent
    if decorator is not None:
        owner = stack[-3] if type(node) is cst.Call else stack[-2]
        handler = owner if isinstance(owner, _DEFS) else None
    elif type(parent) is cst.Call and parent.func is node:  # x.subscriber("ch")(handler)
        handler = parent.args[0].value if parent.args and not parent.args[0].star else None
    elif spec.handler is not None and call is not None:
        arg = argument(call, *spec.handler)
        handler = arg.value if arg is not None else None
    report = call if call is not None else func
    return Subscription(spec, report, call, receiver, handler, decorator, _result_used(stack), frame, scope,
                        branch_path(stack, frame))


def _result_used(stack: Sequence[cst.CSTNode]) -> bool:
    index = len(stack) - 2
    if index >= 0 and type(stack[index]) is cst.Decorator:
        return False
    if index >= 0 and type(stack[index]) is cst.Call and stack[index].func is stack[-1]:
        index -= 1  # `x.subscriber("ch")(handler)`: the outer call's result
    if index >= 0 and type(stack[index]) is cst.Await:
        index -= 1
    return index < 0 or type(stack[index]) is not cst.Expr


def _match(func: cst.BaseExpression, scope: Scope, index: _Index) -> Optional[Tuple[SubscriptionSpec, Optional[cst.BaseExpression]]]:
    """(spec, receiver) for a callable expression, or None."""
    qualified = qualified_name(func, scope)
    if qualified is not None and qualified in index.table:
        # a function (`atexit.register`), or a method reached through a module
        return index.table[qualified][0], None
    if type(func) is not cst.Attribute:
        return None
    candidates: List[Tuple[cst.BaseExpression, str]] = [(func.value, func.attr.value)]
    if type(func.value) is cst.Attribute:
        candidates.append((func.value.value, f"{func.value.attr.value}.{func.attr.value}"))
    for receiver, path in candidates:
        cls = receiver_class(receiver, scope)
        if cls is not None:
            specs = index.table.get(f"{cls}.{path}")
            if specs:
                return specs[0], receiver
    for receiver, path in candidates:
        spec = index.any_receiver.get(path)
        if spec is not None:
            return spec, receiver
    if func.attr.value == "subscribe" and _polled_kafka_consumer(func.value, scope):
        specs = index.table.get(_POLLED_CONSUMER)
        if specs:
            return specs[0], func.value
    return None


_POLLED_CONSUMER = "confluent_kafka.Consumer.subscribe"
_KAFKA_PACKAGES = ("confluent_kafka", "kafka", "aiokafka")
_POLLS = frozenset({"poll", "consume", "getmany", "getone"})


def _polled_kafka_consumer(receiver: cst.BaseExpression, scope: Scope) -> bool:
    """A receiver of unknown class (a parameter) that the same function also polls
    (`consumer.poll(1.0)`), in a module that imports a Kafka client: a Kafka consumer."""
    if type(receiver) is not cst.Name:
        return False
    function = scope.function_scope
    if function is None or not isinstance(function.node, cst.FunctionDef):
        return False
    module = scope.module_scope
    imported = module.memo.get("kafka_imported")
    if imported is None:
        imported = module.memo["kafka_imported"] = any(
            b.kind == "import" and (b.qualified or "").split(".")[0] in _KAFKA_PACKAGES
            for found in module.bindings().values() for b in found)
    if not imported:
        return False
    for node in walk(function.node.body):
        if (type(node) is cst.Call and type(node.func) is cst.Attribute and node.func.attr.value in _POLLS
                and type(node.func.value) is cst.Name and node.func.value.value == receiver.value):
            return True
    return False


# --- what an object is ---------------------------------------------------------------

def _product(qualified: Optional[str]) -> Optional[str]:
    if qualified is None:
        return None
    product = table.FACTORY_PRODUCTS.get(qualified)
    if product is not None:
        return product
    for prefix, cls in table.INSTANCE_PREFIXES:
        if qualified.startswith(prefix):
            return cls
    return qualified


def receiver_class(expr: cst.BaseExpression, scope: Scope, _depth: int = 0) -> Optional[str]:
    """The qualified class (or factory) whose instance `expr` holds: through calls,
    `await`, names bound once or all to the same kind of object, `with ... as x`,
    annotated parameters and `self.x` set in the class. None when it cannot tell."""
    if _depth > _MAX_DEPTH:
        return None
    kind = type(expr)
    if kind is cst.Await:
        return receiver_class(expr.expression, scope, _depth + 1)
    if kind is cst.Call:
        func = expr.func
        qualified = qualified_name(func, scope)
        if qualified is None and type(func) is cst.Attribute:
            product = table.METHOD_PRODUCTS.get(func.attr.value)
            if product is not None:
                return product
            owner = receiver_class(func.value, scope, _depth + 1)
            qualified = f"{owner}.{func.attr.value}" if owner else None
        return _product(qualified)
    if kind is cst.Name:
        found = scope.find(expr.value)
        if found is None:
            return None
        owner_scope, bindings = found
        return _agree(_binding_class(b, owner_scope, _depth) for b in bindings)
    if kind is cst.Attribute:
        if type(expr.value) is cst.Name and expr.value.value == "self":
            return _agree(receiver_class(v, s, _depth + 1) for v, s in self_attribute_values(expr.attr.value, scope))
        return _product(qualified_name(expr, scope))  # a module's object: `logging.root`
    return None


def _agree(classes: Iterable[Optional[str]]) -> Optional[str]:
    found: Optional[str] = None
    for cls in classes:
        if cls is None or (found is not None and cls != found):
            return None
        found = cls
    return found


def _binding_class(binding: Binding, scope: Scope, depth: int) -> Optional[str]:
    if binding.kind in ("assign", "annassign") and binding.value is not None:
        return receiver_class(binding.value, scope, depth + 1)
    if binding.kind == "with" and type(binding.node) is cst.WithItem:
        # brokers, clients and PubSub return themselves from __(a)enter__
        return receiver_class(binding.node.item, scope, depth + 1)
    if binding.kind == "import":
        return _product(binding.qualified)
    if binding.kind == "param" and isinstance(binding.node, cst.Param) and binding.node.annotation is not None:
        annotation = binding.node.annotation.annotation
        if isinstance(annotation, (cst.Name, cst.Attribute)):
            return _product(qualified_name(annotation, scope.parent or scope))
    return None


def self_attribute_values(attr: str, scope: Scope) -> List[Tuple[cst.BaseExpression, Scope]]:
    """Values assigned to `self.<attr>` in the methods of the class around `scope`, each
    with the scope of its method. Empty when not inside a method."""
    function = scope.function_scope
    owner = function.parent if function is not None else None
    if owner is None or owner.kind != "class" or not isinstance(owner.node, cst.ClassDef):
        return []
    return [(node.value, method) for node, method in self_assignments(owner).get(attr, ()) if node.value is not None]


# --- identity -------------------------------------------------------------------------

def text(ctx: "FileContext", node: cst.CSTNode) -> str:
    """The node's source on one line, whitespace collapsed."""
    return " ".join(ctx.module.code_for_node(node).split())


def stable(expr: cst.CSTNode, scope: Scope) -> bool:
    """Whether every name `expr` reads stands for one object: bound once in its scope
    (or only by the same import), a parameter, or a builtin."""
    for node in walk(expr):
        if type(node) is not cst.Name:
            continue
        found = scope.find(node.value)
        if found is None:
            continue
        bindings = found[1]
        if len(bindings) <= 1:
            continue
        if len({b.qualified for b in bindings if b.kind == "import"}) == 1 and all(b.kind == "import" for b in bindings):
            continue
        return False
    return True


def value_key(ctx: "FileContext", expr: cst.BaseExpression, scope: Scope) -> Optional[Tuple[str, str]]:
    """What an argument stands for, to compare two subscriptions: its constant value,
    else its text when the names in it cannot change; None when it may."""
    value = evaluate(expr, scope)
    if value is not UNKNOWN and value is not WORK_SIZE:
        return ("=", repr(value))
    if stable(expr, scope):
        return ("~", text(ctx, expr))
    return None


def is_shared_factory_call(expr: cst.BaseExpression, scope: Scope) -> bool:
    """`logging.getLogger("x")`, `blinker.signal("x")`: the same object for the same
    arguments, not a new one."""
    if type(expr) is not cst.Call:
        return False
    name = qualified_name(expr.func, scope)
    if name in table.SHARED_FACTORIES:
        return True
    return type(expr.func) is cst.Attribute and expr.func.attr.value in table.SHARED_FACTORIES


def is_fresh(expr: Optional[cst.CSTNode], scope: Scope) -> bool:
    """A new object each time it is evaluated: a def, a lambda, or a call that is not a
    shared factory."""
    if isinstance(expr, _DEFS) or type(expr) is cst.Lambda:
        return True
    if type(expr) is cst.Await:
        return True
    return type(expr) is cst.Call and not is_shared_factory_call(expr, scope)


def receiver_key(ctx: "FileContext", sub: Subscription) -> Optional[Tuple[str, str]]:
    receiver = sub.receiver
    if receiver is None:
        return ("registry", sub.spec.callable)
    if is_fresh(receiver, sub.scope):
        return None  # a new object each time: never the same receiver
    if not stable(receiver, sub.scope):
        return None
    return ("object", text(ctx, receiver))


def is_argument(call: Optional[cst.Call], arg_at: Optional[ArgAt], arg: cst.Arg) -> bool:
    return call is not None and arg_at is not None and argument(call, *arg_at) is arg


def arguments_key(ctx: "FileContext", sub: Subscription) -> Optional[Tuple]:
    """The call's arguments (not the handler, not the receiver argument) as values."""
    call = sub.call
    if call is None:
        return ()
    out = []
    for position, arg in enumerate(call.args):
        if is_argument(call, sub.spec.handler, arg) or is_argument(call, sub.spec.receiver_arg, arg):
            continue
        key = value_key(ctx, arg.value, sub.scope)
        if key is None:
            return None
        out.append((arg.keyword.value if arg.keyword else position, arg.star, key))
    return tuple(sorted(out, key=repr))


def handler_key(ctx: "FileContext", sub: Subscription) -> Optional[Tuple[str, str]]:
    handler = sub.handler
    if isinstance(handler, _DEFS):
        return ("def", handler.name.value)
    if handler is None:
        # none given: complete as it is when its result is dropped; else one may follow
        return None if sub.result_used else ("none", "")
    return value_key(ctx, handler, sub.scope)


# --- does doing it again register again? --------------------------------------------

def held_weakly(sub: Subscription) -> bool:
    """A signal connected weakly (the default): a handler made fresh for the call is
    dropped as soon as nothing else holds it, so it does not pile up. A `dispatch_uid`
    de-duplicates by its value."""
    spec, call = sub.spec, sub.call
    if spec.uid is not None and call is not None and argument(call, spec.uid, None) is not None:
        return True
    if spec.weak is None:
        return False
    arg = argument(call, *spec.weak) if call is not None else None
    if arg is None:
        # blinker's connect_via is strong unless told otherwise: its spec's default
        return not spec.callable.endswith(".connect_via")
    return not (type(arg.value) is cst.Name and arg.value.value == "False")


def registers_again(sub: Subscription, fresh_handler: bool) -> bool:
    """Whether running the subscription again adds another registration, given whether
    its handler is a new object each time."""
    repeat = sub.spec.repeat
    if repeat == REPLACES:
        return False
    if repeat == BY_HANDLER:
        return fresh_handler and not held_weakly(sub)
    return True


def undo_calls(ctx: "FileContext", sub: Subscription, region: cst.CSTNode) -> bool:
    """Whether `region` undoes or inspects the subscription's registrations: calls one of
    its receiver's `undo` methods (`unsubscribe`, `removeHandler`, `atexit.unregister`)
    or reads one of its `undo` attributes (`logger.handlers`)."""
    undo = sub.spec.undo
    if not undo:
        return False
    if sub.receiver is not None:
        owner = text(ctx, sub.receiver)
    elif sub.call is not None and type(sub.call.func) is cst.Attribute:
        owner = text(ctx, sub.call.func.value)  # `atexit.register` -> `atexit.unregister`
    else:
        owner = None
    for node in walk(region):
        if type(node) is cst.Attribute and node.attr.value in undo:
            if owner is None or text(ctx, node.value) == owner:
                return True
        elif type(node) is cst.Call and type(node.func) is cst.Name and node.func.value in undo:
            return True
    return False


def describe(ctx: "FileContext", sub: Subscription, limit: int = 70) -> str:
    """How messages show the subscription: `broker.subscriber("orders")`."""
    shown = text(ctx, sub.node)
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return shown


def what_it_adds(sub: Subscription) -> str:
    """A short noun phrase for what one more registration is."""
    method = method_of(sub.spec)
    if method == "subscriber":
        return "another subscriber"
    if method in ("addHandler",):
        return "another log handler (every record is written once more)"
    if sub.spec.callable == "atexit.register":
        return "another exit callback (it runs once more at exit)"
    if method.endswith(".append"):
        return "another callback (it runs once more)"
    if method in ("consume", "basic_consume"):
        return "another consumer"
    return "another listener"
