"""The fix engine and --fix / --unsafe-fixes / --diff.

Two harnesses run over every fixture (whatever rules exist when the tests run):
- expected output: a fixture whose fixes change it has `name.py.fixed` beside it, the
  exact bytes `--fix --unsafe-fixes` writes (with every rule selected, and the
  fixture's sidecar settings); a fixture that no fix changes has none. To create or
  refresh them, run the tests with LEAKLINT_WRITE_FIXED=1 and read the result in
  `git diff` before committing it.
- properties: each fix applied alone re-parses (and compiles, when the original did),
  removes its finding and adds none; all fixes together reach a fixed point that a
  second run leaves alone; an automatic fix says safe/unsafe, a suggestion says so.
"""
from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path

import libcst as cst
import pytest

import leaklint.rules
from harness import FIXTURES, fixture_files, settings_for
from helpers import LEAKY, REPO, run_cli
from leaklint import cli, fixes
from leaklint.api import lint_source
from leaklint.config import Settings
from leaklint.diagnostics import Applicability, Edit, Fix
from leaklint.rules import Rule, all_rules

ALL = Settings(select=("LL",))


def _ids(path: Path) -> str:
    return str(path.relative_to(FIXTURES))


def _codes(diagnostics) -> Counter:
    return Counter(d.code for d in diagnostics)


def _compiles(data: bytes) -> bool:
    try:
        compile(data, "<fixture>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


# --- expected output: name.py -> name.py.fixed ----------------------------------------

@pytest.mark.parametrize("path", fixture_files(), ids=_ids)
def test_fixed_output(path):
    original = path.read_bytes()
    outcome, fixed = fixes.fix_bytes(original, str(path), settings_for(path), unsafe=True)
    assert outcome.error is None, outcome.error
    expected_path = path.with_name(path.name + ".fixed")
    if os.environ.get("LEAKLINT_WRITE_FIXED"):
        if fixed != original:
            expected_path.write_bytes(fixed)
        elif expected_path.exists():
            expected_path.unlink()
    if fixed == original:
        assert not expected_path.exists(), f"{expected_path.name}: no fix changes {path.name} any more; delete it"
        return
    assert expected_path.exists(), (
        f"{path.name} has fixes: add {expected_path.name} (LEAKLINT_WRITE_FIXED=1, then review it)\n"
        + outcome.diff()
    )
    want = expected_path.read_bytes()
    if fixed != want:
        diff = "".join(difflib.unified_diff(want.decode("latin-1").splitlines(True),
                                            fixed.decode("latin-1").splitlines(True),
                                            f"{expected_path.name} (expected)", "fixed now"))
        pytest.fail(f"{path.name}: the fixes do not give {expected_path.name}:\n{diff}")


def test_no_orphan_fixed_files():
    for expected in FIXTURES.rglob("*.fixed"):
        assert expected.with_suffix("").is_file(), f"{expected} has no fixture beside it"


# --- properties over every fixture and every rule's flagged examples --------------------

def _check_each_fix_alone(source: bytes, name: str, settings: Settings) -> int:
    """Every automatic fix, applied alone to the file: it re-parses, compiles when the
    original did, removes its finding and brings no new one. Returns how many."""
    before = lint_source(source, name, settings, whole=True)  # the tree fixes are made on
    compiles = _compiles(source)
    checked = 0
    # the engine hands over the very tree its findings' nodes belong to
    in_tree = fixes._nodes(before.module) if before.module is not None else set()
    assert all(d.node in in_tree for d in before.diagnostics if d.node is not None)
    for d in before.diagnostics:
        if d.fix is None:
            continue
        # an automatic fix declares safe/unsafe; a fix without edits is a suggestion
        if d.fix.edits:
            assert d.fix.applicability in (Applicability.SAFE, Applicability.UNSAFE), (d.code, d.line)
        else:
            assert d.fix.applicability is Applicability.SUGGESTED, (
                f"{name}:{d.line} {d.code}: a fix with no edit must say 'suggested'")
            continue
        assert d.fix.description.strip(), (d.code, d.line)
        assert before.module is not None
        done = fixes.apply_pass(before.module, [d])
        text = done.module.code
        where = f"{name}:{d.line} {d.code} fix"
        cst.parse_module(text)  # raises if it does not parse
        if compiles:
            compile(text, name, "exec", dont_inherit=True)
        # the same fix as line replacements (SARIF `fixes`) gives the same text; a notebook
        # cell's lines are not the module's, so it has none
        if d.cell is None:
            assert _replace_lines(before.module.code, fixes.text_edits(before.module, d)) == text, where
        after = lint_source(text, name, settings)
        allowed = _codes(before.diagnostics) - Counter([d.code])
        extra = _codes(after.diagnostics) - allowed
        assert not extra, f"{where} leaves or adds {dict(extra)}:\n" + fixes.unified_diff(name, before.module.code, text)
        checked += 1
    return checked


def _replace_lines(text: str, edits) -> str:
    lines = text.splitlines(keepends=True)
    for line, column, end_line, end_column, new in reversed(edits):  # file order: apply from the end
        assert column == end_column == 1
        lines[line - 1:end_line - 1] = new.splitlines(keepends=True)
    return "".join(lines)


def _check_fixed_point(source: bytes, name: str, settings: Settings) -> None:
    outcome, fixed = fixes.fix_bytes(source, name, settings, unsafe=True)
    assert outcome.error is None, outcome.error
    if _compiles(source):
        compile(fixed, name, "exec", dont_inherit=True)
    assert not [d for d in outcome.diagnostics if fixes.applicable(d.fix, True)], "fixable findings remain"
    # what remains was there before: nothing new, and one finding fewer per fix applied
    before = _codes(lint_source(source, name, settings).diagnostics)
    assert _codes(outcome.diagnostics) <= before - Counter(a.code for a in outcome.applied)
    again, data = fixes.fix_bytes(fixed, name, settings, unsafe=True)
    assert (again.applied, data) == ([], fixed), "a second --fix changes the file"


@pytest.mark.parametrize("path", fixture_files(), ids=_ids)
def test_fix_properties_on_fixture(path):
    settings = settings_for(path)
    _check_each_fix_alone(path.read_bytes(), str(path), settings)
    _check_fixed_point(path.read_bytes(), str(path), settings)


def _flagged_examples():
    for rule in all_rules():
        for index, example in enumerate(rule.flagged):
            yield pytest.param(rule, example, id=f"{rule.code}-{index}")


@pytest.mark.parametrize("rule,example", list(_flagged_examples()))
def test_fix_properties_on_flagged_example(rule, example):
    settings = Settings(select=(rule.code,))
    _check_each_fix_alone(example.encode(), f"{rule.code}.py", settings)
    _check_fixed_point(example.encode(), f"{rule.code}.py", settings)


def test_the_property_harness_catches_a_fix_that_adds_a_finding(marker):
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, Edit(call, cst.parse_expression("f(mark)")))
    _check_each_fix_alone(b"mark()\n", "t.py", MARKER)  # replaces the finding: fine
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, Edit(call, cst.parse_expression("f(mark())")))
    with pytest.raises(AssertionError, match="leaves or adds"):
        _check_each_fix_alone(b"mark()\n", "t.py", MARKER)


