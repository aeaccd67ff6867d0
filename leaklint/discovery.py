"""Which files a run lints.

Directories are walked without following symlinked folders (so no loop and no escape
from the tree); symlinked files are linted only when they point inside the tree. Version
control, virtualenvs, build output, caches and `node_modules` are skipped, and so is
anything matching `exclude`/`extend-exclude`.
"""
from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Iterable, Iterator, List, Sequence, Set

from leaklint.config import Settings

SUFFIXES = (".py", ".pyi", ".ipynb")

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".tox", ".nox", "__pycache__",
        "build", "dist", "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache",
        ".leaklint_cache", ".eggs", ".ipynb_checkpoints", "__pypackages__",
    }
)

STDIN = "-"


def _is_virtualenv(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def _matches(path: str, patterns: Sequence[str], root: Path) -> bool:
    """A pattern without a slash matches any path component (as in .gitignore); one
    with a slash matches the path relative to the config's folder."""
    if not patterns:
        return False
    absolute = os.path.abspath(path)
    try:
        relative = Path(absolute).relative_to(root.resolve()).as_posix()
    except ValueError:
        relative = Path(absolute).as_posix()
    parts = relative.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" in pattern:
            if fnmatch.fnmatchcase(relative, pattern.lstrip("./")) or fnmatch.fnmatchcase(relative, pattern.lstrip("./") + "/*"):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in parts):
            return True
    return False


def excluded(path: str, settings: Settings) -> bool:
    return _matches(path, (*settings.exclude, *settings.extend_exclude), settings.root)


def discover(paths: Iterable[str], settings: Settings, suffixes: Sequence[str] = SUFFIXES) -> List[str]:
    """Files to lint, in a stable order, each once. Paths keep the form they were given
    in (relative stays relative). `-` (stdin) is passed through."""
    out: List[str] = []
    seen: Set[str] = set()

    def add(path: str) -> None:
        # realpath (which stats every component) only where a symlink can be involved
        key = os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            out.append(path)

    for given in paths:
        if given == STDIN:
            out.append(STDIN)
            continue
        if os.path.isdir(given):
            for path in _walk(given, settings, suffixes):
                add(path)
        else:
            # named explicitly: linted whatever its suffix, unless excluded; a missing
            # file is reported by the engine as unreadable
            if not excluded(given, settings):
                add(given)
    return out


def _walk(top: str, settings: Settings, suffixes: Sequence[str]) -> Iterator[str]:
    root_real = os.path.realpath(top)
    for folder, dirs, files in os.walk(top, followlinks=False):
        kept = []
        for name in sorted(dirs):
            full = os.path.join(folder, name)
            if name in SKIP_DIRS or name.endswith(".egg-info") or _is_virtualenv(full):
                continue
            if excluded(full, settings):
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if not name.endswith(tuple(suffixes)):
                continue
            full = os.path.join(folder, name)
            if os.path.islink(full):
                target = os.path.realpath(full)
                if not (target == root_real or target.startswith(root_real + os.sep)) or not os.path.isfile(target):
                    continue
            if excluded(full, settings):
                continue
            yield os.path.normpath(full)
