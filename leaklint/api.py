"""The one path every front end takes: paths -> files -> results.

The CLI, the flake8 plugin and the tests all call these functions."""
from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Iterable, List, Optional, Union

from leaklint import notebook
from leaklint.config import Settings, expand_codes
from leaklint.discovery import STDIN, discover
from leaklint.engine import FileResult, SourceFile, lint_bytes, lint_text, report_unreadable


def lint_source(source: Union[str, bytes], path: str, settings: Settings) -> FileResult:
    """Lint source given in memory; `path` is only reported (and matched against
    per-file-ignores)."""
    if path.endswith(notebook.SUFFIX):
        result = notebook.lint_notebook(source, path, settings)
    elif isinstance(source, bytes):
        result = lint_bytes(source, path, settings)
    else:
        result = lint_text(SourceFile(path, source), settings)
    return _apply_per_file_ignores(result, settings)


def lint_file(path: str, settings: Settings) -> FileResult:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return report_unreadable(path, exc, settings)
    return lint_source(data, path, settings)


def lint_paths(paths: Iterable[str], settings: Settings, stdin: Optional[bytes] = None,
               stdin_filename: Optional[str] = None) -> List[FileResult]:
    """Lint every file under `paths`, in a stable order. `-` stands for `stdin`."""
    results: List[FileResult] = []
    for path in discover(paths, settings):
        if path == STDIN:
            results.append(lint_source(stdin or b"", stdin_filename or STDIN, settings))
        else:
            results.append(lint_file(path, settings))
    return results


def _apply_per_file_ignores(result: FileResult, settings: Settings) -> FileResult:
    if not settings.per_file_ignores or not result.diagnostics:
        return result
    ignored = set()
    for pattern, codes in settings.per_file_ignores:
        if _path_matches(result.path, pattern, settings.root):
            ignored |= expand_codes(codes)
    if ignored:
        result.diagnostics = [d for d in result.diagnostics if d.code not in ignored]
    return result


def _path_matches(path: str, pattern: str, root: Path) -> bool:
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(root.resolve()).as_posix()
    except ValueError:
        relative = absolute.as_posix()
    if "/" not in pattern:
        return fnmatch.fnmatchcase(absolute.name, pattern)
    return fnmatch.fnmatchcase(relative, pattern.lstrip("./"))
