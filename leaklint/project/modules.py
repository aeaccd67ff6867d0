"""Which files make the project, and each one's module name.

A file's module name comes from its package root: the directories above it that hold
an `__init__.py` are its packages, and the first one that does not is the root (so
`src/` layouts need nothing special). A directory without `__init__.py` (a namespace
package) ends the walk too: the index then also finds its modules by the end of a
dotted name (see ProjectIndex._module_of).
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Iterable, List, Optional, Tuple


@lru_cache(maxsize=4096)
def _is_package_dir(folder: str) -> bool:
    return os.path.isfile(os.path.join(folder, "__init__.py"))


def module_name(path: str) -> Tuple[str, bool]:
    """(dotted module name, whether it is a package's `__init__`) of a file; ("", False)
    for what has no module name (stdin, a notebook)."""
    if path == "-" or not path.endswith(".py"):
        return "", False
    path = os.path.abspath(path)
    folder, filename = os.path.split(path)
    stem = filename[:-3]
    is_package = stem == "__init__"
    parts: List[str] = [] if is_package else [stem]
    while _is_package_dir(folder):
        folder, name = os.path.split(folder)
        parts.append(name)
        if not name:
            break
    parts.reverse()
    if not all(part.isidentifier() for part in parts):
        return "", False
    return ".".join(parts), is_package


def package_top(path: str) -> Optional[str]:
    """The top-level package folder holding `path` (a file or folder), if any."""
    path = os.path.abspath(path)
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    top = None
    while _is_package_dir(folder):
        top = folder
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return top


def project_roots(paths: Iterable[str]) -> List[str]:
    """The folders whose files make the project besides the paths given: the top-level
    packages of the given files and folders."""
    tops = []
    for path in paths:
        if path == "-":
            continue
        top = package_top(path)
        if top is not None and top not in tops:
            tops.append(top)
    return tops
