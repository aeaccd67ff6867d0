"""LL305: a new handler object subscribed on a long-lived receiver by code that runs
more than once (`__init__`, a function called in a loop or from several places, an app
factory), or made at module level and again in a function of the module."""
from __future__ import annotations

import ast
from typing import Dict, List, Optional, Tuple

import libcst as cst

from leaklint.analysis import sieve_ll3 as ll3
from leaklint.analysis import subscribing as subs
from leaklint.analysis.scopes import Scope, dotted_name, qualified_name
from leaklint.analysis.walk import iter_children, walk
from leaklint.diagnostics import Applicability, Finding, Fix
from leaklint.pyast import walk as walk_ast
from leaklint.rules.subscription_rule import SubscriptionRule
from leaklint.sieve import DEFINITIONS, Need, arguments

# Decorators that make a function run its body once per distinct argument, or once.
_ONCE_DECORATORS = frozenset({"cache", "lru_cache", "cached", "once", "run_once", "call_once", "memoize",
                              "singleton", "cached_property"})
# A module-level function so named builds something (`create_app`, `make_server`,
# `app_factory`); it counts as run more than once only when it also returns a new object.
_FACTORY_PREFIXES = ("create_", "make_", "build_", "new_")
_FACTORY_WORDS = ("factory",)
_LOOPS = (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)
_FLAG_VALUES = frozenset({"True", "False", "None"})


