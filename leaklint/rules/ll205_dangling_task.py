"""LL205: a task started and its only strong reference thrown away."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.analysis.calls import terminal_name
from leaklint.diagnostics import Applicability, Fix
from leaklint.knowledge import last_component
from leaklint.knowledge.tasks import CALLBACK_REGISTRARS
from leaklint.rules.base import Rule


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
(`loop.call_soon(lambda: asyncio.create_task(job()))`)."""
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

    def visit_Expr(self, node: cst.Expr) -> None:
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
        self.report(
            call,
            f"task from {what} is not kept: the event loop holds tasks only weakly, so it can be "
            "garbage-collected before it finishes and its exception is lost — keep a reference "
            "(e.g. in a set, with add_done_callback(set.discard))",
            Fix(Applicability.UNSAFE, self.fix_description),
        )

    def _spawner(self, call: cst.Call) -> Optional[str]:
        """How to name the call if it starts a weakly held task, else None."""
        knowledge = self.ctx.knowledge
        name = self.ctx.callee(call, knowledge.short_names("task_factories"))
        if name in knowledge.task_factories:
            if last_component(name) == "ensure_future" and not _is_coroutine_call(call):
                return None
            return f"{last_component(name)}()"
        func = call.func
        if isinstance(func, cst.Name):
            # `spawn = loop.create_task; spawn(work())`: a bound method under another name
            bindings = self.ctx.scope.lookup(func.value)
            if bindings and len(bindings) == 1 and isinstance(bindings[0].value, cst.Attribute):
                func = bindings[0].value
        if isinstance(func, cst.Attribute) and func.attr.value in knowledge.loop_task_methods:
            if self._is_loop(func.value):
                return f"loop.{func.attr.value}()"
        return None

    def _is_loop(self, expr: cst.BaseExpression) -> bool:
        knowledge = self.ctx.knowledge
        if isinstance(expr, cst.Call):
            return self.ctx.call_name(expr) in knowledge.loop_factories
        if isinstance(expr, cst.Name):
            bindings = self.ctx.scope.lookup(expr.value)
            if bindings and len(bindings) == 1 and isinstance(bindings[0].value, cst.Call):
                return self.ctx.call_name(bindings[0].value) in knowledge.loop_factories
        # `loop`, `self._loop`, `event_loop`: by convention an event loop
        label = (terminal_name(expr) or "").lstrip("_")
        return label == "loop" or label.endswith("_loop")

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
        self.report(
            body,
            f"task from {what} is not kept: `{terminal_name(owner.func)}` drops what the lambda returns, "
            "and the event loop holds tasks only weakly, so it can be garbage-collected before it "
            "finishes and its exception is lost — start it from a function that keeps a reference",
            Fix(Applicability.SUGGESTED, self.fix_description),
        )


_CALLBACK_REGISTRARS = frozenset(CALLBACK_REGISTRARS)


def _is_coroutine_call(call: cst.Call) -> bool:
    return bool(call.args) and isinstance(call.args[0].value, cst.Call) and call.args[0].keyword is None
