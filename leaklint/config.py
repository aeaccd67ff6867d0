"""`[tool.leaklint]` in the nearest pyproject.toml: loading, validation, rule selection.

Every key is declared once in KEYS with its validator and default; the docs page on
configuration and the validator both read that table.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(Exception):
    """A configuration problem; `str()` is the one line the CLI prints."""

    def __init__(self, path: Optional[os.PathLike], key: Optional[str], reason: str) -> None:
        self.path = path
        self.key = key
        self.reason = reason
        where = str(path) if path else "configuration"
        if key:
            where += f": [tool.leaklint] {key}"
        super().__init__(f"{where}: {reason}")


# --- validators: each returns the cleaned value or raises ValueError(reason) ---------

def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a positive integer, got {_type_name(value)}")
    if value <= 0:
        raise ValueError(f"expected a positive integer, got {value}")
    return value


def _str_list(value: Any) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of strings, got {_type_name(value)}")
    return list(value)


def _code_list(value: Any) -> List[str]:
    codes = _str_list(value)
    for code in codes:
        check_code_prefix(code)
    return codes


def _globs(value: Any) -> List[str]:
    globs = _str_list(value)
    for pattern in globs:
        _check_glob(pattern)
    return globs


def _check_glob(pattern: str) -> None:
    if not pattern.strip():
        raise ValueError("empty glob pattern")
    if pattern.count("[") != pattern.count("]"):
        raise ValueError(f"glob {pattern!r} has an unclosed '['")


def _per_file_ignores(value: Any) -> Dict[str, List[str]]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a table of glob = [codes], got {_type_name(value)}")
    out = {}
    for pattern, codes in value.items():
        _check_glob(pattern)
        try:
            out[pattern] = _code_list(codes)
        except ValueError as exc:
            raise ValueError(f"{pattern!r}: {exc}") from None
    return out


def _dotted(name: str) -> None:
    parts = name.split(".")
    if not all(p.isidentifier() for p in parts):
        raise ValueError(f"{name!r} is not a dotted name such as 'package.module.Class'")


def _unbounded_list(where: str, value: Any) -> List[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: 'unbounded' must be a list, got {_type_name(value)}")
    for item in value:
        ok = (isinstance(item, (int, float)) and not isinstance(item, bool)) or item in ("None", "inf")
        if not ok:
            raise ValueError(f"{where}: 'unbounded' values are numbers, \"None\" or \"inf\", got {item!r}")
    return value


def _table_of_tables(value: Any, allowed: Dict[str, Tuple[type, ...]], required: Sequence[str]) -> Dict[str, Dict[str, Any]]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a table of \"dotted.name\" = {{ ... }}, got {_type_name(value)}")
    out: Dict[str, Dict[str, Any]] = {}
    for name, entry in value.items():
        _dotted(name)
        if not isinstance(entry, dict):
            raise ValueError(f"{name!r}: expected an inline table, got {_type_name(entry)}")
        for key, item in entry.items():
            if key not in allowed:
                raise ValueError(f"{name!r}: unknown key {key!r} (expected one of {', '.join(sorted(allowed))})")
            if key == "unbounded":
                _unbounded_list(repr(name), item)
            elif isinstance(item, bool) or not isinstance(item, allowed[key]):
                raise ValueError(f"{name!r}: {key!r} has the wrong type ({_type_name(item)})")
            if key in ("position", "channel-arg", "max") and isinstance(item, int) and item < 0:
                raise ValueError(f"{name!r}: {key!r} must not be negative")
        for key in required:
            if key not in entry:
                raise ValueError(f"{name!r}: missing {key!r}")
        out[name] = dict(entry)
    return out


def _resources(value: Any) -> Dict[str, List[str]]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a table of \"dotted.name\" = [release methods], got {_type_name(value)}")
    for name, methods in value.items():
        _dotted(name)
        if not isinstance(methods, list) or not methods or not all(isinstance(m, str) and m.isidentifier() for m in methods):
            raise ValueError(f"{name!r}: expected a non-empty list of method names")
    return {k: list(v) for k, v in value.items()}


def _limits(value: Any) -> Dict[str, Dict[str, Any]]:
    return _table_of_tables(value, {"param": (str,), "position": (int,), "unbounded": (list,)}, ["param"])


def _subscriptions(value: Any) -> Dict[str, Dict[str, Any]]:
    return _table_of_tables(value, {"channel-arg": (int, str)}, [])


def _buffers(value: Any) -> Dict[str, Dict[str, Any]]:
    return _table_of_tables(
        value, {"param": (str,), "position": (int,), "unbounded": (list,), "max": (int,)}, ["param"]
    )


def _thresholds(value: Any) -> Dict[str, int]:
    # names are the LL4 settings leaklint knows (listed on the LL403 page); a typo is an error
    from leaklint.knowledge.buffers import THRESHOLD_SETTINGS

    if not isinstance(value, dict):
        raise ValueError(f"expected a table of \"setting\" = max, got {_type_name(value)}")
    for name, limit in value.items():
        if name not in THRESHOLD_SETTINGS:
            raise ValueError(f"unknown setting {name!r} (known: {', '.join(sorted(THRESHOLD_SETTINGS))})")
        try:
            _positive_int(limit)
        except ValueError as exc:
            raise ValueError(f"{name!r}: {exc}") from None
    return dict(value)


@dataclass(frozen=True)
class Key:
    name: str
    validate: Callable[[Any], Any]
    default: Any
    help: str


KEYS: Tuple[Key, ...] = (
    Key("select", _code_list, None, "Rule codes or prefixes to run instead of the default set (e.g. `[\"LL1\", \"LL201\"]`)."),
    Key("extend-select", _code_list, [], "Codes or prefixes to run in addition to the selected set (e.g. default-off `LL404`)."),
    Key("ignore", _code_list, [], "Codes or prefixes never to report."),
    Key("per-file-ignores", _per_file_ignores, {}, "Table of glob = [codes or prefixes] not reported in matching files (globs as in `exclude`)."),
    Key("exclude", _globs, [], "Globs of files and folders not to lint: a glob without `/` matches any file or folder name, one with `/` the path from the config's folder (`**/` is any number of folders). `.git`, virtualenvs, `build`, `dist`, `node_modules` and caches are always skipped."),
    Key("extend-exclude", _globs, [], "More globs not to lint, added to `exclude` (for a config that extends a shared one)."),
    Key("huge-threshold", _positive_int, 1_000_000, "An integer limit or size at or above this is treated as no limit."),
    Key("default-limit", _positive_int, 32, "The concurrency limit the LL101 fix writes."),
    Key("default-queue-size", _positive_int, 1000, "The `maxsize` the LL401/LL402 fixes write."),
    Key("default-cache-size", _positive_int, 128, "The `maxsize` the LL404 fix writes."),
    Key("resources", _resources, {}, "Table: callable = [release methods]. Teaches LL2 your own resources."),
    Key("limits", _limits, {}, "Table: callable = { param, position, unbounded }. Teaches LL101 your own limits."),
    Key("subscriptions", _subscriptions, {}, "Table: callable = { channel-arg }. Teaches LL3 your own subscription APIs."),
    Key("buffers", _buffers, {}, "Table: callable = { param, position, unbounded, max }. Teaches LL4 your own buffers."),
    Key("thresholds", _thresholds, {}, "Table: setting = max. Moves LL403's \"too large\" line for a built-in buffer setting (names on the LL403 page)."),
)
KEYS_BY_NAME = {k.name: k for k in KEYS}


def _known_codes() -> List[str]:
    # the codes alone, not the rule modules: config stays below the rules (no import circle)
    from leaklint.rules.codes import known_codes

    return list(known_codes())


def check_code_prefix(code: str) -> None:
    """Raise ValueError unless `code` is a rule code or a prefix of at least one."""
    if not any(known.startswith(code) for known in _known_codes()) or not code:
        raise ValueError(f"unknown rule code or prefix {code!r}")


def expand_codes(prefixes: Iterable[str]) -> FrozenSet[str]:
    known = _known_codes()
    out = set()
    for prefix in prefixes:
        out.update(c for c in known if c.startswith(prefix))
    return frozenset(out)


@dataclass(frozen=True)
class Settings:
    """The effective configuration of one run."""

    select: Optional[Tuple[str, ...]] = None
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    exclude: Tuple[str, ...] = ()
    extend_exclude: Tuple[str, ...] = ()
    huge_threshold: int = 1_000_000
    default_limit: int = 32
    default_queue_size: int = 1000
    default_cache_size: int = 128
    resources: Tuple[Tuple[str, Any], ...] = ()
    limits: Tuple[Tuple[str, Any], ...] = ()
    subscriptions: Tuple[Tuple[str, Any], ...] = ()
    buffers: Tuple[Tuple[str, Any], ...] = ()
    thresholds: Tuple[Tuple[str, int], ...] = ()
    config_path: Optional[Path] = field(default=None, compare=False)
    root: Path = field(default_factory=Path.cwd, compare=False)

    def enabled_codes(self) -> FrozenSet[str]:
        key = (self.select, self.extend_select, self.ignore)
        found = _enabled_cache.get(key)  # asked for every file: 0.2 ms each to expand
        if found is None:
            from leaklint.rules.codes import default_codes

            if self.select is None:
                base = set(default_codes())
            else:
                base = set(expand_codes(self.select))
            base |= expand_codes(self.extend_select)
            base -= expand_codes(self.ignore)
            found = _enabled_cache[key] = frozenset(base)
        return found

    def with_overrides(self, **changes: Any) -> "Settings":
        return replace(self, **changes)

    def knowledge(self):  # -> Knowledge; imported lazily to keep config import light
        from leaklint.knowledge import Knowledge

        return _knowledge_for(self.resources, self.limits, self.subscriptions, self.buffers, Knowledge)


_knowledge_cache: Dict[Tuple, Any] = {}
_enabled_cache: Dict[Tuple, FrozenSet[str]] = {}


def _knowledge_for(resources, limits, subscriptions, buffers, knowledge_cls):
    key = (resources, limits, subscriptions, buffers)
    cached = _knowledge_cache.get(key)
    if cached is None:
        cached = knowledge_cls.build(
            _thaw(resources), _thaw(limits), _thaw(subscriptions), _thaw(buffers)
        )
        _knowledge_cache[key] = cached
    return cached


def _freeze(value: Any) -> Any:
    """Hashable form of validated TOML data, so Settings can be a cache key."""
    if isinstance(value, dict):
        return tuple((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return ("__list__",) + tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        if value[:1] == ("__list__",):
            return [_thaw(v) for v in value[1:]]
        return {k: _thaw(v) for k, v in value}
    return value


def find_config(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml with a [tool.leaklint] table, from `start` upward."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            data = _read_toml(candidate)
            if isinstance(data.get("tool"), dict) and "leaklint" in data["tool"]:
                return candidate
    return None


def _read_toml(path: Path) -> Dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, f"invalid TOML: not UTF-8 ({exc.reason})") from None


def settings_from_table(table: Any, path: Optional[Path] = None, root: Optional[Path] = None) -> Settings:
    """Validate a `[tool.leaklint]` table (as parsed TOML) into Settings."""
    if not isinstance(table, dict):
        raise ConfigError(path, None, f"[tool.leaklint] must be a table, got {_type_name(table)}")
    values: Dict[str, Any] = {}
    for key, raw in table.items():
        spec = KEYS_BY_NAME.get(key)
        if spec is None:
            raise ConfigError(path, key, f"unknown key (known keys: {', '.join(k.name for k in KEYS)})")
        try:
            values[key] = spec.validate(raw)
        except ValueError as exc:
            raise ConfigError(path, key, str(exc)) from None
    kwargs: Dict[str, Any] = {}
    for key, value in values.items():
        attr = key.replace("-", "_")
        if key in ("select", "extend-select", "ignore", "exclude", "extend-exclude"):
            kwargs[attr] = tuple(value)
        elif key == "per-file-ignores":
            kwargs[attr] = tuple((k, tuple(v)) for k, v in value.items())
        elif key in ("resources", "limits", "subscriptions", "buffers", "thresholds"):
            kwargs[attr] = _freeze(value)
        else:
            kwargs[attr] = value
    base_root = root or (path.parent if path else Path.cwd())
    return Settings(config_path=path, root=base_root, **kwargs)


def load_settings(config: Optional[os.PathLike] = None, start: Optional[Path] = None) -> Settings:
    """Settings from `config` (a pyproject.toml or a leaklint TOML file), else from the
    nearest pyproject.toml with [tool.leaklint] upward of `start`; defaults if none."""
    if config is not None:
        path = Path(config)
        if not path.is_file():
            raise ConfigError(path, None, "config file not found")
        data = _read_toml(path)
        if path.name == "pyproject.toml":
            tool = data.get("tool", {})
            table = tool.get("leaklint", {}) if isinstance(tool, dict) else {}
        else:  # a standalone file: either [tool.leaklint] or top-level keys
            tool = data.get("tool")
            table = tool.get("leaklint", {}) if isinstance(tool, dict) else data
        return settings_from_table(table, path)
    start = (start or Path.cwd()).resolve()
    found = find_config(start)
    if found is None:
        return Settings(root=start)
    return settings_from_table(_read_toml(found)["tool"]["leaklint"], found)