class SubscriptionInRepeatedCode(SubscriptionRule):
    code = "LL305"
    name = "subscription-in-repeated-code"
    summary = ("A new handler object is subscribed on a long-lived receiver by code that runs more than once, "
               "so each run adds one more.")
    rationale = """\
`logger.addHandler`, `sqlalchemy.event.listen`, a signal's `connect` and the like ignore
a handler object they already hold; a *new* handler object (`logging.StreamHandler()`,
a closure or lambda defined in the function, a bound method of a new instance) is
always another registration. Made on a receiver that outlives the call (a module-level
logger, broker or signal, `logging.getLogger(...)`, a class, `atexit`) by code that runs
more than once, every run adds one more: each log line is printed once more per
instance created, each commit runs one more listener per app built (per test), and
none is ever released.

"Runs more than once" needs evidence in the module: the subscription is in `__init__`
(or in a method `__init__` calls), in a function called inside a loop or from more
than one place, or in an app factory (a module-level function named `create_*`,
`make_*`, `build_*`, `new_*` or `*factory*` that returns a new object); or the same
subscription is also made at module level, so any call of the function duplicates it.
A plain `setup_logging()` called once from `main()` is not reported, nor are calls in
different arms of one `if`. A bound method of the instance `__init__` builds
(`atexit.register(self.close)`) counts only when the class is instantiated in a loop or
from more than one place of the module: one instance per process (an app, a pool, a
cache saved at exit) is the common design, and instantiations in other modules are not
seen yet.

Not reported when an `if` around it tests a parameter of the function (whether it runs
depends on arguments the module may never pass), nor when guarded or undone: an `if`
around it or an early `return` whose test reads a once-flag (a name or attribute the function sets to `True`/`False`/`None`, a
`global`), `hasattr`, a membership or identity test, or what the API keeps
(`logger.handlers`, `hasHandlers()`); a function decorated with `functools.cache`/
`lru_cache`; a module that undoes such subscriptions anywhere (`removeHandler`,
`remove`, `disconnect`, `unsubscribe`, `atexit.unregister`). Signals connected weakly
(blinker's and Django's default) drop a fresh handler by themselves and are not
reported; Kafka's `subscribe` replaces the previous subscription and is never a
repeat here."""
    fix_applicability = Applicability.SUGGESTED
    fix_description = ("Subscribe once at start-up (module level, or the app's start-up hook), "
                       "or guard it (`if not logger.handlers:`, a once-flag).")
    flagged = (
        "import logging\n\nclass Worker:\n    def __init__(self, name):\n        self.name = name\n"
        "        logging.getLogger(\"worker\").addHandler(logging.StreamHandler())\n",
        "from flask import Flask\nfrom sqlalchemy import event\nfrom sqlalchemy.orm import Session\n\n"
        "def create_app():\n    app = Flask(__name__)\n\n    def on_commit(session):\n        app.logger.info(\"commit\")\n\n"
        "    event.listen(Session, \"after_commit\", on_commit)\n    return app\n",
        "import atexit\n\nclass Pool:\n    def close(self):\n        ...\n\n"
        "def connect(url):\n    pool = Pool()\n    atexit.register(lambda: pool.close())\n    return pool\n\n"
        "primary = connect(\"db1\")\nreplica = connect(\"db2\")\n",
        "import logging\n\nlog = logging.getLogger(\"app\")\nlog.addHandler(logging.StreamHandler())\n\n"
        "def configure(level):\n    log.setLevel(level)\n    log.addHandler(logging.StreamHandler())\n",
    )
    clean = (
        "import logging\n\nclass Worker:\n    def __init__(self, name):\n        log = logging.getLogger(\"worker\")\n"
        "        if not log.handlers:\n            log.addHandler(logging.StreamHandler())\n",
        "import logging\n\ndef setup_logging():\n    logging.getLogger().addHandler(logging.StreamHandler())\n\n"
        "def main():\n    setup_logging()\n",
        "import functools\nimport logging\n\n@functools.cache\ndef get_logger(name):\n"
        "    log = logging.getLogger(name)\n    log.addHandler(logging.StreamHandler())\n    return log\n\n"
        "a = get_logger(\"a\")\nb = get_logger(\"b\")\n",
        "import logging\n\nconsole = logging.StreamHandler()\n\nclass Worker:\n    def __init__(self):\n"
        "        logging.getLogger(\"worker\").addHandler(console)  # the same object: ignored\n",
    )

    @classmethod
    def candidates(cls, index):
        # The site's unit, and what the rule reads elsewhere: `__init__`, the methods that
        # set the receiver's `self` attribute, the calls of the function and of its class
        # (how often they run), the undo calls anywhere and the undo attributes read in
        # its class. Module-level statements (the twin) are always kept.
        sites = ll3.sites(index)
        module_names = {name for site in sites if site.frame is index.tree for name in site.names}
        for site in sites:
            if isinstance(site.frame, (ast.FunctionDef, ast.AsyncFunctionDef)) and _may_be_fresh(index, site) and (
                    not module_names.isdisjoint(site.names) or _may_repeat(index, site.frame)):
                yield _need(index, site)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._calls: Optional[Dict[str, List[Tuple[cst.CSTNode, bool, Optional[cst.ClassDef], tuple]]]] = None
        self._module_keys: List[tuple] = []
        self._pending: List[Tuple[tuple, Finding]] = []

    # --- the walk -----------------------------------------------------------------

    def check(self, sub: subs.Subscription) -> None:
        frame = self.ctx.stack[sub.frame]
        if type(frame) is cst.Module:
            if self._fresh(sub, None):
                key = self._identity(sub)
                if key is not None:
                    self._module_keys.append(key)
            return
        if type(frame) is not cst.FunctionDef:
            return
        if not self._fresh(sub, frame) or not subs.registers_again(sub, True):
            return
        if not self._long_lived(sub):
            return
        if self._once(sub, frame) or self._undone(sub, frame) or self._chosen_by_caller(sub, frame):
            return
        why = self._repeats(sub, frame)
        if why is not None:
            self.report(sub.node, self._message(sub, why), Fix(Applicability.SUGGESTED, self.fix_description))
            return
        key = self._identity(sub)
        if key is not None:
            before = len(self.ctx.findings)
            self.report(sub.node, self._message(sub, "the same subscription is also made at module level"),
                        Fix(Applicability.SUGGESTED, self.fix_description))
            self._pending.append((key, self.ctx.findings.pop(before)))

    def leave_Module(self, node: cst.Module) -> None:
        for key, finding in self._pending:
            if key in self._module_keys:
                self.ctx.findings.append(finding)

    # --- a new handler object each run ---------------------------------------------

    def _fresh(self, sub: subs.Subscription, frame: Optional[cst.FunctionDef]) -> bool:
        handler = sub.handler
        if isinstance(handler, cst.FunctionDef):
            return frame is not None and handler is not frame  # a def run by the function: a closure
        return self._fresh_value(handler, sub.scope, frame, 0)

    def _fresh_value(self, expr: Optional[cst.CSTNode], scope: Scope, frame: Optional[cst.FunctionDef],
                     depth: int) -> bool:
        kind = type(expr)
        if kind is cst.Lambda:
            return True
        if kind is cst.Call:
            return self._constructs(expr, scope)
        if kind is cst.Attribute:
            owner = expr.value
            if type(owner) is cst.Call:
                return self._constructs(owner, scope)  # `Handler().on_event`
            if type(owner) is cst.Name and owner.value == "self":
                # a bound method of the instance `__init__` is building: a new object per
                # instance, but one instance per process is the common design (an app, a
                # pool, a cache saved at exit), so only with instances made repeatedly in
                # this module
                return frame is not None and frame.name.value == "__init__" and self._made_repeatedly(scope)
            if type(owner) is cst.Name and depth == 0:
                return self._fresh_name(owner, scope, frame, constructed_only=True)
            return False
        if kind is cst.Name and depth == 0 and frame is not None:
            return self._fresh_name(expr, scope, frame, constructed_only=False)
        return False

    def _fresh_name(self, name: cst.Name, scope: Scope, frame: Optional[cst.FunctionDef],
                    constructed_only: bool) -> bool:
        """A local of the function bound only to new objects: nested defs, lambdas,
        instances of classes."""
        if frame is None:
            return False
        found = scope.find(name.value)
        if found is None or found[0].node is not frame:
            return False
        for binding in found[1]:
            if binding.kind == "def" and not constructed_only:
                continue
            if binding.kind in ("assign", "annassign") and binding.value is not None:
                value = binding.value
                if constructed_only:
                    if type(value) is cst.Call and self._constructs(value, found[0]):
                        continue
                    return False
                if self._fresh_value(value, found[0], frame, 1):
                    continue
            return False
        return True

    def _made_repeatedly(self, scope: Scope) -> bool:
        """The class whose method `scope` is, instantiated (`Name(...)`) in a loop or from
        more than one place of the module."""
        function = scope.function_scope
        owner = function.parent if function is not None else None
        if owner is None or owner.kind != "class" or not isinstance(owner.node, cst.ClassDef):
            return False
        sites = [site for site in self._call_sites(owner.node.name.value) if site[2] is None]
        return any(site[1] for site in sites) or _not_exclusive([site[3] for site in sites]) > 1

    @staticmethod
    def _constructs(call: cst.Call, scope: Scope) -> bool:
        """`logging.StreamHandler(...)`, `Handler()`, `functools.partial(...)`: a new object."""
        if subs.is_shared_factory_call(call, scope):
            return False
        qualified = qualified_name(call.func, scope)
        if qualified == "functools.partial":
            return True
        name = qualified or dotted_name(call.func)
        if name is None:
            return False
        last = name.rsplit(".", 1)[-1]
        return last[:1].isupper() and not last.isupper()

    # --- a receiver that outlives the call -------------------------------------------

    def _long_lived(self, sub: subs.Subscription) -> bool:
        receiver = sub.receiver
        if receiver is None:
            return True  # a process-wide registry (`atexit`)
        scope = sub.scope
        root = receiver
        first_attr: Optional[str] = None
        while True:
            if type(root) is cst.Attribute:
                first_attr = root.attr.value
                root = root.value
            elif type(root) is cst.Call:
                return subs.is_shared_factory_call(root, scope)
            else:
                break
        if type(root) is not cst.Name:
            return False
        if root.value == "self":
            if first_attr is None:
                return False  # the instance itself
            values = subs.self_attribute_values(first_attr, scope)
            return bool(values) and all(self._shared(value, where) for value, where in values)
        found = scope.find(root.value)
        if found is None:
            return True  # a builtin or a star import: module level
        owner, bindings = found
        if owner.kind in ("module", "class"):
            return True
        return all(b.kind in ("assign", "annassign") and b.value is not None and self._shared(b.value, owner)
                   for b in bindings)

    @staticmethod
    def _shared(value: cst.BaseExpression, scope: Scope) -> bool:
        """`logging.getLogger(...)`, or a module-level object."""
        if subs.is_shared_factory_call(value, scope):
            return True
        root = value
        while type(root) is cst.Attribute:
            root = root.value
        if type(root) is not cst.Name or root is value and type(value) is not cst.Name:
            return False
        found = scope.find(root.value)
        return found is None or found[0].kind == "module"

    # --- guarded or undone -----------------------------------------------------------

    def _once(self, sub: subs.Subscription, frame: cst.FunctionDef) -> bool:
        """Cached, or behind a once-flag or a test of what the receiver holds."""
        stack = self.ctx.stack
        for node in stack[: len(stack) - 1]:
            if type(node) is cst.FunctionDef and any(
                    (_decorator_name(d) or "") in _ONCE_DECORATORS for d in node.decorators):
                return True
        flags = _flags(frame)
        for index in range(sub.frame + 1, len(stack) - 1):
            node = stack[index]
            if type(node) is cst.If and _guard_test(node.test, flags):
                return True
            if type(node) in (cst.IfExp, cst.BooleanOperation):
                return True
        for node in walk(frame.body, into_scopes=False):
            if type(node) is cst.If and _guard_test(node.test, flags) and any(
                    type(n) in (cst.Return, cst.Raise) for n in walk(node.body, into_scopes=False)):
                return True
        return False

    def _chosen_by_caller(self, sub: subs.Subscription, frame: cst.FunctionDef) -> bool:
        """Under an `if` whose test reads a parameter (`if not daemon:`, `if verbose:`):
        whether it runs depends on each call's arguments, which this module may never
        pass (prefect's non-daemon threads)."""
        params = frame.params
        names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
        names.discard("self")
        names.discard("cls")
        if not names:
            return False
        stack = self.ctx.stack
        for index in range(sub.frame + 1, len(stack) - 1):
            node = stack[index]
            if type(node) is cst.If and any(type(n) is cst.Name and n.value in names for n in walk(node.test)):
                return True
        return False

    def _undone(self, sub: subs.Subscription, frame: cst.FunctionDef) -> bool:
        """An undo call (`removeHandler`, `event.remove`, `disconnect`) on the same
        receiver anywhere in the module, or any undo in the function or its class."""
        undo = sub.spec.undo
        if not undo:
            return False
        owner = self._class_of(sub)
        receiver = subs.text(self.ctx, sub.receiver) if sub.receiver is not None else None
        for region in (frame, owner):
            if region is not None and subs.undo_calls(self.ctx, sub, region):
                return True
        for node in walk(self.ctx.module):
            if type(node) is not cst.Call:
                continue
            func = node.func
            if type(func) is cst.Name and func.value in undo:
                return True
            if type(func) is cst.Attribute and func.attr.value in undo:
                if receiver is None or subs.text(self.ctx, func.value) == receiver or (
                        node.args and subs.text(self.ctx, node.args[0].value) == receiver):
                    return True
        return False

    # --- runs more than once -------------------------------------------------------

    def _repeats(self, sub: subs.Subscription, frame: cst.FunctionDef) -> Optional[str]:
        name = frame.name.value
        owner = self._class_of(sub)
        if owner is not None:
            if name == "__init__":
                return f"it is in `{owner.name.value}.__init__`: every new instance adds one"
            init = _method(owner, "__init__")
            if init is not None and any(c for c in self._call_sites(name) if c[2] is owner and c[0] is init):
                return f"`{owner.name.value}.__init__` calls `{name}`: every new instance adds one"
        sites = [site for site in self._call_sites(name)
                 if site[0] is not frame and (site[2] is owner if owner is not None else site[2] is None)]
        if any(site[1] for site in sites):
            return f"`{name}` is called in a loop"
        together = _not_exclusive([site[3] for site in sites])
        if together > 1:
            return f"`{name}` is called from {together} places in this module"
        if owner is None and sub.scope.parent is not None and sub.scope.function_scope is not None:
            parent = sub.scope.function_scope.parent
            if parent is not None and parent.kind == "module" and _factory_name(name) and self._returns_new(frame, sub.scope):
                return f"`{name}` is a factory: each object it builds (each app, each test) adds one"
        return None

    def _class_of(self, sub: subs.Subscription) -> Optional[cst.ClassDef]:
        function = sub.scope.function_scope
        parent = function.parent if function is not None else None
        if parent is not None and parent.kind == "class" and isinstance(parent.node, cst.ClassDef):
            return parent.node
        return None

    def _call_sites(self, name: str) -> List[Tuple[cst.CSTNode, bool, Optional[cst.ClassDef], tuple]]:
        """Calls of `name(...)` (owner None) and `self.name(...)`/`cls.name(...)` (owner:
        the class they are in), each with the function it is in, whether a loop around
        it repeats it, and the `if` arms it sits in (id of the `if`, arm)."""
        if self._calls is None:
            calls: Dict[str, List[Tuple[cst.CSTNode, bool, Optional[cst.ClassDef], tuple]]] = {}
            todo: List[Tuple[cst.CSTNode, cst.CSTNode, bool, Optional[cst.ClassDef], tuple]] = [
                (self.ctx.module, self.ctx.module, False, None, ())]
            while todo:
                node, function, in_loop, cls, arms = todo.pop()
                kind = type(node)
                if kind is cst.Call:
                    func = node.func
                    if type(func) is cst.Name:
                        calls.setdefault(func.value, []).append((function, in_loop, None, arms))
                    elif type(func) is cst.Attribute and type(func.value) is cst.Name and func.value.value in (
                            "self", "cls"):
                        calls.setdefault(func.attr.value, []).append((function, in_loop, cls, arms))
                for child in iter_children(node):
                    if kind is cst.FunctionDef and child is node.body:
                        todo.append((child, node, False, cls, ()))
                    elif kind is cst.ClassDef and child is node.body:
                        todo.append((child, function, False, node, ()))
                    elif kind in (cst.For, cst.While) and child is node.body:
                        todo.append((child, function, True, cls, arms))
                    elif kind in _LOOPS[2:] and child is not getattr(node, "for_in", None):
                        todo.append((child, function, True, cls, arms))
                    elif kind is cst.If and child is node.body:
                        todo.append((child, function, in_loop, cls, arms + ((id(node), 0),)))
                    elif kind is cst.If and child is node.orelse:
                        todo.append((child, function, in_loop, cls, arms + ((id(node), 1),)))
                    else:
                        todo.append((child, function, in_loop, cls, arms))
            self._calls = calls
        return self._calls.get(name, [])

    def _returns_new(self, frame: cst.FunctionDef, scope: Scope) -> bool:
        for node in walk(frame.body, into_scopes=False):
            if type(node) is not cst.Return or node.value is None:
                continue
            value = node.value
            if type(value) is cst.Call and self._constructs(value, scope):
                return True
            if type(value) is cst.Name:
                bindings = scope.bindings().get(value.value, ())
                if bindings and all(b.kind in ("assign", "annassign") and type(b.value) is cst.Call
                                    and not subs.is_shared_factory_call(b.value, scope) for b in bindings):
                    return True
        return False

    # --- identity for the module-level twin -------------------------------------------

    def _identity(self, sub: subs.Subscription) -> Optional[tuple]:
        receiver = subs.receiver_key(self.ctx, sub)
        arguments = subs.arguments_key(self.ctx, sub)
        if receiver is None or arguments is None:
            return None
        handler = sub.handler
        if type(handler) is cst.Call:
            shown = dotted_name(handler.func)
            if shown is None:
                return None
            what: tuple = ("new", shown)
        elif type(handler) is cst.Lambda:
            what = ("lambda", subs.text(self.ctx, handler))
        else:
            return None
        return (sub.spec.callable, receiver, arguments, what)

    def _message(self, sub: subs.Subscription, why: str) -> str:
        return (
            f"`{subs.describe(self.ctx, sub)}` subscribes a new handler object on a receiver that outlives the call, "
            f"in code that runs more than once ({why}): each run adds {subs.what_it_adds(sub)}, and none is "
            "released — subscribe once at start-up, or guard it"
        )


