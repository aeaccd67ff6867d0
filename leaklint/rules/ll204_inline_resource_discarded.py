"""LL204: a resource created and used in one expression, never bound, never released."""
from __future__ import annotations

import ast
import re
from typing import AbstractSet, Optional, Tuple

import libcst as cst

from leaklint.analysis import resources as flow
from leaklint.analysis import sieve_ll2
from leaklint.diagnostics import Applicability, Edit, Fix
from leaklint.knowledge import resources as table
from leaklint.rules.resource_rule import ResourceRule
from leaklint.sieve import UNIT, Need, terminal

# what to call the resource in the rewrite
_VARIABLE = {"zipfile.ZipFile": "zf", "tarfile.open": "tf", "tarfile.TarFile.open": "tf",
             "urllib.request.urlopen": "response"}
_VALUE_HOLDERS = (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Return, cst.Expr)


_OPENER_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in table.FILE_OPENERS)


class InlineResourceDiscarded(ResourceRule):
    code = "LL204"
    name = "inline-resource-discarded"
    summary = "A resource is created and used in one expression and never bound, so nothing can release it."
    rationale = """\
`open(path).read()`, `aiohttp.ClientSession().get(url)`, `ThreadPoolExecutor().submit(job)`,
`json.load(open(path))`: the resource is created, used once, and dropped without a
name, so no code can ever close it. CPython's reference counting closes a plain file
soon after, with a `ResourceWarning`; a session keeps its connector open, an executor
keeps its worker threads, a `Popen` becomes a zombie, and on PyPy or in a reference
cycle even the file stays open. One per call adds up.

Reported when a resource call is the receiver of a method or attribute other than its
own release (`Popen(cmd).wait()` and `open(p).close()` are fine), or is passed
directly to a function known to only borrow it (`json.load`, `pickle.load`, `print`).
A file opener called as a statement on its own (`open(path, "a")`, a "touch") opens a
file and drops it at once: reported too (as pylint's consider-using-with does); other
resources as statements (`subprocess.Popen(cmd)` started to run on its own) are not.

The fix is safe for one-liners whose method returns plain data (`read()`,
`readlines()`, `write()`, `namelist()`, `extractall()`...): the statement is wrapped in
`with open(path) as f:` with `f` in place of the call. Sessions, clients and pools are
left to a person: what their method returns (a response, a future) still needs them
open, and one long-lived instance is usually what is wanted."""
    fix_applicability = Applicability.SAFE
    fix_description = "Bind it in a `with` block: `with open(path) as f: data = f.read()`."
    options = ("resources",)
    flagged = (
        "def load(path):\n    return open(path).read()\n",
        "import json\n\ndef config(path):\n    return json.load(open(path))\n",
        "from concurrent.futures import ThreadPoolExecutor\n\ndef later(job):\n"
        "    return ThreadPoolExecutor().submit(job)\n",
        "import aiohttp\n\nasync def get(url):\n    async with aiohttp.ClientSession().get(url) as r:\n"
        "        return await r.text()\n",
    )
    clean = (
        "def load(path):\n    with open(path) as f:\n        return f.read()\n",
        "import subprocess\n\ndef run(cmd):\n    return subprocess.Popen(cmd).wait()  # released\n",
        "def touch(path):\n    open(path, 'a').close()\n",
        "import io\n\ndef wrap(path):\n    return io.TextIOWrapper(open(path, 'rb'))  # handed over\n",
    )

    @classmethod
    def candidates(cls, index):
        # the receiver of a member, or an argument of a borrower: judged on the line
        for call, expr, holder in sieve_ll2.creations(index):
            if type(holder) is ast.Attribute:
                member = holder.attr
                if holder.value is expr and not member.startswith("__") and member not in table.METHOD_RESOURCES:
                    yield Need(call, UNIT)
                continue
            if type(holder) is ast.Expr:
                if terminal(call.func) in _OPENER_NAMES or terminal(call.func) in index.aliases:
                    yield Need(call, UNIT)  # `open(p)` as a statement
                continue
            if type(holder) is ast.keyword:
                if holder.arg is None:
                    continue  # `f(**open(p))`
                holder = index.parent(holder)
            elif type(holder) is ast.Call and holder.func is expr:
                continue
            if type(holder) is ast.Call and terminal(holder.func) in flow._BORROWER_NAMES:
                yield Need(call, UNIT)

    def created(self, node: cst.Call, made: flow.Creation) -> None:
        holder, index = flow.context_of(self.ctx, made)
        if type(holder) is cst.Attribute and holder.value is made.expr:
            member = holder.attr.value
            if member in made.spec.release or member.startswith("__"):
                return
            if member in table.METHOD_RESOURCES:
                # `Redis().pubsub()`: the result is itself a resource that holds the
                # client's connection; the rules follow it, not the client
                return
            user = self.ctx.stack[index - 1]
            is_call = type(user) is cst.Call and user.func is holder
            how = f"`.{member}{'()' if is_call else ''}`"
            value = user if is_call else holder
            method = member if is_call else None
        elif type(holder) is cst.Arg and holder.value is made.expr and holder.star == "":
            user = self.ctx.stack[index - 1]
            if type(user) is not cst.Call or not flow.is_borrower(user.func, self.ctx.scope):
                return
            how = f"`{self.ctx.module.code_for_node(user.func)}()`"  # type: ignore[union-attr]
            value, method = user, "" if user.args[0] is holder else None  # type: ignore[union-attr]
        elif type(holder) is cst.Expr and made.expr is made.call and made.spec.callable in table.FILE_OPENERS:
            self.report(
                node,
                f"{made.label} as a statement opens a file and drops it at once: nothing closes it "
                f"({made.release_text()}), so it stays open until garbage collection — use "
                "`with` (or `pathlib.Path.touch()` to create a file)",
                Fix(Applicability.SUGGESTED, "Open it in a `with` block around the code that uses it"),
            )
            return
        else:
            return
        self.report(
            node,
            f"{made.label} is used once by {how} and never bound, so nothing can release it "
            f"({made.release_text()}) — bind it with `{'async with' if made.spec.awaited else 'with'}`",
            self._fix(made, value, method, index),
        )

    def _fix(self, made: flow.Creation, value: cst.CSTNode, method: Optional[str], index: int) -> Fix:
        rewrite = self._rewrite(made, value, method, index)
        if rewrite is None:
            return Fix(
                Applicability.SUGGESTED,
                f"Bind {made.label} to a name in a `{'async with' if made.spec.awaited else 'with'}` block "
                "around its uses, or keep one long-lived instance and release it at shutdown",
            )
        line, new, variable = rewrite
        return Fix(Applicability.SAFE, f"Bind it with `with ... as {variable}:`", (Edit(line, new),))

    def _rewrite(self, made: flow.Creation, value: cst.CSTNode, method: Optional[str],
                 index: int) -> Optional[Tuple[cst.SimpleStatementLine, cst.With, str]]:
        """`x = open(p).read()` -> `with open(p) as f: x = f.read()`, when the statement
        is that one-liner, the method returns plain data, and the call comes first."""
        data_methods = table.DATA_METHODS.get(made.spec.callable)
        if not made.builtin or data_methods is None or made.expr is not made.call or method is None:
            return None
        if method and method not in data_methods:
            return None
        if not method and not _plain_callee(value.func):  # type: ignore[attr-defined]
            return None  # `json.load(open(p))`: nothing may run before open()
        stack = self.ctx.stack
        value_index = index - 1
        small, line, block = stack[value_index - 1], stack[value_index - 2], stack[value_index - 3]
        if type(small) not in _VALUE_HOLDERS or getattr(small, "value", None) is not value:
            return None
        if type(line) is not cst.SimpleStatementLine or len(line.body) != 1:
            return None
        if type(block) is not cst.IndentedBlock and type(block) is not cst.Module:
            return None
        variable = self._free_name(_VARIABLE.get(made.spec.callable, "f"))
        if variable is None:
            return None
        inner = line.with_changes(body=[small.deep_replace(made.call, cst.Name(variable))], leading_lines=())
        new = cst.With(
            items=[cst.WithItem(made.call, asname=cst.AsName(cst.Name(variable)))],
            body=cst.IndentedBlock(body=[inner]),
            leading_lines=line.leading_lines,
        )
        return line, new, variable

    def _free_name(self, base: str) -> Optional[str]:
        """A name that nothing in the enclosing function (or module) uses."""
        words = _words(self.ctx.scope.function_scope or self.ctx.scopes[self.ctx.module], self.ctx)
        for candidate in (base, base + "_", base + "1", base + "2"):
            if candidate not in words and self.ctx.scope.find(candidate) is None:
                return candidate
        return None


_WORD = re.compile(r"\w+")


def _words(scope, ctx) -> AbstractSet[str]:
    """Every word in the scope's code (the function's, or the whole file at module
    level), read once per scope: a function with many findings regenerated its code
    for each one, which was quadratic (1 000 findings: 40 s)."""
    words = scope.memo.get("ll204.words")
    if words is None:
        text = ctx.source if scope.kind == "module" else ctx.module.code_for_node(scope.node)
        words = scope.memo["ll204.words"] = frozenset(_WORD.findall(text))
    return words  # type: ignore[return-value]


def _plain_callee(func: cst.BaseExpression) -> bool:
    """`json.load` or `load`: evaluating it runs nothing."""
    while type(func) is cst.Attribute:
        func = func.value
    return type(func) is cst.Name
