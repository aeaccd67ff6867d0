"""LL202: a resource released only when nothing goes wrong before the release."""
from __future__ import annotations

from typing import List, Optional

import libcst as cst

from leaklint.analysis import resources as flow
from leaklint.diagnostics import Applicability, Fix
from leaklint.rules.resource_rule import ResourceRule


class CloseNotExceptionSafe(ResourceRule):
    code = "LL202"
    name = "close-not-exception-safe"
    summary = "A resource is released only on the happy path: an exception or early return before the release skips it."
    rationale = """\
`f = open(p); data = f.read(); f.close()` releases the file only when `read()`
succeeds. When anything between the creation and the release raises (or returns
early), the release never runs and the resource leaks: one descriptor, connection or
worker pool per failure, which is exactly when a service is already in trouble and
retrying. A release belongs in a `finally`, or better in a `with`/`async with` block.

Reported when the resource, bound to a local name, is released somewhere but not in a
`finally`, not in an `except` handler and not by `with`, and some path from its
creation reaches an exception (a call, an `await`, a subscript, a `raise`...) or a
`return` while it is still open. Code inside a `try` that has handlers counts as
caught. A `yield` counts only in a `@contextmanager` generator, where the with-block's
exception is thrown in at the `yield`.

The message names the statement between the creation and the release that can raise
(or leave), never one inside an `except` handler: a handler runs because its `try` body
raised, so its own calls (`log.warning(...)`) are the error path, not counted; a
handler that raises again or returns lets the `try` body's failure skip the release,
and the message names that `try` body statement. A name bound by `except E as name`
is the exception, a new variable: a resource of the same name stays judged. The
resource's own `fileno()` is not taken to raise (an open socket or file always has one).

The fix is safe when the creation and the release are in one block and the release is
the last use: it becomes a `with` block where the type's `with` does exactly that
release, `with contextlib.closing(...)` for sqlite3 and psycopg connections (their own
`with` commits instead of closing), and a `try/finally` around the same release
otherwise: `multiprocessing.Pool` (its `with` terminates the workers, so `close()` and
`join()` stay, in the `finally`), event loops, asyncpg connections, clients whose
`__aenter__` connects or starts, and releases called with arguments."""
    fix_applicability = Applicability.SAFE
    fix_description = (
        "Rewrite as a `with`/`async with` block (`contextlib.closing` for sqlite3/psycopg "
        "connections; a `try/finally` keeping the same release where the type's `with` does "
        "something else, as for `multiprocessing.Pool`)."
    )
    options = ("resources",)
    flagged = (
        "def load(path):\n    f = open(path)\n    data = f.read()\n    f.close()\n    return data\n",
        "import sqlite3\n\ndef count(db):\n    conn = sqlite3.connect(db)\n"
        "    n = conn.execute('select count(*) from t').fetchone()\n    conn.close()\n    return n\n",
        "import multiprocessing\n\ndef squares(xs):\n    pool = multiprocessing.Pool(4)\n"
        "    result = pool.map(abs, xs)\n    pool.close()\n    pool.join()\n    return result\n",
        "import httpx\n\nasync def get(url):\n    client = httpx.AsyncClient()\n"
        "    response = await client.get(url)\n    await client.aclose()\n    return response\n",
        "def first(path):\n    f = open(path)\n    if not path.endswith('.txt'):\n        return None\n"
        "    line = f.readline()\n    f.close()\n    return line\n",
    )
    clean = (
        "def load(path):\n    with open(path) as f:\n        return f.read()\n",
        "def load(path):\n    f = open(path)\n    try:\n        return f.read()\n    finally:\n        f.close()\n",
        "def touch(path):\n    f = open(path, 'a')\n    f.close()\n",
        "def load(path):\n    f = open(path)\n    try:\n        data = f.read()\n    except OSError:\n"
        "        data = ''\n    f.close()\n    return data\n",
        "import socket\n\ndef connect(addr):\n    s = socket.socket()\n    try:\n        s.connect(addr)\n"
        "    except OSError:\n        s.close()\n        raise\n    return s\n",
    )

    def created(self, node: cst.Call, made: flow.Creation) -> None:
        local = flow.local_resource(self.ctx, made)
        if local is None or local.fate is not flow.Fate.HAPPY_PATH:
            return
        release = local.releases[0]
        method = f"{local.name}.{release.call.func.attr.value}()"  # type: ignore[attr-defined]
        skipped = _snippet(self.ctx.module.code_for_node(local.skipped_by))
        if local.skip_kind == "exit":
            why = f"`{skipped}` leaves the function while it is still open"
        elif local.skip_kind == "reraise":
            why = f"if `{skipped}` raises, the `except` handler raises again, {method} is skipped"
        elif local.skip_kind == "handler-exit":
            why = f"if `{skipped}` raises, the `except` handler leaves the function, {method} is skipped"
        elif local.skip_kind == "iterate":
            why = f"if iterating `{skipped}` raises, {method} is skipped"
        else:
            why = f"if `{skipped}` raises, {method} is skipped"
        self.report(
            node,
            f"{made.label} bound to `{local.name}` is released only on the happy path: {why} "
            f"and it leaks — {flow.advice(made)}",
            self._fix(local),
        )

    def _fix(self, local: flow.LocalResource) -> Fix:
        return flow.block_fix(local, _rewrite(local), Applicability.SAFE,
                              "Release `{name}` on every path ({how})", self.fix_description)


