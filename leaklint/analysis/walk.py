"""A fast generic walk over libcst nodes.

libcst's own visitor rebuilds every node while it walks (about as slow as parsing);
reading the dataclass fields directly is ~15x faster. Fields that only hold tokens or
whitespace are skipped, and a few node types list their children in source order
(libcst's field order puts a function's decorators after its body).
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Iterator, List, Set, Tuple, Type

import libcst as cst

_SKIP_FIELDS = frozenset(
    {
        "lpar", "rpar", "comma", "leading_lines", "lines_after_decorators", "header",
        "footer", "semicolon", "trailing_whitespace", "default_indent", "default_newline",
        "has_trailing_newline", "encoding", "operator", "dot", "equal", "colon",
        "lbracket", "rbracket", "lbrace", "rbrace", "asynchronous", "first_colon",
        "second_colon", "separator", "trailing_comma", "indent", "star", "relative",
        "leading_whitespace", "newline", "start", "end", "conversion",
        # Names that are not references: keep rules from mistaking them for uses
        "attr", "keyword",
    }
)

# Source order where libcst's field order differs, or where a field must be skipped
_ORDER_OVERRIDES: Dict[str, Tuple[str, ...]] = {
    "FunctionDef": ("decorators", "params", "returns", "body"),
    "ClassDef": ("decorators", "bases", "keywords", "body"),
    "ExceptHandler": ("type", "name", "body"),
    "ExceptStarHandler": ("type", "name", "body"),
    "MatchCase": ("pattern", "guard", "body"),
    "Parameters": ("posonly_params", "params", "star_arg", "kwonly_params", "star_kwarg"),
    "ImportAlias": ("asname",),
    "ImportFrom": ("names",),
    "Import": ("names",),
}

_fields_cache: Dict[Type[cst.CSTNode], Tuple[str, ...]] = {}


def _concrete_subclasses(base: type) -> Set[type]:
    found: Set[type] = set()
    todo = [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


# isinstance() against libcst's ABC-based classes is slow; a set lookup on type() is not.
# Whitespace and comment nodes never hold code, so they are not walked at all.
_WHITESPACE = (cst.BaseParenthesizableWhitespace, cst.EmptyLine, cst.TrailingWhitespace,
               cst.Newline, cst.Comment, cst.Comma, cst.LeftParen, cst.RightParen)
NODE_TYPES = frozenset(t for t in _concrete_subclasses(cst.CSTNode) if not issubclass(t, _WHITESPACE))


def child_fields(tp: Type[cst.CSTNode]) -> Tuple[str, ...]:
    fields = _fields_cache.get(tp)
    if fields is None:
        override = _ORDER_OVERRIDES.get(tp.__name__)
        if override is not None:
            fields = override
        else:
            fields = tuple(
                f.name
                for f in dataclasses.fields(tp)
                if f.name not in _SKIP_FIELDS and not f.name.startswith("whitespace")
            )
        _fields_cache[tp] = fields
    return fields


def children(node: cst.CSTNode) -> List[cst.CSTNode]:
    """Direct children that can hold code, in source order (a list: the walks call this
    for every node, and building a list costs less than running a generator)."""
    node_types = NODE_TYPES
    fields = _fields_cache.get(type(node))
    if fields is None:
        fields = child_fields(type(node))
    found: List[cst.CSTNode] = []
    for name in fields:
        value = getattr(node, name, None)
        kind = type(value)
        if kind in node_types:
            found.append(value)
        elif kind is tuple or kind is list:
            for item in value:
                if type(item) in node_types:
                    found.append(item)
    return found


def iter_children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Direct children that can hold code, in source order."""
    return iter(children(node))


SCOPE_NODES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp})


def walk(node: cst.CSTNode, *, into_scopes: bool = True) -> Iterator[cst.CSTNode]:
    """Pre-order walk of `node` and its descendants. With `into_scopes=False`, the bodies
    of nested functions, classes, lambdas and comprehensions are not entered (their
    nodes are still yielded)."""
    stack = [node]
    pop = stack.pop
    extend = stack.extend
    while stack:
        current = pop()
        yield current
        if not into_scopes and current is not node and type(current) in SCOPE_NODES:
            continue
        found = children(current)
        found.reverse()
        extend(found)
