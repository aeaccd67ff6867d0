"""LL404: a memoizing cache with no size bound (off by default)."""
from __future__ import annotations

import ast
from typing import Optional, Tuple

import libcst as cst

from leaklint.analysis.calls import argument, terminal_name
from leaklint.analysis.values import describe
from leaklint.diagnostics import Applicability, Edit, Fix
from leaklint.knowledge import last_component
from leaklint.knowledge.buffers import LRU_CACHES, UNBOUNDED_CACHES
from leaklint.rules.base import Rule
from leaklint.analysis import sieve_ll4 as ll4
from leaklint.sieve import Need, arguments, terminal

_SHORT = frozenset(last_component(name) for name in LRU_CACHES | UNBOUNDED_CACHES)


class UnboundedCache(Rule):
    code = "LL404"
    name = "unbounded-cache"
    summary = "`functools.cache` or `lru_cache(maxsize=None)` memoizes every distinct argument forever."
    rationale = """\
`functools.cache` is `lru_cache(maxsize=None)`: it keeps the result for every distinct
argument tuple it has ever seen, and the arguments themselves, for the life of the
process. Fed user input, request parameters, file paths or message keys, it is a
dictionary that only grows; on a method it also keeps every `self` alive. A bounded
`lru_cache(maxsize=N)` costs almost nothing and evicts what is no longer used.

Off by default: many caches are keyed by a small, fixed set of values (enum members,
configuration names), where growth stops by itself; turn it on where inputs are
unbounded (`extend-select = ["LL404"]`). A cached function with no parameters holds one
entry and is never reported, nor is a method of an `Enum` whose only parameter is
`self` (one entry per member, as pylint's method-cache-max-size-none allows);
`lru_cache(0)` disables caching and is not a leak; a `maxsize` at or above
`huge-threshold` counts as unbounded, given as a keyword or through a `**` mapping
(`lru_cache(**{"maxsize": None})`, or a dict bound once to a name)."""
    default = False
    fix_applicability = Applicability.UNSAFE
    fix_description = (
        "Use `lru_cache(maxsize=<default-cache-size>)` (128 unless configured), importing "
        "`lru_cache` when the decorator was imported by name. Unsafe: evicted results are "
        "computed again."
    )
    options = ("default-cache-size", "huge-threshold")
    flagged = (
        "import functools\n\n@functools.cache\ndef lookup(user_id):\n    return db.fetch(user_id)\n",
        "from functools import lru_cache\n\n@lru_cache(maxsize=None)\ndef render(path, lang):\n    ...\n",
        "from functools import cache\n\nclass Client:\n    @cache\n    def profile(self, name):\n        ...\n",
    )
    clean = (
        "from functools import lru_cache\n\n@lru_cache(maxsize=256)\ndef render(path, lang):\n    ...\n",
        "from functools import cache\n\n@cache\ndef settings():  # one entry\n    ...\n",
        "from functools import lru_cache\n\n@lru_cache(0)  # caching disabled\ndef render(path):\n    ...\n",
    )

    @classmethod
    def triggers(cls, knowledge):
        # `lru_cache` is distinctive; `cache` is reached as an attribute (`functools.cache`,
        # `ft.cache`) or imported by name, next to `import`, a comma, a newline or a paren
        return frozenset(last_component(name) for name in LRU_CACHES) | frozenset(
            spelling.format(last_component(name))
            for name in UNBOUNDED_CACHES
            for spelling in (".{}", "import {}", ", {}", "{},", "{}\n", "{})")
        )

    @classmethod
    def candidates(cls, index):
        # names resolve through imports and module constants: the unit is enough
        huge = index.settings.huge_threshold
        unbounded = {last_component(name) for name in UNBOUNDED_CACHES}
        lru = {last_component(name) for name in LRU_CACHES}
        for call in index.calls(_SHORT):
            labels = ll4.stands_for(index, terminal(call.func))
            if not labels.isdisjoint(unbounded):
                yield Need(call)
            elif not labels.isdisjoint(lru):
                if any(
                    ll4.may_be(index, expr, lambda value: value is None or ll4.unbounded_number(value, huge))
                    for expr in arguments(call, "maxsize", 0, index)
                ):
                    yield Need(call)
        for definition in index.of(ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            for decorator in definition.decorator_list:
                if type(decorator) is ast.Call:
                    continue  # judged as a call
                if not ll4.stands_for(index, terminal(decorator)).isdisjoint(unbounded):
                    yield Need(decorator)

    def visit_Decorator(self, node: cst.Decorator) -> None:
        expr = node.decorator
        if isinstance(expr, cst.Call):
            return  # judged by visit_Call
        if self._qualified(expr) in UNBOUNDED_CACHES and _has_parameters(self.ctx.parent()) and not self._enum_member_cache():
            self.report(node, self._message(_function_name(self.ctx.parent())), self._cache_fix(expr))

    def visit_Call(self, node: cst.Call) -> None:
        name = self._qualified(node.func)
        if name is None:
            return
        parent = self.ctx.parent()
        decorator = parent if isinstance(parent, cst.Decorator) else None
        where = decorator if decorator is not None else node
        if decorator is not None and (not _has_parameters(self.ctx.parent(2)) or self._enum_member_cache()):
            return
        if name in UNBOUNDED_CACHES:  # functools.cache(f)
            self.report(where, self._message(_function_name(self.ctx.parent(2))), self._cache_fix(node.func, node))
        elif name in LRU_CACHES:
            arg = argument(node, "maxsize", 0, self.ctx.scope)
            if arg is None:
                return
            # `lru_cache(user_function)` passes the function here: UNKNOWN, so not flagged
            value = self.ctx.value(arg.value)
            if value is None or self.ctx.is_unbounded_number(value):
                text = self.ctx.module.code_for_node(arg.value).strip()
                shown = "" if text in ("None", describe(value)) else f" (= {describe(value)})"
                size = self.ctx.settings.default_cache_size
                on = _function_name(self.ctx.parent(2)) if decorator is not None else None
                self.report(
                    where,
                    f"lru_cache(maxsize={text}){shown}{f' on {on}()' if on else ''} is an unbounded cache: it keeps the result for every "
                    f"distinct argument forever, so memory grows with each new input — use maxsize={size}",
                    Fix(Applicability.UNSAFE, f"Bound the cache at {size} (the `default-cache-size` setting)",
                        (Edit(arg.value, cst.Integer(str(size))),)),
                )

    def _enum_member_cache(self) -> bool:
        """A method of an Enum whose only parameter is `self`: one entry per member, a
        fixed number (pylint's method-cache-max-size-none exempts it too)."""
        stack = self.ctx.stack
        index = len(stack) - 1
        while index >= 0 and type(stack[index]) is not cst.FunctionDef:
            index -= 1
        if index < 2:
            return False
        function = stack[index]
        params = function.params
        if (len(params.params) != 1 or params.posonly_params or params.kwonly_params
                or isinstance(params.star_arg, cst.Param) or params.star_kwarg):
            return False
        owner = stack[index - 2]  # FunctionDef <- IndentedBlock <- ClassDef
        if type(owner) is not cst.ClassDef:
            return False
        scope = self.ctx.scope_of(owner) or self.ctx.scope
        scope = scope.parent or scope
        for base in owner.bases:
            name = self.ctx.qualified_name(base.value, scope) if base.keyword is None else None
            if name in _ENUM_BASES:
                return True
        return False

    def _qualified(self, expr: cst.BaseExpression) -> Optional[str]:
        label = terminal_name(expr)
        if label is None or (label not in _SHORT and label not in self.ctx.alias_names):
            return None
        name = self.ctx.qualified_name(expr)
        return name if name in LRU_CACHES or name in UNBOUNDED_CACHES else None

    def _message(self, function: Optional[str]) -> str:
        size = self.ctx.settings.default_cache_size
        where = f" on {function}()" if function else ""
        return (
            f"functools.cache{where} keeps the result for every distinct argument forever: an unbounded cache whose "
            f"memory grows with each new input — use lru_cache(maxsize={size})"
        )

    def _cache_fix(self, expr: cst.BaseExpression, call: Optional[cst.Call] = None) -> Fix:
        """`@functools.cache` -> `@functools.lru_cache(maxsize=N)`; `@cache` ->
        `@lru_cache(maxsize=N)` plus `from functools import lru_cache`."""
        size = self.ctx.settings.default_cache_size
        imports: Tuple[str, ...] = ()
        if isinstance(expr, cst.Attribute):
            func: cst.BaseExpression = expr.with_changes(attr=cst.Name("lru_cache"))
        else:
            func = cst.Name("lru_cache")
            imports = ("from functools import lru_cache",)
        bounded = cst.Call(func=func, args=(_keyword("maxsize", size),))
        if call is not None:  # functools.cache(f) -> functools.lru_cache(maxsize=N)(f)
            edit = Edit(call, call.with_changes(func=bounded))
        else:
            edit = Edit(expr, bounded)
        return Fix(Applicability.UNSAFE, f"Use lru_cache(maxsize={size}) (the `default-cache-size` setting)",
                   (edit,), imports=imports)


# the standard library's Enum classes: a fixed set of members
_ENUM_BASES = frozenset(f"enum.{name}" for name in ("Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "ReprEnum"))


def _keyword(name: str, value: int) -> cst.Arg:
    return cst.Arg(
        keyword=cst.Name(name),
        value=cst.Integer(str(value)),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )


def _function_name(node: Optional[cst.CSTNode]) -> Optional[str]:
    return node.name.value if isinstance(node, cst.FunctionDef) else None


def _has_parameters(function: Optional[cst.CSTNode]) -> bool:
    """A decorated function that takes arguments (a cache of a no-argument function holds
    one entry). Anything but a function (a class, odd input) counts as taking some."""
    if not isinstance(function, cst.FunctionDef):
        return True
    params = function.params
    return bool(params.posonly_params or params.params or params.kwonly_params
                or isinstance(params.star_arg, cst.Param) or params.star_kwarg)

