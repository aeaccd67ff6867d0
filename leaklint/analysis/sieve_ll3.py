"""Candidate checks of the LL3 rules (leaklint.sieve): the calls and decorators that may
be subscriptions, the frame that runs each, and how much of the file judging it needs.

A subscription is only found where `subscribing.find_subscription` finds one: the
callable's last name is a table name or an alias, and `_match` resolves it to a spec
through the file's imports, receivers' classes or the spec's method path. Those all read
words of the file: a built-in spec whose words are absent cannot match, so its name is
not looked for (`append` only in a file that says `on_startup`, `register` only with
`atexit`). User-declared specs are always looked for.
"""
from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterator, List, Set, Tuple

from leaklint.knowledge import last_component
from leaklint.knowledge import subscriptions as table
from leaklint.pyast import walk as walk_ast
from leaklint.sieve import CLASS, DEFS, FUNCTIONS, UNIT, Need, terminal

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_BUILTIN = frozenset(table.SUBSCRIPTIONS)
_HANDLER_FUNCTIONS = frozenset(last_component(name) for name in table.HANDLER_DECORATOR_FUNCTIONS)


@dataclass(frozen=True)
class Site:
    node: ast.AST  # the call, or a decorator that is not a call
    func: ast.AST  # its callable expression
    names: FrozenSet[str]  # the table's last names it may stand for
    frame: ast.AST  # the def, class or module whose run makes it (coarser than the rule's frame)


# --- which names can match in this file ---------------------------------------------


def _class_words(cls: str) -> Tuple[str, ...]:
    """Words one of which the file must hold for `receiver_class` to answer `cls`: its
    package, or a factory, method or module prefix that produces it."""
    words = {cls.split(".")[0]}
    words.update(key.split(".")[0] for key, value in table.FACTORY_PRODUCTS.items() if value == cls)
    words.update(key for key, value in table.METHOD_PRODUCTS.items() if value == cls)
    words.update(prefix.split(".")[0] for prefix, value in table.INSTANCE_PREFIXES if value == cls)
    return tuple(sorted(words))


def _conditions(spec) -> Tuple[Tuple[str, ...], ...]:
    """All-of groups of any-of words the file must hold for `spec` to match; () always."""
    if spec not in _BUILTIN:
        return ()  # user-declared: no built-in product table knows its classes
    method = spec.method or last_component(spec.callable)
    groups = []
    if "." in method:  # `on_startup.append`: the receiver's path names `on_startup`
        groups.append((method.split(".")[0],))
    if not spec.any_receiver:
        groups.append(_class_words(spec.callable[: -len(method) - 1]))
    return tuple(groups)


_tables: Dict[int, tuple] = {}  # id(knowledge) -> (knowledge, table): Knowledge is not hashable


def _by_name(knowledge) -> Dict[str, List]:
    """Last name -> the specs with it, each as (conditions, undo words)."""
    hit = _tables.get(id(knowledge))
    if hit is None or hit[0] is not knowledge:
        by_name: Dict[str, List] = {}
        for specs in knowledge.subscriptions.values():
            for spec in specs:
                by_name.setdefault(last_component(spec.callable), []).append((_conditions(spec), frozenset(spec.undo)))
        hit = _tables[id(knowledge)] = (knowledge, by_name)
    return hit[1]


def specs_named(index, names: FrozenSet[str]) -> List:
    """The subscription specs whose callable's last name is one of `names`."""
    by_name = index.memo.get("ll3.specs_by_name")
    if by_name is None:
        by_name = {}
        for specs in index.knowledge.subscriptions.values():
            for spec in specs:
                by_name.setdefault(last_component(spec.callable), []).append(spec)
        index.memo["ll3.specs_by_name"] = by_name
    return [spec for name in names for spec in by_name.get(name, ())]


def live_names(index) -> FrozenSet[str]:
    text = index.text
    present: Dict[str, bool] = {}  # each word searched for once per file, not once per spec
    # a receiver's type may come from an attribute set in another module (leaklint.project)
    typed = index.project.type_words if index.project is not None else frozenset()

    def holds(word: str) -> bool:
        found = present.get(word)
        if found is None:
            found = present[word] = word in text or word in typed
        return found

    # only names the file calls or decorates with (or what those stand for) can be sites
    origins = index.alias_origins
    possible = set(index.called_labels())
    for owner in index.of(*_SCOPES):
        for decorator in owner.decorator_list:  # type: ignore[attr-defined]
            label = terminal(decorator)
            if label is not None:
                possible.add(label)
                possible |= origins.get(label, frozenset())
    live = set()
    by_name = _by_name(index.knowledge)
    for name in possible & by_name.keys():
        if any(all(any(holds(word) for word in group) for group in groups) for groups, _ in by_name[name]):
            live.add(name)
    return frozenset(live)


def undo_words(index, names: FrozenSet[str]) -> FrozenSet[str]:
    words: Set[str] = set()
    by_name = _by_name(index.knowledge)
    for name in names:
        for _, undo in by_name.get(name, ()):
            words |= undo
    return frozenset(words)


# --- the sites ----------------------------------------------------------------------

