"""LL201: a resource bound to a local name that nothing ever releases."""
from __future__ import annotations

from typing import List, Optional

import libcst as cst

from leaklint.analysis import resources as flow
from leaklint.diagnostics import Applicability, Fix
from leaklint.knowledge import resources as table
from leaklint.rules.resource_rule import ResourceRule


class ResourceNeverClosed(ResourceRule):
    code = "LL201"
    name = "resource-never-closed"
    summary = "A resource bound to a local name is never released on any path and never leaves the function."
    rationale = """\
Files, sockets, processes, executors, event loops, database connections, HTTP sessions
and message-broker clients hold something the operating system or a server counts:
file descriptors, threads, child processes, pooled connections. When the function that
created one neither releases it (`close()`, `aclose()`, `stop()`, `shutdown()`, ...)
nor hands it to anyone else, it stays open until the garbage collector happens to
finalise it, which for many of them means a `ResourceWarning` at best, and for
threads, child processes and connections to a broker means never. Under load the
process runs out of descriptors or the server out of connections.

A resource *escapes*, and is not reported, when it is returned or yielded, stored on
an attribute or in a container, handed to a call that may keep it (a constructor, an
`ExitStack`, `contextlib.closing`, any method or unknown function), bound by
`with`/`async with`, or captured by a nested function. Passing it to a function known
to only borrow it (`json.load(f)`, `print(..., file=f)`, `len`) is a use. Names bound
at module level are long-lived on purpose and not reported; neither are names bound
more than once, except the plain reopen: `f = open(a)` ... `f = open(b)` in one block
with nothing between that releases or hands over the first (it is reported; the
second is not followed). `getattr(session, method)(url)` is a method call on the
resource, not a hand-over. `sqlite3` and `psycopg2` connections count as released by `close()`
only: their `with` block commits and leaves the connection open.

A process is handed over by its pid, too: a `subprocess.Popen` whose `.pid` leaves the
function (written to a pid file, returned, stored on an attribute or in a container,
passed to a call, also through `str()`, a format or a local name) escapes: whoever
reads that pid stops it (`kill $(cat server.pid)`), as with a background server. A pid
that is only logged, printed, compared or formatted for those is no hand-over, and
the process is still reported. A child started in a session or process group of its
own (`start_new_session=True`, `process_group=`, or `preexec_fn=os.setsid` /
`os.setpgrp`, the same system calls made by hand) is meant to outlive its parent and
is not reported either. That is a deliberate trade: such a child is not killed with
its parent's terminal, which is the point of asking for it, but its `Popen` is still
never waited for (a zombie until the next `Popen` reaps it or the parent exits). We
take the explicit detaching call as the programmer's decision; any other
`preexec_fn` (`os.setuid`, a lambda) proves nothing and the process is reported.

The resource table follows each library's own source (see `[tool.leaklint.resources]`
to add your own)."""
    fix_applicability = Applicability.UNSAFE
    fix_description = (
        "Wrap the creation and the remaining uses in `with`/`async with` (in "
        "`contextlib.closing(...)` for sqlite3/psycopg connections, whose `with` does not "
        "close; in a `try/finally` that releases it where the type's `with` does something "
        "else). Unsafe: the resource is now released where the last use ends."
    )
    options = ("resources",)
    flagged = (
        "def head(path):\n    f = open(path)\n    return f.readline()\n",
        "import socket\n\ndef ping(host):\n    s = socket.create_connection((host, 80))\n"
        "    s.sendall(b'PING')\n",
        "from concurrent.futures import ThreadPoolExecutor\n\ndef run_all(jobs):\n"
        "    pool = ThreadPoolExecutor(8)\n    return [f.result() for f in [pool.submit(j) for j in jobs]]\n",
        "import aiohttp\n\nasync def fetch(url):\n    session = aiohttp.ClientSession()\n"
        "    async with session.get(url) as response:\n        return await response.text()\n",
        "import sqlite3\n\ndef count(db):\n    conn = sqlite3.connect(db)\n    with conn:  # commits; does not close\n"
        "        return conn.execute('select count(*) from t').fetchone()\n",
    )
    clean = (
        "def head(path):\n    with open(path) as f:\n        return f.readline()\n",
        "def head(path):\n    f = open(path)\n    try:\n        return f.readline()\n    finally:\n        f.close()\n",
        "def opener(path):\n    f = open(path)\n    return f  # the caller owns it\n",
        "import aiohttp\n\nclass Client:\n    async def start(self):\n        session = aiohttp.ClientSession()\n"
        "        self.session = session  # closed in the class's close()\n",
        "import contextlib, socket\n\ndef connect(stack: contextlib.ExitStack, addr):\n"
        "    s = socket.create_connection(addr)\n    stack.enter_context(s)\n    return s.recv(10)\n",
        "log = open('app.log', 'a')  # module level: lives as long as the program\n",
    )

    def created(self, node: cst.Call, made: flow.Creation) -> None:
        local = flow.local_resource(self.ctx, made)
        if local is None:
            again = flow.reopened(self.ctx, made)
            if again is not None:
                name, _ = again
                self.report(
                    node,
                    f"{made.label} bound to `{name}` is never released: `{name}` is bound to another one "
                    "later in the block before this one is closed, so it stays open "
                    f"until garbage collection, if ever — release it first, or use `with`",
                    Fix(Applicability.SUGGESTED, self.fix_description),
                )
            return
        if local.fate is not flow.Fate.NEVER:
            return
        self.report(
            node,
            f"{made.label} bound to `{local.name}` is never released: nothing calls "
            f"{made.release_text()} on it and it does not leave the function, so it stays open "
            f"until garbage collection, if ever — {flow.advice(made)}",
            self._fix(local),
        )

    def _fix(self, local: flow.LocalResource) -> Fix:
        return flow.block_fix(local, _wrap_remaining_uses(local), Applicability.UNSAFE,
                              "Release `{name}` when its last use ends ({how})", self.fix_description)


def _wrap_remaining_uses(local: flow.LocalResource) -> Optional[flow.Rewrite]:
    """The creation's block with the creation and every later statement that mentions
    the name wrapped so that the resource is released after the last one."""
    made, block = local.creation, local.block
    if block is None or not local.top_uses or not made.builtin:
        return None
    start = flow.statement_index(block, local.statement)
    indices = [flow.statement_index(block, stmt) for stmt in local.top_uses]
    if start < 0 or min(indices) <= start:
        return None
    end = max(indices)
    moved: List[cst.BaseStatement] = list(block.body[start + 1:end + 1])
    callable_ = made.spec.callable
    if made.spec.awaited and not local.is_async:
        return None  # an awaited release cannot be written in a plain function
    if callable_.startswith(".") and local.is_async:
        return None  # a method resource from a sync or an asyncio client: `with` or `async with`?
    if callable_ in table.WITH_EXIT:
        how = "with"
    elif callable_ in table.CLOSING:
        how = "closing"
    else:
        how = "finally"
    if callable_ in table.JOIN_AFTER_CLOSE:
        cleanup = [flow.release_statement(local.name, "close", False), flow.release_statement(local.name, "join", False)]
    else:
        cleanup = [flow.release_statement(local.name, made.spec.release[0], made.spec.awaited)]
    return flow.guard_statements(local, start, end, moved, how, made.spec.awaited, cleanup)
