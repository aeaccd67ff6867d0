"""LL206: a long-lived collection that tasks, futures or handles are added to and that
nothing ever removes from."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

import libcst as cst

from leaklint.analysis import sieve_ll2
from leaklint.analysis.calls import argument, terminal_name
from leaklint.analysis.walk import walk
from leaklint.analysis.resources import call_triggers, class_bases, is_borrower, related_classes
from leaklint.diagnostics import Applicability, Fix
from leaklint.knowledge import last_component
from leaklint.knowledge import tasks as table
from leaklint.rules.base import Rule
from leaklint.sieve import FUNCTIONS, UNIT, Need, single_target, terminal
from leaklint.textsearch import once_per_text, trie_regex

_ADDERS = frozenset(table.COLLECTION_ADDERS)
_REMOVERS = frozenset(table.COLLECTION_REMOVERS)
_FUTURE_METHODS = frozenset(table.FUTURE_METHODS)
_FUTURE_FACTORIES = frozenset(table.FUTURE_FACTORIES)
_FACTORY_NAMES = frozenset(last_component(n) for n in table.FUTURE_FACTORIES)
_COLLECTIONS = frozenset(table.UNBOUNDED_COLLECTIONS)
_COLLECTION_NAMES = frozenset(last_component(n) for n in table.UNBOUNDED_COLLECTIONS) | {"field"}
# functions that read a collection and keep no reference to it that could remove from
# it: iterating, copying, counting, sorting (`enumerate(tasks)` is a read, not a hand-over)
_READERS = frozenset(table.COLLECTION_READERS) | frozenset(f"builtins.{name}" for name in (
    "enumerate", "reversed", "zip", "iter", "map", "filter", "len", "sorted", "any", "all", "sum",
    "min", "max", "list", "tuple", "set", "frozenset", "dict", "str", "repr", "bool", "print",
    "next", "isinstance", "id", "hash", "format",
))
_READING_PARENTS = (cst.For, cst.CompFor, cst.Comparison, cst.ComparisonTarget, cst.If, cst.While,
                    cst.BooleanOperation, cst.UnaryOperation, cst.Expr, cst.FormattedStringExpression,
                    cst.Await, cst.Assert)
_SETUP_METHODS = ("__init__", "__post_init__", "setUp")
_LITERALS = (cst.Dict, cst.List, cst.Set, cst.DictComp, cst.ListComp, cst.SetComp)
_TRIGGERS = call_triggers(_FUTURE_METHODS | _FACTORY_NAMES)
_TRIGGER_WORDS = re.compile(trie_regex(_TRIGGERS))
_COLLECTION_SPELLING = (r"(?:\{|\[|(?:[\w.]+\.)?(?:set|list|dict|defaultdict|OrderedDict|deque|Counter|field)\()")
# `self._tasks = set()`, `_tasks: set = set()` in a class body
_ATTRIBUTE_COLLECTION = re.compile(
    r"\.(\w+)[ \t]*(?::[^=\n]+)?=[ \t]*" + _COLLECTION_SPELLING
    + r"|^[ \t]+(\w+)[ \t]*(?::[^=\n]+)?=[ \t]*" + _COLLECTION_SPELLING,
    re.MULTILINE,
)


def _active(text: str) -> bool:
    return once_per_text("ll206.active", text, lambda t: _TRIGGER_WORDS.search(t) is not None)


def _attributes(text: str) -> FrozenSet[str]:
    return once_per_text("ll206.attributes", text,
                         lambda t: frozenset(a or b for a, b in _ATTRIBUTE_COLLECTION.findall(t)))


@dataclass
class _Add:
    node: cst.CSTNode  # where to report
    key: Key
    what: Optional[str]  # the task/future/handle producer, None for any other value
    in_function: Optional[str]  # the enclosing function's name, None at module level
    in_coroutine: bool  # the enclosing function is `async def`: it runs per message or request
    cache: bool = False  # guarded by a membership test of its key: a cache, not a registry
    method: str = ""  # `add`, `append`, `setdefault`..., or "" for `c[k] = v`


@dataclass
class _Collection:
    definitions: List[bool] = field(default_factory=list)  # each: an unbounded collection, made once
    kinds: Set[str] = field(default_factory=set)  # "set", "list", "dict", "deque" as defined
    adds: List[_Add] = field(default_factory=list)


# ("global", name) for a module-level collection; ("attr", name) for `self.name`
Key = Tuple[str, str]


class RegistryNeverPruned(Rule):
    code = "LL206"
    name = "registry-never-pruned"
    summary = "Tasks, futures or handles are added to a long-lived collection that nothing removes from."
    rationale = """\
Keeping a reference to every task you start is right (see LL205); keeping it forever
is a leak. A set, list or dict on `self` or at module level that gets a task, a future
or a timer handle on every message or request, and that no code ever removes from,
grows for as long as the process lives, and holds every finished task's result and
exception with it. This is the scheduled-executor incident: wrapped tasks stored in a
map that was never cleaned.

