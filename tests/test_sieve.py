"""The sieve (leaklint/sieve.py): libcst parses only what the rules' candidates need.
It must never change a finding: every comparison here is with the sieve turned off."""
import ast
import sysconfig
import textwrap
from pathlib import Path

import pytest

from harness import FIXTURES, fixture_files, settings_for
from helpers import REPO
from leaklint import engine, sieve
from leaklint.api import lint_file, lint_source
from leaklint.config import Settings
from leaklint.engine import selected_rules

EVERY_RULE = Settings().with_overrides(select=("LL",))


def _key(result):
    return [(d.cell, d.line, d.column, d.end_line, d.end_column, d.code, d.message,
             None if d.fix is None else (d.fix.applicability, d.fix.description)) for d in result.diagnostics]


@pytest.fixture
def unsieved(monkeypatch):
    """Lint with the sieve off: every file past the text filter parsed whole."""
    def run(lint, *args, **kwargs):
        with monkeypatch.context() as patch:
            patch.setattr(engine, "SIEVE", False)
            return _key(lint(*args, **kwargs))
    return run


def _plan(text, settings=EVERY_RULE):
    tree = ast.parse(text)
    return tree, sieve.plan(selected_rules(settings), sieve.AstFile(tree, text, settings, settings.knowledge()))