def _snippet(text: str, limit: int = 50) -> str:
    line = " ".join(text.split()).rstrip("; ")
    return line if len(line) <= limit else line[: limit - 3] + "..."


_FOLLOW_UPS = ("join", "wait_closed")  # `pool.close(); pool.join()`: one release


def _rewrite(local: flow.LocalResource) -> Optional[flow.Rewrite]:
    """The SPEC's safe rewrite, when creation and release are in one block and the
    release is the last use; None when that does not hold."""
    block = local.block
    if block is None or local.top_uses is None or not all(_only_statement(r) for r in local.releases):
        return None
    start = flow.statement_index(block, local.statement)
    lines = {id(r.line) for r in local.releases}
    positions = sorted(flow.statement_index(block, r.line) for r in local.releases)  # type: ignore[arg-type]
    end = positions[0]
    if start < 0 or end <= start:
        return None
    # `producer.flush(); producer.close()`, `pool.close(); pool.join()`: one release
    group: List[cst.BaseStatement] = [block.body[end]]
    while end + 1 < len(block.body) and (
        id(block.body[end + 1]) in lines or _is_follow_up(block.body[end + 1], local.name)
    ):
        end += 1
        group.append(block.body[end])
    indices = [flow.statement_index(block, stmt) for stmt in local.top_uses]
    if positions[-1] > end or min(indices) <= start or max(indices) > end:
        return None  # used before the creation (a loop) or after the release
    moved = list(block.body[start + 1:end + 1 - len(group)])
    release = local.releases[0]
    call = release.call
    how = flow.rewrite_kind(local.creation, call.func.attr.value, release.awaited, bool(call.args))  # type: ignore[attr-defined]
    if how != "finally" and (len(group) > 1 or any(flow.has_comments(stmt) for stmt in group)):
        how = "finally"  # keep what would otherwise be dropped
    return flow.guard_statements(local, start, end, moved, how, release.awaited, group)


def _only_statement(release: flow.Release) -> bool:
    """`x.close()` or `await x.close()` alone on its line."""
    line = release.line
    if line is None or len(line.body) != 1 or type(line.body[0]) is not cst.Expr:
        return False
    value = line.body[0].value
    return value is release.call or (type(value) is cst.Await and value.expression is release.call)


def _is_follow_up(statement: cst.BaseStatement, name: str) -> bool:
    """`name.join()` / `await name.wait_closed()` right after the release."""
    if type(statement) is not cst.SimpleStatementLine or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if type(small) is not cst.Expr:
        return False
    value = small.value
    if type(value) is cst.Await:
        value = value.expression
    return (
        type(value) is cst.Call
        and type(value.func) is cst.Attribute
        and type(value.func.value) is cst.Name
        and value.func.value.value == name
        and value.func.attr.value in _FOLLOW_UPS
    )