def _may_be_fresh(index, site) -> bool:
    """CPython's-tree over-approximation of `_fresh`: a decorator (on a def the function
    runs), or a call with an argument that may be a new object each run (a lambda, a
    call, an attribute, a name the function binds)."""
    specs = [spec for spec in ll3.specs_named(index, site.names) if spec.repeat != subs.REPLACES]
    if not specs:
        return False  # `consumer.subscribe(...)` replaces the last subscription: never a repeat
    node = site.node
    if type(node) is not ast.Call:
        return True
    parent = index.parent(node)
    if isinstance(parent, DEFINITIONS) and node in parent.decorator_list:  # type: ignore[attr-defined]
        return True  # `@event.listens_for(...)`: the handler is the def below
    func = node.func  # type: ignore[attr-defined]
    if site.names <= {"append"} and not (type(func) is ast.Attribute and type(func.value) is ast.Attribute):
        return False  # `app.on_startup.append(...)`: the only `append` a table knows
    stored = ll3._stored(index, site.frame)
    if all(spec.handler is not None for spec in specs):  # only the handler is judged fresh
        args = [arg for spec in specs for arg in arguments(node, *spec.handler, index)]
    else:
        args = [*node.args, *(kw.value for kw in node.keywords)]  # type: ignore[attr-defined]
    for arg in args:
        if type(arg) is ast.Starred:
            arg = arg.value  # type: ignore[attr-defined]
        kind = type(arg)
        if kind in (ast.Lambda, ast.Call, ast.Attribute):
            return True
        if kind is ast.Name and (arg.id in stored or arg.id in _local_defs(index, site.frame)):  # type: ignore[attr-defined]
            return True
    # `x.subscriber("ch")(handler)`: the handler is the outer call's argument
    return type(parent) is ast.Call and parent.func is node  # type: ignore[attr-defined]


