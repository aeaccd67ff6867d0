"""LL203: `self.x = <resource>` in a class where nothing ever releases `self.x`."""
from __future__ import annotations

import ast
from typing import Optional

import libcst as cst

from leaklint.analysis import resources as flow
from leaklint.analysis import sieve_ll2
from leaklint.diagnostics import Applicability, Fix
from leaklint.rules.resource_rule import ResourceRule
from leaklint.sieve import UNIT, Need


class ResourceAttributeNeverClosed(ResourceRule):
    code = "LL203"
    name = "resource-attribute-never-closed"
    summary = "A resource stored on `self` that no method of the class (or anything in the module) releases."
    rationale = """\
An object that opens a session, a connection, a consumer or a pool in `__init__` (or
`start()`, or lazily) owns it, and must give its users a way to release it: a
`close()`/`aclose()`/`stop()` method, `__exit__`/`__aexit__`, or at least `__del__`.
When no method ever calls `self.x.close()` (or the resource's own release), every
instance of the class leaks one: the broker keeps a consumer in its group, the server
a connection, the process a thread pool. Frameworks create such objects per request or
per test, and the leak grows with the traffic.

Reported on the `self.x = <resource>` assignment in a method when nothing that could
release it exists: no `.x.close()`, `.aclose()`, `.stop()`, `.shutdown()`,
`.terminate()`, `.__aexit__()` or the resource's own release, no `with`/`async with
….x`, no bound release method handed to a callback (`stack.push_async_callback(
self.x.close)`), and `….x` is never handed to a call that may take it over
(`stack.enter_context(self.x)`, `Wrapper(self.x)`, or one of its bound methods:
`Thread(target=self.loop.run_forever)` hands the loop to the thread that runs it),
aliased, put in a container or exposed by a property. Such code counts wherever it sits in the class itself, in its
bases or subclasses in the module, in module-level functions, or in a class that
handles another object's attribute; a sibling class closing its own `self.x` does not
count. Bases defined in other modules of the project count too, through the project
index (docs/project-index.md), and the project's own factories and resource classes
are creations. A string naming the attribute (`getattr(self, name)` loops) makes it
uncertain, hence clean. Module-level and class-level clients are long-lived by design and not
reported."""
    fix_applicability = Applicability.SUGGESTED
    fix_description = (
        "Add a `close()` (or `async def aclose()`/`__aexit__`) that releases the attribute, "
        "and call it where the object's life ends."
    )
    options = ("resources",)
    flagged = (
        "import aiohttp\n\nclass Api:\n    def __init__(self):\n        self.session = aiohttp.ClientSession()\n\n"
        "    async def get(self, url):\n        async with self.session.get(url) as r:\n            return await r.json()\n",
        "from confluent_kafka import Consumer\n\nclass Reader:\n    def __init__(self, conf):\n"
        "        self._consumer = Consumer(conf)\n\n    def poll(self):\n        return self._consumer.poll(1.0)\n",
        "from concurrent.futures import ThreadPoolExecutor\n\nclass Thumbnailer:\n    def __init__(self):\n"
        "        self.pool = ThreadPoolExecutor(4)\n\n    def close(self):\n        self.pool = None  # dropped, not shut down\n",
    )
    clean = (
        "import aiohttp\n\nclass Api:\n    def __init__(self):\n        self.session = aiohttp.ClientSession()\n\n"
        "    async def close(self):\n        await self.session.close()\n",
        "import aiokafka\n\nclass Reader:\n    async def __aenter__(self):\n"
        "        self._consumer = aiokafka.AIOKafkaConsumer('t')\n        await self._consumer.start()\n"
        "        return self\n\n    async def __aexit__(self, *exc):\n        await self._consumer.stop()\n",
        "import contextlib, socket\n\nclass Conn:\n    def __init__(self, addr):\n"
        "        self._stack = contextlib.ExitStack()\n        self._sock = socket.create_connection(addr)\n"
        "        self._stack.enter_context(self._sock)\n\n    def close(self):\n        self._stack.close()\n",
        "import redis\n\nclass Cache:\n    client = redis.Redis()  # class level: shared, long-lived\n",
    )

    @classmethod
    def candidates(cls, index):
        for call, expr, holder in sieve_ll2.creations(index):
            if type(holder) is not ast.Assign or len(holder.targets) != 1:
                continue
            target = holder.targets[0]
            if type(target) is not ast.Attribute or type(target.value) is not ast.Name:
                continue
            function = index.function(call)
            owner = index.method_class(call)
            if function is None or type(function) is ast.Lambda or owner is None:
                continue
            if sieve_ll2.first_parameter(function) != target.value.id:
                continue
            found = sieve_ll2.mentions(index).attributes.get(target.attr, [])
            # a release of `.x` anywhere in the module may count: keep every mention; when
            # one surely releases it, only if another rule keeps the creation anyway
            when = call if sieve_ll2.surely_released(index, target.attr, found, owner) else None
            if when is None:
                yield Need(call, UNIT)
            yield from sieve_ll2.mention_needs(index, found, owner, when)

    def created(self, node: cst.Call, made: flow.Creation) -> None:
        holder, _ = flow.context_of(self.ctx, made)
        if type(holder) is not cst.Assign or len(holder.targets) != 1:
            return
        attr = self._self_attribute(holder.targets[0].target)
        if attr is None or holder.value is not made.expr:
            return
        owner: cst.ClassDef = self.ctx.scope.parent.node  # type: ignore[union-attr,assignment]
        if flow.attribute_uses(self.ctx).released(attr, made.spec.release, owner):
            return
        project = self.ctx.project
        if project is not None and self.ctx.scope.parent.parent is not None \
                and self.ctx.scope.parent.parent.kind == "module" \
                and project.released_in_bases(owner.name.value, attr, made.spec.release):
            return  # a base class in the project, maybe in another module, releases it
        release = made.spec.release[0]
        awaited = "await " if made.spec.awaited else ""
        self.report(
            holder,
            f"`self.{attr}` holds {made.label}, but nothing in `{owner.name.value}` (or this module) "
            f"releases it ({made.release_text()}), so every instance leaks one — add a "
            f"`close()`{'/`__aexit__`' if made.spec.awaited else ''} that runs "
            f"`{awaited}self.{attr}.{release}()`",
            Fix(Applicability.SUGGESTED, self.fix_description),
        )

    def _self_attribute(self, target: cst.BaseExpression) -> Optional[str]:
        """`x` when `target` is `self.x` inside an instance method."""
        if type(target) is not cst.Attribute or type(target.value) is not cst.Name:
            return None
        scope = self.ctx.scope
        method = scope.node
        if scope.kind != "function" or scope.parent is None or scope.parent.kind != "class":
            return None
        params = method.params.posonly_params or method.params.params  # type: ignore[union-attr]
        if not params or params[0].name.value != target.value.value:
            return None
        for decorator in method.decorators:  # type: ignore[union-attr]
            expr = decorator.decorator
            if type(expr) is cst.Name and expr.value in ("staticmethod", "classmethod"):
                return None
        return target.attr.value
