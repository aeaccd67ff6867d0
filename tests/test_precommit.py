"""The pre-commit hooks, run for real: `pre-commit try-repo` installs this checkout into
its own virtualenv (from PyPI, so it is slow the first time) and runs a hook on files
of a throwaway git repository."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Sequence

import pytest

from helpers import LEAKY, REPO

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")

CLEAN = "import asyncio\n\nsem = asyncio.Semaphore(8)\n"


def git(*args: str, cwd: Path) -> None:
    # no user config may get in the way (signing, hooks, templates)
    subprocess.run(
        ["git", "-c", "user.name=leaklint tests", "-c", "user.email=tests@leaklint.invalid",
         "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=cwd, check=True, capture_output=True, env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull},
    )


def _checkout_files() -> Sequence[str]:
    """This checkout's files, committed or not, without what .gitignore leaves out."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=REPO, check=True, capture_output=True).stdout.decode().split("\0")
    except subprocess.CalledProcessError:
        pytest.skip("the checkout is not a git repository")
    return [name for name in listed if name and (REPO / name).is_file()]


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory) -> Path:
    """A copy of this checkout committed to a fresh repository: what the hook installs."""
    repo = tmp_path_factory.mktemp("leaklint-hook-repo")
    for name in _checkout_files():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "leaklint under test", cwd=repo)
    return repo


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory) -> Path:
    """Shared by every hook test, so the hook's environment is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def project(tmp_path: Path, files: Dict[str, str]) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    return root


def run_hook(hook_repo: Path, home: Path, hook_id: str, root: Path, *files: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    env.pop("PYTHONPATH", None)  # the hook must run what pre-commit installed, not this checkout
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), hook_id, "--color", "never", "--files", *files],
        cwd=root, capture_output=True, env=env, timeout=900,
    )


def test_leaklint_hook_fails_on_a_leak_and_passes_clean_files(tmp_path, hook_repo, pre_commit_home):
    root = project(tmp_path, {"leaky.py": LEAKY, "clean.py": CLEAN, "notes.txt": "asyncio.create_task(x())\n"})
    proc = run_hook(hook_repo, pre_commit_home, "leaklint", root, "leaky.py", "clean.py", "notes.txt")
    out = proc.stdout.decode()
    assert proc.returncode == 1, out + proc.stderr.decode()
    assert "- hook id: leaklint" in out and "- exit code: 1" in out
    assert "leaky.py:4:25: LL101 asyncio.Semaphore(value=sys.maxsize)" in out
    assert "leaky.py:7:5: LL205 task from create_task() is not kept" in out
    assert "Found 2 findings." in out
    assert "clean.py:" not in out and "notes.txt" not in out
    assert (root / "leaky.py").read_text() == LEAKY  # the check hook changes nothing

    proc = run_hook(hook_repo, pre_commit_home, "leaklint", root, "clean.py", "notes.txt")
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert "leaklint" in proc.stdout.decode() and "Passed" in proc.stdout.decode()