def _need(index, site) -> Need:
    """What judging `site` reads: its unit and the methods that set what its receiver
    holds (`self._on_cleanup`); its class's `__init__`; the calls `_repeats`,
    `_made_repeatedly` and `_undone` count (of the functions and classes around it, by
    last name, and of its specs' undo methods, anywhere); the undo attributes read in
    its class (`self.log.handlers`)."""
    base = index.need(site.node, site.func)
    undo = ll3.undo_words(index, site.names)
    names = set()
    also = list(base.also)
    for up in index.ancestors(site.node):
        if isinstance(up, DEFINITIONS):
            names.add(up.name)  # type: ignore[attr-defined]
        if type(up) is ast.ClassDef and undo:
            also.extend(n for n in walk_ast(up) if type(n) is ast.Attribute and n.attr in undo)  # type: ignore[attr-defined]
    # `_call_sites`: `name(...)`, `self.name(...)`, `cls.name(...)`
    also.extend(call for call in index.calls(frozenset(names)) if any(_site_of_call(call, n) for n in names))
    if undo:  # `_undone`: a bare undo call, or one on (or given) what the site subscribes on
        receivers = _receivers(index, site)
        also.extend(call for call in index.calls(undo)
                    if receivers is None or type(call.func) is ast.Name  # type: ignore[attr-defined]
                    or ast.dump(call.func.value) in receivers  # type: ignore[attr-defined]
                    or call.args and ast.dump(call.args[0]) in receivers)  # type: ignore[attr-defined]
    owner = index.method_class(site.node)
    if owner is not None:  # `_repeats`: its class's `__init__` and what it calls
        also.extend(m for m in owner.body if isinstance(m, DEFINITIONS) and m.name == "__init__")  # type: ignore[attr-defined]
    return Need(site.node, base.scope, base.names, also=tuple(also))


