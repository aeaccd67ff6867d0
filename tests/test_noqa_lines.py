"""The reported line's text (for `# noqa`, the text and JSON output's source line and the
baseline's fingerprint) is the line as Python counts lines: a form feed or another
separator that str.splitlines breaks at, anywhere earlier in the file, must not shift it."""
import pytest

from leaklint.api import lint_source
from leaklint.config import Settings
from pathlib import Path

from leaklint.fingerprint import assign

SEPARATORS = ["\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x0b"]


def _source(separator, noqa):
    return (
        f"x = 1  # {separator} page\n"
        f"'''a docstring with {separator} inside'''\n"
        "def load(p):\n"
        f"    return open(p).read(){'  # noqa: LL204' if noqa else ''}\n"
    )


@pytest.mark.parametrize("separator", SEPARATORS, ids=repr)
def test_a_noqa_after_a_line_separator_still_silences(separator):
    assert lint_source(_source(separator, noqa=True), "m.py", Settings()).diagnostics == []


@pytest.mark.parametrize("separator", SEPARATORS, ids=repr)
def test_the_source_line_and_fingerprint_are_the_reported_line(separator):
    found = lint_source(_source(separator, noqa=False), "m.py", Settings()).diagnostics
    assert [(d.code, d.line) for d in found] == [("LL204", 4)]
    assert found[0].source_line == "    return open(p).read()"
    plain = lint_source(_source("", noqa=False), "m.py", Settings()).diagnostics
    assert [d.fingerprint for d in assign(found, Path('.'))] == [d.fingerprint for d in assign(plain, Path('.'))]
