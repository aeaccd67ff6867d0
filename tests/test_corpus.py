"""Real code, lots of it: the running interpreter's standard library (deliberate
syntax errors and odd encodings included) and a pinned set of real packages. No
exception escapes, every file is linted or reported as LL001 once, the exit status is
0 or 1; and on the packages, --fix --unsafe-fixes leaves every file compiling and a
second run has nothing left to change."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections import Counter
from pathlib import Path

import pytest

from helpers import run_cli
from leaklint.api import lint_paths
from leaklint.config import Settings, load_settings
from leaklint.discovery import discover

EVERY_RULE = Settings().with_overrides(select=("LL",))

# Concurrency-heavy packages, versions pinned so the run is the same every time.
PACKAGES = (
    "aiohttp==3.14.5", "anyio==4.16.0", "httpx==0.28.1", "httpcore==1.0.9", "redis==8.1.0",
    "trio==0.35.0", "tornado==6.6.1", "websockets==17.4", "kombu==5.7.0", "aiokafka==0.14.0",
)


def _check_tree(root: Path, cwd: Path, settings: Settings = EVERY_RULE, cli_args=()):
    """Lint `root` in process (every file accounted for) and through the CLI (exit
    status, no traceback, JSON that parses, nothing reported twice)."""
    files = discover([str(root)], settings)
    results = lint_paths([str(root)], settings, jobs=None)
    assert [r.path for r in results] == files  # each file once, none lost
    for result in results:
        parse_errors = [d for d in result.diagnostics if d.code == "LL001"]
        assert len(parse_errors) <= 1, result.path
        if parse_errors:  # a file that did not parse has nothing else to say
            assert len(result.diagnostics) == 1, result.path

    proc = run_cli("check", "--format", "json", "--no-cache", "--select", "LL", *cli_args, str(root), cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr
    found = json.loads(proc.stdout)
    keys = Counter((d["path"], d.get("cell"), d["line"], d["column"], d["code"]) for d in found)
    assert [k for k, n in keys.items() if n > 1] == []
    in_process = sum(len(r.diagnostics) for r in results)
    assert len(found) == in_process
    return files, results


def test_the_standard_library(tmp_path):
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    # the standard library itself, not what was installed beside it
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.leaklint]\nextend-exclude = ['site-packages']\n")
    settings = load_settings(str(config)).with_overrides(select=("LL",))
    files, results = _check_tree(stdlib, tmp_path, settings, ("--config", str(config)))
    assert len(files) > 1000
    codes = Counter(d.code for r in results for d in r.diagnostics)
    # lib2to3's and the test suite's deliberately broken files are among them
    assert codes["LL001"] >= 1


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    target = tmp_path_factory.mktemp("packages")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--no-compile", "--target", str(target), *PACKAGES],
        capture_output=True, text=True, timeout=900,
    )
    if proc.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"pip could not install the pinned corpus: {proc.stderr[-2000:]}")
        pytest.skip("no package index reachable to build the pinned corpus")
    for junk in list(target.glob("*.dist-info")) + [target / "bin"]:
        shutil.rmtree(junk, ignore_errors=True)
    return target


@pytest.mark.slow
def test_real_packages(packages, tmp_path):
    files, results = _check_tree(packages, tmp_path)
    assert len(files) > 300
    assert sum(len(r.diagnostics) for r in results) > 0  # real leaks are found in real code


@pytest.mark.slow
def test_fixes_on_real_packages_compile_and_converge(packages, tmp_path):
    copy = tmp_path / "corpus"
    shutil.copytree(packages, copy)
    before = {p: p.read_bytes() for p in copy.rglob("*.py")}
    proc = run_cli("check", "--fix", "--unsafe-fixes", "--show-fixes", "--no-cache", "--select", "LL",
                   str(copy), cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert b"Traceback" not in proc.stderr
    assert b"leaklint: error" not in proc.stderr, proc.stderr  # no fix was abandoned as broken
    changed = [p for p, data in before.items() if p.read_bytes() != data]
    assert changed, "the corpus has fixable findings, so the fixes were exercised"
    for path in changed:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)  # the test may compile; leaklint never does
    again = run_cli("check", "--diff", "--unsafe-fixes", "--no-cache", "--select", "LL", str(copy), cwd=tmp_path)
    assert again.returncode == 0 and again.stdout == b"", again.stdout[:2000]
    print(f"\nfix safety: {len(before)} files, {len(changed)} changed, all compile, a second run changes nothing")


@pytest.mark.slow
def test_the_sieve_changes_no_finding_in_real_packages(packages, monkeypatch):
    """leaklint.sieve gives libcst only what the rules' candidates need: on 300 000 lines
    of real concurrency code, every rule's findings are the same as with every file
    parsed whole (benchmarks/sieve_check.py does the same on larger corpora)."""
    from leaklint import engine
    from leaklint.api import lint_file

    def findings(path):
        return [(d.line, d.column, d.end_line, d.end_column, d.code, d.message) for d in lint_file(str(path), EVERY_RULE).diagnostics]

    paths = sorted(packages.rglob("*.py"))
    assert len(paths) > 300
    sieved = {path: findings(path) for path in paths}
    monkeypatch.setattr(engine, "SIEVE", False)
    differ = [path for path in paths if findings(path) != sieved[path]]
    assert differ == []
    assert sum(len(found) for found in sieved.values()) > 0