def _receivers(index, site) -> Optional[frozenset]:
    """What `subscribing._match` may take as the site's receiver (its callable's owner,
    that owner's owner, an argument), as dumps; None when it may be none (a module
    function such as `atexit.register`: then any undo call counts)."""
    func = site.func
    root = func
    while type(root) is ast.Attribute:
        root = root.value  # type: ignore[attr-defined]
    if type(func) is not ast.Attribute or type(root) is not ast.Name or root.id in index.imports[0]:  # type: ignore[attr-defined]
        return None
    found = {ast.dump(func.value)}  # type: ignore[attr-defined]
    if type(func.value) is ast.Attribute:  # type: ignore[attr-defined]
        found.add(ast.dump(func.value.value))  # type: ignore[attr-defined]
    node = site.node
    if type(node) is ast.Call:
        found.update(ast.dump(a) for a in node.args)  # type: ignore[attr-defined]
        found.update(ast.dump(k.value) for k in node.keywords)  # type: ignore[attr-defined]
    return frozenset(found)


def _local_defs(index, function: ast.AST) -> frozenset:
    key = ("ll305_local_defs", function)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = frozenset(
            n.name for n in walk_ast(function)  # type: ignore[attr-defined]
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not function)
    return found


def _may_repeat(index, function: ast.AST) -> bool:
    """CPython's-tree over-approximation of `_repeats`: `__init__`, a function named like
    a factory, or one whose name is called twice, or once in a loop or from `__init__`,
    anywhere in the file (and a nested function's enclosing ones, which run it)."""
    name = function.name  # type: ignore[attr-defined]
    if name == "__init__" or _factory_name(name):
        return True
    calls = [call for call in index.calls((name,)) if _site_of_call(call, name)]
    if len(calls) > 1 or any(index.in_loop(call) for call in calls):
        return True
    for call in calls:
        caller = index.function(call)
        if caller is not None and getattr(caller, "name", None) == "__init__":
            return True
    return False


