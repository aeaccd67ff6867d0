"""The text pre-filter: files without any selected rule's trigger words are never
parsed. It must never hide a finding the full run would make."""
import random
import re
import sysconfig
from pathlib import Path

import pytest

from harness import FIXTURES, fixture_files, settings_for
from helpers import REPO
from leaklint import engine
from leaklint.api import lint_file
from leaklint.config import Settings, settings_from_table
from leaklint.engine import selected_rules, trie_regex, trigger_pattern


def _findings(path, settings):
    return [(d.cell, d.line, d.column, d.code, d.message) for d in lint_file(str(path), settings).diagnostics]


@pytest.fixture
def no_prefilter(monkeypatch):
    """Every file parsed: `trigger_pattern` returning None means "cannot tell"."""
    def run(path, settings):
        with monkeypatch.context() as patch:
            patch.setattr(engine, "trigger_pattern", lambda rules, settings: None)
            return _findings(path, settings)
    return run


def _corpus():
    """Real code with concurrency in it: the standard library's asyncio, concurrent,
    multiprocessing, logging and networking modules."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in ("asyncio", "concurrent", "multiprocessing", "logging", "http", "urllib", "xmlrpc"):
        yield from sorted((stdlib / name).rglob("*.py"))
    for name in ("socketserver.py", "subprocess.py", "tempfile.py", "queue.py", "sched.py", "selectors.py"):
        yield stdlib / name


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_prefilter_hides_nothing_in_the_fixtures(path, no_prefilter):
    settings = settings_for(path)
    assert _findings(path, settings) == no_prefilter(path, settings)


def test_prefilter_hides_nothing_in_the_examples_and_a_real_corpus(no_prefilter):
    settings = Settings().with_overrides(select=("LL",))  # every rule, default-off ones too
    paths = sorted((REPO / "examples").glob("*.py")) + [p for p in _corpus() if p.exists()]
    assert len(paths) > 80
    skipped = 0
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        if trigger_pattern(selected_rules(settings), settings).search(text) is None:
            skipped += 1
        assert _findings(path, settings) == no_prefilter(path, settings), path
    assert skipped > 0  # the filter is exercised, not vacuous


def test_user_declared_apis_are_triggers(tmp_path):
    """A file that only uses a resource the user declared is still parsed and reported."""
    source = "import acme\n\ndef send(x):\n    link = acme.Uplink(x)\n    link.push(x)\n"
    (tmp_path / "a.py").write_text(source)
    plain = Settings().with_overrides(select=("LL201",))
    assert trigger_pattern(selected_rules(plain), plain).search(source) is None
    declared = settings_from_table(
        {"select": ["LL201"], "resources": {"acme.Uplink": ["hangup"]}}, None, root=tmp_path)
    assert trigger_pattern(selected_rules(declared), declared).search(source) is not None
    assert [d.code for d in lint_file(str(tmp_path / "a.py"), declared).diagnostics] == ["LL201"]


def test_trie_regex_matches_what_a_flat_alternation_matches():
    rng = random.Random(1234)
    alphabet = "abQue(. =_s"
    for _ in range(300):
        words = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(rng.randint(1, 25))}
        flat = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))
        trie = re.compile(trie_regex(words))
        for _ in range(20):
            text = "".join(rng.choice(alphabet + "\n") for _ in range(rng.randint(0, 40)))
            found = flat.search(text)
            assert (found is None) == (trie.search(text) is None), (words, text)
            if found is not None:  # the same leftmost position
                assert trie.search(text).start() == found.start(), (words, text)


def test_every_builtin_trigger_word_is_matched():
    settings = Settings().with_overrides(select=("LL",))
    rules = selected_rules(settings)
    pattern = trigger_pattern(rules, settings)
    knowledge = settings.knowledge()
    for rule in rules:
        for word in rule.triggers(knowledge):
            assert pattern.search(f"x = 1\n{word}\n"), (rule.code, word)