def test_the_property_harness_checks_something():
    """The pilots' fixtures carry automatic fixes, so the harness above is not vacuous."""
    checked = sum(_check_each_fix_alone(p.read_bytes(), str(p), settings_for(p)) for p in fixture_files())
    assert checked >= 10


# --- a rule whose fix the tests choose ---------------------------------------------------

class _Marker(Rule):
    """Reports every `mark(...)` call, with the fix the test sets in `make_fix`."""

    code = "LL999"
    name = "test-marker"
    summary = "test"
    rationale = "test"
    fix_applicability = Applicability.SAFE
    fix_description = "test"

    @classmethod
    def triggers(cls, knowledge):
        return ("mark",)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "mark":
            self.report(node, "marked", type(self).make_fix(self, node))

    def make_fix(self, call: cst.Call) -> Fix:  # replaced by each test
        raise NotImplementedError


@pytest.fixture
def marker(monkeypatch):
    real = leaklint.rules._load()

    class Marker(_Marker):
        pass

    monkeypatch.setattr(leaklint.rules, "_load", lambda: tuple(real) + (Marker,))
    return Marker


MARKER = Settings(select=("LL999",))


def _fix(applicability=Applicability.SAFE, *edits, imports=(), statements=()):
    return Fix(applicability, "test fix", tuple(edits), tuple(imports), tuple(statements))


def _rename(call, name="done"):
    return Edit(call, call.with_changes(func=cst.Name(name)))


def _fixed(text, settings=MARKER, unsafe=False):
    outcome = fixes.fix_text(text, "t.py", settings, unsafe=unsafe)
    assert outcome.error is None, outcome.error
    return outcome.fixed


def test_safe_fix_applies_with_fix_unsafe_only_with_unsafe_fixes_suggestion_never(marker):
    marker.make_fix = lambda self, call: _fix(Applicability.UNSAFE, _rename(call))
    assert _fixed("mark(1)\n") == "mark(1)\n"
    assert _fixed("mark(1)\n", unsafe=True) == "done(1)\n"
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, _rename(call))
    assert _fixed("mark(1)\n") == "done(1)\n"
    marker.make_fix = lambda self, call: _fix(Applicability.SUGGESTED)
    outcome = fixes.fix_text("mark(1)\n", "t.py", MARKER, unsafe=True)
    assert (outcome.fixed, outcome.applied, len(outcome.diagnostics)) == ("mark(1)\n", [], 1)


def test_overlapping_fixes_first_wins_the_rest_wait_for_the_next_pass(marker):
    # the outer mark's fix replaces the whole call; the inner one sits inside it
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, Edit(call, call.with_changes(func=cst.Name("done"))))
    module = cst.parse_module("mark(mark(1))\n")
    result = lint_source(module.code, "t.py", MARKER, whole=True)
    outer, inner = result.diagnostics  # sorted by position: outer first
    done = fixes.apply_pass(result.module, result.diagnostics)
    assert (done.applied, done.deferred) == ([outer], [inner])
    assert done.module.code == "done(mark(1))\n"
    # the next pass fixes the inner one
    outcome = fixes.fix_text("mark(mark(1))\n", "t.py", MARKER)
    assert outcome.fixed == "done(done(1))\n"
    assert [a.code for a in outcome.applied] == ["LL999", "LL999"]


def test_removal_and_flatten_edits(marker):
    def fix(self, call):
        line = self.ctx.stack[-3]  # Call <- Expr <- SimpleStatementLine
        if call.args[0].value.value == "1":
            return _fix(Applicability.SAFE, Edit(line, cst.RemovalSentinel.REMOVE))
        return _fix(Applicability.SAFE, Edit(line, cst.FlattenSentinel([
            cst.parse_statement("first()\n"), cst.parse_statement("second()\n")])))

    marker.make_fix = fix
    assert _fixed("a()\nmark(1)\nb()\nmark(2)  # note\n") == "a()\nb()\nfirst()\nsecond()\n"


