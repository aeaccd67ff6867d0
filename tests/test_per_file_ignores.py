"""per-file-ignores and exclude globs, in the CLI and through flake8's own options."""
import json

import pytest

from helpers import run_cli, run_flake8
from leaklint.discovery import path_matches

LEAKY = "import asyncio, sys\nsem = asyncio.Semaphore(10**7)\n\nasync def f():\n    asyncio.create_task(g())\n"

FILES = ["a.py", "tests/test_a.py", "tests/unit/deep/test_b.py", "src/pkg/gen_models.py", "src/gen_top.py",
         "src/pkg/conftest.py", "legacy/old.py", ".hidden/x.py"]


@pytest.fixture
def project(tmp_path):
    for name in FILES:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(LEAKY)
    return tmp_path


def findings(project, table, *paths, cwd=None):
    (project / "pyproject.toml").write_text("[tool.leaklint.per-file-ignores]\n" + table)
    proc = run_cli("check", "--format", "json", *(paths or (".",)), cwd=cwd or project)
    assert proc.returncode in (0, 1), proc.stderr
    found = {}
    for d in json.loads(proc.stdout):
        found.setdefault(d["path"], set()).add(d["code"])
    return found


ALL = {"LL101", "LL205"}


@pytest.mark.parametrize(
    "table, ignored",
    [
        # no slash: a file or folder name anywhere
        ("'conftest.py' = ['LL1']", {"src/pkg/conftest.py": {"LL101"}}),
        ("'tests' = ['LL2']", {"tests/test_a.py": {"LL205"}, "tests/unit/deep/test_b.py": {"LL205"}}),
        ("'test_*.py' = ['LL101', 'LL205']", {"tests/test_a.py": ALL, "tests/unit/deep/test_b.py": ALL}),
        # a slash: from the config's folder; `*` crosses folders as in flake8, `**/` may be none
        ("'src/**/gen_*.py' = ['LL1']", {"src/pkg/gen_models.py": {"LL101"}, "src/gen_top.py": {"LL101"}}),
        ("'tests/*' = ['LL']", {"tests/test_a.py": ALL, "tests/unit/deep/test_b.py": ALL}),
        ("'./legacy/' = ['LL205']", {"legacy/old.py": {"LL205"}}),
        ("'.hidden/*.py' = ['LL1']", {".hidden/x.py": {"LL101"}}),
    ],
)
def test_per_file_ignores_globs(project, table, ignored):
    found = findings(project, table)
    for name in FILES:
        assert found.get(name, set()) == ALL - ignored.get(name, set()), name


def test_per_file_ignores_from_a_subfolder_and_with_other_path_spellings(project):
    table = "'tests/unit/**' = ['LL1']\n"
    found = findings(project, table, "unit/deep/test_b.py", "./test_a.py", cwd=project / "tests")
    assert found == {"unit/deep/test_b.py": {"LL205"}, "./test_a.py": ALL}


def test_exclude_globs(project):
    (project / "pyproject.toml").write_text(
        "[tool.leaklint]\nexclude = ['legacy']\nextend-exclude = ['src/**/gen_*.py', 'conftest.py']\n")
    proc = run_cli("check", "--format", "json", ".", cwd=project)
    paths = {d["path"] for d in json.loads(proc.stdout)}
    assert paths == {"a.py", "tests/test_a.py", "tests/unit/deep/test_b.py", ".hidden/x.py"}
    # a file named on the command line (as pre-commit does) is excluded too
    proc = run_cli("check", "--format", "json", "legacy/old.py", "src/gen_top.py", cwd=project)
    assert (proc.returncode, json.loads(proc.stdout)) == (0, [])


def test_path_matches_outside_the_root(tmp_path):
    assert path_matches(str(tmp_path / "x" / "tests" / "a.py"), ["tests"], tmp_path / "other")
    assert not path_matches(str(tmp_path / "x" / "a.py"), ["x/*"], tmp_path / "other")


def test_statistics_count_per_code_after_ignores(project):
    (project / "pyproject.toml").write_text("[tool.leaklint.per-file-ignores]\n'tests' = ['LL2']\n")
    proc = run_cli("check", "--statistics", "-q", "--format", "json", ".", cwd=project)
    assert [(r["count"], r["code"], r["name"]) for r in json.loads(proc.stdout)] == [
        (8, "LL101", "unbounded-concurrency-limit"), (6, "LL205", "dangling-task")]


# --- the same notions in flake8 (its own options apply to LL codes) ------------------

def test_flake8_per_file_ignores_exclude_and_statistics(project):
    proc = run_flake8("--select", "LL", "--per-file-ignores", "tests/*:LL205 src/pkg/conftest.py:LL1",
                      "--extend-exclude", "legacy,.hidden,src/gen_top.py", "--statistics", ".", cwd=project)
    lines = proc.stdout.decode().splitlines()
    reported = {}
    for line in lines:
        if line.startswith("./"):
            path, _row, _col, rest = line.split(":", 3)
            reported.setdefault(path[2:], set()).add(rest.split()[0])
    assert reported == {
        "a.py": ALL, "tests/test_a.py": {"LL101"}, "tests/unit/deep/test_b.py": {"LL101"},
        "src/pkg/gen_models.py": ALL, "src/pkg/conftest.py": {"LL205"},
    }
    stats = [line for line in lines if not line.startswith("./")]
    assert any(line.startswith("4     LL101 ") for line in stats), stats
    assert any(line.startswith("3     LL205 ") for line in stats), stats
