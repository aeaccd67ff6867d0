"""Walking CPython's `ast` fast: the sieve, the candidate checks and the project index
read every tree the engine parses, so their walks are a real share of a cold run.

`walk` visits what `ast.walk` visits except the expression contexts (`Load`, `Store`,
`Del`, which hold nothing), depth first, in no promised order; it costs about a third
of `ast.walk`, which builds a generator per node (`iter_child_nodes`)."""
from __future__ import annotations

import ast
from typing import Dict, Iterator, List, Tuple

# Fields that never hold a node (names, flags, contexts), and per node type the fields
# that may: filled in as types are met.
LEAF_FIELDS = frozenset({"ctx", "id", "attr", "name", "arg", "asname", "module", "level", "kind",
                         "type_comment", "is_async", "conversion"})
CHILD_FIELDS: Dict[type, Tuple[str, ...]] = {}


def child_fields(kind: type) -> Tuple[str, ...]:
    """The fields of node type `kind` that may hold nodes."""
    names = CHILD_FIELDS.get(kind)
    if names is None:
        names = CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in LEAF_FIELDS)
    return names


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """`node` and every node under it (contexts aside)."""
    fields = CHILD_FIELDS
    AST = ast.AST
    todo = [node]
    pop, push = todo.pop, todo.append
    while todo:
        node = pop()
        yield node
        kind = type(node)
        names = fields.get(kind)
        if names is None:
            names = child_fields(kind)
        for name in names:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, AST):
                        push(item)
            elif isinstance(value, AST):
                push(value)


def index_tree(tree: ast.AST) -> Tuple[Dict[ast.AST, ast.AST], Dict[type, List[ast.AST]]]:
    """Every node's parent, and the nodes by type, in one walk (as `walk`, hand-inlined:
    a generator per node would cost as much again)."""
    parents: Dict[ast.AST, ast.AST] = {}
    by_type: Dict[type, List[ast.AST]] = {}
    fields = CHILD_FIELDS
    AST = ast.AST
    todo: List[ast.AST] = [tree]
    pop, push = todo.pop, todo.append
    while todo:
        node = pop()
        kind = type(node)
        found = by_type.get(kind)
        if found is None:
            by_type[kind] = [node]
        else:
            found.append(node)
        names = fields.get(kind)
        if names is None:
            names = child_fields(kind)
        for name in names:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, AST):
                        parents[item] = node
                        push(item)
            elif isinstance(value, AST):
                parents[value] = node
                push(value)
    return parents, by_type

