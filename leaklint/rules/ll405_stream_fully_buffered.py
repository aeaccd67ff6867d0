"""LL405: streaming asked for, then the whole body read into memory anyway."""
from __future__ import annotations

import ast
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from leaklint.analysis.calls import argument, terminal_name
from leaklint.analysis.origins import bound_value, unwrap_await
from leaklint.analysis.walk import walk
from leaklint.diagnostics import Applicability, Fix
from leaklint.knowledge.buffers import (
    PROXY_BODY_PARAMS,
    PROXY_RESPONSES,
    STATUS_ATTRIBUTES,
    STREAM_CONTEXT_FUNCTIONS,
    STREAM_CONTEXT_METHOD,
    STREAM_FLAG_METHODS,
    STREAM_TRIGGERS,
    UPSTREAM_METHODS,
    UPSTREAM_READS,
    WHOLE_BODY_ATTRIBUTES,
    WHOLE_BODY_METHODS,
)
from leaklint.rules.base import Rule
from leaklint.analysis import sieve_ll4 as ll4
from leaklint.sieve import Need, terminal


class StreamFullyBuffered(Rule):
    code = "LL405"
    name = "stream-fully-buffered"
    summary = "A response requested as a stream is read whole into memory, or an upstream body is relayed whole."
    rationale = """\
Streaming exists so a body of any size passes through a fixed amount of memory. Asking
for a stream and then reading the whole body (`requests.get(url, stream=True)` followed
by `.content`, `.text` or `.json()`; `httpx` `client.stream(...)` followed by `.read()`
or `.aread()`) keeps the connection open longer and still holds the whole body at once:
a multi-gigabyte download takes multi-gigabyte memory.

The proxy case is the same leak one hop later: an aiohttp handler that does
`body = await upstream.read()` and returns `web.Response(body=body)` holds every
in-flight body whole, so a slow client and a large upstream response fill memory — the
incident behind this rule was a proxy whose body limit was `Integer.MAX_VALUE`.

Reported on the whole-body read. Not reported: reads guarded by a status check (an
`if` on `status_code`/`ok`/`status`, or an `except` block: error bodies are small and
read whole by everyone), partial reads (`read(n)`), and bodies consumed chunk by
chunk (`iter_content`, `aiter_bytes`, `content.iter_chunked`)."""
    fix_applicability = Applicability.SUGGESTED
    fix_description = (
        "Iterate the body in chunks and write each as it arrives: `for chunk in r.iter_content(65536)`, "
        "`async for chunk in r.aiter_bytes()`, or for a proxy a `web.StreamResponse` fed from "
        "`upstream.content.iter_chunked(65536)`."
    )
    flagged = (
        "import requests\n\ndef download(url, path):\n    r = requests.get(url, stream=True)\n"
        "    with open(path, 'wb') as f:\n        f.write(r.content)\n",
        "import httpx\n\nasync def fetch(client: httpx.AsyncClient, url):\n"
        "    async with client.stream('GET', url) as response:\n        return await response.aread()\n",
        "from aiohttp import web\n\nasync def proxy(request):\n    session = request.app['session']\n"
        "    async with session.get(UPSTREAM + request.path) as upstream:\n        body = await upstream.read()\n"
        "    return web.Response(body=body, status=upstream.status)\n",
    )
    clean = (
        "import requests\n\ndef download(url, path):\n    r = requests.get(url, stream=True)\n"
        "    with open(path, 'wb') as f:\n        for chunk in r.iter_content(65536):\n            f.write(chunk)\n",
        "import requests\n\ndef fetch(url):\n    r = requests.get(url, stream=True)\n    if r.status_code != 200:\n"
        "        raise RuntimeError(r.text)  # error bodies are small\n    return r.raw\n",
        "from aiohttp import web\n\nasync def proxy(request):\n    async with SESSION.get(UPSTREAM) as upstream:\n"
        "        response = web.StreamResponse(status=upstream.status)\n        await response.prepare(request)\n"
        "        async for chunk in upstream.content.iter_chunked(65536):\n"
        "            await response.write(chunk)\n    return response\n",
    )

    @classmethod
    def triggers(cls, knowledge):
        # `stream=True`, `.stream(` / `httpx.stream(`, and aiohttp's web.Response (the proxy)
        return STREAM_TRIGGERS

    @classmethod
    def candidates(cls, index):
        # bound_value follows a name within its function or the module statements: UNIT
        streamed, upstream = _response_names(index)
        if streamed:
            for node in index.of(ast.Attribute):
                if node.attr in WHOLE_BODY_ATTRIBUTES and type(node.value) is ast.Name and node.value.id in streamed:
                    parent = index.parent(node)
                    if not (type(parent) is ast.Call and parent.func is node):
                        if ll4.visible(index, node, streamed[node.value.id]):
                            yield Need(node)
        if not streamed and not upstream:
            return
        for call in index.calls(WHOLE_BODY_METHODS | UPSTREAM_READS):
            func = call.func
            if type(func) is not ast.Attribute or type(func.value) is not ast.Name or call.args or call.keywords:
                continue
            name = func.value.id
            if func.attr in WHOLE_BODY_METHODS and name in streamed and ll4.visible(index, call, streamed[name]):
                yield Need(call)
            elif func.attr in UPSTREAM_READS and name in upstream and _may_relay(index, call):
                if ll4.visible(index, call, upstream[name]):
                    yield Need(call)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._responses: Dict[int, Set[str]] = {}

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value not in WHOLE_BODY_ATTRIBUTES or type(node.value) is not cst.Name:
            return
        parent = self.ctx.parent()
        if isinstance(parent, cst.Call) and parent.func is node:
            return  # `.text()`: a method, not requests' property
        self._whole_read(node, node.value, f".{node.attr.value}")

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if type(func) is not cst.Attribute or type(func.value) is not cst.Name or node.args:
            return
        method = func.attr.value
        if method in WHOLE_BODY_METHODS:
            self._whole_read(node, func.value, f".{method}()")
        if method in UPSTREAM_READS:
            self._proxy(node, func.value, method)

    # --- streamed, then read whole ---------------------------------------------------

    def _whole_read(self, node: cst.CSTNode, receiver: cst.Name, how: str) -> None:
        origin = unwrap_await(bound_value(receiver.value, self.ctx.scope))
        if not isinstance(origin, cst.Call):
            return
        streamed = self._streamed(origin)
        if streamed is None or self._error_path():
            return
        if streamed.startswith(STREAM_CONTEXT_METHOD) and how not in (".read()", ".aread()"):
            return  # httpx: .content of an unread stream raises; only read()/aread() buffer it
        name = receiver.value
        self.report(
            node,
            f"`{name}` comes from {streamed}, then `{name}{how}` reads the whole body into memory: streaming "
            f"buys nothing and a large body takes as much memory as its size — iterate it in chunks "
            f"(iter_content / aiter_bytes) and handle each as it arrives",
            Fix(Applicability.SUGGESTED, self.fix_description),
        )

    def _streamed(self, call: cst.Call) -> Optional[str]:
        """How to describe `call` if it asks for a streamed response, else None."""
        label = terminal_name(call.func)
        if label in STREAM_FLAG_METHODS:
            flag = argument(call, "stream", None)
            if flag is not None and self.ctx.value(flag.value) is True:
                return f"{label}(..., stream=True)"
        elif label == STREAM_CONTEXT_METHOD:
            positional = [a for a in call.args if a.keyword is None and not a.star]
            if self.ctx.call_name(call) in STREAM_CONTEXT_FUNCTIONS or len(positional) >= 2:
                return f"{label}(...)"
        return None

    def _error_path(self) -> bool:
        """Inside an `except` block, or an `if` that tests a response status."""
        for node in reversed(self.ctx.stack):
            if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return False
            if isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler)):
                return True
            if isinstance(node, (cst.If, cst.IfExp)):
                for sub in walk(node.test):
                    if isinstance(sub, cst.Attribute) and sub.attr.value in STATUS_ATTRIBUTES:
                        return True
        return False

    # --- the proxy: an upstream body read whole and returned ---------------------------

    def _proxy(self, node: cst.Call, receiver: cst.Name, method: str) -> None:
        origin = unwrap_await(bound_value(receiver.value, self.ctx.scope))
        if not (isinstance(origin, cst.Call) and type(origin.func) is cst.Attribute
                and origin.func.attr.value in UPSTREAM_METHODS):
            return
        if argument(origin, "stream", None) is not None:
            return  # requests-style: judged above
        await_node = self.ctx.parent()
        if not isinstance(await_node, cst.Await):
            return
        holder = self.ctx.parent(2)
        relayed = False
        if isinstance(holder, cst.Arg):  # web.Response(body=await upstream.read())
            relayed = self._is_response_body(self.ctx.parent(3), holder)
        elif isinstance(holder, cst.Assign) and len(holder.targets) == 1 and isinstance(holder.targets[0].target, cst.Name):
            relayed = holder.targets[0].target.value in self._response_bodies()
        if relayed and not self._error_path():
            self.report(
                node,
                f"the upstream body is read whole (`await {receiver.value}.{method}()`) and returned in a "
                "web.Response: every in-flight body sits in memory at once, as large as upstream sends, and a "
                "slow client holds it longer — stream it with a web.StreamResponse fed from "
                f"`{receiver.value}.content.iter_chunked(...)`",
                Fix(Applicability.SUGGESTED, self.fix_description),
            )

    def _is_response_body(self, call: Optional[cst.CSTNode], arg: cst.Arg) -> bool:
        return (isinstance(call, cst.Call) and arg.keyword is not None and arg.keyword.value in PROXY_BODY_PARAMS
                and self.ctx.call_name(call) in PROXY_RESPONSES)

    def _response_bodies(self) -> Set[str]:
        """Names passed as `body=`/`text=` to web.Response in the current function."""
        function = self.ctx.scope.function_scope
        if function is None:
            return set()
        found = self._responses.get(id(function.node))
        if found is None:
            found = set()
            for sub in walk(function.node):
                if type(sub) is cst.Call:
                    for arg in sub.args:
                        if isinstance(arg.value, cst.Name) and self._is_response_body(sub, arg):
                            found.add(arg.value.value)
            self._responses[id(function.node)] = found
        return found