Reported on the add (`.add()`, `.append()`, `.appendleft()`, `.insert()`,
`.setdefault()`, `[key] = value`) when the collection is an attribute of `self` or a
module-level name, was created empty and unbounded (`set()`, `[]`, `{}`, `dict()`,
`defaultdict(...)`, `deque()` with no `maxlen`) in `__init__`, at class level or at module
level, and nothing in the module removes from an attribute or name of that spelling
(`discard`, `remove`, `pop`, `popitem`, `popleft`, `clear`, `del c[k]`, `-=`,
a reassignment outside `__init__`), hands it to a call that may (anything but the
readers: `len`, `list`, `sorted`, `enumerate`, `reversed`, `zip`, `any`, `all`, `sum`,
`min`/`max`, `asyncio.wait`/`gather`...; iterating it is a read too), or returns it. A
removal through another object's reference to the same attribute counts
(`self.pool.waiters.pop(self)` in a class that has no `waiters` of its own), and so does
one through a local alias (`waiting = self.waiters; waiting.pop(k)`). The canonical
clean case is `tasks.add(t); t.add_done_callback(tasks.discard)`.

Not reported: an insert guarded by a membership test of its own key (`if k not in c:
c[k] = ...`, `if c.get(k) is None:`, the `else` of `if k in c:`, after `if k in c:
return c[k]`, in an `except KeyError:` around `c[k]`, a log-once `if k not in seen:
seen.add(k)`), a `c[k] = <plain value>` in a function that also looks `k` up in `c`
(`k in c`, `c.get(k)`, `c[k]`: an expiring cache, `if k in c and c[k] > now: return`
then `c[k] = deadline`, overwrites the entry of a key that comes again; a task or
future stored so is still reported), and a
`setdefault` whose result is used (`return c.setdefault(k, ...)`).
These hold one entry per distinct key: a cache, bounded by the key space, which is
LL404's question (memory per distinct argument), not a registry that grows with every
call. A guard keyed by the new task or future itself (`if t not in tasks: tasks.add(t)`)
bounds nothing, and is still reported. For a module-level collection
filled inside a coroutine (`async def`: it runs per message or request) any value
counts, not only tasks, except under a constant key (overwritten, not grown); such
collections are looked for in modules that start tasks, futures or timers. A plain
function that fills a module-level collection (`register(name, fn)`) is taken to be
bounded by the code that calls it. Weak collections (`weakref.WeakSet`) are never
reported."""
    fix_applicability = Applicability.SUGGESTED
    fix_description = (
        "Fitted to what is stored: a task or a future removes itself when done "
        "(`task.add_done_callback(tasks.discard)` for a set, `.remove` for a list, "
        "`lambda _: pending.pop(key, None)` for a dict); a callback handle is removed when its "
        "callback runs or is cancelled; any other value is removed when its work is done. Or "
        "bound the collection (`deque(maxlen=...)`)."
    )
    flagged = (
        "import asyncio\n\nclass Scheduler:\n    def __init__(self):\n        self._tasks = set()\n\n"
        "    def schedule(self, coro):\n        self._tasks.add(asyncio.create_task(coro))\n",
        "import asyncio\n\nclass Timers:\n    def __init__(self, loop):\n        self.loop = loop\n"
        "        self.handles = {}\n\n    def later(self, key, delay, cb):\n"
        "        self.handles[key] = self.loop.call_later(delay, cb)\n",
        "import asyncio\n\n_seen = []\n\nasync def on_message(msg):\n    _seen.append(msg.id)\n"
        "    await asyncio.get_running_loop().run_in_executor(None, store, msg)\n",
    )
    clean = (
        "import asyncio\n\nclass Scheduler:\n    def __init__(self):\n        self._tasks = set()\n\n"
        "    def schedule(self, coro):\n        task = asyncio.create_task(coro)\n        self._tasks.add(task)\n"
        "        task.add_done_callback(self._tasks.discard)\n",
        "import asyncio\nfrom collections import deque\n\nclass Recent:\n    def __init__(self):\n"
        "        self.done = deque(maxlen=100)\n\n    def track(self, coro):\n"
        "        self.done.append(asyncio.ensure_future(coro))\n",
        "import weakref, asyncio\n\nclass Scheduler:\n    def __init__(self):\n        self._tasks = weakref.WeakSet()\n\n"
        "    def schedule(self, coro):\n        self._tasks.add(asyncio.create_task(coro))\n",
        "_handlers = {}\n\ndef on(name, fn):\n    _handlers[name] = fn\n\ndef off(name):\n    _handlers.pop(name, None)\n",
        "import asyncio\n\nclass Lookups:\n    def __init__(self, loop):\n        self.loop = loop\n"
        "        self._futures = {}\n\n    def future_for(self, key):\n        if key not in self._futures:\n"
        "            self._futures[key] = self.loop.create_future()  # a cache: one per key\n"
        "        return self._futures[key]\n",
    )

    @classmethod
    def triggers(cls, knowledge):
        # Only modules that start tasks, futures or timers: a module-level collection
        # filled in functions is looked at there too, but the spellings of an empty
        # collection would make the whole corpus a candidate for little gain.
        return _TRIGGERS

    @classmethod
    def candidates(cls, index):
        active: Optional[bool] = None  # the rule stays inactive in a file without a producer
        attributes: Optional[FrozenSet[str]] = None
        module_names: Optional[FrozenSet[str]] = None
        producers = _Producers(index)
        judged: Dict[Tuple[str, str, Optional[ast.AST]], bool] = {}
        seen: Dict[Tuple[str, str, Optional[ast.AST]], List[ast.AST]] = {}
        for node, receiver, value in _ast_adds(index):
            function = sieve_ll2.enclosing_def(index, node)
            if function is None:
                continue  # adds at import time or in a lambda are never reported
            if type(receiver) is ast.Attribute and type(receiver.value) is ast.Name:
                if receiver.value.id != sieve_ll2.first_parameter(function):
                    continue
                if not producers.may_produce(value, function):
                    continue  # `self.x` is reported only for tasks, futures and handles
                if active is None:
                    active = _active(index.text)
                if not active:
                    return
                if attributes is None:
                    attributes = _attributes(index.text)
                attr = receiver.attr
                if attr not in attributes:
                    continue
                owner = sieve_ll2.enclosing_class(index, node)
                if owner is None:
                    continue  # a function's first parameter, not a method's `self`
                key = ("attr", attr, owner)
                if key not in judged:
                    found = sieve_ll2.mentions(index)
                    mentions = list(found.attributes.get(attr, ()))
                    mentions.extend(n for n in found.names.get(attr, ()) if _class_level_target(index, n))
                    judged[key] = _attribute_may_grow(index, mentions, owner)
                    seen[key] = mentions
                    if judged[key]:
                        # removals, reassignments and definitions of `.x` anywhere in the module count
                        yield from sieve_ll2.mention_needs(index, mentions, owner)
                if judged[key]:
                    yield Need(node, UNIT)
                else:  # surely dropped: but if another rule keeps this add, show what drops it
                    yield from sieve_ll2.mention_needs(index, seen[key], owner, when=node)
            elif type(receiver) is ast.Name:
                if module_names is None:
                    module_names = _module_collections(index.tree)
                name = receiver.id
                if name not in module_names:
                    continue
                if type(function) is not ast.AsyncFunctionDef and not producers.may_produce(value, function):
                    continue  # a plain def's values count only when tasks, futures or handles
                if active is None:
                    active = _active(index.text)
                if not active:
                    return
                key = ("global", name, None)
                if key not in judged:
                    mentions = sieve_ll2.mentions(index).names.get(name, [])
                    judged[key] = _global_may_grow(index, mentions, name)
                    seen[key] = mentions
                    if judged[key]:
                        # any mention of the name anywhere may remove from it
                        for mention in mentions:
                            yield Need(mention, UNIT)
                if judged[key]:
                    yield Need(node, UNIT)
                else:  # surely removed: but if another rule keeps this add, show the removal
                    for mention in seen[key]:
                        yield Need(mention, UNIT, when=node)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        # by key and, for attributes, the class whose instances hold it
        self._collections: Dict[Tuple[Key, Optional[cst.ClassDef]], _Collection] = {}
        # where something removes from, reassigns or hands over a collection of that
        # name: the class the code is in, None outside classes
        self._shrinks: Dict[Key, Set[Optional[cst.ClassDef]]] = {}
        self._bases: Dict[cst.ClassDef, Tuple[str, ...]] = {}
        self._globals: Set[str] = set()
        # Parsed for another rule, a file without a producer gets nothing from LL206:
        # what it reports must not depend on which other rules are selected.
        self._active = _active(ctx.source)
        # attribute names some `x.name = <collection>` or class-level `name = <collection>`
        # binds: only these are followed by visit_Attribute
        self._attributes = _attributes(ctx.source) if self._active else frozenset()

    def visit_Module(self, node: cst.Module) -> None:
        # module-level names bound to a collection: only these are followed by visit_Name
        if not self._active:
            return
        for statement in node.body:
            if type(statement) is not cst.SimpleStatementLine:
                continue
            for small in statement.body:
                if type(small) is cst.Assign and _looks_like_collection(small.value):
                    for target in small.targets:
                        if type(target.target) is cst.Name:
                            self._globals.add(target.target.value)
                elif type(small) is cst.AnnAssign and type(small.target) is cst.Name:
                    if small.value is not None and _looks_like_collection(small.value):
                        self._globals.add(small.target.value)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self._active:
            self._bases[node] = class_bases(node)

    def visit_Global(self, node: cst.Global) -> None:
        # `global c` in a function: it may be rebound there (a reassignment prunes)
        if not self._active:
            return
        for item in node.names:
            self._shrink(("global", item.name.value))

    def visit_Name(self, node: cst.Name) -> None:
        name = node.value
        if name in self._attributes and self.ctx.scope.kind == "class":
            # `_tasks = set()` in a class body: the instances' shared collection
            parent = self.ctx.parent()
            if type(parent) in (cst.AssignTarget, cst.AnnAssign) and parent.target is node:
                self._reference(node, ("attr", name), owned=True)
            return
        if name not in self._globals:
            return
        found = self.ctx.scope.find(node.value)
        if found is None or found[0].kind != "module":
            return
        self._reference(node, ("global", node.value), owned=True)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value not in self._attributes:
            return
        if type(node.value) is cst.Name:
            self._reference(node, ("attr", node.attr.value), owned=self._is_self(node.value))
        else:
            # `self.owner.conns.pop(self)`, `self._pool()._waiters.remove(w)`: the same
            # attribute reached through another object. A removal there counts as one of
            # `owner`s collection, under the rule that judges `other.conns.pop()`: from
            # outside classes, or from a class that has no such collection of its own.
            self._reference(node, ("attr", node.attr.value), owned=False)

    def leave_Module(self, node: cst.Module) -> None:
        source = self.ctx.source
        owners: Dict[str, Set[cst.ClassDef]] = {}
        for (key, cls), collection in self._collections.items():
            if cls is not None and collection.definitions:
                owners.setdefault(key[1], set()).add(cls)
        for (key, cls), collection in self._collections.items():
            if not collection.adds or not collection.definitions or not all(collection.definitions):
                continue
            shrinks = self._shrinks.get(key, set())
            if cls is None:
                if shrinks:
                    continue
            else:
                if _named_in_string(source, key[1]):
                    continue  # getattr(self, "name"): reached in ways not followed here
                related = related_classes(cls, self._bases)
                if any(w is None or w in related or w not in owners.get(key[1], ()) for w in shrinks):
                    continue
            for add in collection.adds:
                self._check(add, collection.kinds)

    # --- references ----------------------------------------------------------------

    def _collection(self, key: Key) -> _Collection:
        cls = self._class() if key[0] == "attr" else None
        found = self._collections.get((key, cls))
        if found is None:
            found = self._collections[(key, cls)] = _Collection()
        return found

    def _shrink(self, key: Key) -> None:
        self._shrinks.setdefault(key, set()).add(self._class() if key[0] == "attr" else None)

    def _class(self) -> Optional[cst.ClassDef]:
        """The class the walk is in (through methods and nested functions), or None."""
        scope = self.ctx.scope
        while scope is not None and scope.kind != "class":
            scope = scope.parent
        return scope.node if scope is not None else None  # type: ignore[return-value]

    def _reference(self, ref: cst.BaseExpression, key: Key, owned: bool) -> None:
        """Classify one mention of a possible collection by what its parents do with it."""
        ctx = self.ctx
        parent, grand = ctx.parent(), ctx.parent(2)
        kind = type(parent)
        if kind is cst.Attribute and parent.value is ref:
            method = parent.attr.value
            if method in _REMOVERS:
                self._shrink(key)
            elif method in _ADDERS and owned and type(grand) is cst.Call and grand.func is parent:
                self._add_by_call(grand, key, method, ref)
            return
        if kind is cst.Subscript and parent.value is ref:
            if type(grand) is cst.AssignTarget and owned:
                assign = ctx.parent(3)
                if type(assign) is cst.Assign and len(assign.targets) == 1 and not _constant_key(parent):
                    index = parent.slice[0].slice if len(parent.slice) == 1 else None
                    cache = type(index) is cst.Index and (
                        self._guarded(ref, index.value)
                        or self._producer(assign.value) is None and self._read_back(ref, index.value, parent))
                    self._add(assign, key, assign.value, "", cache)
            elif any(type(n) is cst.Del for n in ctx.stack[-5:]):
                self._shrink(key)
            return
        if kind is cst.AssignTarget and parent.target is ref:
            self._define(key, ctx.parent(2).value, owned)  # type: ignore[union-attr]
            return
        if kind is cst.AnnAssign and parent.target is ref:
            self._define(key, parent.value, owned)
            return
        if kind is cst.AugAssign and parent.target is ref:
            if type(parent.operator) in (cst.SubtractAssign, cst.BitAndAssign, cst.BitXorAssign):
                self._shrink(key)
            return
        if kind is cst.Del:
            self._shrink(key)
            return
        if kind is cst.Arg:
            call = grand
            if type(call) is cst.Call and (
                parent.star or is_borrower(call.func, ctx.scope) or ctx.call_name(call) in _READERS
            ):
                return
            self._shrink(key)  # handed over: it may be pruned there
            return
        if kind in _READING_PARENTS:
            return
        if kind is cst.Subscript or kind is cst.SubscriptElement or kind is cst.Index:
            return
        self._shrink(key)  # returned, aliased, stored: uncertain

    def _define(self, key: Key, value: Optional[cst.BaseExpression], owned: bool) -> None:
        collection = self._collection(key)
        scope = self.ctx.scope
        if key[0] == "attr":
            where = scope.node.name.value if scope.kind == "function" else None  # type: ignore[union-attr]
            in_setup = scope.kind == "class" or (owned and where in _SETUP_METHODS)
            if not in_setup:
                self._shrink(key)  # reassigned later: that empties it
                return
        elif scope.kind != "module":
            self._shrink(key)
            return
        collection.definitions.append(value is not None and self._unbounded(value))
        if value is not None:
            kind = self._kind(value)
            if kind is not None:
                collection.kinds.add(kind)

    def _kind(self, value: cst.BaseExpression) -> Optional[str]:
        """What sort of collection `value` makes, for the advice on removing from it."""
        found = _LITERAL_KINDS.get(type(value))
        if found is not None or type(value) is not cst.Call:
            return found
        name = self.ctx.callee(value, _COLLECTION_NAMES)
        if name in ("dataclasses.field", "attr.ib", "attrs.field"):
            factory = argument(value, "default_factory", None) or argument(value, "factory", None)
            name = self.ctx.qualified_name(factory.value) if factory is not None else None
        return _CALL_KINDS.get(name or "")

    def _unbounded(self, value: cst.BaseExpression) -> bool:
        if type(value) in _LITERALS:
            return True
        if type(value) is not cst.Call:
            return False
        name = self.ctx.callee(value, _COLLECTION_NAMES)
        if name in ("dataclasses.field", "attr.ib", "attrs.field"):
            factory = argument(value, "default_factory", None) or argument(value, "factory", None)
            return factory is not None and self.ctx.qualified_name(factory.value) in _COLLECTIONS
        if name not in _COLLECTIONS:
            return False
        if name == "collections.deque":
            bound = argument(value, "maxlen", 1)
            return bound is None or (type(bound.value) is cst.Name and bound.value.value == "None")
        return True

    def _add_by_call(self, call: cst.Call, key: Key, method: str, ref: cst.BaseExpression) -> None:
        if method in ("add", "append", "appendleft"):
            if len(call.args) == 1 and not call.args[0].star:
                value = call.args[0].value
                self._add(call, key, value, method, self._guarded(ref, value))
            return
        if len(call.args) != 2 or any(arg.star or arg.keyword for arg in call.args):
            return
        if method == "setdefault" and _constant(call.args[0].value):
            return
        # `return c.setdefault(k, make())`: get-or-create, a cache keyed like any other
        cache = method == "setdefault" and type(self.ctx.parent(3)) is not cst.Expr
        self._add(call, key, call.args[1].value, method, cache or self._guarded(ref, call.args[0].value))

    def _add(self, node: cst.CSTNode, key: Key, value: cst.BaseExpression, method: str = "",
             cache: bool = False) -> None:
        function = self.ctx.scope.function_scope
        name = coroutine = None
        if function is not None and type(function.node) is cst.FunctionDef:
            name, coroutine = function.node.name.value, function.node.asynchronous is not None
        self._collection(key).adds.append(
            _Add(node, key, self._producer(value), name, bool(coroutine), cache, method)
        )

    # --- caches: an insert guarded by a membership test of its own key -------------

    def _guarded(self, container: cst.BaseExpression, key: cst.BaseExpression) -> bool:
        """Whether the add being visited (of `key` to `container`, the reference on top
        of the stack) runs only when `key` is not in `container` yet: `if k not in c:`,
        `if c.get(k) is None:`, the `else` of `if k in c:`, after `if k in c: return
        c[k]`, or in an `except KeyError:` around `c[k]`. Such a collection holds one
        entry per distinct key: a cache or a log-once set, bounded by the key space
        (LL404's question), not a registry that grows with every call. Unless the key is
        itself a new task, future or handle (`if t not in tasks: tasks.add(t)`)."""
        if self._producer(key) is not None:
            return False  # keyed by a new task or future: every call is a new key
        stack = self.ctx.stack
        for index in range(len(stack) - 2, 0, -1):
            node, child = stack[index], stack[index + 1]
            kind = type(node)
            if kind in _SCOPE_BOUNDARIES:
                return False
            if kind is cst.If:
                if child is node.body and self._absent_if(node.test, True, container, key):
                    return True
                if child is node.orelse and self._absent_if(node.test, False, container, key):
                    return True
            elif kind is cst.ExceptHandler and _catches_key_error(node):
                try_ = stack[index - 1]
                if type(try_) is cst.Try and _subscripts(try_.body, container, key):
                    return True
            elif kind is cst.IndentedBlock or kind is cst.SimpleStatementSuite:
                for statement in node.body:
                    if statement is child:
                        break
                    if (type(statement) is cst.If and statement.orelse is None and _exits(statement.body)
                            and self._absent_if(statement.test, False, container, key)):
                        return True  # `if k in c: return c[k]` before the add
        return False

    def _read_back(self, container: cst.BaseExpression, key: cst.BaseExpression, target: cst.Subscript) -> bool:
        """Whether the function that stores a plain value (no task, future or handle) as
        `container[key] = ...` also looks the same key up in it (`key in container`,
        `container.get(key)`, `container[key]`): it expects keys to come again, and a key
        that comes again overwrites its entry. A cache with an expiry (`if k in c and
        c[k] > now: return`, then `c[k] = deadline`), bounded by the key space like the
        guarded ones. A task stored so is still a registry: the one it replaces may
        still run, unkept."""
        if self._producer(key) is not None:
            return False
        function = next((n for n in reversed(self.ctx.stack) if type(n) is cst.FunctionDef), None)
        if function is None:
            return False
        for node in walk(function.body):
            kind = type(node)
            if kind is cst.Comparison and len(node.comparisons) == 1:
                target_ = node.comparisons[0]
                if (type(target_.operator) in (cst.In, cst.NotIn) and node.left.deep_equals(key)
                        and target_.comparator.deep_equals(container)):
                    return True
            elif kind is cst.Call:
                func = node.func
                if (type(func) is cst.Attribute and func.attr.value == "get" and node.args
                        and func.value.deep_equals(container) and node.args[0].value.deep_equals(key)):
                    return True
            elif kind is cst.Subscript and node is not target and len(node.slice) == 1:
                index = node.slice[0].slice
                if (type(index) is cst.Index and node.value.deep_equals(container)
                        and index.value.deep_equals(key)):
                    return True
        return False

    def _absent_if(self, test: cst.BaseExpression, value: bool, container: cst.BaseExpression,
                   key: cst.BaseExpression) -> bool:
        """Whether `test` being `value` shows that `key` is not in `container`."""
        kind = type(test)
        if kind is cst.UnaryOperation and type(test.operator) is cst.Not:
            return self._absent_if(test.expression, not value, container, key)
        if kind is cst.BooleanOperation:
            both = (type(test.operator) is cst.And) == value  # `a and b` true / `a or b` false
            return both and (self._absent_if(test.left, value, container, key)
                             or self._absent_if(test.right, value, container, key))
        present = self._presence(test, container, key)
        return present is not None and present != value

    def _presence(self, test: cst.BaseExpression, container: cst.BaseExpression,
                  key: cst.BaseExpression) -> Optional[bool]:
        """True when `test` holds only if `key` is in `container` (`k in c`, `c.get(k)`,
        `c.get(k) is not None`, a name bound to `c.get(k)`), False when it holds only if
        it is not (`k not in c`, `c.get(k) is None`); None for any other test."""
        if type(test) is cst.Comparison and len(test.comparisons) == 1:
            target = test.comparisons[0]
            operator = type(target.operator)
            if operator in (cst.In, cst.NotIn):
                if target.comparator.deep_equals(container) and test.left.deep_equals(key):
                    return operator is cst.In
                return None
            if operator in (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual) and _is_none(target.comparator):
                if self._looked_up(test.left, container, key):
                    return operator in (cst.IsNot, cst.NotEqual)
            return None
        return True if self._looked_up(test, container, key) else None

    def _looked_up(self, expr: cst.BaseExpression, container: cst.BaseExpression,
                   key: cst.BaseExpression) -> bool:
        """`c.get(k)`, or a name this function binds to it (`found = c.get(k)`, then
        `found = make()` in the guarded block)."""
        if type(expr) is cst.Name:
            found = self.ctx.scope.find(expr.value)
            if found is None or found[0] is not self.ctx.scope:
                return False
            return any(b.value is not None and self._looked_up(b.value, container, key) for b in found[1])
        return (
            type(expr) is cst.Call
            and type(expr.func) is cst.Attribute
            and expr.func.attr.value == "get"
            and expr.func.value.deep_equals(container)
            and 1 <= len(expr.args) <= 2
            and not expr.args[0].star
            and expr.args[0].value.deep_equals(key)
            and (len(expr.args) == 1 or _is_none(expr.args[1].value))
        )

    def _producer(self, value: cst.BaseExpression) -> Optional[str]:
        """`create_task()` when `value` is a task, future or handle (directly, or a name
        bound once in this function to one)."""
        if type(value) is cst.Name:
            found = self.ctx.scope.find(value.value)
            if found is None or found[0] is not self.ctx.scope or len(found[1]) != 1:
                return None
            value = found[1][0].value  # type: ignore[assignment]
        if type(value) is not cst.Call:
            return None
        func = value.func
        if type(func) is cst.Attribute and func.attr.value in _FUTURE_METHODS:
            return f"{func.attr.value}()"
        name = self.ctx.callee(value, _FACTORY_NAMES)
        if name in _FUTURE_FACTORIES:
            return f"{last_component(name)}()"
        return None

    def _is_self(self, name: cst.Name) -> bool:
        """Whether `name` is the first parameter of the method the walk is in."""
        scope = self.ctx.scope.function_scope
        if scope is None or type(scope.node) is not cst.FunctionDef:
            return False
        if scope.parent is None or scope.parent.kind != "class":
            return False
        params = scope.node.params.posonly_params or scope.node.params.params
        return bool(params) and params[0].name.value == name.value

    # --- reporting -----------------------------------------------------------------

    def _check(self, add: _Add, kinds: Set[str]) -> None:
        if add.cache:
            return  # one entry per distinct key: a cache or a log-once set
        kind, name = add.key
        container = _container_kind(add, kinds)
        if kind == "attr":
            if add.what is None:
                return
            remedy = _remedy(add.what, container, f"self.{name}")
            self.report(
                add.node,
                f"`self.{name}` keeps every {add.what} added here, but nothing in this module ever "
                f"removes from it, so it grows for the life of the object and {_holds(add.what)} — "
                f"{remedy}",
                Fix(Applicability.SUGGESTED, remedy[0].upper() + remedy[1:]),
            )
            return
        if add.in_function is None or not (add.what or add.in_coroutine):
            # filled at import time, or by a plain function such as `register(name, fn)`:
            # bounded by the code that calls it, as far as can be told
            return
        what = f"a {add.what}" if add.what else "an entry"
        remedy = _remedy(add.what, container, name)
        self.report(
            add.node,
            f"module-level `{name}` gets {what} in `{add.in_function}()` on every call, but nothing "
            f"in this module ever removes from it, so it only grows — {remedy}",
            Fix(Applicability.SUGGESTED, remedy[0].upper() + remedy[1:]),
        )


# what `_Add.what` says for a callback handle, which has no add_done_callback
_HANDLE_CALLS = frozenset(f"{method}()" for method in table.HANDLE_METHODS)
_TASK_CALLS = frozenset({"create_task()", "ensure_future()", "Task()"})


def _container_kind(add: _Add, kinds: Set[str]) -> str:
    """"set", "list", "deque" or "dict": as defined, else as the add shows."""
    if len(kinds) == 1:
        return next(iter(kinds))
    if add.method == "add":
        return "set"
    if add.method in ("append", "appendleft", "insert"):
        return "list"
    return "dict"


def _holds(what: str) -> str:
    if what in _HANDLE_CALLS:
        return "holds every callback already run, with its arguments"
    if what in _TASK_CALLS:
        return "holds every finished task with its result or exception"
    return "holds every resolved future with its result or exception"


def _remedy(what: Optional[str], container: str, ref: str) -> str:
    """How to let go of what the collection holds: fitted to what it stores (a task or a
    future can remove itself when done; a callback handle cannot; any other value is
    removed when its work is done) and to the collection's own removal method."""
    if what is None:
        return f"remove each entry from `{ref}` when its work is done, or bound it (`deque(maxlen=...)`)"
    if what in _HANDLE_CALLS:
        return (f"remove the handle when its callback runs (or after cancelling it) from `{ref}`, "
                "or bound the collection")
    item = "task" if what in _TASK_CALLS else "future"
    if container == "set":
        callback = f"{ref}.discard"
    elif container in ("list", "deque"):
        callback = f"{ref}.remove"
    else:
        callback = f"lambda _: {ref}.pop(key, None)"
    return f"remove each {item} when it is done (`{item}.add_done_callback({callback})`), or bound it"


_SCOPE_BOUNDARIES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_LITERAL_KINDS = {cst.Dict: "dict", cst.DictComp: "dict", cst.Set: "set", cst.SetComp: "set",
                  cst.List: "list", cst.ListComp: "list"}
_CALL_KINDS = {"builtins.set": "set", "builtins.list": "list", "builtins.dict": "dict",
               "collections.defaultdict": "dict", "collections.OrderedDict": "dict",
               "collections.Counter": "dict", "collections.deque": "deque"}
_EXITS = (cst.Return, cst.Raise, cst.Continue, cst.Break)


def _is_none(expr: cst.BaseExpression) -> bool:
    return type(expr) is cst.Name and expr.value == "None"


def _exits(body: cst.BaseSuite) -> bool:
    """The block ends by leaving: `return`, `raise`, `continue`, `break`."""
    statements = body.body if type(body) is cst.IndentedBlock else [body]
    if not statements:
        return False
    last = statements[-1]
    if type(last) in (cst.SimpleStatementLine, cst.SimpleStatementSuite):
        return bool(last.body) and type(last.body[-1]) in _EXITS  # type: ignore[union-attr]
    return False


def _catches_key_error(handler: cst.ExceptHandler) -> bool:
    kinds = handler.type
    names = kinds.elements if type(kinds) is cst.Tuple else [kinds]
    for item in names:
        expr = item.value if type(item) is cst.Element else item
        if type(expr) is cst.Name and expr.value in ("KeyError", "LookupError"):
            return True
    return False


def _subscripts(body: cst.BaseSuite, container: cst.BaseExpression, key: cst.BaseExpression) -> bool:
    """`container[key]` read somewhere in the `try` body."""
    for node in walk(body):
        if type(node) is cst.Subscript and len(node.slice) == 1 and node.value.deep_equals(container):
            index = node.slice[0].slice
            if type(index) is cst.Index and index.value.deep_equals(key):
                return True
    return False


def _looks_like_collection(value: cst.BaseExpression) -> bool:
    """A literal, or a call whose name could make a collection (checked later)."""
    if type(value) in _LITERALS:
        return True
    return type(value) is cst.Call and terminal_name(value.func) in _COLLECTION_NAMES


def _constant(expr: cst.BaseExpression) -> bool:
    return type(expr) in (cst.SimpleString, cst.Integer, cst.Float, cst.ConcatenatedString)


def _constant_key(subscript: cst.Subscript) -> bool:
    """`registry["x"] = v` overwrites one entry: it does not grow."""
    slices = subscript.slice
    return len(slices) == 1 and type(slices[0].slice) is cst.Index and _constant(slices[0].slice.value)


def _named_in_string(source: str, name: str) -> bool:
    return f'"{name}"' in source or f"'{name}'" in source


# --- candidates (leaklint.sieve): the adds `_reference` would record, in CPython's tree ---

def _ast_constant(expr: ast.AST) -> bool:
    return type(expr) is ast.Constant and type(expr.value) in (str, bytes, int, float)  # type: ignore[attr-defined]


def _ast_adds(index) -> "Iterator[Tuple[ast.AST, ast.AST, ast.AST]]":
    """(where, collection, value added) for `c.add(v)`-style calls and `c[k] = v`."""
    for call in index.calls(_ADDERS):
        func = call.func
        if type(func) is not ast.Attribute or func.attr not in _ADDERS:
            continue
        args: List[ast.AST] = [*call.args, *call.keywords]
        if any(type(a) is ast.Starred or (type(a) is ast.keyword and a.arg is None) for a in args):
            continue
        if func.attr in ("add", "append", "appendleft"):
            if len(args) == 1:
                yield call, func.value, args[0].value if type(args[0]) is ast.keyword else args[0]
            continue
        if len(call.args) != 2 or call.keywords:
            continue
        if func.attr == "setdefault" and _ast_constant(call.args[0]):
            continue
        yield call, func.value, call.args[1]
    for assign in index.of(ast.Assign):
        if len(assign.targets) != 1 or type(assign.targets[0]) is not ast.Subscript:
            continue
        target = assign.targets[0]
        if not _ast_constant(target.slice):
            yield assign, target.value, assign.value


class _Producers:
    """Which values may be a task, future or handle (`_producer`): such a call, or a name
    bound by `name = <such a call>` in the same function."""

    def __init__(self, index) -> None:
        self.index = index
        self.names = _FUTURE_METHODS | _FACTORY_NAMES | index.aliases
        self._bound: Optional[Dict[ast.AST, Set[str]]] = None

    def may_produce(self, value: ast.AST, function: ast.AST) -> bool:
        if type(value) is ast.Call:
            return terminal(value.func) in self.names  # type: ignore[attr-defined]
        if type(value) is not ast.Name:
            return False
        if self._bound is None:
            self._bound = {}
            for call in self.index.calls(_FUTURE_METHODS | _FACTORY_NAMES):
                target = single_target(self.index.parent(call))
                if type(target) is ast.Name:
                    owner = sieve_ll2.enclosing_def(self.index, call)
                    self._bound.setdefault(owner, set()).add(target.id)  # type: ignore[arg-type]
        return value.id in self._bound.get(function, ())  # type: ignore[attr-defined]


def _module_collections(tree: ast.Module) -> FrozenSet[str]:
    """The names `visit_Module` follows: bound at the top level to a collection look-alike."""
    names: Set[str] = set()
    for statement in tree.body:
        if type(statement) is ast.Assign:
            targets = statement.targets
        elif type(statement) is ast.AnnAssign and statement.value is not None:
            targets = [statement.target]
        else:
            continue
        value = statement.value
        if type(value) in _AST_LITERALS or (type(value) is ast.Call and terminal(value.func) in _COLLECTION_NAMES):
            names.update(t.id for t in targets if type(t) is ast.Name)
    return frozenset(names)


_AST_LITERALS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)


