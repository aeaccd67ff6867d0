"""Which files a run lints.

Directories are walked without following symlinks, to folders or to files: no loop, no
escape from the tree, and no file linted twice under two names (a link inside the tree
points at a file the walk reaches anyway). Paths named on the command line are read
whatever they are. Version
control, virtualenvs, build output, caches and `node_modules` are skipped, and so is
anything matching `exclude`/`extend-exclude`, and (unless `respect-gitignore` is off)
anything the `.gitignore` and `.ignore` files of the walked folders and of the folders
above them, up to the repository's root, ignore.
"""
from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Set

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


def project_relative(path: str, root: Path) -> str:
    """`path` relative to the project root, with `/` separators; the normalised path as
    given when it lies outside the root."""
    absolute = os.path.abspath(path)
    for base in (str(root), os.path.realpath(root)):
        base = os.path.abspath(base)
        if absolute == base:
            return "."
        if absolute.startswith(base.rstrip(os.sep) + os.sep):
            return Path(os.path.relpath(absolute, base)).as_posix()
    return Path(os.path.normpath(path)).as_posix()


def _glob_variants(pattern: str) -> List[str]:
    """fnmatch's `*` already crosses `/`; `**/` must also match no folder at all
    (`tests/**/*.py` covers `tests/a.py`), so expand each `**/` both ways."""
    variants = [pattern]
    while any("**/" in v for v in variants):
        expanded = []
        for v in variants:
            if "**/" in v:
                head, tail = v.split("**/", 1)
                expanded += [head + "*/" + tail, head + tail]
            else:
                expanded.append(v)
        variants = expanded
    return variants


def path_matches(path: str, patterns: Sequence[str], root: Path) -> bool:
    """Whether `path` matches one of `patterns` (exclude, per-file-ignores).

    A pattern without a slash matches any path component, so a file or a folder name
    (as in .gitignore; flake8 matches the file name); one with a slash matches the path
    relative to the config's folder, or anything under it when it names a folder."""
    if not patterns:
        return False
    relative = project_relative(path, root)
    parts = relative.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" in pattern:
            if pattern.startswith("./"):
                pattern = pattern[2:]
            for variant in _glob_variants(pattern):
                if fnmatch.fnmatchcase(relative, variant) or fnmatch.fnmatchcase(relative, variant + "/*"):
                    return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in parts):
            return True
    return False


def excluded(path: str, settings: Settings) -> bool:
    return path_matches(path, (*settings.exclude, *settings.extend_exclude), settings.root)


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


IGNORE_FILES = (".gitignore", ".ignore")


class _Ignores:
    """The ignore files met on the way down (and above the walk's top, up to the
    repository's root), matched with git's rules by pathspec: the deepest file that
    has a say decides, and within a file the last matching pattern (`!` re-includes)."""

    def __init__(self, top: str) -> None:
        self.specs: Dict[str, object] = {}  # absolute folder -> its GitIgnoreSpec
        top = os.path.abspath(top)
        self.load(top)
        ancestors = []
        folder = top
        while True:
            if os.path.exists(os.path.join(folder, ".git")):
                break
            parent = os.path.dirname(folder)
            if parent == folder:  # not in a repository: the folders above are not the project's
                ancestors = []
                break
            ancestors.append(parent)
            folder = parent
        for parent in ancestors:
            self.load(parent)
        if ancestors or os.path.exists(os.path.join(folder, ".git")):
            if os.path.isfile(os.path.join(folder, ".git", "info", "exclude")):
                self.load(folder, extra=os.path.join(folder, ".git", "info", "exclude"))
        if ancestors and self.ignored(top, True):
            # the folder given is itself ignored (a checkout's `/versions/` holding the
            # interpreter that is linted): it was asked for, so what is above does not
            # count, as ripgrep and ruff do not apply a parent's ignore to the root
            self.specs = {k: v for k, v in self.specs.items() if k == top or k.startswith(top + os.sep)}

    def load(self, folder: str, extra: Optional[str] = None) -> None:
        lines: List[str] = []
        names = [extra] if extra else [os.path.join(folder, name) for name in IGNORE_FILES]
        for path in names:
            if not os.path.isfile(path):  # absent, a folder, or a FIFO that would block
                continue
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    lines += handle.read().splitlines()
            except OSError:
                continue
        if not lines:
            return
        spec = _gitignore_spec(lines)
        if folder in self.specs:  # .git/info/exclude: the root's .gitignore, later, wins over it
            spec = spec + self.specs[folder]
        self.specs[folder] = spec

    def ignored(self, path: str, is_dir: bool) -> bool:
        if not self.specs:
            return False
        absolute = os.path.abspath(path)
        folder = os.path.dirname(absolute)
        while True:
            spec = self.specs.get(folder)
            if spec is not None:
                relative = Path(os.path.relpath(absolute, folder)).as_posix() + ("/" if is_dir else "")
                include = spec.check_file(relative).include  # type: ignore[attr-defined]
                if include is not None:
                    return bool(include)
            parent = os.path.dirname(folder)
            if parent == folder:
                return False
            folder = parent


def _gitignore_spec(lines: List[str]) -> object:
    """The patterns of an ignore file; a line git would not understand (a lone `!` or
    `\\`) is skipped, as git skips it, rather than failing the run."""
    import pathspec  # only for trees that have ignore files

    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except Exception:  # pathspec's pattern errors (their class moved between versions)
        kept = []
        for line in lines:
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except Exception:
                continue
            kept.append(line)
        return pathspec.GitIgnoreSpec.from_lines(kept)


def _walk(top: str, settings: Settings, suffixes: Sequence[str]) -> Iterator[str]:
    ignores = _Ignores(top) if settings.respect_gitignore else None
    for folder, dirs, files in os.walk(top, followlinks=False):
        if ignores is not None and folder != top and any(name in files for name in IGNORE_FILES):
            ignores.load(os.path.abspath(folder))
        kept = []
        for name in sorted(dirs):
            full = os.path.join(folder, name)
            if name in SKIP_DIRS or name.endswith(".egg-info") or _is_virtualenv(full):
                continue
            if excluded(full, settings):
                continue
            if ignores is not None and ignores.ignored(full, True):
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if not name.endswith(tuple(suffixes)):
                continue
            full = os.path.join(folder, name)
            if os.path.islink(full):
                continue
            if excluded(full, settings):
                continue
            if ignores is not None and ignores.ignored(full, False):
                continue
            yield os.path.normpath(full)