@pytest.mark.parametrize("imports,before,after", [
    # reuse what the file has
    (["import asyncio"], "import asyncio\nmark()\n", "import asyncio\ndone()\n"),
    (["import asyncio"], "import asyncio.subprocess\nmark()\n", "import asyncio.subprocess\ndone()\n"),
    (["from functools import lru_cache"], "from functools import lru_cache\nmark()\n",
     "from functools import lru_cache\ndone()\n"),
    # an alias does not bind the plain name
    (["import asyncio"], "import asyncio as aio\nmark()\n", "import asyncio as aio\nimport asyncio\ndone()\n"),
    # extend a short `from m import` line, keeping its trailing comma
    (["from functools import lru_cache"], "from functools import wraps\nmark()\n",
     "from functools import wraps, lru_cache\ndone()\n"),
    (["from functools import lru_cache"], "from functools import (wraps,)\nmark()\n",
     "from functools import (wraps, lru_cache,)\ndone()\n"),
    # ...but not a multi-line or commented one
    (["from functools import lru_cache"], "from functools import (\n    wraps,\n)\nmark()\n",
     "from functools import (\n    wraps,\n)\nfrom functools import lru_cache\ndone()\n"),
    (["from functools import lru_cache"], "from functools import wraps  # why\nmark()\n",
     "from functools import wraps  # why\nfrom functools import lru_cache\ndone()\n"),
    # after the leading imports, past `try: import` blocks, before the code
    (["import asyncio"], '"""Doc."""\nfrom __future__ import annotations\nimport os\ntry:\n    import ujson\nexcept ImportError:\n    ujson = None\nimport sys\nx = 1\nmark()\n',
     '"""Doc."""\nfrom __future__ import annotations\nimport os\ntry:\n    import ujson\nexcept ImportError:\n    ujson = None\nimport sys\nimport asyncio\nx = 1\ndone()\n'),
    # no imports: after the docstring, or at the top below the header comments
    (["import asyncio"], '"""Doc."""\nmark()\n', '"""Doc."""\n\nimport asyncio\ndone()\n'),
    (["import asyncio"], "#!/usr/bin/env python\n# licence\nmark()\n", "#!/usr/bin/env python\n# licence\nimport asyncio\ndone()\n"),
    # each import once, however many fixes ask for it
    (["import asyncio", "import asyncio"], "mark()\nmark()\n", "import asyncio\ndone()\ndone()\n"),
    # an import inside a function does not count
    (["import asyncio"], "def f():\n    import asyncio\nmark()\n", "import asyncio\ndef f():\n    import asyncio\ndone()\n"),
])
def test_imports_are_added_once_in_the_file_style(marker, imports, before, after):
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, _rename(call), imports=imports)
    assert _fixed(before) == after


def test_module_statements_added_once_after_the_imports(marker):
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, _rename(call), statements=["_seen = set()"])
    before = "import os\nCONST = 1\n\n\ndef f():\n    mark()\n    mark()\n"
    after = "import os\n\n_seen = set()\n\nCONST = 1\n\n\ndef f():\n    done()\n    done()\n"
    assert _fixed(before) == after
    # already there (comments and spacing aside): not added again
    assert _fixed("import os\n_seen = set()  # kept\nmark()\n") == "import os\n_seen = set()  # kept\ndone()\n"


def test_a_fix_that_stops_the_file_parsing_leaves_it_untouched(marker, tmp_path, capsys):
    # a rule's slip: `1.real` needs parentheses, libcst prints it without
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, Edit(call, cst.Attribute(cst.Integer("1"), cst.Name("real"))))
    outcome = fixes.fix_text("x = 1\nmark()\n", "t.py", MARKER)
    assert outcome.fixed == outcome.original and outcome.applied == []
    assert "unparseable" in outcome.error and "LL999" in outcome.error
    assert [d.code for d in outcome.diagnostics] == ["LL999"]  # the finding stays reported

    target = tmp_path / "broken.py"
    target.write_text("x = 1\nmark()\n")
    status = cli.main(["check", "--fix", "--select", "LL999", str(target)])
    err = capsys.readouterr().err
    assert status == 1
    assert target.read_text() == "x = 1\nmark()\n"
    assert f"leaklint: error: {target}: the fix for LL999 would leave the file unparseable" in err
    assert not [p for p in tmp_path.iterdir() if p.name != "broken.py"]  # no temporary file left


def test_a_fix_that_breaks_compilation_is_refused(marker):
    # parses, but `return` at module level does not compile
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, Edit(self.ctx.stack[-3], cst.parse_statement("return\n")))
    outcome = fixes.fix_text("mark()\n", "t.py", MARKER)
    assert outcome.fixed == "mark()\n" and "compile" in outcome.error


def test_a_fix_that_never_converges_is_reported_and_the_file_kept(marker):
    # each pass wraps the call again: the finding is never removed
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, Edit(call, cst.parse_expression(f"({self.ctx.module.code_for_node(call)})")))
    outcome = fixes.fix_text("mark()\n", "t.py", MARKER)
    assert outcome.fixed == "mark()\n" and outcome.applied == []
    assert "do not converge after" in outcome.error
    # a fix that gives back the same text converges to nothing either: reported at once
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, _rename(call, "mark"))
    outcome = fixes.fix_text("mark()\n", "t.py", MARKER)
    assert outcome.fixed == "mark()\n" and "never converge" in outcome.error and "LL999" in outcome.error


def test_an_edit_of_a_node_from_another_tree_is_a_bug_not_a_crash(marker):
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, Edit(cst.parse_expression("mark()"), cst.Name("x")))
    outcome = fixes.fix_text("mark()\n", "t.py", MARKER)
    assert outcome.fixed == "mark()\n" and "not in the file" in outcome.error


