"""LL301's fix removes the later duplicate; the edit is checked by applying it."""
import libcst as cst
import pytest

from leaklint.api import lint_source
from leaklint.config import Settings
from leaklint.diagnostics import Applicability

HEADER = "from faststream.redis import RedisBroker\n\nbroker = RedisBroker()\n\nasync def handle(msg):\n    ...\n\n"


def _fixed(source):
    result = lint_source(source, "x.py", Settings(select=("LL301",)), whole=True)
    (diagnostic,) = result.diagnostics
    fix = diagnostic.fix
    if not fix.edits:
        return fix, None
    module = result.module
    for edit in fix.edits:
        module = module.deep_replace(edit.old, edit.new)
    code = module.code
    cst.parse_module(code)  # still valid Python
    return fix, code


@pytest.mark.parametrize(
    "body, after",
    [
        # a statement of its own
        ('broker.subscriber("a")(handle)\nbroker.subscriber("a")(handle)\nprint("ok")\n',
         'broker.subscriber("a")(handle)\nprint("ok")\n'),
        # the second decorator of a stack
        ('@broker.subscriber("a")\n@broker.subscriber("a")\nasync def on_a(msg):\n    ...\n',
         '@broker.subscriber("a")\nasync def on_a(msg):\n    ...\n'),
        # the only statement of a block: `pass` keeps the block valid
        ('broker.subscriber("a")(handle)\nif True:\n    broker.subscriber("a")(handle)\n',
         'broker.subscriber("a")(handle)\nif True:\n    pass\n'),
        # one of two statements on a line
        ('broker.subscriber("a")(handle)\nbroker.subscriber("a")(handle); print("ok")\n',
         'broker.subscriber("a")(handle)\nprint("ok")\n'),
        # awaited
        ('async def main(p):\n    await broker.subscriber("a")(handle)\n    await broker.subscriber("a")(handle)\n',
         'async def main(p):\n    await broker.subscriber("a")(handle)\n'),
    ],
)
def test_removes_the_later_duplicate(body, after):
    fix, code = _fixed(HEADER + body)
    assert fix.applicability is Applicability.UNSAFE
    assert code == HEADER + after


def test_a_kept_result_is_only_a_suggestion():
    source = HEADER + 'broker.subscriber("a")(handle)\nsub = broker.subscriber("a")(handle)\n'
    fix, code = _fixed(source)
    assert fix.applicability is Applicability.SUGGESTED and code is None
