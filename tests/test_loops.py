"""The shared loop analysis."""
import libcst as cst
import pytest

from leaklint.analysis import loops
from leaklint.config import Settings
from leaklint.context import FileContext
from leaklint.engine import _Dispatch, _walk
from leaklint.rules.base import Rule


def loops_at_calls(source):
    """For each call to `mark(...)`: (kinds of enclosing loops, whether its argument varies)."""
    module = cst.parse_module(source)
    ctx = FileContext("x.py", source, module, Settings(), Settings().knowledge())
    seen = []

    class Probe(Rule):
        code = "LL999"

        def visit_Call(self, node):
            if isinstance(node.func, cst.Name) and node.func.value == "mark":
                found = loops.enclosing_loops(self.ctx)
                kinds = [
                    "forever" if loops.is_forever(l) else "async-for" if loops.is_async_for(l) else type(l).__name__
                    for l in found
                ]
                varies = [loops.varies_with(l, node.args[0].value) for l in found] if node.args else []
                seen.append((kinds, varies))

    _walk(module, ctx, _Dispatch([Probe(ctx)]))
    return seen


@pytest.mark.parametrize(
    "source, expected",
    [
        ("mark(1)\n", [([], [])]),
        ("for x in xs:\n    mark(x)\n", [(["For"], [True])]),
        ("for x in xs:\n    mark('a')\n", [(["For"], [False])]),
        ("for x in mark(xs):\n    pass\n", [([], [])]),  # the header runs once
        ("for x in xs:\n    pass\nelse:\n    mark(1)\n", [([], [])]),
        ("while True:\n    mark(1)\n", [(["forever"], [False])]),
        ("while n:\n    n = n - 1\n    mark(n)\n", [(["While"], [True])]),
        ("async def f():\n    async for m in c:\n        mark(m.topic)\n", [(["async-for"], [True])]),
        ("for x in xs:\n    def g():\n        mark(x)\n", [([], [])]),  # a new function: not in the loop
        ("[mark(x) for x in xs]\n", [(["CompFor"], [True])]),
        ("for a in b:\n    while True:\n        mark(a)\n", [(["forever", "For"], [False, True])]),
    ],
)
def test_enclosing_loops(source, expected):
    assert loops_at_calls(source) == expected