def test_a_fix_whose_own_edits_overlap_is_refused(marker):
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, _rename(call), Edit(call.func, cst.Name("x")))
    outcome = fixes.fix_text("mark()\n", "t.py", MARKER)
    assert outcome.fixed == "mark()\n" and "overlap" in outcome.error


def test_fixes_skip_noqa_lines(marker):
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, _rename(call))
    assert _fixed("mark()  # noqa: LL999\nmark()\n") == "mark()  # noqa: LL999\ndone()\n"


# --- LL205's fix in the situations a real file has ----------------------------------------

def _ll205(text):
    return fixes.fix_text(text, "t.py", Settings(select=("LL205",)), unsafe=True)


def test_ll205_fix_picks_names_nothing_uses():
    text = (
        "import asyncio\n\n_background_tasks = {}\n\n\n"
        "async def main(task):\n    asyncio.create_task(task())\n"
    )
    outcome = _ll205(text)
    assert outcome.fixed == (
        "import asyncio\n\n_background_tasks_1 = set()\n\n_background_tasks = {}\n\n\n"
        "async def main(task):\n    task_1 = asyncio.create_task(task())\n"
        "    _background_tasks_1.add(task_1)\n    task_1.add_done_callback(_background_tasks_1.discard)\n"
    )
    assert outcome.diagnostics == []


def test_ll205_fix_reuses_the_set_it_added_and_keeps_one_line_statements_on_one_line():
    text = (
        "import asyncio\n\n_background_tasks = set()\n\n"
        "def on_event(loop, ready):\n    if ready: loop.create_task(work())\n    log(); loop.create_task(work()); log()\n"
    )
    assert _ll205(text).fixed == (
        "import asyncio\n\n_background_tasks = set()\n\n"
        "def on_event(loop, ready):\n"
        "    if ready: task = loop.create_task(work()); _background_tasks.add(task); task.add_done_callback(_background_tasks.discard)\n"
        "    log(); task = loop.create_task(work()); _background_tasks.add(task); task.add_done_callback(_background_tasks.discard); log()\n"
    )


def test_ll205_in_a_class_body_is_only_a_suggestion():
    text = "import asyncio\n\nclass Starter:\n    asyncio.ensure_future(work())\n"
    outcome = _ll205(text)
    assert outcome.fixed == text and outcome.applied == []
    (d,) = outcome.diagnostics
    assert d.fix.to_dict()["applicability"] == "suggested"


# --- writing files -------------------------------------------------------------------------

def test_write_atomic_keeps_the_mode_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "m.py"
    target.write_bytes(b"old\n")
    os.chmod(target, 0o754)
    fixes.write_atomic(str(target), b"new\n", expected=b"old\n")
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o754
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]


def test_write_atomic_failure_keeps_the_old_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "m.py"
    target.write_bytes(b"old\n")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fixes.os, "replace", fail)
    with pytest.raises(OSError):
        fixes.write_atomic(str(target), b"new\n")
    assert target.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]


def test_write_atomic_refuses_a_file_changed_meanwhile(tmp_path):
    target = tmp_path / "m.py"
    target.write_bytes(b"edited by someone else\n")
    with pytest.raises(OSError, match="changed while"):
        fixes.write_atomic(str(target), b"new\n", expected=b"old\n")
    assert target.read_bytes() == b"edited by someone else\n"


def test_write_atomic_rewrites_a_symlink_target(tmp_path):
    real = tmp_path / "real.py"
    real.write_bytes(b"old\n")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    fixes.write_atomic(str(link), b"new\n")
    assert link.is_symlink() and real.read_bytes() == b"new\n"


LEAKY_FIXED = (
    "import asyncio\n"
    "import sys\n"
    "\n"
    "_background_tasks = set()\n"
    "\n"
    "sem = asyncio.Semaphore(32)\n"
    "\n"
    "async def main():\n"
    "    task = asyncio.create_task(work())\n"
    "    _background_tasks.add(task)\n"
    "    task.add_done_callback(_background_tasks.discard)\n"
)


