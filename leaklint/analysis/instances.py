"""What an expression holds: the qualified name of the class or factory whose call made it.

`pool` after `pool = ThreadPoolExecutor(4)`, `with ThreadPoolExecutor() as pool`, a
parameter annotated `pool: ThreadPoolExecutor`, or `self.pool` when the class assigns
`self.pool = ThreadPoolExecutor(...)`. Rules use it to recognise a method call on an
instance (`broker.subscriber(...)`, `executor.submit(...)`). Only answered when every
binding agrees; anything else is None ("cannot tell").
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Union

import libcst as cst

from leaklint.analysis.scopes import Binding, Scope, qualified_name
from leaklint.analysis.walk import walk

_MAX_DEPTH = 4


def instance_class(expr: cst.BaseExpression, scope: Scope, _depth: int = 0) -> Optional[str]:
    """Qualified name of the callable whose result `expr` holds, or None."""
    if _depth > _MAX_DEPTH:
        return None
    kind = type(expr)
    if kind is cst.Call:
        return qualified_name(expr.func, scope)
    if kind is cst.Await:  # `x = await factory()`: the factory names what it returns
        return instance_class(expr.expression, scope, _depth + 1)
    if kind is cst.Name:
        found = scope.find(expr.value)
        if found is None:
            return None
        owner, bindings = found
        return _agree(_from_binding(b, owner, _depth) for b in bindings)
    if kind is cst.Attribute and type(expr.value) is cst.Name and expr.value.value == "self":
        return _self_attribute(expr.attr.value, scope, _depth)
    return None


def _agree(names) -> Optional[str]:
    found = None
    for name in names:
        if name is None or (found is not None and name != found):
            return None
        found = name
    return found


def annotation_class(annotation: Optional[cst.BaseExpression], scope: Scope) -> Optional[str]:
    """`X` of an annotation `X`, `Optional[X]` or `X | None`."""
    if annotation is None:
        return None
    if type(annotation) is cst.Subscript and qualified_name(annotation.value, scope) in (
        "typing.Optional", "typing_extensions.Optional",
    ) and len(annotation.slice) == 1:
        element = annotation.slice[0].slice
        return annotation_class(element.value, scope) if type(element) is cst.Index else None
    if type(annotation) is cst.BinaryOperation and type(annotation.operator) is cst.BitOr:
        left, right = annotation.left, annotation.right
        if type(right) is cst.Name and right.value == "None":
            return annotation_class(left, scope)
        if type(left) is cst.Name and left.value == "None":
            return annotation_class(right, scope)
        return None
    if type(annotation) in (cst.Name, cst.Attribute):
        return qualified_name(annotation, scope)
    return None


def _from_binding(binding: Binding, owner: Scope, depth: int) -> Optional[str]:
    node = binding.node
    if binding.kind == "assign" and binding.value is not None:
        return instance_class(binding.value, owner, depth + 1)
    if binding.kind == "annassign" and type(node) is cst.AnnAssign:
        return annotation_class(node.annotation.annotation, owner) or (
            instance_class(node.value, owner, depth + 1) if node.value is not None else None
        )
    if binding.kind == "with" and type(node) is cst.WithItem:
        # `with Factory(...) as x`: executors, task groups and nurseries enter as themselves
        return instance_class(node.item, owner, depth + 1) if type(node.item) is cst.Call else None
    if binding.kind == "param" and type(node) is cst.Param and node.annotation is not None:
        return annotation_class(node.annotation.annotation, owner)
    return None


def _self_attribute(attr: str, scope: Scope, depth: int) -> Optional[str]:
    """`self.<attr>` inside a method: what the class's methods assign to it."""
    function = scope.function_scope
    if function is None or function.parent is None or function.parent.kind != "class":
        return None
    class_scope = function.parent
    found = []
    for node, method_scope in self_assignments(class_scope).get(attr, ()):
        found.extend(_assigned_class(node, attr, method_scope, depth))
    for statement in class_scope.node.body.body:  # type: ignore[attr-defined]
        if type(statement) is cst.SimpleStatementLine:
            for small in statement.body:
                # class-level `attr: Type`
                if type(small) is cst.AnnAssign and type(small.target) is cst.Name and small.target.value == attr:
                    found.append(annotation_class(small.annotation.annotation, class_scope))
    # `self.x = None` in __init__, set for real later, tells nothing either way
    return _agree(name for name in found if name != "")


SelfAssignments = Dict[str, List[Tuple[Union[cst.Assign, cst.AnnAssign], Scope]]]


def self_assignments(class_scope: Scope) -> SelfAssignments:
    """Every `self.x = ...` and `self.x: T = ...` in the methods of a class, by `x`, each
    with its method's scope. Computed once per class (kept in the scope's memo): rules
    ask about `self.x` many times per class."""
    found = class_scope.memo.get("self_assignments")
    if found is None:
        found = class_scope.memo["self_assignments"] = _collect_self_assignments(class_scope)
    return found  # type: ignore[return-value]


def _collect_self_assignments(class_scope: Scope) -> SelfAssignments:
    out: SelfAssignments = {}
    for statement in class_scope.node.body.body:  # type: ignore[attr-defined]
        if type(statement) is not cst.FunctionDef:
            continue
        method_scope: Optional[Scope] = None
        for node in walk(statement.body, into_scopes=False):
            kind = type(node)
            if kind is cst.Assign:
                targets = [t.target for t in node.targets]
            elif kind is cst.AnnAssign:
                targets = [node.target]
            else:
                continue
            for target in targets:
                if type(target) is cst.Attribute and type(target.value) is cst.Name and target.value.value == "self":
                    if method_scope is None:
                        method_scope = Scope(statement, class_scope)
                    entries = out.setdefault(target.attr.value, [])
                    if not entries or entries[-1][0] is not node:  # `self.a = self.a = x`: once
                        entries.append((node, method_scope))
    return out


def _assigned_class(node: cst.CSTNode, attr: str, scope: Scope, depth: int):
    kind = type(node)
    if kind is cst.Assign:
        for target in node.targets:
            if _is_self_attr(target.target, attr):
                value = node.value
                if type(value) is cst.Name and value.value == "None":
                    yield ""
                else:
                    yield instance_class(value, scope, depth + 1) if type(value) in (cst.Call, cst.Await) else None
    elif kind is cst.AnnAssign and _is_self_attr(node.target, attr):
        yield annotation_class(node.annotation.annotation, scope)


def _is_self_attr(target: cst.BaseExpression, attr: str) -> bool:
    return (
        type(target) is cst.Attribute
        and target.attr.value == attr
        and type(target.value) is cst.Name
        and target.value.value == "self"
    )
