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
    if not isinstance(value, list):
        raise ValueError(f"expected a list of strings, got {_type_name(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ValueError(f"expected a list of strings, got {_type_name(item)} at index {index} ({item!r})")
    return list(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_type_name(value)}")
    return value


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


check_glob = _check_glob  # for the command line's globs


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
    Key("respect-gitignore", _bool, True, "Skip the files and folders that `.gitignore` and `.ignore` files ignore when walking folders (`--no-respect-gitignore` on the command line)."),
    Key("peer-noqa", _bool, True, "A `# noqa` naming a peer linter's code for the same check (ruff's `RUF006` for LL205, ...) silences the LL code too; see the table below."),
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


# The keys whose value a fix writes into the code, and so must not be what the rules
# themselves call unbounded (`huge-threshold`): else --fix would write a new finding.
FIX_VALUES = ("default-limit", "default-queue-size", "default-cache-size")


@dataclass(frozen=True)
class Selection:
    """One layer of rule selection (the configuration's, then the command line's), as
    ruff chains them: a layer with `select` starts again from it, dropping the earlier
    layers' choices; a layer without only adds (`extend_select`) and removes (`ignore`)."""

    select: Optional[Tuple[str, ...]] = None
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()


def _resolve(layers: Sequence[Selection], defaults: FrozenSet[str], always: FrozenSet[str] = frozenset()) -> FrozenSet[str]:
    """The codes the layers enable, starting from `defaults`. Within a layer the more
    specific prefix wins (`select LL2` with `ignore LL205` keeps LL201; `ignore LL2`
    with `select LL205` keeps LL205), and `ignore` wins between equals, as in ruff.
    `always`: codes every `select` counts as selected (LL001, which is reported
    whatever is selected unless ignored)."""
    enabled = set(defaults)
    for layer in layers:
        updates: Dict[str, bool] = {}
        chosen = [*(layer.select or ()), *layer.extend_select]
        for length in sorted({len(c) for c in (*chosen, *layer.ignore)}):
            for prefix in chosen:
                if len(prefix) == length:
                    updates.update(dict.fromkeys(expand_codes((prefix,)), True))
            for prefix in layer.ignore:
                if len(prefix) == length:
                    updates.update(dict.fromkeys(expand_codes((prefix,)), False))
        if layer.select is not None:
            enabled = set(always)
            for code in always:  # as the least specific selection of all
                updates.setdefault(code, True)
        for code, on in updates.items():
            if on:
                enabled.add(code)
            else:
                enabled.discard(code)
    return frozenset(enabled)


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
    peer_noqa: bool = True
    # the command line's --select/--extend-select/--ignore, applied after the config's
    cli_selection: Optional[Selection] = None
    respect_gitignore: bool = field(default=True, compare=False)  # which files, not their results
    config_path: Optional[Path] = field(default=None, compare=False)
    root: Path = field(default_factory=Path.cwd, compare=False)

    def _layers(self) -> Tuple[Selection, ...]:
        config = Selection(self.select, self.extend_select, self.ignore)
        return (config,) if self.cli_selection is None else (config, self.cli_selection)

    def enabled_codes(self) -> FrozenSet[str]:
        key = (self.select, self.extend_select, self.ignore, self.cli_selection)
        found = _enabled_cache.get(key)  # asked for every file: 0.2 ms each to expand
        if found is None:
            from leaklint.rules.codes import default_codes

            found = _enabled_cache[key] = _resolve(self._layers(), default_codes())
        return found

    def reports_parse_errors(self) -> bool:
        """LL001 is reported whatever is selected, unless an `ignore` turns it off."""
        key = ("LL001", self.select, self.extend_select, self.ignore, self.cli_selection)
        found = _enabled_cache.get(key)
        if found is None:
            always = frozenset({"LL001"})
            found = _enabled_cache[key] = _resolve(self._layers(), always, always)
        return "LL001" in found

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
    settings = Settings(config_path=path, root=base_root, **kwargs)
    check_fix_values(settings, path, set(values))
    return settings


def check_fix_values(settings: Settings, path: Optional[Path] = None, given: Iterable[str] = FIX_VALUES) -> None:
    """Refuse a fix value the rules would call unbounded: `--fix` would write a new
    finding in place of the old one and never settle. `given`: the keys the
    configuration set (the error names the one to change)."""
    given = set(given)
    for key in FIX_VALUES:
        value = getattr(settings, key.replace("-", "_"))
        if value >= settings.huge_threshold:
            blamed = key if key in given or "huge-threshold" not in given else "huge-threshold"
            raise ConfigError(
                path, blamed,
                f"{key} = {value} is at or above huge-threshold = {settings.huge_threshold}: the fix would write "
                f"a value leaklint itself reports as unbounded, and --fix would never settle; set {key} below "
                f"huge-threshold (or raise huge-threshold)",
            )


def load_settings(config: Optional[os.PathLike] = None, start: Optional[Path] = None) -> Settings:
    """Settings from `config` (a pyproject.toml or a leaklint TOML file), else from the
    nearest pyproject.toml with [tool.leaklint] upward of `start`; defaults if none."""
    if config is not None:
        return _load_file(Path(config))
    start = (start or Path.cwd()).resolve()
    found = find_config(start)
    if found is None:
        return Settings(root=start)
    return _load_file(found)


def _load_file(path: Path) -> Settings:
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


class ConfigFinder:
    """The settings of each linted path, as ruff finds them: with `--config`, that file
    for every path; else the nearest pyproject.toml with a [tool.leaklint] table upward
    of the path itself (a file's folder, or the folder); else the one found upward of
    the current folder; else the defaults, rooted in the current folder. Each file is
    read once."""

    def __init__(self, config: Optional[os.PathLike] = None, cwd: Optional[Path] = None) -> None:
        self.config = Path(config) if config is not None else None
        self.cwd = (cwd or Path.cwd()).resolve()
        self._files: Dict[Optional[Path], Settings] = {}
        self._folders: Dict[Path, Optional[Path]] = {}
        self._fallback: Optional[Settings] = None

    def fallback(self) -> Settings:
        """The settings of the current folder (and of a path with no config of its own)."""
        if self._fallback is None:
            found = self.config if self.config is not None else self._find(self.cwd)
            self._fallback = self._load(found) if found is not None else Settings(root=self.cwd)
        return self._fallback

    def for_path(self, path: str) -> Settings:
        if self.config is not None:
            return self.fallback()
        absolute = Path(os.path.abspath(path))
        folder = absolute if absolute.is_dir() else absolute.parent
        found = self._find(folder)
        return self._load(found) if found is not None else self.fallback()

    def _find(self, folder: Path) -> Optional[Path]:
        """find_config, remembering every folder on the way up (a walk asks for each)."""
        found = self._folders.get(folder, False)
        if found is not False:
            return found  # type: ignore[return-value]
        climbed = []
        result: Optional[Path] = None
        for current in (folder, *folder.parents):
            known = self._folders.get(current, False)
            if known is not False:
                result = known  # type: ignore[assignment]
                break
            climbed.append(current)
            candidate = current / "pyproject.toml"
            if candidate.is_file():
                data = _read_toml(candidate)
                if isinstance(data.get("tool"), dict) and "leaklint" in data["tool"]:
                    result = candidate
                    break
        for current in climbed:
            self._folders[current] = result
        return result

    def _load(self, path: Path) -> Settings:
        if path not in self._files:
            self._files[path] = _load_file(path)
        return self._files[path]