def _response_names(index) -> Tuple[Dict[str, List[Optional[ast.AST]]], Dict[str, List[Optional[ast.AST]]]]:
    """Names bound (`r = [await] call`, `r: T = ...`, `with call as r`) to a call that
    `_streamed` may take for a stream, and to one `_proxy` may take for an upstream
    request; each with the functions that bind it."""
    streamed: Dict[str, List[Optional[ast.AST]]] = {}
    upstream: Dict[str, List[Optional[ast.AST]]] = {}
    for call in index.calls(STREAM_FLAG_METHODS | UPSTREAM_METHODS | {STREAM_CONTEXT_METHOD}):
        label = terminal(call.func)
        flags = [kw.value for kw in call.keywords if kw.arg == "stream"]
        is_stream = label == STREAM_CONTEXT_METHOD or (
            label in STREAM_FLAG_METHODS
            and any(ll4.may_be(index, flag, lambda value: value is True) for flag in flags)
        )
        is_upstream = type(call.func) is ast.Attribute and label in UPSTREAM_METHODS and not flags
        if not (is_stream or is_upstream):
            continue
        node, parent = call, index.parent(call)
        while type(parent) is ast.Await:
            node, parent = parent, index.parent(parent)
        name = None
        if type(parent) is ast.Assign and parent.value is node:
            if len(parent.targets) == 1 and type(parent.targets[0]) is ast.Name:
                name = parent.targets[0].id
        elif type(parent) is ast.AnnAssign and parent.value is node and type(parent.target) is ast.Name:
            name = parent.target.id
        elif type(parent) is ast.withitem and parent.context_expr is node and type(parent.optional_vars) is ast.Name:
            name = parent.optional_vars.id
        if name is not None:
            home = index.function(call)
            if is_stream:
                streamed.setdefault(name, []).append(home)
            if is_upstream:
                upstream.setdefault(name, []).append(home)
    return streamed, upstream


def _may_relay(index, call: ast.Call) -> bool:
    """`_proxy`'s shape: `await x.read()` as a `body=`/`text=` argument, or assigned to a name."""
    awaited = index.parent(call)
    if type(awaited) is not ast.Await:
        return False
    holder = index.parent(awaited)
    if type(holder) is ast.keyword:
        return holder.arg in PROXY_BODY_PARAMS
    return type(holder) is ast.Assign and len(holder.targets) == 1 and type(holder.targets[0]) is ast.Name
