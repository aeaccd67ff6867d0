"""Hostile inputs: each gets a clear finding or message, and the run goes on."""
import json
import os

import pytest

from helpers import run_cli
from leaklint.api import lint_file, lint_paths
from leaklint.config import Settings

TRIGGER = "import asyncio\nasyncio.create_task(work())\n"  # an LL205 on line 2


def lint(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return [(d.code, d.line) for d in lint_file(str(path), Settings()).diagnostics]


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", []),
        (b"\xef\xbb\xbf", []),
        (b"\xef\xbb\xbf" + TRIGGER.encode(), [("LL205", 2)]),
        (b"import asyncio\nx = 1\x00\nasyncio.create_task(w())\n", [("LL001", 2)]),
        (b"import asyncio\nx = '\xc3\x28'\nasyncio.create_task(w())\n", [("LL001", 2)]),
        (b"# coding: no-such-codec\n" + TRIGGER.encode(), [("LL001", 1)]),
        (b"#!/usr/bin/env python\n# -*- coding: latin-1 -*-\nx = '\xe9'\nimport asyncio\nasyncio.create_task(w())\n",
         [("LL205", 5)]),
        (b"\xef\xbb\xbf# coding: latin-1\n" + TRIGGER.encode(), [("LL001", 1)]),  # BOM + other cookie
        (TRIGGER.replace("\n", "\r\n").encode(), [("LL205", 2)]),
        (b"import asyncio\r\nx = 1\nasyncio.create_task(w())\r\n", [("LL205", 3)]),
        (b"import asyncio\n\x0c\nasyncio.create_task(w())\n", [("LL205", 3)]),
        (b"import asyncio\nif True:\n\tasyncio.create_task(w())\n", [("LL205", 3)]),
        (b"import asyncio\nasyncio.create_task(w())", [("LL205", 2)]),  # no final newline
    ],
    ids=["empty", "bom-only", "bom", "nul", "invalid-utf8", "unknown-cookie", "latin1-cookie", "bom-and-cookie",
         "crlf", "mixed-endings", "form-feed", "tabs", "no-final-newline"],
)
def test_odd_bytes(tmp_path, data, expected):
    assert lint(tmp_path, "odd.py", data) == expected


def test_nested_beyond_cpython_is_ll001(tmp_path):
    data = (TRIGGER + "x = " + "(" * 1000 + "1" + ")" * 1000 + "\n").encode()
    result = lint_file(str(_write(tmp_path, "deep.py", data)), Settings()).diagnostics
    assert [(d.code, d.line) for d in result] == [("LL001", 3)]
    assert "too many nested parentheses" in result[0].message


def test_deep_but_legal_nesting_is_linted(tmp_path):
    # CPython accepts ~3000 levels; libcst's recursive codegen needs a deeper stack
    data = (TRIGGER + "x = a" + ".b" * 2500 + "\ny = " + "+".join(["1"] * 900) + "\n").encode()
    assert lint(tmp_path, "deep.py", data) == [("LL205", 2)]


def test_nested_statements_beyond_cpython(tmp_path):
    body = "".join("    " * i + "if x:\n" for i in range(120)) + "    " * 120 + "asyncio.create_task(w())\n"
    assert [c for c, _ in lint(tmp_path, "indent.py", ("import asyncio\n" + body).encode())] == ["LL001"]


def test_huge_generated_file(tmp_path):
    lines = ["import asyncio", "import sys", ""]
    lines += [f"value_{i} = {i} * 2" for i in range(50_000)]
    lines += ["sem = asyncio.Semaphore(sys.maxsize)"]
    assert lint(tmp_path, "huge.py", ("\n".join(lines) + "\n").encode()) == [("LL101", 50_004)]


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_symlink_loop_and_escape(tmp_path):
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pkg" / "mod.py").write_text(TRIGGER)
    os.symlink(project, project / "pkg" / "loop")  # a directory loop
    outside = tmp_path / "outside.py"
    outside.write_text(TRIGGER)
    os.symlink(outside, project / "pkg" / "escape.py")  # a file link out of the tree
    os.symlink(project / "pkg" / "mod.py", project / "alias.py")  # a link inside the tree
    results = lint_paths([str(project)], Settings(root=project))
    assert [os.path.relpath(r.path, project) for r in results] == ["pkg/mod.py"]


def test_vanished_and_unreadable_files(tmp_path):
    folder = tmp_path / "looks_like.py"
    folder.mkdir()  # named like a module, but a folder: reading it fails
    gone = tmp_path / "gone.py"
    results = [lint_file(str(p), Settings()) for p in (gone, folder)]
    for result in results:
        assert [(d.code, d.line) for d in result.diagnostics] == [("LL001", 1)]
        assert result.diagnostics[0].message.startswith("cannot read file: ")


def test_odd_paths_via_cli(tmp_path):
    folder = tmp_path / "dir with spaces" / "ünïcødé"
    folder.mkdir(parents=True)
    (folder / "café module.py").write_text(TRIGGER, encoding="utf-8")
    proc = run_cli("check", "--format", "json", ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout.decode("utf-8"))
    assert [(d["path"], d["code"]) for d in data] == [("dir with spaces/ünïcødé/café module.py", "LL205")]


def test_run_goes_on_after_bad_files(tmp_path):
    (tmp_path / "a_bad.py").write_bytes(b"import asyncio\n\xff\xfe\n")
    (tmp_path / "b_broken.py").write_text("import asyncio\ndef f(:\n    asyncio.create_task(w())\n")
    (tmp_path / "c_good.py").write_text(TRIGGER)
    proc = run_cli("check", "--format", "json", ".", cwd=tmp_path)
    data = json.loads(proc.stdout)
    assert [(d["path"], d["code"]) for d in data] == [("a_bad.py", "LL001"), ("b_broken.py", "LL001"), ("c_good.py", "LL205")]
    assert proc.stderr == b""


def test_syntax_error_without_trigger_words_is_ll001_in_the_cli_and_e999_in_flake8(tmp_path):
    # issue 18: such files were never parsed, so their syntax errors passed silently
    from helpers import run_flake8

    (tmp_path / "bad.py").write_text("import asyncio\nif True\n    pass\n")
    proc = run_cli("check", "--no-cache", "--format", "json", "bad.py", cwd=tmp_path)
    assert [(d["code"], d["line"]) for d in json.loads(proc.stdout)] == [("LL001", 2)]
    proc = run_flake8("--extend-select", "LL", "bad.py", cwd=tmp_path)
    out = proc.stdout.decode()
    assert "E999" in out and "LL001" not in out


def test_huge_jobs_on_many_files(tmp_path):
    for i in range(40):
        (tmp_path / f"m{i}.py").write_text("import asyncio\n\nasync def f():\n    asyncio.create_task(f())\n")
    proc = run_cli("check", "--no-cache", "-q", "--output-format", "concise", "-j", "100000", ".", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout.decode().count("LL205") == 40


def test_odd_ignore_files_never_fail_the_run(tmp_path):
    (tmp_path / ".gitignore").write_bytes(b"!\n\\\n[\n\xff\xfe\x00\n*_pb2.py\n")
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "sub" / ".ignore")  # opening it would block forever
    (tmp_path / "a.py").write_text("import asyncio\n\nasync def f():\n    asyncio.create_task(f())\n")
    (tmp_path / "x_pb2.py").write_text("import asyncio\n\nasync def f():\n    asyncio.create_task(f())\n")
    proc = run_cli("check", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert [d["path"] for d in json.loads(proc.stdout)] == ["a.py"]
