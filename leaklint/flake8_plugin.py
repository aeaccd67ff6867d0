"""flake8 adapter: runs the same engine as the CLI; no rule logic lives here.

flake8 decides which codes are shown (`select`, `ignore`, `extend-default-ignore` for
default-off rules, `# noqa`, `per-file-ignores`); the plugin runs every rule. The API
tables and thresholds come from `[tool.leaklint]` in the nearest pyproject.toml,
overridden by the `--leaklint-*` options. Syntax errors are flake8's (E999): the plugin
never reports LL001. flake8 gives one file at a time: the project index is the one the
last `leaklint check` cached under the project root, else the file's own facts.
"""
from __future__ import annotations

import argparse
import ast
from typing import Any, Iterator, Optional, Tuple

from leaklint import __version__
from leaklint.config import ConfigError, Settings, check_fix_values, load_settings
from leaklint.engine import PARSE_ERROR, SourceFile, lint_text
from leaklint.rules import all_rules

_OPTIONS = (
    # (flake8 option, Settings attribute, help)
    ("--leaklint-huge-threshold", "huge_threshold", "an integer limit or size at or above this is no limit"),
    ("--leaklint-default-limit", "default_limit", "the concurrency limit suggested by LL101"),
    ("--leaklint-default-queue-size", "default_queue_size", "the maxsize suggested by LL401/LL402"),
    ("--leaklint-default-cache-size", "default_cache_size", "the maxsize suggested by LL404"),
)


class Plugin:
    name = "leaklint"
    version = __version__
    _settings: Optional[Settings] = None
    _index: Optional[Tuple[Any]] = None  # (the cached project index or None,), once read

    def __init__(self, tree: Any, lines: list, filename: str) -> None:
        # `tree` makes flake8 run this as an AST plugin (after its own syntax check);
        # the engine asks it where the rules' candidates are, then parses those with libcst
        self.tree = tree
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, option_manager: Any) -> None:
        for flag, _attr, help_text in _OPTIONS:
            option_manager.add_option(flag, type=int, default=None, parse_from_config=True, help=help_text)
        option_manager.add_option(
            "--leaklint-config", default=None, parse_from_config=True,
            help="pyproject.toml whose [tool.leaklint] tables to use (default: the nearest one)",
        )
        off = [rule.code for rule in all_rules() if not rule.default]
        if off:
            option_manager.extend_default_ignore(off)

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        try:
            settings = load_settings(getattr(options, "leaklint_config", None))
        except ConfigError as exc:
            from flake8.exceptions import ExecutionError

            raise ExecutionError(f"leaklint: {exc}") from None
        changes = {}
        for flag, attr, _help in _OPTIONS:
            value = getattr(options, flag.lstrip("-").replace("-", "_"), None)
            if value is not None:
                if value <= 0:
                    from flake8.exceptions import ExecutionError

                    raise ExecutionError(f"leaklint: {flag} must be a positive integer, got {value}")
                changes[attr] = value
        # flake8 filters codes itself, so every default rule runs here. A default-off rule
        # runs only when named more precisely than the plugin's own prefix: flake8 lets an
        # explicit `--extend-select LL` beat the default ignore, which would turn on LL404
        # for everyone who adds leaklint to a restricted `select`
        named = [str(c).strip().upper() for c in [*(getattr(options, "select", None) or ()),
                                                  *(getattr(options, "extend_select", None) or ())]]
        off = tuple(rule.code for rule in all_rules()
                    if not rule.default and not any(len(n) > 2 and rule.code.startswith(n) for n in named))
        settings = settings.with_overrides(select=("LL",), ignore=off, extend_select=(), **changes)
        try:  # a fix value the rules call unbounded, now that the options are applied
            check_fix_values(settings, settings.config_path, {attr.replace("_", "-") for attr in changes})
        except ConfigError as exc:
            from flake8.exceptions import ExecutionError

            raise ExecutionError(f"leaklint: --leaklint-{exc.key}: {exc.reason}") from None
        cls._settings = settings

    @classmethod
    def _project(cls, settings: Settings) -> Optional[Any]:
        """The project index from the summaries `leaklint check` cached under the project
        root, read once per process; None (the file's own facts) without one."""
        if cls._index is None:
            from leaklint.api import cached_index

            found = cached_index(settings)
            cls._index = (found,)
        return cls._index[0]

    def run(self) -> Iterator[Tuple[int, int, str, type]]:
        settings = type(self)._settings or Settings(select=("LL",))
        # flake8 runs AST plugins only on files CPython parsed: no need to parse again
        tree = self.tree if isinstance(self.tree, ast.Module) else None
        result = lint_text(SourceFile(self.filename, "".join(self.lines)), settings, cpython_parsed=True, tree=tree,
                           project=type(self)._project(settings))
        for d in result.diagnostics:
            if d.code == PARSE_ERROR:
                continue
            yield d.line, d.column - 1, f"{d.code} {d.message}", type(self)