def _corpus():
    """The standard library's concurrency and networking code."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in ("asyncio", "concurrent", "multiprocessing", "logging", "http", "urllib", "xmlrpc", "email"):
        yield from sorted((stdlib / name).rglob("*.py"))
    for name in ("socketserver.py", "subprocess.py", "tempfile.py", "queue.py", "sched.py", "selectors.py",
                 "threading.py", "smtplib.py", "ftplib.py", "imaplib.py"):
        yield stdlib / name


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_the_sieve_changes_no_finding_in_the_fixtures(path, unsieved):
    settings = settings_for(path)
    assert _key(lint_file(str(path), settings)) == unsieved(lint_file, str(path), settings)


def test_the_sieve_changes_no_finding_in_the_examples_and_a_real_corpus(unsieved):
    paths = sorted((REPO / "examples").glob("*.py")) + [p for p in _corpus() if p.exists()]
    assert len(paths) > 100
    skipped = sliced = 0
    for path in paths:
        assert _key(lint_file(str(path), EVERY_RULE)) == unsieved(lint_file, str(path), EVERY_RULE), path
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree, kept = _plan(text)  # a candidate check that raised would fail here
        except SyntaxError:
            continue
        if kept is None:
            skipped += 1
        elif not kept.whole_file:
            sliced += 1
            _assert_a_faithful_slice(text, *sieve.slice_text(text, tree, kept))
    # the sieve is exercised both ways, not vacuous
    assert skipped > 10 and sliced > 10, (skipped, sliced)


def _lines(text):
    return sieve._LINE.findall(text)  # Python's line breaks, not str.splitlines'


def _assert_a_faithful_slice(text, sliced, line_map):
    if line_map is None:  # nothing to cut
        assert sliced == text
        return
    before, after = _lines(text), _lines(sliced)
    assert len(after) == len(line_map) <= len(before)
    assert line_map == sorted(set(line_map))  # in order, each line once
    for new, number in zip(after, line_map):
        old = before[number - 1]
        # a line kept as it was, or a stub on a definition's own line
        assert new == old or new.lstrip().startswith(("def ", "class ")) and new.rstrip().endswith(": pass"), (old, new)
    ast.parse(sliced)


def test_a_file_without_candidates_is_not_parsed_by_libcst(monkeypatch):
    source = "import asyncio\n\nasync def main(sem=asyncio.Semaphore(10)):\n    await asyncio.sleep(1)\n"
    assert engine.trigger_pattern(selected_rules(EVERY_RULE), EVERY_RULE).search(source)  # past the text filter
    parsed = []
    real = engine.cst.parse_module
    monkeypatch.setattr(engine.cst, "parse_module", lambda text: parsed.append(text) or real(text))
    assert lint_source(source, "a.py", EVERY_RULE).diagnostics == []
    assert parsed == []


CROSS_UNIT = {
    # the finding depends on code outside the function that holds it
    "loop from __init__": """
        import asyncio

        class Client:
            def __init__(self):
                self._loop = asyncio.get_running_loop()

            def other(self):
                return 1

            def start(self):
                self._loop.create_task(self.run())

        def unrelated():
            return 1
        """,
    "guard in the spawned function": """
        import asyncio

        sem = asyncio.Semaphore(10)

        async def fetch(u):
            async with sem:
                return await get(u)

        def unrelated():
            return 2

        async def crawl(urls):
            return await asyncio.gather(*(fetch(u) for u in urls))
        """,
    "limit through a module constant": """
        import asyncio
        import sys

        LIMIT = sys.maxsize

        def unrelated():
            return 3

        def make():
            return asyncio.Semaphore(LIMIT)
        """,
    "a global rebound in another function": """
        import asyncio

        LIMIT = 10

        def configure():
            global LIMIT
            LIMIT = 2**63

        def make():
            return asyncio.Semaphore(LIMIT)
        """,
    "a creation kept for another rule": """
        import concurrent.futures

        class Middleware:
            def __init__(self, workers):
                # LL101 keeps this for the limit; LL203 must then see the hand-over below
                self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=len(workers))

            async def __call__(self, scope):
                await Responder(self.executor, scope)()

        class Responder:
            def __init__(self, executor, scope):
                self.executor = executor

        def unrelated():
            return 5
        """,
    "I/O two calls away from the fan-out": """
        import asyncio

        async def _get(client, url):
            return await client.get(url)

        async def one(client, url):
            return await _get(client, url)

        def unrelated():
            return 6

        async def crawl(client, urls):
            await asyncio.gather(*(one(client, u) for u in urls))
        """,
    "a fan-out's size read by a helper": """
        import asyncio

        async def listing(session, url):
            async with session.get(url) as response:
                return (await response.text()).split()

        def unrelated():
            return 7

        async def crawl(session, url):
            found = await listing(session, url)
            await asyncio.gather(*(session.head(u) for u in found))
        """,
    "a fan-out over what another method read from I/O": """
        import asyncio

        async def _read(session, url):
            response = await session.get(url)
            return await response.json()

        def unrelated():
            return 8

        class Loader:
            def __init__(self, session):
                self._session = session
                self.items = []

            async def fill(self, url):
                self.items = await self._fetch(url)

            async def _fetch(self, url):
                return await _read(self._session, url)

            async def run(self):
                await asyncio.gather(*(self._session.head(i) for i in self.items))
        """,
    "a logging handler's base in another class": """
        import queue
        from logging.handlers import QueueHandler as Enqueuing

        class Base(Enqueuing):
            def prepare(self, record):
                return record

        def unrelated():
            return 6

        class Handler(Base):
            def __init__(self):
                super().__init__(queue.Queue(-1))
        """,
    "an alias bound at module level": """
        import asyncio

        spawn = asyncio.create_task

        def unrelated():
            return 4

        async def main():
            spawn(work())
        """,
}


@pytest.mark.parametrize("name", sorted(CROSS_UNIT))
def test_what_a_candidate_depends_on_is_kept(name, unsieved):
    source = textwrap.dedent(CROSS_UNIT[name]).lstrip()
    tree, kept = _plan(source)
    assert kept is not None and not kept.whole_file  # sliced, so the test means something
    if "def unrelated" in source:
        assert "def unrelated(): pass" in sieve.sliced_text(source, tree, kept)
    assert _key(lint_source(source, "m.py", EVERY_RULE)) == unsieved(lint_source, source, "m.py", EVERY_RULE)


SLICED = '''\
import asyncio
X = 1

@decorator(
    arg=1,
)
async def dropped(a,
                  b):
    """a docstring
    over lines"""
    return a

class Kept:
    attr = 2

    @property
    def dropped_method(self):
        return 3

    async def start(self):
        asyncio.create_task(work())

def one_liner(): return 4
'''


def test_a_slice_keeps_whole_lines_and_says_where_each_came_from():
    source = SLICED.replace("\n", "\r\n")
    tree, kept = _plan(source)
    sliced, line_map = sieve.slice_text(source, tree, kept)
    lines = sliced.split("\r\n")
    assert lines[:4] == ["import asyncio", "X = 1", "", "def dropped(): pass"]  # decorators cut too
    assert line_map[3] == 7  # the stub stands for the `def` line
    assert lines[4:8] == ["", "class Kept:", "    attr = 2", ""]
    assert lines[8] == "    def dropped_method(): pass" and line_map[8] == 17
    assert lines[9:12] == ["", "    async def start(self):", "        asyncio.create_task(work())"]
    assert line_map[10:12] == [20, 21]
    assert lines[12:14] == ["", "def one_liner(): pass"]
    assert "\n" not in sliced.replace("\r\n", "")  # the file's own line ends
    ast.parse(sliced)


def test_a_form_feed_is_no_line_break_for_the_slice(unsieved):
    # str.splitlines would split at the form feed and put every later line out of step
    source = ("import asyncio\n\x0c\ndef dropped():\n    x = '\x0c'\n    return x\n\n"
              "async def main():\n    asyncio.create_task(work())\n")
    tree, kept = _plan(source)
    sliced, line_map = sieve.slice_text(source, tree, kept)
    assert "def dropped(): pass" in sliced and line_map[-1] == 8
    found = lint_source(source, "m.py", EVERY_RULE)
    assert [(d.code, d.line) for d in found.diagnostics] == [("LL205", 8)]
    assert _key(found) == unsieved(lint_source, source, "m.py", EVERY_RULE)


def test_the_fix_engine_gets_the_whole_module():
    source = "import asyncio\n\ndef unrelated():\n    return 1\n\nasync def main():\n    asyncio.create_task(work())\n"
    sliced = lint_source(source, "m.py", EVERY_RULE)
    assert [d.code for d in sliced.diagnostics] == ["LL205"]
    assert sliced.module is None  # a slice is no module to write back
    whole = lint_source(source, "m.py", EVERY_RULE, whole=True)
    assert _key(whole) == _key(sliced)
    assert whole.module is not None and whole.module.code == source


def test_a_failing_candidate_check_means_the_whole_file(monkeypatch):
    source = "import asyncio\n\nasync def main():\n    asyncio.create_task(work())\n"
    rule = next(r for r in selected_rules(EVERY_RULE) if r.code == "LL205")

    def broken(index):
        raise ValueError("a bug")
        yield  # pragma: no cover

    monkeypatch.setattr(rule, "candidates", classmethod(lambda cls, index: broken(index)))
    assert [d.code for d in lint_source(source, "m.py", EVERY_RULE).diagnostics] == ["LL205"]


DEFAULTS = Settings()
# What the candidate checks leave out because the rule's own reading cannot report it:
# (source, selection) -> the plan is None (libcst never sees the file).
NOT_CANDIDATES = {
    "a limit from a parameter (values cannot tell it)": """
        import asyncio

        def make(n):
            return asyncio.Semaphore(n)
        """,
    "a fan-out whose work reaches no I/O (LL104's, off by default)": """
        import asyncio

        async def double(x):
            return x * 2

        async def run(items):
            return await asyncio.gather(*(double(x) for x in items))
        """,
    "a consume loop that awaits what it starts (LL103 sees it paced)": """
        import asyncio

        async def consume(queue):
            while True:
                item = await queue.get()
                task = asyncio.create_task(handle(item))
                await task
        """,
}


@pytest.mark.parametrize("name", sorted(NOT_CANDIDATES))
def test_what_no_default_rule_can_report_is_not_parsed(name, unsieved):
    source = textwrap.dedent(NOT_CANDIDATES[name]).lstrip()
    _tree, kept = _plan(source, DEFAULTS)
    assert kept is None
    assert _key(lint_source(source, "m.py", DEFAULTS)) == unsieved(lint_source, source, "m.py", DEFAULTS)


def test_the_strict_fan_out_reading_still_gets_its_candidates():
    source = textwrap.dedent(NOT_CANDIDATES["a fan-out whose work reaches no I/O (LL104's, off by default)"])
    strict = Settings().with_overrides(extend_select=("LL104",))
    assert _plan(source, strict)[1] is not None
    assert [d.code for d in lint_source(source, "m.py", strict).diagnostics] == ["LL104"]


# Sites judged from a few places of the file: those places are kept, not the whole file.
NARROWED = {
    "a subscription in __init__ (LL305)": """
        import logging

        class Worker:
            def __init__(self):
                logging.getLogger("w").addHandler(logging.StreamHandler())  # reported

        class Quiet:
            def __init__(self):
                self.log = logging.getLogger("q")
                self.log.addHandler(logging.StreamHandler())

            def reset(self):
                self.log.removeHandler(self.log.handlers[0])  # undone: not reported

        def unrelated():
            return 5
        """,
    "a queue fed per call whose class also spawns (LL402)": """
        import asyncio

        class Protocol:
            def __init__(self):
                self._queue = asyncio.Queue()

            def data_received(self, data):
                self._queue.put_nowait(data)

            async def consume(self):
                while True:
                    item = await self._queue.get()
                    self._tg.create_task(handle(item))

        def unrelated():
            return 5
        """,
}


@pytest.mark.parametrize("name", sorted(NARROWED))
def test_a_site_judged_from_other_places_keeps_those_not_the_file(name, unsieved):
    source = textwrap.dedent(NARROWED[name]).lstrip()
    tree, kept = _plan(source, DEFAULTS)
    assert kept is not None and not kept.whole_file
    assert "def unrelated(): pass" in sieve.sliced_text(source, tree, kept)
    assert _key(lint_source(source, "m.py", DEFAULTS)) == unsieved(lint_source, source, "m.py", DEFAULTS)
