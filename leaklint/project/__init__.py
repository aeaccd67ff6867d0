"""The project index: per-file summaries of what crosses function and module boundaries
(factories, resource-owning classes, releases in base classes, attributes set
elsewhere), built before the rules run and read by them through `FileContext.project`.
Data flows one way: index -> engine -> rules. See docs/project-index.md."""
from __future__ import annotations

import ast
from typing import Any, Dict, Optional

from leaklint.project.index import Made, ModuleView, ProjectIndex
from leaklint.project.modules import module_name, project_roots
from leaklint.project.summary import summarize

__all__ = ["Made", "ModuleView", "ProjectIndex", "module_name", "project_roots", "summarize", "summary_of",
           "summarize_text", "summarize_tree", "local_view"]

_RELEASE_NAMES: Dict[int, frozenset] = {}


def release_names(knowledge: Any) -> frozenset:
    """Every method name that releases some resource: what a summary records on `self.x`."""
    key = id(knowledge)
    found = _RELEASE_NAMES.get(key)
    if found is None:
        from leaklint.knowledge import resources as table

        names = set(table.GENERIC_RELEASE)
        for specs in knowledge.resources.values():
            for spec in specs:
                names.update(spec.release)
        for spec in table.METHOD_RESOURCES.values():
            names.update(spec.release)
        found = _RELEASE_NAMES[key] = frozenset(names)
    return found


def summary_of(ast_file: Any, path: str) -> Optional[Dict[str, Any]]:
    """The summary of a file whose tree the sieve has read (a sieve.AstFile)."""
    module, is_package = module_name(path)
    module = module or "__main__"  # stdin, or a file outside any importable name
    try:
        return summarize(ast_file.tree, module, is_package, ast_file.by_type, ast_file.parents,
                         release_names(ast_file.knowledge))
    except (RecursionError, MemoryError):
        return None


def summarize_text(text: str, path: str, settings: Any) -> Optional[Dict[str, Any]]:
    """Parse and summarize a file the rules do not need to see (None: it does not parse)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return summarize_tree(tree, text, path, settings)


def summarize_tree(tree: ast.Module, text: str, path: str, settings: Any) -> Optional[Dict[str, Any]]:
    """The summary of a file parsed already (None when it cannot be taken)."""
    from leaklint.sieve import AstFile

    try:
        return summary_of(AstFile(tree, text, settings, settings.knowledge()), path)
    except Exception:  # a summary that fails (a bug) costs the index a file's facts, never the run
        return None


def local_view(summary: Optional[Dict[str, Any]], path: str, knowledge: Any,
               root: Optional[str] = None) -> Optional[ModuleView]:
    """The index of one file on its own: what flake8, stdin and the CLI's first pass see."""
    if summary is None:
        return None
    module, is_package = module_name(path)
    index = ProjectIndex({summary["module"]: summary}, {summary["module"]: path}, knowledge, root)
    return ModuleView(index, summary["module"], is_package)