@pytest.mark.parametrize("encode", [
    lambda s: s.encode(),
    lambda s: s.replace("\n", "\r\n").encode(),  # Windows newlines stay
    lambda s: b"\xef\xbb\xbf" + s.encode(),  # a BOM stays
    lambda s: ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + s).encode("latin-1"),  # so does the encoding
    lambda s: s.rstrip("\n").encode(),  # and a missing final newline
], ids=["lf", "crlf", "bom", "latin-1", "no-final-newline"])
def test_fix_keeps_encoding_and_newlines(tmp_path, encode):
    target = tmp_path / "leaky.py"
    target.write_bytes(encode(LEAKY))
    proc = run_cli("check", "--fix", "--unsafe-fixes", "leaky.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert target.read_bytes() == encode(LEAKY_FIXED)


# --- the command line -------------------------------------------------------------------------

@pytest.fixture
def project(tmp_path):
    """A project of its own (its pyproject.toml stops the config search) with a leaky
    file and a clean one."""
    files = {"pyproject.toml": "[project]\nname = 'x'\n", "leaky.py": LEAKY, "clean.py": "import asyncio\nsem = asyncio.Semaphore(4)\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_check_marks_fixable_findings_and_says_which_flag_fixes_them(project):
    proc = run_cli("check", "--output-format", "concise", "leaky.py", cwd=project)
    lines = proc.stdout.decode().splitlines()
    assert proc.returncode == 1
    assert lines[0].startswith("leaky.py:4:25: LL101 asyncio.Semaphore")  # unsafe: no [*] without the flag
    assert lines[2:] == ["Found 2 findings.",
                         "No fixes available (2 hidden fixes can be enabled with the `--unsafe-fixes` option)."]
    proc = run_cli("check", "--format", "concise", "--unsafe-fixes", "leaky.py", cwd=project)  # the old name
    lines = proc.stdout.decode().splitlines()
    assert lines[0].startswith("leaky.py:4:25: LL101 [*] asyncio.Semaphore")
    assert lines[1].startswith("leaky.py:7:5: LL205 [*] task from create_task()")
    assert lines[3] == "[*] 2 fixable with the `--fix --unsafe-fixes` options."
    assert (project / "leaky.py").read_text() == LEAKY  # --unsafe-fixes alone writes nothing


def test_fix_applies_safe_fixes_only(project):
    proc = run_cli("check", "--fix", "leaky.py", cwd=project)
    assert proc.returncode == 1  # both findings have unsafe fixes: they remain
    assert (project / "leaky.py").read_text() == LEAKY
    assert "Found 2 findings." in proc.stdout.decode()


def test_fix_with_unsafe_fixes_reports_what_remains_and_exits_0_when_nothing_does(project):
    proc = run_cli("check", "--fix", "--unsafe-fixes", "--show-fixes", ".", cwd=project)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    assert (project / "leaky.py").read_text() == LEAKY_FIXED
    assert out == (
        "Found 2 findings (2 fixed, 0 remaining).\n"
        "Fixed 2 findings:\n"
        "- leaky.py:\n"
        "    1 × LL101 (unbounded-concurrency-limit)\n"
        "    1 × LL205 (dangling-task)\n"
    )
    again = run_cli("check", "--fix", "--unsafe-fixes", ".", cwd=project)
    assert again.returncode == 0 and again.stdout.decode() == "All checks passed!\n"
    assert (project / "leaky.py").read_text() == LEAKY_FIXED


def test_findings_without_an_automatic_fix_remain_and_exit_1(project):
    # LL205 in a class body has only a suggestion
    (project / "leaky.py").write_text(LEAKY + "\nclass Starter:\n    asyncio.ensure_future(work())\n")
    proc = run_cli("check", "--fix", "--unsafe-fixes", "--format", "json", "leaky.py", cwd=project)
    assert proc.returncode == 1
    remaining = json.loads(proc.stdout)
    assert [(d["code"], d["line"], d["fix"]["applicability"]) for d in remaining] == [("LL205", 14, "suggested")]
    assert run_cli("check", "--fix", "--unsafe-fixes", "--exit-zero", "leaky.py", cwd=project).returncode == 0


def test_diff_prints_the_change_and_writes_nothing(project):
    before = (project / "leaky.py").stat()
    proc = run_cli("check", "--diff", "--unsafe-fixes", ".", cwd=project)
    assert proc.returncode == 1
    diff = proc.stdout.decode()
    assert diff.startswith("--- leaky.py\n+++ leaky.py\n@@ ")
    for line in ("-sem = asyncio.Semaphore(sys.maxsize)", "+sem = asyncio.Semaphore(32)",
                 "+_background_tasks = set()", "+    _background_tasks.add(task)"):
        assert line + "\n" in diff.splitlines(True), line
    assert "clean.py" not in diff
    assert proc.stderr.decode() == "Would fix 2 findings.\n"
    after = (project / "leaky.py").stat()
    assert (project / "leaky.py").read_text() == LEAKY
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    # applying the diff gives what --fix writes
    patch = shutil.which("patch")
    if patch:
        copy = project / "copy"
        copy.mkdir()
        shutil.copy(project / "leaky.py", copy / "leaky.py")
        subprocess.run([patch, "-s", "-p0"], input=proc.stdout, cwd=copy, check=True)
        assert (copy / "leaky.py").read_text() == LEAKY_FIXED


def test_diff_exits_0_when_there_is_nothing_to_fix(project):
    proc = run_cli("check", "--diff", "leaky.py", "clean.py", cwd=project)  # unsafe fixes not asked for
    assert (proc.returncode, proc.stdout) == (0, b"")
    assert (project / "leaky.py").read_text() == LEAKY


def test_stdin_fix_writes_the_fixed_source_to_stdout(project):
    proc = run_cli("check", "--fix", "--unsafe-fixes", "-", cwd=project, stdin=LEAKY.encode())
    assert proc.returncode == 0
    assert proc.stdout.decode() == LEAKY_FIXED
    assert proc.stderr.decode() == "Found 2 findings (2 fixed, 0 remaining).\n"
    # nothing fixable: the source comes back as it was, and the findings go to stderr
    proc = run_cli("check", "--fix", "--stdin-filename", "mine.py", "-", cwd=project, stdin=LEAKY.encode())
    assert proc.returncode == 1
    assert proc.stdout.decode() == LEAKY
    assert proc.stderr.decode().startswith("mine.py:4:25: LL101 ")
    proc = run_cli("check", "--diff", "--unsafe-fixes", "-", cwd=project, stdin=LEAKY.encode())
    assert proc.returncode == 1 and proc.stdout.decode().startswith("--- -\n+++ -\n")


def test_fix_keeps_the_file_mode(project):
    os.chmod(project / "leaky.py", 0o750)
    assert run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", "leaky.py", cwd=project).returncode == 0
    assert stat.S_IMODE((project / "leaky.py").stat().st_mode) == 0o750
    assert sorted(p.name for p in project.iterdir()) == ["clean.py", "leaky.py", "pyproject.toml"]


def test_a_file_that_cannot_be_written_is_reported_and_kept(project, monkeypatch, capsys):
    def refuse(path, data, expected=None):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(fixes, "write_atomic", refuse)
    monkeypatch.chdir(project)
    status = cli.main(["check", "--fix", "--unsafe-fixes", "leaky.py"])
    captured = capsys.readouterr()
    assert status == 1
    assert "leaklint: error: leaky.py: cannot write the fixed file: Permission denied" in captured.err
    assert "Found 2 findings." in captured.out  # reported as they are in the file
    assert (project / "leaky.py").read_text() == LEAKY


def test_examples_fix_to_a_fixed_point_and_compile(tmp_path):
    """The issue's acceptance: --fix fixes the safe findings, --unsafe-fixes the rest
    that have fixes, a second run changes nothing, the fixed files compile."""
    copy = tmp_path / "examples"
    shutil.copytree(REPO / "examples", copy)

    def findings():
        proc = run_cli("check", "--format", "json", "--unsafe-fixes", ".", cwd=copy)
        return json.loads(proc.stdout)

    def snapshot():
        return {p.name: p.read_bytes() for p in copy.glob("*.py")}

    before = findings()
    assert before, "the examples leak"
    run_cli("check", "--fix", ".", cwd=copy)
    after_safe = findings()
    assert not [d for d in after_safe if d["fix"] and d["fix"]["applicability"] == "safe"]
    assert len(after_safe) == len(before) - sum(1 for d in before if d["fix"] and d["fix"]["applicability"] == "safe")
    run_cli("check", "--fix", "--unsafe-fixes", ".", cwd=copy)
    after_all = findings()
    assert not [d for d in after_all if d["fix"] and d["fix"]["applicability"] in ("safe", "unsafe")]
    fixed = snapshot()
    assert fixed != {p.name: p.read_bytes() for p in (REPO / "examples").glob("*.py")}
    second = run_cli("check", "--fix", "--unsafe-fixes", ".", cwd=copy)
    assert snapshot() == fixed
    assert not re.search(r"\(\d+ fixed, ", second.stdout.decode())
    assert run_cli("check", "--diff", "--unsafe-fixes", ".", cwd=copy).stdout == b""
    compiled = subprocess.run([sys.executable, "-m", "compileall", "-q", str(copy)], capture_output=True)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr


# --- pre-commit --------------------------------------------------------------------------------

def _hooks():
    """The hooks of .pre-commit-hooks.yaml, read by PyYAML when it is installed (it
    comes with pre-commit), else by a strict reader of the flat subset the file uses."""
    text = (REPO / ".pre-commit-hooks.yaml").read_text()
    try:
        import yaml
    except ImportError:
        hooks = _read_flat_yaml(text)
    else:
        hooks = yaml.safe_load(text)
        for hook in hooks:
            hook.update({k: tuple(v) for k, v in hook.items() if isinstance(v, list)})
    return {hook["id"]: hook for hook in hooks}


def _read_flat_yaml(text):
    hooks, current = [], None
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("- "):
            current = {}
            hooks.append(current)
            line = line[2:]
        key, _, value = line.strip().partition(": ")
        value = value.strip()
        # YAML refuses `: ` inside a plain scalar, and so does this reader
        assert ": " not in value and not value.endswith(":"), f"not valid YAML: {raw!r}"
        if value.startswith("["):
            value = tuple(v.strip() for v in value.strip("[]").split(",") if v.strip())
        elif value in ("true", "false"):
            value = value == "true"
        current[key] = value
    return hooks


def test_fix_hook_runs_check_fix_on_the_same_files_as_the_check_hook(project):
    hooks = _hooks()
    check, fix = hooks["leaklint"], hooks["leaklint-fix"]
    assert fix["entry"] == "leaklint check --fix"
    assert fix["language"] == check["language"]
    for key in ("types", "types_or", "files", "exclude", "require_serial"):
        assert fix.get(key) == check.get(key), key
    # what pre-commit runs: the entry, the hook's args, the files
    program, *args = fix["entry"].split()
    assert program == "leaklint"
    proc = run_cli(*args, "--unsafe-fixes", "leaky.py", "clean.py", cwd=project)
    assert proc.returncode == 0 and (project / "leaky.py").read_text() == LEAKY_FIXED


@pytest.mark.parametrize("source", [
    "return\n", "def f():\n    return 1\n", "await x\n", "async def f():\n    await x\n",
    "def f():\n    await x\n", "async def f():\n    return [await y for y in z]\n",
    "for x in y:\n    break\n", "break\n", "for x in y:\n    pass\nelse:\n    break\n",
    "while 1:\n    def g():\n        continue\n", "yield 1\n", "def g():\n    yield 1\n",
    "async def g():\n    yield from x\n", "class C:\n    return 1\n",
    "def f():\n    class C:\n        x = (yield)\n", "async def f():\n    async with a:\n        pass\n",
    "def f():\n    async with a:\n        pass\n", "async def f():\n    l = lambda: await x\n",
    "for a in b:\n    while c:\n        continue\n    break\n", "def f():\n    nonlocal x\n",
    "async def f():\n    async for a in b:\n        break\n", "x = [i async for i in y]\n",
    "def f():\n    return {i: 1 async for i in y}\n", "async def f():\n    return {i async for i in y}\n",
])
def test_the_compile_check_agrees_with_cpythons_compiler(source):
    """leaklint never compiles linted code to a code object: its check (parser, symbol
    table, and the compiler's placement rules) must say what compile() says."""
    try:
        compile(source, "t.py", "exec", dont_inherit=True)
        expected = True
    except SyntaxError:
        expected = False
    assert fixes._compiles(source, "t.py") == expected


# --- one refused fix does not cost the others ------------------------------------------------

def _break_parsing_or_rename(self, call):
    """`mark(1)`'s fix leaves the file unparseable (`1.real` without parentheses);
    any other mark's fix renames it."""
    if call.args and isinstance(call.args[0].value, cst.Integer) and call.args[0].value.value == "1":
        return _fix(Applicability.SAFE, Edit(call, cst.Attribute(cst.Integer("1"), cst.Name("real"))))
    return _fix(Applicability.SAFE, _rename(call))


def test_a_refused_fix_is_reported_and_the_others_are_applied(marker):
    marker.make_fix = _break_parsing_or_rename
    text = "mark(2)\nmark(1)\n" + "".join(f"mark({n})\n" for n in range(3, 40))
    outcome = fixes.fix_text(text, "t.py", MARKER)
    assert outcome.fixed == "done(2)\nmark(1)\n" + "".join(f"done({n})\n" for n in range(3, 40))
    assert len(outcome.applied) == 38
    assert "the fix for LL999 would leave the file unparseable" in outcome.error
    assert [(d.code, d.line) for d in outcome.diagnostics] == [("LL999", 2)]  # the refused one remains


def test_a_fix_that_changes_nothing_is_refused_alone(marker):
    def make(self, call):
        name = "mark" if self.ctx.module.code_for_node(call) == "mark(1)" else "done"
        return _fix(Applicability.SAFE, _rename(call, name))

    marker.make_fix = make
    outcome = fixes.fix_text("mark(1)\nmark(2)\n", "t.py", MARKER)
    assert outcome.fixed == "mark(1)\ndone(2)\n"
    assert "does not remove its finding" in outcome.error


def test_fixes_that_never_converge_are_refused_by_code_and_the_others_applied(marker):
    marker.make_fix = lambda self, call: _fix(Applicability.SAFE, Edit(call, cst.parse_expression(f"({self.ctx.module.code_for_node(call)})")))
    text = "mark()\n\ndef load(p):\n    return open(p).read()\n"
    outcome = fixes.fix_text(text, "t.py", Settings(select=("LL999", "LL204")))
    assert outcome.fixed == "mark()\n\ndef load(p):\n    with open(p) as f:\n        return f.read()\n"
    assert "the fixes for LL999 do not converge after" in outcome.error
    assert [a.code for a in outcome.applied] == ["LL204"]


def test_a_value_the_settings_call_unbounded_does_not_stop_the_other_fixes():
    text = "import asyncio\nimport sys\n\nsem = asyncio.Semaphore(sys.maxsize)\n\ndef g(p):\n    return open(p).read()\n"
    outcome = fixes.fix_text(text, "t.py", Settings(select=("LL",), huge_threshold=20), unsafe=True)
    assert "with open(p) as f:\n        return f.read()" in outcome.fixed
    assert "LL101" in outcome.error and "LL204" not in outcome.error
    assert [d.code for d in outcome.diagnostics] == ["LL101"]


def test_fixes_survive_expressions_as_deep_as_the_linter_does():
    # libcst's transformer and code generation recurse per operand: 400 terms once
    # exceeded the default recursion limit and cost every fix in the file
    deep = "x = " + " + ".join(["a"] * 400) + "\n"
    text = "def g(p):\n    y = open(p).read()\n" + deep
    outcome = fixes.fix_text(text, "t.py", ALL, unsafe=True)
    assert outcome.error is None, outcome.error
    assert outcome.fixed == "def g(p):\n    with open(p) as f:\n        y = f.read()\n" + deep


def test_a_refused_fix_in_one_file_leaves_the_cli_fixing_the_rest(marker, tmp_path, capsys):
    marker.make_fix = _break_parsing_or_rename
    target = tmp_path / "t.py"
    target.write_text("mark(1)\nmark(2)\n")
    status = cli.main(["check", "--fix", "--select", "LL999", "--no-cache", str(target)])
    err = capsys.readouterr().err
    assert status == 1
    assert target.read_text() == "mark(1)\ndone(2)\n"
    assert f"leaklint: error: {target}: the fix for LL999 would leave the file unparseable" in err


# --- LL204 picks its names once per function ---------------------------------------------------

def test_ll204_names_are_fresh_in_each_function_and_many_findings_all_get_fixed():
    text = (
        "def uses_f(p, f, f_):\n    x = open(p).read()\n    return x, f, f_\n\n\n"
        "def plain(p):\n    y = open(p).read()\n    return y\n"
    )
    outcome = fixes.fix_text(text, "t.py", Settings(select=("LL204",)))
    assert outcome.fixed == (
        "def uses_f(p, f, f_):\n    with open(p) as f1:\n        x = f1.read()\n    return x, f, f_\n\n\n"
        "def plain(p):\n    with open(p) as f:\n        y = f.read()\n    return y\n"
    )
    # many findings in one function (once quadratic: each regenerated the function's code)
    many = "def load(f, p):\n" + "".join(f"    x{i} = open(p).read()\n" for i in range(300))
    outcome = fixes.fix_text(many, "t.py", Settings(select=("LL204",)))
    assert outcome.error is None and len(outcome.applied) == 300 and outcome.diagnostics == []
    assert outcome.fixed.count("    with open(p) as f_:\n") == 300
    assert _compiles(outcome.fixed.encode())


# --- permissions, owners and hard links ------------------------------------------------------

def test_fix_refuses_a_read_only_file_and_fixes_the_others(project, capsys, monkeypatch):
    (project / "other.py").write_text(LEAKY)
    os.chmod(project / "leaky.py", 0o444)  # read-only even for root, who may write anything
    monkeypatch.chdir(project)
    status = cli.main(["check", "--fix", "--unsafe-fixes", "--no-cache", "leaky.py", "other.py"])
    err = capsys.readouterr().err
    assert "leaklint: error: leaky.py: the file is read-only" in err
    assert (project / "leaky.py").read_text() == LEAKY
    assert stat.S_IMODE((project / "leaky.py").stat().st_mode) == 0o444
    assert (project / "other.py").read_text() == LEAKY_FIXED
    assert status == 1  # leaky.py's findings remain


def test_write_atomic_keeps_hard_links_one_file(tmp_path):
    target = tmp_path / "m.py"
    target.write_bytes(b"old content\n")
    link = tmp_path / "link.py"
    os.link(target, link)
    before = target.stat().st_ino
    fixes.write_atomic(str(target), b"new\n", expected=b"old content\n")
    assert target.stat().st_ino == before == link.stat().st_ino
    assert link.read_bytes() == b"new\n" and target.stat().st_nlink == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.py", "m.py"]  # no temporary file left


def test_write_in_place_puts_the_original_back_when_the_copy_fails(tmp_path, monkeypatch):
    target = tmp_path / "m.py"
    target.write_bytes(b"old content\n")
    os.link(target, tmp_path / "link.py")
    real_write = fixes._write_all
    calls = []

    def fail_first(fd, data):
        calls.append(data)
        if len(calls) == 1:
            os.pwrite(fd, b"ha", 0)  # half-written, then the disk fails
            raise OSError(5, "Input/output error")
        real_write(fd, data)

    monkeypatch.setattr(fixes, "_write_all", fail_first)
    with pytest.raises(OSError):
        fixes.write_atomic(str(target), b"new\n", expected=b"old content\n")
    assert target.read_bytes() == b"old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.py", "m.py"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root may give a file away")
def test_write_atomic_keeps_the_owner_and_group(tmp_path):
    target = tmp_path / "m.py"
    target.write_bytes(b"old\n")
    os.chown(target, 4321, 8765)
    fixes.write_atomic(str(target), b"new\n")
    info = target.stat()
    assert (info.st_uid, info.st_gid) == (4321, 8765) and target.read_bytes() == b"new\n"


def test_write_atomic_keeps_the_group_when_the_owner_cannot_be_kept(tmp_path, monkeypatch):
    target = tmp_path / "m.py"
    target.write_bytes(b"old\n")
    info = target.stat()
    asked = []

    def chown(path, uid, gid):
        asked.append((uid, gid))
        if uid != -1:
            raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(fixes.os, "chown", chown)
    fixes.write_atomic(str(target), b"new\n")
    assert asked == [(info.st_uid, info.st_gid), (-1, info.st_gid)]
    assert target.read_bytes() == b"new\n"


# --- --fix on the check's workers, and its cache ------------------------------------------------

def _many_files(root: Path, count: int) -> None:
    for n in range(count):
        (root / f"m{n}.py").write_text(LEAKY if n % 3 == 0 else f"def load{n}(p):\n    return open(p).read()\n"
                                       if n % 3 == 1 else "import asyncio\nsem = asyncio.Semaphore(4)\n")


def test_fix_on_worker_processes_matches_one_process(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        (folder / "pyproject.toml").write_text("[project]\nname = 'x'\n")
        _many_files(folder, 12)
    serial = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", "-j", "1", ".", cwd=one)
    parallel = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", "-j", "2", ".", cwd=two)
    assert (serial.returncode, serial.stdout, serial.stderr) == (parallel.returncode, parallel.stdout, parallel.stderr)
    for path in sorted(one.glob("*.py")):
        assert (two / path.name).read_text() == path.read_text()
    assert (one / "m0.py").read_text() == LEAKY_FIXED
    assert "with open(p) as f:" in (one / "m1.py").read_text()


def test_fix_skips_files_whose_cached_result_has_no_fix_to_apply(project, monkeypatch):
    (project / "only_unsafe.py").write_text(LEAKY)
    settings = Settings(root=project)
    calls = []
    real = fixes.fix_file

    def counting(path, settings, **kwargs):
        calls.append(os.path.basename(path))
        return real(path, settings, **kwargs)

    monkeypatch.setattr(fixes, "fix_file", counting)
    monkeypatch.chdir(project)
    first = fixes.fix_paths(["."], settings, use_cache=True)  # safe fixes only: LEAKY's are unsafe
    assert sorted(calls) == ["clean.py", "leaky.py", "only_unsafe.py"]
    assert all(not outcome.applied for outcome, _data in first)
    calls.clear()
    again = fixes.fix_paths(["."], settings, use_cache=True)  # nothing changed, nothing to apply
    assert calls == []
    assert [[d.code for d in o.diagnostics] for o, _ in again] == [[d.code for d in o.diagnostics] for o, _ in first]
    # with unsafe fixes, the files that have some are fixed (and only they)
    unsafe = fixes.fix_paths(["leaky.py", "clean.py"], settings, unsafe=True, use_cache=True)
    assert calls == ["leaky.py"]
    assert (project / "leaky.py").read_text() == LEAKY_FIXED
    assert [len(o.applied) for o, _ in unsafe] == [0, 2] or [len(o.applied) for o, _ in unsafe] == [2, 0]
    # the fixed file's new result was cached: a further run fixes nothing again
    calls.clear()
    fixes.fix_paths(["leaky.py"], settings, unsafe=True, use_cache=True)
    assert calls == []


def test_a_form_feed_in_indentation_does_not_stop_the_fixes():
    # libcst takes the first block's indentation, form feed included, for every block
    # and writes back a file it cannot read: every fix of the file was refused
    text = ("def g(p):\n\x0c    y = open(p).read()\n    return y\n\n\n"
            "def h(p):\n    return open(p).read()\n")
    outcome = fixes.fix_text(text, "t.py", Settings(select=("LL204",)))
    assert outcome.error is None, outcome.error
    assert outcome.fixed == ("def g(p):\n    with open(p) as f:\n        y = f.read()\n    return y\n\n\n"
                             "def h(p):\n    with open(p) as f:\n        return f.read()\n")
