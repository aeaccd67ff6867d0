"""LL205: a task started and its only strong reference thrown away."""
from __future__ import annotations

import ast
from typing import FrozenSet, Iterator, List, Optional, Tuple

import libcst as cst

from leaklint.analysis.calls import call_holder, terminal_name
from leaklint.analysis.guards import function_of
from leaklint.analysis.spawning import receiver_kind
from leaklint.analysis.walk import walk
from leaklint.diagnostics import Applicability, Edit, Fix
from leaklint.knowledge import last_component
from leaklint.knowledge.tasks import CALLBACK_REGISTRARS
from leaklint.pyast import walk as walk_ast
from leaklint.rules.base import Rule
from leaklint.sieve import terminal


class DanglingTask(Rule):
    code = "LL205"
    name = "dangling-task"
    summary = "The task returned by `asyncio.create_task`/`ensure_future`/`loop.create_task` is discarded."
    rationale = """\
The event loop keeps only a weak reference to the tasks it runs (`asyncio` stores them
in a `WeakSet`). A task whose result is thrown away can be garbage-collected while it
is still waiting, so the work silently never finishes, and if it fails its exception
is never retrieved: the error is lost, or logged much later as "Task exception was
never retrieved". The Python documentation says it plainly: save a reference to the
result of `create_task`.

Found through imports and aliases (`from asyncio import create_task as spawn`), and for
`loop.create_task` when the receiver is an event loop (a name bound to
`asyncio.get_running_loop()` and friends, or a variable or attribute named like one:
`loop`, `self._loop`). `ensure_future` is reported only when it is handed a coroutine
call: given an existing future it returns that future and starts nothing.
`TaskGroup.create_task` and `nursery.start_soon` are not reported: the group holds its
tasks. A bound method under another name (`spawn = loop.create_task`) is followed, and
so is a lambda that starts a task handed to a callback API that drops its result
(`loop.call_soon(lambda: asyncio.create_task(job()))`).

Discarded in other ways too (ruff's RUF006 and flake8-async's ASYNC300 read them
alike): bound to a local name the function never reads again (`task =
create_task(...)`, annotated or in an `if`/`else`; a module-level name is not reported,
importers may read it), put in a list, tuple or set display that is itself a statement,
used only as the test of an `if`/`while`, or made inline in the collection handed to
`asyncio.wait(..., return_when=FIRST_COMPLETED)` (or `FIRST_EXCEPTION`) whose pending
set is dropped (the result discarded, or `done, _ = ...` with the second name never
read): the tasks still running when it returns are kept and cancelled by no one.

When the spawned coroutine is a function of the module whose whole body is one `try`
with an `except Exception`/`BaseException` (or bare `except`) handler that logs the
error or hands it to a call (`except Exception as err: await self._error_cb(err)`), the
task is still reported (the weak reference stands: it can vanish mid-flight), but the
message says its errors are logged or reported rather than lost."""
    fix_applicability = Applicability.UNSAFE
    fix_description = (
        "Keep the task in a module-level set and discard it when done: "
        "`_background_tasks.add(task); task.add_done_callback(_background_tasks.discard)`."
    )
    flagged = (
        "import asyncio\n\nasync def main():\n    asyncio.create_task(worker())\n",
        "from asyncio import ensure_future as spawn\n\nasync def main():\n    spawn(worker())\n",
        "import asyncio\n\nasync def main():\n    loop = asyncio.get_running_loop()\n    loop.create_task(worker())\n",
        "import asyncio\n\nasync def main():\n    asyncio.create_task(worker()).add_done_callback(report)\n",
    )
    clean = (
        "import asyncio\n\nbackground = set()\n\nasync def main():\n"
        "    task = asyncio.create_task(worker())\n    background.add(task)\n"
        "    task.add_done_callback(background.discard)\n",
        "import asyncio\n\nasync def main():\n    await asyncio.create_task(worker())\n",
        "import asyncio\n\nasync def main():\n    async with asyncio.TaskGroup() as tg:\n        tg.create_task(worker())\n",
        "def create_task(coro):\n    ...\n\ncreate_task(worker())  # not asyncio's\n",
    )

    @classmethod
    def triggers(cls, knowledge):
        return knowledge.short_names("task_factories") | knowledge.loop_task_methods

    @classmethod
    def candidates(cls, index):
        knowledge = index.knowledge
        factories = knowledge.short_names("task_factories")
        for call in index.calls(factories | knowledge.loop_task_methods):
            parent = index.parent(call)
            if type(parent) is ast.Attribute and parent.attr == "add_done_callback":
                outer = index.parent(parent)
                if type(outer) is ast.Call and outer.func is parent:
                    parent = index.parent(outer)
            kind = type(parent)
            if kind in (ast.List, ast.Tuple, ast.Set):
                # `[create_task(...)]` as a statement; `asyncio.wait({create_task(...), ...})`
                outer = index.parent(parent)
                keep = type(outer) is ast.Expr or (type(outer) is ast.Call and terminal(outer.func) == "wait")
            elif kind is ast.UnaryOp:
                keep = type(index.parent(parent)) in (ast.If, ast.While)
            elif kind in (ast.Assign, ast.AnnAssign):
                keep = _maybe_unread(index, parent, call)
            else:
                keep = kind in (ast.Expr, ast.If, ast.While) or (kind is ast.Lambda and parent.body is call)
            if keep:
                func = call.func
                plain = type(func) is ast.Attribute and func.attr in factories and type(func.value) is ast.Name
                # `asyncio.create_task(...)` needs its imports; `self._loop.create_task(...)` its class
                # the message says whether the spawned function logs its own errors: its body
                work = call.args[0] if call.args else None
                named = terminal(work.func) if type(work) is ast.Call else None
                yield index.need(call, func.value if plain else func, names=frozenset({named} if named else ()))

    def _visit_expr(self, node: cst.Expr) -> None:
        call = node.value
        # `create_task(...).add_done_callback(cb)` still drops the task itself
        if (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "add_done_callback"
            and isinstance(call.func.value, cst.Call)
        ):
            call = call.func.value
        if not isinstance(call, cst.Call):
            return
        what = self._spawner(call)
        if what is None:
            return
        self._weakly_held(call, what, "is not kept", _KEEP_IN_SET, self._fix(node, call))

    def _weakly_held(self, call: cst.Call, what: str, how: str, advice: str = "keep a reference",
                     fix: Optional[Fix] = None) -> None:
        """Report a task nothing keeps: `how` says what became of it."""
        self.report(
            call,
            f"task from {what} {how}: the event loop holds tasks only weakly, so it can be "
            f"garbage-collected before it finishes{_fate(self.ctx, call)} — {advice}",
            fix or Fix(Applicability.SUGGESTED, self.fix_description),
        )

    def _spawns_in(self, display: cst.BaseExpression) -> Iterator[Tuple[cst.Call, str]]:
        """The spawn calls written as elements of a list, tuple or set display."""
        for element in getattr(display, "elements", ()):
            call = element.value
            if type(call) is cst.Call:
                what = self._spawner(call)
                if what is not None:
                    yield call, what

    # --- the fix: `task = spawn(...)`, kept in a module-level set until done ------------

    def _fix(self, expr: cst.Expr, call: cst.Call) -> Fix:
        line = self.ctx.parent()
        scope = self._innermost_scope()
        if isinstance(scope, cst.ClassDef) or line is None:
            # a class body would gain a `task` attribute: leave it to a person
            return Fix(Applicability.SUGGESTED, self.fix_description)
        tasks = self._set_name()
        task = _fresh_name("task", self._names(scope))
        assign = cst.Assign(targets=[cst.AssignTarget(cst.Name(task))], value=call)
        keep = [
            cst.Expr(cst.parse_expression(f"{tasks}.add({task})")),
            cst.Expr(cst.parse_expression(f"{task}.add_done_callback({tasks}.discard)")),
        ]
        if expr.value is not call:  # `spawn(...).add_done_callback(cb)`: keep the user's callback first
            outer = expr.value
            assert isinstance(outer, cst.Call) and isinstance(outer.func, cst.Attribute)
            keep.insert(0, cst.Expr(outer.with_changes(func=outer.func.with_changes(value=cst.Name(task)))))
        small: List[cst.BaseSmallStatement] = [assign, *keep]
        if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
            # one statement per line, the line's comments stay on the first
            new = cst.FlattenSentinel(
                [line.with_changes(body=[assign])]
                + [cst.SimpleStatementLine(body=[s]) for s in keep]
            )
            edit = Edit(line, new)
        else:  # `a(); spawn(...)` or `if x: spawn(...)`: stay on the one line
            small[-1] = small[-1].with_changes(semicolon=expr.semicolon)
            edit = Edit(expr, cst.FlattenSentinel(small))
        return Fix(
            Applicability.UNSAFE,
            f"Keep the task in the module-level set `{tasks}` until it is done",
            (edit,),
            module_statements=(f"{tasks} = set()",),
        )

    def _names(self, scope: cst.CSTNode) -> FrozenSet[str]:
        cache = self.__dict__.setdefault("_names_cache", {})
        if scope not in cache:
            cache[scope] = _names_in(scope)
        return cache[scope]

    def _innermost_scope(self) -> cst.CSTNode:
        for node in reversed(self.ctx.stack):
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                return node
        return self.ctx.module

    def _set_name(self) -> str:
        """`_background_tasks`, unless the module already uses that name for something
        other than such a set (then `_background_tasks_1`, ...)."""
        module = self.ctx.module
        defined = set()
        for stmt in module.body:
            if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
                small = stmt.body[0]
                if (
                    isinstance(small, cst.Assign) and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and isinstance(small.value, cst.Call) and isinstance(small.value.func, cst.Name)
                    and small.value.func.value == "set" and not small.value.args
                ):
                    defined.add(small.targets[0].target.value)
        taken = self._names(module)
        name, n = "_background_tasks", 0
        while name in taken and name not in defined:
            n += 1
            name = f"_background_tasks_{n}"
        return name

    def _spawner(self, call: cst.Call) -> Optional[str]:
        """How to name the call if it starts a weakly held task, else None."""
        knowledge = self.ctx.knowledge
        name = self.ctx.callee(call, knowledge.short_names("task_factories"))
        if name in knowledge.task_factories:
            if last_component(name) == "ensure_future" and not _is_coroutine_call(call):
                return None
            return f"{last_component(name)}()"
        func = call.func
        if isinstance(func, cst.Name) and self._binds_methods():
            # `spawn = loop.create_task; spawn(work())`: a bound method under another name
            bindings = self.ctx.scope.lookup(func.value)
            if bindings and len(bindings) == 1 and isinstance(bindings[0].value, cst.Attribute):
                func = bindings[0].value
        if isinstance(func, cst.Attribute) and func.attr.value in knowledge.loop_task_methods:
            if self._is_loop(func.value):
                return f"loop.{func.attr.value}()"
        return None

    def _binds_methods(self) -> bool:
        """Whether the file names a loop's task method at all: only then may a plain
        name be bound to one (looking names up builds their scopes)."""
        if self._loop_methods_named is None:
            self._loop_methods_named = any(m in self.ctx.source for m in self.ctx.knowledge.loop_task_methods)
        return self._loop_methods_named

    _loop_methods_named: Optional[bool] = None

    def _is_loop(self, expr: cst.BaseExpression) -> bool:
        # made by a loop factory, or by convention (`loop`, `self._loop`, `event_loop`)
        return receiver_kind(self.ctx, expr) == "loop"

    # --- a task bound to a name never read, shown as a list, used as a condition ----------

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and type(node.targets[0].target) is cst.Name:
            self._unread(node.targets[0].target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if type(node.target) is cst.Name and node.value is not None:
            self._unread(node.target, node.value)

    def _unread(self, target: cst.Name, value: cst.BaseExpression) -> None:
        """`task = asyncio.create_task(...)` in a function that never reads `task`
        again: as good as discarded (ruff's RUF006 reads it the same way)."""
        if type(value) is not cst.Call:
            return
        function = self._function()
        if function is None:
            return  # a module-level name may be read by importers
        what = self._spawner(value)
        if what is None or _reads(function, target.value, target):
            return
        self._weakly_held(value, what, f"is bound to `{target.value}`, which is never read", _KEEP_IN_SET)

    def visit_Expr(self, node: cst.Expr) -> None:
        self._visit_expr(node)
        value = node.value
        if type(value) in (cst.List, cst.Tuple, cst.Set):
            for call, what in self._spawns_in(value):
                self._weakly_held(call, what, f"is put in a {type(value).__name__.lower()} that is thrown away")

    def visit_If(self, node: cst.If) -> None:
        self._condition(node.test)

    def visit_While(self, node: cst.While) -> None:
        self._condition(node.test)

    def _condition(self, test: cst.BaseExpression) -> None:
        if type(test) is cst.UnaryOperation and type(test.operator) is cst.Not:
            test = test.expression
        if type(test) is not cst.Call:
            return
        what = self._spawner(test)
        if what is not None:
            self._weakly_held(test, what, "is only tested for truth and then dropped")

    def visit_Call(self, node: cst.Call) -> None:
        """`done, _ = await asyncio.wait({create_task(a()), create_task(b())},
        return_when=FIRST_COMPLETED)`: the tasks still pending when it returns are in
        no variable anyone reads; nothing keeps or cancels them."""
        if terminal_name(node.func) != "wait" or not node.args or node.args[0].keyword is not None:
            return
        if self.ctx.qualified_name(node.func) not in ("asyncio.wait", "asyncio.tasks.wait"):
            return
        when = next((a for a in node.args if a.keyword is not None and a.keyword.value == "return_when"), None)
        if when is None or terminal_name(when.value) not in ("FIRST_COMPLETED", "FIRST_EXCEPTION"):
            return
        display = node.args[0].value
        if type(display) not in (cst.List, cst.Tuple, cst.Set) or not self._pending_dropped(node):
            return
        for call, what in self._spawns_in(display):
            self.report(
                call,
                f"task from {what} is made inline for `asyncio.wait(..., return_when="
                f"{terminal_name(when.value)})`, and the tasks still pending when it returns are kept by "
                "no one: never awaited or cancelled, they may be collected mid-flight and their "
                "exceptions are lost — bind them and cancel (or await) the pending ones",
                Fix(Applicability.SUGGESTED, self.fix_description),
            )

    def _pending_dropped(self, call: cst.Call) -> bool:
        parent = call_holder(self.ctx.stack)
        if parent is None:
            return False
        if type(parent) is cst.Expr:
            return True
        if type(parent) is not cst.Assign or len(parent.targets) != 1:
            return False
        target = parent.targets[0].target
        if type(target) not in (cst.Tuple, cst.List) or len(target.elements) != 2:
            return False
        pending = target.elements[1].value
        if type(pending) is not cst.Name:
            return False
        function = self._function()
        return function is not None and not _reads(function, pending.value, pending)

    def _function(self) -> Optional[cst.FunctionDef]:
        for node in reversed(self.ctx.stack):
            if type(node) is cst.FunctionDef:
                return node
            if type(node) in (cst.ClassDef, cst.Lambda):
                return None
        return None

    def visit_Lambda(self, node: cst.Lambda) -> None:
        # `loop.call_soon(lambda: asyncio.create_task(work()))`: the loop calls the
        # lambda and drops what it returns, the task with it
        body = node.body
        if not isinstance(body, cst.Call):
            return
        owner = self.ctx.parent(2)
        if not (
            isinstance(self.ctx.parent(), cst.Arg)
            and isinstance(owner, cst.Call)
            and terminal_name(owner.func) in _CALLBACK_REGISTRARS
        ):
            return
        what = self._spawner(body)
        if what is None:
            return
        fate = _fate(self.ctx, body)
        self.report(
            body,
            f"task from {what} is not kept: `{terminal_name(owner.func)}` drops what the lambda returns, "
            "and the event loop holds tasks only weakly, so it can be garbage-collected before it "
            f"finishes{fate} — start it from a function that keeps a reference",
            Fix(Applicability.SUGGESTED, self.fix_description),
        )


_CALLBACK_REGISTRARS = frozenset(CALLBACK_REGISTRARS)
_KEEP_IN_SET = "keep a reference (e.g. in a set, with add_done_callback(set.discard))"


def _names_in(node: cst.CSTNode) -> FrozenSet[str]:
    """Every name used or bound anywhere under `node` (the walk leaves out the names
    of functions, classes and imports: they are added here)."""
    names = set()
    for n in walk(node):
        kind = type(n)
        if kind is cst.Name:
            names.add(n.value)
        elif kind is cst.FunctionDef or kind is cst.ClassDef:
            names.add(n.name.value)
        elif kind is cst.ImportAlias and n.asname is None:
            bound = n.name
            while isinstance(bound, cst.Attribute):
                bound = bound.value
            if isinstance(bound, cst.Name):
                names.add(bound.value)
    return frozenset(names)


def _maybe_unread(index, statement: ast.AST, call: ast.AST) -> bool:
    """CPython's-tree over-approximation of `_unread`: `name = <spawn>` in a def whose
    body mentions `name` nowhere else, or a `(done, pending) = asyncio.wait(...)`."""
    if statement.value is not call:  # type: ignore[attr-defined]
        return False
    targets = statement.targets if type(statement) is ast.Assign else [statement.target]  # type: ignore[attr-defined]
    if len(targets) != 1 or type(targets[0]) is not ast.Name:
        return False
    function = index.function(call)
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    name = targets[0].id  # type: ignore[attr-defined]
    for node in walk_ast(function):
        if type(node) is ast.Name and node.id == name and node is not targets[0]:  # type: ignore[attr-defined]
            if type(node.ctx) is not ast.Store or type(index.parent(node)) not in (ast.Assign, ast.AnnAssign):
                return False
        elif type(node) is ast.arg and node.arg == name:  # type: ignore[attr-defined]
            return False
        elif type(node) in (ast.Global, ast.Nonlocal) and name in node.names:  # type: ignore[attr-defined]
            return False
    return True


def _reads(function: cst.FunctionDef, name: str, target: cst.Name) -> bool:
    """Whether `name` appears in `function` other than as the plain target of an
    assignment (any other mention counts: a read, a `global`, a parameter)."""
    targets = set()
    for node in walk(function):
        kind = type(node)
        if kind is cst.Assign:
            targets.update(id(t.target) for t in node.targets if type(t.target) is cst.Name)
        elif kind is cst.AnnAssign and type(node.target) is cst.Name:
            targets.add(id(node.target))
        elif kind is cst.Name and node.value == name and node is not target and id(node) not in targets:
            return True
        elif kind in (cst.Global, cst.Nonlocal) and any(item.name.value == name for item in node.names):
            return True
    return False


def _fresh_name(base: str, taken: FrozenSet[str]) -> str:
    """`base`, or `base_1`, `base_2`... : a name that nothing in the scope uses, so
    binding it shadows and changes nothing."""
    name, n = base, 0
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def _is_coroutine_call(call: cst.Call) -> bool:
    return bool(call.args) and isinstance(call.args[0].value, cst.Call) and call.args[0].keyword is None


# Handlers that catch every error a coroutine can raise, and calls that record one.
_CATCH_ALL = frozenset({"Exception", "BaseException"})
_LOGGING_CALLS = frozenset({"exception", "error", "critical", "warning", "warn", "log", "info", "debug",
                            "print", "print_exc", "print_exception"})


def _fate(ctx, spawn: cst.Call) -> str:
    """What the message says becomes of the task's errors."""
    logged = _logs_own_errors(ctx, spawn)
    if logged:
        return (f" (`{logged}` catches its own errors and logs or reports them, so none is lost, but the "
                "work may silently never finish)")
    return " and its exception is lost"


def _logs_own_errors(ctx, spawn: cst.Call) -> Optional[str]:
    """The name of the function a spawn runs (`create_task(self._run())`), when it is
    defined in this module and its whole body (a docstring aside) is one `try` whose
    handler for `Exception`/`BaseException` (or a bare `except`) logs (a logging call) or
    reports the error (passes the name it binds to a call: `await self._error_cb(err)`):
    then no error of the task goes unretrieved. None otherwise."""
    if not spawn.args or type(spawn.args[0].value) is not cst.Call:
        return None
    work = spawn.args[0].value
    function = function_of(ctx, work.func)
    if function is None or type(function.body) is not cst.IndentedBlock:
        return None
    body = list(function.body.body)
    if body and type(body[0]) is cst.SimpleStatementLine and len(body[0].body) == 1 \
            and type(body[0].body[0]) is cst.Expr and isinstance(body[0].body[0].value, cst.BaseString):
        body = body[1:]  # the docstring
    if len(body) != 1 or type(body[0]) is not cst.Try:
        return None
    for handler in body[0].handlers:
        caught = handler.type
        names = [caught] if caught is None or type(caught) is not cst.Tuple else [e.value for e in caught.elements]
        if not any(c is None or terminal_name(c) in _CATCH_ALL for c in names):
            continue
        bound = handler.name.name.value if handler.name is not None and type(handler.name.name) is cst.Name else None
        for node in walk(handler.body):
            if type(node) is not cst.Call:
                continue
            if terminal_name(node.func) in _LOGGING_CALLS or (
                    bound is not None and any(type(a.value) is cst.Name and a.value.value == bound for a in node.args)):
                return function.name.value
    return None
