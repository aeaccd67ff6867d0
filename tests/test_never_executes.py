"""leaklint reads code and never runs it: not by importing, evaluating or compiling it,
whatever the file is called and whatever the command (check, fix, SARIF, flake8)."""
import ast
import json

import pytest

from helpers import REPO, run_cli, run_flake8
from leaklint.notebook import from_script

# Each line would leave a marker (or kill the process) if it ever ran. The leaks in it
# put the file past the pre-filter and give the fix engine work to do.
PAYLOAD = """\
import asyncio, os, sys
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "{marker}"), "w").write("ran")
sem = asyncio.Semaphore(sys.maxsize)
__import__("os")._exit(97)


async def main():
    asyncio.create_task(main())
    print(open("data.txt").read())
"""

# the last ones shadow modules leaklint imports while it runs (`python -m` puts the
# working directory on sys.path)
NAMES = ("evil.py", "conftest.py", "setup.py", "__init__.py", "__main__.py", "sitecustomize.py",
         "difflib.py", "symtable.py", "tempfile.py")


@pytest.fixture
def trap(tmp_path):
    for name in NAMES:
        (tmp_path / name).write_text(PAYLOAD.format(marker=f"MARKER-{name}"))
    (tmp_path / "evil.ipynb").write_text(from_script("# %%\n" + PAYLOAD.format(marker="MARKER-nb").replace(
        "__file__", "'.'")))
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nselect = ['LL']\n")
    return tmp_path


def _markers(folder):
    return sorted(p.name for p in folder.rglob("MARKER-*"))


@pytest.mark.parametrize("args", [
    ("check",),
    ("check", "--format", "sarif"),
    ("check", "--format", "json", "--no-cache", "--jobs", "2"),
    ("check", "--fix", "--unsafe-fixes"),
    ("check", "--diff", "--unsafe-fixes"),
])
def test_cli_never_runs_the_code_it_lints(trap, args):
    proc = run_cli(*args, ".", cwd=trap)
    assert proc.returncode == 1, proc.stderr  # findings, and the process was not killed
    assert _markers(trap) == []
    assert b"Traceback" not in proc.stderr


def test_flake8_plugin_never_runs_the_code_it_lints(trap):
    # `python -m flake8` itself would import a shadowing tempfile.py: not leaklint's doing
    for name in NAMES[6:]:
        (trap / name).unlink()
    proc = run_flake8("--select", "LL", *NAMES[:6], cwd=trap)
    assert proc.returncode == 1, proc.stderr
    assert b"LL101" in proc.stdout
    assert _markers(trap) == []


def test_the_payload_does_run_when_executed(tmp_path):
    """The trap is armed: executing the payload leaves the marker."""
    path = tmp_path / "evil.py"
    path.write_text(PAYLOAD.format(marker="MARKER-x").replace('__import__("os")._exit(97)', "pass"))
    exec(compile(path.read_text(), str(path), "exec"), {"__file__": str(path)})
    assert _markers(tmp_path) == ["MARKER-x"]


# --- and nothing in the package could ------------------------------------------------

def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            yield name, node


def test_the_package_has_no_way_to_run_code():
    """No eval/exec, no compile to a code object, no dynamic import but the rule
    registry's own modules, no runpy, no pickle."""
    problems = []
    for path in sorted((REPO / "leaklint").rglob("*.py")):
        rel = path.relative_to(REPO)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if any(n and n.split(".")[0] in {"runpy", "pickle", "marshal", "code", "imp"} for n in names):
                    problems.append(f"{rel}:{node.lineno} imports {names}")
        for name, call in _calls(tree):
            where = f"{rel}:{call.lineno}"
            if name in {"eval", "exec", "__import__", "execfile", "run_path", "run_module", "breakpoint"}:
                problems.append(f"{where} calls {name}")
            elif name == "compile" and isinstance(call.func, ast.Name):
                flags = call.args[3] if len(call.args) > 3 else next(
                    (k.value for k in call.keywords if k.arg == "flags"), None)
                # parse-only: flags that include ast.PyCF_ONLY_AST (by name)
                if flags is None or "ONLY_AST" not in ast.dump(flags) + _constant_source(tree, flags):
                    problems.append(f"{where} compiles to a code object")
            elif name == "import_module":
                ok = rel.as_posix() == "leaklint/rules/__init__.py" and isinstance(call.args[0], ast.JoinedStr) \
                    and "__name__" in ast.dump(call.args[0].values[0])
                if not ok:
                    problems.append(f"{where} imports a module by name")
    assert problems == []


def _constant_source(tree, flags):
    """The expression a module-level name such as _PARSE_FLAGS is bound to."""
    if isinstance(flags, ast.Name):
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == flags.id for t in node.targets):
                return ast.dump(node.value)
    return ""


def test_the_static_check_finds_a_compile(tmp_path):
    tree = ast.parse("compile(text, path, 'exec')\ncompile(text, path, 'exec', FLAGS)\nFLAGS = ast.PyCF_ONLY_AST\n")
    found = [call for name, call in _calls(tree) if name == "compile"]
    flags = [c.args[3] if len(c.args) > 3 else None for c in found]
    assert flags[0] is None and "ONLY_AST" in _constant_source(tree, flags[1])


def test_cache_files_are_json_not_code(trap):
    run_cli("check", ".", cwd=trap)
    cached = list((trap / ".leaklint_cache").rglob("*.json"))
    assert cached and all(isinstance(json.loads(p.read_text()), dict) for p in cached)
