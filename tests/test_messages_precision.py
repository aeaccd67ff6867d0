"""Messages of LL103, LL202, LL206 and LL401/LL402 name what the reader must change
(issue 15): the statement that can raise, not one in an `except` handler; what each
task is spawned for; how to let go of what a registry stores; the other bindings of a
queue reported once."""
from leaklint.api import lint_source
from leaklint.config import Settings


def _messages(source, code):
    return {d.line: d.message for d in lint_source(source, "m.py", Settings()).diagnostics if d.code == code}


def test_ll202_names_the_try_body_not_the_handler():
    source = (
        "import logging\nlog = logging.getLogger()\n\n"
        "def load(path):\n    f = open(path)\n    try:\n        data = f.read()\n"
        "    except OSError:\n        log.warning('cannot read')\n        raise\n    f.close()\n    return data\n"
    )
    found = _messages(source, "LL202")
    assert set(found) == {5}
    assert "`data = f.read()` raises" in found[5] and "log.warning" not in found[5]


def test_ll103_says_pass_for_while_true_and_message_for_streams():
    source = (
        "import asyncio\n_keep = set()\n\n"
        "async def accept(listener):\n    while True:\n        conn = await listener.accept()\n"
        "        _keep.add(asyncio.create_task(serve(conn)))\n\n"
        "async def consume(consumer):\n    async for msg in consumer:\n"
        "        _keep.add(asyncio.create_task(serve(msg)))\n"
    )
    found = _messages(source, "LL103")
    assert set(found) == {7, 11}
    assert "every message" not in found[7] and "`await listener.accept()`" in found[7]
    assert "every message" in found[11]


def test_ll206_advice_fits_the_container():
    source = (
        "import asyncio\n\nclass Calls:\n    def __init__(self, loop):\n        self.loop = loop\n"
        "        self.pending = {}\n        self.running = []\n\n"
        "    def call(self, key):\n        self.pending[key] = self.loop.create_future()\n\n"
        "    def run(self, coro):\n        self.running.append(asyncio.ensure_future(coro))\n"
    )
    found = _messages(source, "LL206")
    assert set(found) == {10, 13}
    assert "future.add_done_callback(lambda _: self.pending.pop(key, None))" in found[10]
    assert "task.add_done_callback(self.running.remove)" in found[13]


def test_ll401_one_finding_names_the_other_binding():
    source = (
        "import asyncio\n\nclass R:\n    def __init__(self, fast):\n        if fast:\n"
        "            self.q = asyncio.Queue(0)\n        else:\n            self.q = asyncio.Queue(-1)\n"
    )
    found = _messages(source, "LL401")
    assert set(found) == {6}
    assert "`self.q` is bound to an unbounded queue in one more place" in found[6]


def test_ll205_does_not_say_lost_when_the_coroutine_logs_its_own_errors():
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / "ll2" / "ll205_logged_errors.py"
    found = _messages(path.read_text(), "LL205")
    assert set(found) == {45, 48, 52, 53, 54, 55, 59, 80, 81}
    for line, name in ((45, "_poll"), (48, "refresh_guarded"), (52, "refresh_guarded"), (59, "refresh_guarded"),
                       (80, "_recreate")):
        assert "lost —" not in found[line] and f"`{name}` catches its own errors and logs or reports them" in found[line]
        assert "weakly" in found[line]  # the reference point still stands
    # only ValueError caught; work after the try; not a function of the module; the error not passed on
    for line in (53, 54, 55, 81):
        assert "its exception is lost" in found[line]