def _site_of_call(call: ast.Call, name: str) -> bool:
    """A call `_call_sites` counts: `name(...)`, `self.name(...)`, `cls.name(...)`."""
    func = call.func
    if type(func) is ast.Name:
        return func.id == name  # type: ignore[attr-defined]
    return (type(func) is ast.Attribute and func.attr == name and type(func.value) is ast.Name  # type: ignore[attr-defined]
            and func.value.id in ("self", "cls"))  # type: ignore[attr-defined]


def _not_exclusive(paths: List[tuple]) -> int:
    """How many of the call sites may all run in one pass: sites in different arms of
    one `if` (`if debug: setup(DEBUG) else: setup(INFO)`) count once."""
    chosen: List[dict] = []
    for path in paths:
        arms = dict(path)
        if all(not any(arm != other.get(node, arm) for node, arm in arms.items()) for other in chosen):
            chosen.append(arms)
    return len(chosen)


def _decorator_name(decorator: cst.Decorator) -> Optional[str]:
    expr = decorator.decorator
    if type(expr) is cst.Call:
        expr = expr.func
    if type(expr) is cst.Name:
        return expr.value
    if type(expr) is cst.Attribute:
        return expr.attr.value
    return None


def _method(cls: cst.ClassDef, name: str) -> Optional[cst.FunctionDef]:
    body = cls.body
    if type(body) is not cst.IndentedBlock:
        return None
    for statement in body.body:
        if type(statement) is cst.FunctionDef and statement.name.value == name:
            return statement
    return None