def _class_level_target(index, name: ast.Name) -> bool:
    """`_tasks = set()` in a class body (`visit_Name` in a class scope)."""
    parent = index.parent(name)
    if not ((type(parent) is ast.Assign and name in parent.targets)
            or (type(parent) is ast.AnnAssign and parent.target is name)):
        return False
    return index.function(name) is None and sieve_ll2.enclosing_class(index, name) is not None


def _attribute_may_grow(index, mentions: List[ast.AST], owner: Optional[ast.AST]) -> bool:
    """False when the full run surely drops `owner`'s collection: no definition in it,
    a definition that is surely bounded (`self.x = None`), or a removal in the class or
    outside classes."""
    defined = False
    for mention in mentions:
        parent = index.parent(mention)
        if type(mention) is ast.Name or type(mention.ctx) is ast.Store or (  # type: ignore[attr-defined]
            type(parent) is ast.AnnAssign and parent.target is mention
        ):
            if sieve_ll2.enclosing_class(index, mention) is owner:
                defined = True
                if _bounded_setup(index, mention, parent, owner):
                    return False
            continue
        if type(parent) is ast.Attribute and parent.value is mention and parent.attr in _REMOVERS:
            where = sieve_ll2.enclosing_class(index, mention)
            if where is None or index.method_class(mention) is owner:
                return False
    return defined


