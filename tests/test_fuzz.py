"""Property tests: linting never raises, and applying every fix keeps the code
parseable and is idempotent.

CI runs a bounded, derandomised number of examples. For a longer local run:

    LEAKLINT_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz.py
"""
import ast
import os

import pytest

hypothesis = pytest.importorskip("hypothesis")
hypothesmith = pytest.importorskip("hypothesmith")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from leaklint.api import lint_source  # noqa: E402
from leaklint.config import Settings  # noqa: E402
from leaklint.fixes import fix_text  # noqa: E402

EXAMPLES = int(os.environ.get("LEAKLINT_FUZZ_EXAMPLES", "60"))
LONG = "LEAKLINT_FUZZ_EXAMPLES" in os.environ
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=not LONG,  # CI: the same examples every run
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
EVERY_RULE = Settings().with_overrides(select=("LL",))

# --- a grammar of the code leaklint cares about --------------------------------------
# Random Python alone almost never holds a trigger word, so the pre-filter would drop
# it unparsed. These pieces are the APIs the rules know, in the places they look.

IMPORTS = (
    "import asyncio\nimport queue\nimport threading\nimport sys\nimport math\nimport logging\n"
    "import atexit\nimport functools\nimport collections\nimport concurrent.futures as cf\n"
    "import aiohttp\nimport redis\nfrom faststream.redis import RedisBroker\n"
    "from confluent_kafka import Consumer\nfrom multiprocessing import Pool\n"
    "_tasks = set()\nbroker = RedisBroker()\nlog = logging.getLogger()\n"
)

EXPRESSIONS = st.sampled_from([
    "asyncio.create_task(work())", "asyncio.ensure_future(work())", "loop.create_task(work())",
    "asyncio.Semaphore(sys.maxsize)", "asyncio.Semaphore(4)", "threading.BoundedSemaphore(10**9)",
    "cf.ThreadPoolExecutor(max_workers=len(items))", "cf.ThreadPoolExecutor()",
    "asyncio.gather(*(work(x) for x in items))", "asyncio.gather(*[work(x) for x in items])",
    "open(path)", "open(path).read()", "aiohttp.ClientSession()", "aiohttp.TCPConnector(limit=0)",
    "redis.Redis().pubsub()", "Consumer({'queued.max.messages.kbytes': 2097151})", "Pool(4)",
    "asyncio.Queue()", "asyncio.Queue(maxsize=0)", "queue.Queue(-1)", "collections.deque()",
    "broker.subscriber('orders')(handle)", "log.addHandler(logging.StreamHandler())",
    "atexit.register(flush)", "functools.lru_cache(maxsize=None)(work)", "_tasks.add(item)",
    "float('inf')", "lambda: asyncio.create_task(work())", "await session.get(url)",
])
NAMES = st.sampled_from(["x", "item", "session", "task", "q", "fh", "self.pool", "self.q", "_tasks"])


@st.composite
def statements(draw, depth=0):
    kind = draw(st.integers(0, 9 if depth < 3 else 3))
    expr = draw(EXPRESSIONS)
    name = draw(NAMES)
    if kind == 0:
        return [expr]
    if kind == 1:
        return [f"{name} = {expr}"]
    if kind == 2:
        return [f"{name}.close()"]
    if kind == 3:
        return ["return " + draw(st.sampled_from([name, expr, "None"]))]
    body = [line for _ in range(draw(st.integers(1, 3))) for line in draw(statements(depth + 1))]
    inner = ["    " + line for line in body]
    header = {
        4: f"for {name.replace('self.', '')} in items:",
        5: "while True:",
        6: f"with {expr} as {name.replace('self.', '')}:",
        7: "try:",
        8: "if flag:",
        9: "async for message in consumer:",
    }[kind]
    if kind == 7:
        return [header, *inner, "finally:", f"    {name}.close()"]
    return [header, *inner]


@st.composite
def modules(draw):
    parts = [IMPORTS]
    for index in range(draw(st.integers(1, 4))):
        body = [line for _ in range(draw(st.integers(1, 4))) for line in draw(statements())]
        kind = draw(st.sampled_from(["async def", "def", "method"]))
        if kind == "method":
            parts.append(f"class C{index}:\n    def __init__(self):\n        self.pool = cf.ThreadPoolExecutor()\n"
                         f"    async def run(self, items, path, url, flag, consumer, loop):\n"
                         + "".join(f"        {line}\n" for line in body))
        else:
            parts.append(f"{kind} f{index}(items, path, url, flag, consumer, loop, session):\n"
                         + "".join(f"    {line}\n" for line in body))
    top = draw(st.lists(EXPRESSIONS, max_size=3))
    return "\n".join(parts) + "".join(f"{line}\n" for line in top)


def _parses(text):
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


@FUZZ
@given(modules())
def test_linting_leaky_shapes_never_raises(source):
    result = lint_source(source, "fuzz.py", EVERY_RULE)
    if _parses(source):
        assert all(d.code != "LL001" for d in result.diagnostics), source


@FUZZ
@given(modules())
def test_fixes_keep_code_parseable_and_are_idempotent(source):
    if not _parses(source):  # e.g. `await` outside async def: fixes keep a broken file as is
        return
    outcome = fix_text(source, "fuzz.py", EVERY_RULE, unsafe=True)
    assert outcome.error is None, f"{outcome.error}\n--- source ---\n{source}"
    assert _parses(outcome.fixed), outcome.fixed
    again = fix_text(outcome.fixed, "fuzz.py", EVERY_RULE, unsafe=True)
    assert again.error is None and again.fixed == outcome.fixed, outcome.fixed


@FUZZ
@given(hypothesmith.from_grammar())
def test_linting_generated_python_never_raises(source):
    # the import and the call put every file past the pre-filter, into the parser and rules
    text = "import asyncio\nasyncio.create_task(job())\n" + source
    lint_source(text, "generated.py", EVERY_RULE)
    lint_source(source.encode("utf-8", "surrogatepass"), "generated.py", EVERY_RULE)