def _factory_name(name: str) -> bool:
    lower = name.lower().lstrip("_")
    return lower.startswith(_FACTORY_PREFIXES) or any(word in lower for word in _FACTORY_WORDS)


def _flags(frame: cst.FunctionDef) -> frozenset:
    """Names (and attribute names) the function sets to a flag value, or declares
    global/nonlocal: what a once-guard reads."""
    found = set()
    for node in walk(frame.body, into_scopes=False):
        kind = type(node)
        if kind is cst.Global or kind is cst.Nonlocal:
            found.update(item.name.value for item in node.names)
        elif kind is cst.Assign and type(node.value) is cst.Name and node.value.value in _FLAG_VALUES:
            for target in node.targets:
                if type(target.target) is cst.Name:
                    found.add(target.target.value)
                elif type(target.target) is cst.Attribute:
                    found.add(target.target.attr.value)
    return frozenset(found)


def _guard_test(test: cst.BaseExpression, flags: frozenset) -> bool:
    """A test that makes the code under it run once: reads a once-flag, `hasattr`, what
    a logger holds, or asks whether something is already there (`in`, `is`)."""
    for node in walk(test):
        kind = type(node)
        if kind is cst.Name and (node.value in flags or node.value in ("hasattr", "getattr")):
            return True
        if kind is cst.Attribute and (node.attr.value in flags or node.attr.value in ("handlers", "hasHandlers")):
            return True
        if kind is cst.Comparison and any(
                type(c.operator) in (cst.In, cst.NotIn, cst.Is, cst.IsNot) for c in node.comparisons):
            return True
    return False