def _bounded_setup(index, mention: ast.AST, parent: ast.AST, owner: Optional[ast.AST]) -> bool:
    """`self.x = <neither a literal nor a call>` in `__init__` and the like: `_define`
    records a bounded definition."""
    if type(mention) is not ast.Attribute or type(mention.value) is not ast.Name:  # type: ignore[attr-defined]
        return False  # `self.owner.x = ...`: `_define` takes it for a reassignment
    if type(parent) is ast.Assign:
        if mention not in parent.targets:
            return False
    elif type(parent) is not ast.AnnAssign:
        return False
    value = parent.value
    if value is not None and (type(value) in _AST_LITERALS or type(value) is ast.Call):
        return False
    function = index.function(mention)
    if function is None or type(function) is ast.Lambda or function.name not in _SETUP_METHODS:
        return False
    if sieve_ll2.first_parameter(function) != mention.value.id:  # type: ignore[attr-defined]
        return False
    up = index.parent(function)
    while up is not None and not isinstance(up, (ast.ClassDef, *FUNCTIONS)):
        up = index.parent(up)
    return up is owner


def _global_may_grow(index, mentions, name: str) -> bool:
    """False when the full run surely sees a removal from module-level `name`: a `global`
    statement for it, or `name.pop(...)`-style use where no scope rebinds the name."""
    for node in index.of(ast.Global):
        if name in node.names:  # type: ignore[attr-defined]
            return False
    for mention in mentions:
        parent = index.parent(mention)
        if type(mention.ctx) is not ast.Load or type(parent) is not ast.Attribute or parent.attr not in _REMOVERS:
            continue
        if _resolves_to_module(index, mention, name):
            return False
    return True


_SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _resolves_to_module(index, mention: ast.AST, name: str) -> bool:
    innermost = True
    for up in index.ancestors(mention):
        if not isinstance(up, _SCOPE_NODES):
            continue
        if type(up) is ast.ClassDef and innermost:
            return False  # a class body: `visit_Name` may take it for an attribute
        innermost = False
        if name in sieve_ll2.bound_under(index, up):
            return False
    return True
