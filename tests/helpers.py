"""Running the real CLI in a subprocess, as a user would."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# a module with one LL101 (line 4, columns 25-36) and one LL205 (line 7, columns 5-32)
LEAKY = (
    "import asyncio\n"
    "import sys\n"
    "\n"
    "sem = asyncio.Semaphore(sys.maxsize)\n"
    "\n"
    "async def main():\n"
    "    asyncio.create_task(work())\n"
)


def _pythonpath(env) -> str:
    """The repository first. No empty entry: that would put the working directory on
    sys.path, and a linted folder's own sitecustomize.py would run at start-up."""
    return os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)


def run_cli(*args: str, cwd=None, stdin: bytes = None, env_extra=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = _pythonpath(env)
    env.pop("FORCE_COLOR", None)
    env["NO_COLOR"] = "1"
    if env_extra:
        env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "leaklint", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
    )


def run_flake8(*args: str, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = _pythonpath(env)
    return subprocess.run([sys.executable, "-m", "flake8", *args], cwd=cwd, capture_output=True, env=env, timeout=120)
