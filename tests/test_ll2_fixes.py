"""The LL2 rules' fix edits, applied the way the fix engine will (`deep_replace` of each
edit's node) and compared exactly; and when they must stay suggestions."""
from textwrap import dedent

import libcst as cst
import pytest

from leaklint.api import lint_source
from leaklint.config import Settings
from leaklint.diagnostics import Applicability


def _fix(source, code):
    source = dedent(source)
    result = lint_source(source, "example.py", Settings(select=(code,)), whole=True)
    found = [d for d in result.diagnostics if d.code == code]
    assert len(found) == 1, [d.message for d in result.diagnostics]
    return found[0].fix, result.module


def _applied(source, code):
    fix, module = _fix(source, code)
    assert fix.edits, fix.description
    for edit in fix.edits:
        module = module.deep_replace(edit.old, edit.new)
    cst.parse_module(module.code)  # still valid Python
    return fix, module.code


def _codes(source, code):
    result = lint_source(source, "example.py", Settings(select=(code,)), whole=True)
    return [d.code for d in result.diagnostics]


# --- LL202: safe rewrites -------------------------------------------------------------------

def test_ll202_open_becomes_a_with_block_keeping_comments():
    fix, code = _applied(
        """\
        def load(path):
            # read it all
            fh = open(path)  # text mode
            data = fh.read()
            fh.close()
            return data
        """,
        "LL202",
    )
    assert fix.applicability is Applicability.SAFE
    assert code == dedent(
        """\
        def load(path):
            # read it all
            with open(path) as fh:  # text mode
                data = fh.read()
            return data
        """
    )
    assert _codes(code, "LL2") == []


def test_ll202_sqlite_uses_contextlib_closing():
    fix, code = _applied(
        """\
        import sqlite3

        def count(db_path):
            db = sqlite3.connect(db_path)
            n = db.execute("select 1").fetchone()
            db.close()
            return n
        """,
        "LL202",
    )
    assert fix.imports == ("import contextlib",)
    assert code == dedent(
        """\
        import sqlite3

        def count(db_path):
            with contextlib.closing(sqlite3.connect(db_path)) as db:
                n = db.execute("select 1").fetchone()
            return n
        """
    )


def test_ll202_pool_keeps_close_and_join_in_finally():
    fix, code = _applied(
        """\
        import multiprocessing

        def squares(xs):
            pool = multiprocessing.Pool(4)
            result = pool.map(abs, xs)
            pool.close()
            pool.join()
            return result
        """,
        "LL202",
    )
    assert fix.applicability is Applicability.SAFE
    assert code == dedent(
        """\
        import multiprocessing

        def squares(xs):
            pool = multiprocessing.Pool(4)
            try:
                result = pool.map(abs, xs)
            finally:
                pool.close()
                pool.join()
            return result
        """
    )
    assert _codes(code, "LL2") == []


def test_ll202_async_client_becomes_async_with():
    _, code = _applied(
        """\
        import httpx

        async def get(url):
            client = httpx.AsyncClient()
            response = await client.get(url)
            await client.aclose()
            return response
        """,
        "LL202",
    )
    assert code == dedent(
        """\
        import httpx

        async def get(url):
            async with httpx.AsyncClient() as client:
                response = await client.get(url)
            return response
        """
    )


def test_ll202_awaited_constructor_keeps_its_await():
    _, code = _applied(
        """\
        import aio_pika

        async def publish(url, message):
            connection = await aio_pika.connect_robust(url)
            channel = await connection.channel()
            await channel.default_exchange.publish(message, routing_key="q")
            await connection.close()
        """,
        "LL202",
    )
    assert "    async with await aio_pika.connect_robust(url) as connection:\n" in code
    assert "connection.close()" not in code


def test_ll202_release_with_arguments_moves_to_finally():
    # `with` would call shutdown(wait=True): not what this code asked for
    _, code = _applied(
        """\
        from concurrent.futures import ThreadPoolExecutor

        def run(jobs):
            executor = ThreadPoolExecutor(2)
            results = list(executor.map(len, jobs))
            executor.shutdown(wait=False)
            return results
        """,
        "LL202",
    )
    assert code == dedent(
        """\
        from concurrent.futures import ThreadPoolExecutor

        def run(jobs):
            executor = ThreadPoolExecutor(2)
            try:
                results = list(executor.map(len, jobs))
            finally:
                executor.shutdown(wait=False)
            return results
        """
    )


def test_ll202_event_loop_has_no_with_so_finally():
    _, code = _applied(
        """\
        import asyncio

        def run(coro):
            loop = asyncio.new_event_loop()
            result = loop.run_until_complete(coro)
            loop.close()
            return result
        """,
        "LL202",
    )
    assert "    try:\n        result = loop.run_until_complete(coro)\n    finally:\n        loop.close()\n" in code


def test_ll202_release_in_another_block_is_only_suggested():
    fix, _ = _fix(
        """\
        def load(path, keep):
            fh = open(path)
            data = fh.read()
            if not keep:
                fh.close()
            return data
        """,
        "LL202",
    )
    assert fix.applicability is Applicability.SUGGESTED and not fix.edits


