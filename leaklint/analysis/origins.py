"""Where a value came from: the expression a local or module name, or `self.<attr>`, was
bound to. Rules that report on a creation but see its uses (a queue fed in a loop, a
response read whole) follow a use back to the creation with these."""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

import libcst as cst

from leaklint.analysis.scopes import Scope
from leaklint.analysis.walk import walk

if TYPE_CHECKING:
    from leaklint.context import FileContext


def unwrap_await(expr: Optional[cst.BaseExpression]) -> Optional[cst.BaseExpression]:
    while isinstance(expr, cst.Await):
        expr = expr.expression
    return expr


def bound_value(name: str, scope: Scope) -> Optional[cst.BaseExpression]:
    """The expression `name` stands for when it is bound exactly once, by `name = expr`,
    `name: T = expr`, or `with expr as name` / `async with expr as name`."""
    bindings = scope.lookup(name)
    if not bindings or len(bindings) != 1:
        return None
    binding = bindings[0]
    if binding.kind in ("assign", "annassign"):
        return binding.value
    if binding.kind == "with" and isinstance(binding.node, cst.WithItem):
        target = binding.node.asname.name if binding.node.asname else None
        if isinstance(target, cst.Name):  # not `with f() as (a, b)`
            return binding.node.item
    return None


def enclosing_class(ctx: "FileContext") -> Optional[cst.ClassDef]:
    """The class whose method holds the node being visited."""
    seen_function = False
    for node in reversed(ctx.stack):
        if isinstance(node, cst.FunctionDef):
            seen_function = True
        elif isinstance(node, cst.ClassDef):
            return node if seen_function else None
    return None


def self_attribute(expr: cst.BaseExpression) -> Optional[str]:
    """`x` for `self.x`, else None."""
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
        return expr.attr.value
    return None


class AttributeValues:
    """Every value assigned to `self.<attr>` across a class's methods, computed once per
    class. A class whose attribute is also bound some other way (augmented assignment,
    tuple unpacking, `setattr`) reports None for it: uncertain."""

    def __init__(self) -> None:
        self._cache: Dict[cst.ClassDef, Dict[str, Optional[List[cst.BaseExpression]]]] = {}

    def of(self, cls: cst.ClassDef, attr: str) -> Optional[List[cst.BaseExpression]]:
        table = self._cache.get(cls)
        if table is None:
            table = _attribute_table(cls)
            self._cache[cls] = table
        return table.get(attr)


def _attribute_table(cls: cst.ClassDef) -> Dict[str, Optional[List[cst.BaseExpression]]]:
    table: Dict[str, Optional[List[cst.BaseExpression]]] = {}

    def spoil(target: cst.CSTNode) -> None:
        for node in walk(target):
            attr = self_attribute(node) if isinstance(node, cst.Attribute) else None
            if attr is not None:
                table[attr] = None

    for node in walk(cls.body):
        kind = type(node)
        if kind is cst.Assign:
            for target in node.targets:
                attr = self_attribute(target.target)
                if attr is None:
                    spoil(target.target)
                elif table.get(attr, []) is not None:
                    table.setdefault(attr, []).append(node.value)
        elif kind is cst.AnnAssign:
            attr = self_attribute(node.target)
            if attr is not None and node.value is not None and table.get(attr, []) is not None:
                table.setdefault(attr, []).append(node.value)
        elif kind is cst.AugAssign:
            spoil(node.target)
    return table


def same_reference(a: cst.BaseExpression, b: cst.BaseExpression) -> bool:
    """Whether two expressions name the same variable: `q` and `q`, `self.q` and `self.q`."""
    if isinstance(a, cst.Name) and isinstance(b, cst.Name):
        return a.value == b.value
    if isinstance(a, cst.Attribute) and isinstance(b, cst.Attribute):
        return a.attr.value == b.attr.value and same_reference(a.value, b.value)
    return False


def origin(
    ctx: "FileContext", expr: cst.BaseExpression, attributes: AttributeValues
) -> Tuple[Optional[List[cst.BaseExpression]], Optional[cst.CSTNode]]:
    """The value(s) `expr` (a name or `self.attr`) was bound to, and the region of code
    that can see it (the function, class or module to search for other uses); (None,
    None) when unknown. `attributes` caches the classes' `self.x = ...` assignments."""
    if isinstance(expr, cst.Name):
        found = ctx.scope.find(expr.value)
        if found is None:
            return None, None
        owner, _ = found
        value = bound_value(expr.value, owner)
        if value is None:
            return None, None
        return [value], owner.node
    attr = self_attribute(expr)
    if attr is not None:
        cls = enclosing_class(ctx)
        if cls is None:
            return None, None
        values = attributes.of(cls, attr)
        return (values, cls) if values else (None, None)
    return None, None