def sites(index) -> List[Site]:
    """Every call or bare decorator that may be a subscription (cached per file)."""
    hit = index.memo.get("ll3.sites")
    if hit is not None:
        return hit
    live = live_names(index)
    found: List[Site] = []
    if live:
        origins = index.alias_origins

        def meaning(label: str) -> FrozenSet[str]:
            """The table's names a callable so named may be."""
            return live & ({label} | origins.get(label, frozenset()))

        for call in index.calls(live):
            names = meaning(terminal(call.func))  # type: ignore[attr-defined, arg-type]
            if names:
                found.append(Site(call, call.func, names, frame(index, call)))  # type: ignore[attr-defined]
        for owner in index.of(*_SCOPES):
            for decorator in owner.decorator_list:  # type: ignore[attr-defined]
                if type(decorator) is ast.Call:
                    continue  # the call is a site already
                label = terminal(decorator)
                names = meaning(label) if label is not None else frozenset()
                if names:
                    found.append(Site(decorator, decorator, names, frame(index, decorator)))
    index.memo["ll3.sites"] = found
    return found


def frame(index, node: ast.AST) -> ast.AST:
    """The def or class whose body runs `node` (a decorator runs where its def is), else
    the module. The rule's frame may be a lambda or comprehension inside it."""
    child = node
    for up in index.ancestors(node):
        if type(up) in _SCOPES and not any(d is child for d in up.decorator_list):  # type: ignore[attr-defined]
            return up
        child = up
    return index.tree


def anchor(index, node: ast.AST) -> ast.AST:
    """What runs where the subscription runs: a decorator's def, else the node."""
    parent = index.parent(node)
    if type(parent) in _SCOPES and any(d is node for d in parent.decorator_list):  # type: ignore[union-attr]
        return parent  # type: ignore[return-value]
    return node


def scope(index, site: Site) -> str:
    """CLASS when the receiver's class may come from `self.x = ...` elsewhere in the class
    (`receiver_class` follows `self` attributes, and names bound to them in any
    enclosing function, even one outside a nested class); else UNIT."""
    if index.method_class(site.node) is None:
        return UNIT
    held = {"self", "cls"}
    for up in index.ancestors(site.node):
        if isinstance(up, FUNCTIONS):
            held |= _stored(index, up)
    for node in walk_ast(site.func):
        if type(node) is ast.Name and node.id in held:  # type: ignore[attr-defined]
            return CLASS
    return UNIT


def _stored(index, function: ast.AST) -> FrozenSet[str]:
    return index.stored_names(function)


def need(index, site: Site) -> Need:
    """The unit of `site`; when its receiver may come from `self` (see `scope`), the
    methods that assign the `self` attributes it, or the functions around it, read
    (receiver_class follows self_attribute_values), rather than the whole class."""
    if scope(index, site) == UNIT:
        return Need(site.node, UNIT)
    exprs = [site.func]
    for up in index.ancestors(site.node):
        if isinstance(up, FUNCTIONS):
            exprs.append(up)  # a name they bind may hold `self.x`
    return index.need(site.node, *exprs)


# --- what the rules add --------------------------------------------------------------


def repeated(index) -> Iterator[Site]:
    """LL301: sites sharing a last name with another site in the same frame."""
    groups: Dict[ast.AST, List[Site]] = {}
    for site in sites(index):
        groups.setdefault(site.frame, []).append(site)
    for group in groups.values():
        if len(group) < 2:
            continue
        counts = Counter(name for site in group for name in site.names)
        for site in group:
            if any(counts[name] > 1 for name in site.names):
                yield site


def undo_needs(index, names: FrozenSet[str]) -> Iterator[Need]:
    """Every place in the file that may undo a subscription of `names`: `undo_calls`
    walks the whole module when the subscription runs at its top level."""
    words = undo_words(index, names)
    if not words:
        return
    for node in index.of(ast.Attribute):
        if node.attr in words:  # type: ignore[attr-defined]
            yield Need(node)
    for node in index.of(ast.Call):
        func = node.func  # type: ignore[attr-defined]
        if type(func) is ast.Name and func.id in words:
            yield Need(node)
    for node in index.of(ast.Import, ast.ImportFrom):  # libcst sees `import a.close` as an Attribute
        dotted = [alias.name for alias in node.names]  # type: ignore[attr-defined]
        if type(node) is ast.ImportFrom and node.module:  # type: ignore[attr-defined]
            dotted.append(node.module)  # type: ignore[attr-defined]
        if any(not words.isdisjoint(name.split(".")[1:]) for name in dotted):
            yield Need(node)


def is_handler(index, function: ast.AST) -> bool:
    """LL303's `_handler_decorator`, by last names: a route or subscriber decorator."""
    if not isinstance(function, DEFS):
        return False
    for decorator in function.decorator_list:  # type: ignore[attr-defined]
        func = decorator.func if type(decorator) is ast.Call else decorator
        label = terminal(func)
        if label is None:
            continue
        if label in _HANDLER_FUNCTIONS or label in index.aliases:
            return True  # a decorator function, perhaps imported under another name
        if type(func) is not ast.Attribute:
            continue
        owner = (terminal(func.value) or "").lower()  # type: ignore[attr-defined]
        if label in table.HANDLER_DECORATOR_ANY_RECEIVER or (
            label in table.HANDLER_DECORATOR_METHODS and owner.endswith(table.HANDLER_RECEIVER_WORDS)
        ):
            return True
    return False