def test_ll202_use_after_release_is_only_suggested():
    fix, _ = _fix(
        """\
        def load(path):
            fh = open(path)
            data = fh.read()
            fh.close()
            return data, fh.closed
        """,
        "LL202",
    )
    assert fix.applicability is Applicability.SUGGESTED and not fix.edits


# --- LL201: unsafe rewrites ------------------------------------------------------------------

def test_ll201_wraps_the_remaining_uses():
    fix, code = _applied(
        """\
        import socket

        def ping(host):
            conn = socket.create_connection((host, 80))
            conn.sendall(b"PING")
            reply = conn.recv(64)
            print(reply)
            return reply
        """,
        "LL201",
    )
    assert fix.applicability is Applicability.UNSAFE
    assert code == dedent(
        """\
        import socket

        def ping(host):
            with socket.create_connection((host, 80)) as conn:
                conn.sendall(b"PING")
                reply = conn.recv(64)
            print(reply)
            return reply
        """
    )


def test_ll201_async_session():
    _, code = _applied(
        """\
        import aiohttp

        async def fetch(url):
            session = aiohttp.ClientSession()
            async with session.get(url) as response:
                return await response.text()
        """,
        "LL201",
    )
    assert code.startswith("import aiohttp\n\nasync def fetch(url):\n    async with aiohttp.ClientSession() as session:\n")


def test_ll201_sqlite_and_pool():
    _, code = _applied(
        """\
        import sqlite3

        def count(db):
            conn = sqlite3.connect(db)
            return conn.execute("select 1").fetchone()
        """,
        "LL201",
    )
    assert "with contextlib.closing(sqlite3.connect(db)) as conn:\n" in code
    _, code = _applied(
        """\
        import multiprocessing

        def squares(xs):
            pool = multiprocessing.Pool()
            return pool.map(abs, xs)
        """,
        "LL201",
    )
    assert "    try:\n        return pool.map(abs, xs)\n    finally:\n        pool.close()\n        pool.join()\n" in code


def test_ll201_uses_outside_the_block_are_only_described():
    fix, _ = _fix(
        """\
        def first(path, flag):
            if flag:
                fh = open(path)
            return fh.readline()
        """,
        "LL201",
    )
    assert fix.applicability is Applicability.SUGGESTED and not fix.edits


# --- LL204: safe one-liners -------------------------------------------------------------------

@pytest.mark.parametrize(
    "before, after",
    [
        ("def v(p):\n    return open(p).read()\n", "def v(p):\n    with open(p) as f:\n        return f.read()\n"),
        ("import json\n\ndef c(p):\n    data = json.load(open(p))  # config\n    return data\n",
         "import json\n\ndef c(p):\n    with open(p) as f:\n        data = json.load(f)  # config\n    return data\n"),
        ("def w(p, f):\n    open(p, 'w').write(f)\n", "def w(p, f):\n    with open(p, 'w') as f_:\n        f_.write(f)\n"),
        ("import zipfile\n\ndef n(p):\n    return zipfile.ZipFile(p).namelist()\n",
         "import zipfile\n\ndef n(p):\n    with zipfile.ZipFile(p) as zf:\n        return zf.namelist()\n"),
    ],
)
def test_ll204_one_liners(before, after):
    fix, code = _applied(before, "LL204")
    assert fix.applicability is Applicability.SAFE
    assert code == after
    assert _codes(code, "LL2") == []


@pytest.mark.parametrize(
    "source",
    [
        "from concurrent.futures import ThreadPoolExecutor\n\ndef f(job):\n    return ThreadPoolExecutor().submit(job)\n",
        "def f(p):\n    if p: return open(p).read()\n",  # not a statement of its own block
        "def f(p):\n    return check(), open(p).read()\n",  # something runs before open()
        "def f(p):\n    return open(p).fileno()\n",  # the result is tied to the file
    ],
)
def test_ll204_other_shapes_are_suggested(source):
    fix, _ = _fix(source, "LL204")
    assert fix.applicability is Applicability.SUGGESTED and not fix.edits


def test_ll206_advice_fits_what_is_kept():
    """A task can discard itself when done; a loop callback handle has no
    add_done_callback, so its advice is different."""
    source = (
        "import asyncio\n\n"
        "class Scheduler:\n"
        "    def __init__(self):\n        self.timers = set()\n        self.tasks = set()\n\n"
        "    def later(self, loop, delay, cb):\n        self.timers.add(loop.call_later(delay, cb))\n\n"
        "    def now(self, coro):\n        self.tasks.add(asyncio.create_task(coro))\n"
    )
    found = {d.line: d.message for d in lint_source(source, "s.py", Settings()).diagnostics if d.code == "LL206"}
    assert set(found) == {9, 12}
    assert "add_done_callback" not in found[9] and "remove the handle when its callback runs" in found[9]
    assert "add_done_callback(self.tasks.discard)" in found[12]
