"""The API knowledge the rules consult, merged with the user's `[tool.leaklint.*]` tables.

Each table lives in its own module (limits, resources, subscriptions, buffers, tasks) as
plain data; rules never hard-code API names. Names are qualified names as the resolver
produces them (`asyncio.Semaphore`), including the re-exported spellings users write.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from leaklint.knowledge import buffers as _buffers
from leaklint.knowledge import limits as _limits
from leaklint.knowledge import resources as _resources
from leaklint.knowledge import subscriptions as _subscriptions
from leaklint.knowledge import tasks as _tasks
from leaklint.knowledge.specs import BufferParam, LimitParam, ResourceSpec, SubscriptionSpec

__all__ = ["Knowledge", "LimitParam", "ResourceSpec", "SubscriptionSpec", "BufferParam", "last_component"]


def last_component(qualified: str) -> str:
    return qualified.rsplit(".", 1)[-1]


def _index(specs: Iterable[Any]) -> Dict[str, Tuple[Any, ...]]:
    table: Dict[str, List[Any]] = {}
    for spec in specs:
        table.setdefault(spec.callable, []).append(spec)
    return {k: tuple(v) for k, v in table.items()}


def _unbounded_values(raw: Iterable[Any]) -> Tuple[Any, ...]:
    out: List[Any] = []
    for value in raw:
        if isinstance(value, str):
            if value == "None":
                out.append(None)
            elif value.lower() in ("inf", "infinity"):
                out.append(float("inf"))
        else:
            out.append(value)
    return tuple(out)


def _dotted(value: Any, out: set, depth: int = 0) -> None:
    """Every dotted name in a table (strings, tuples, sets, dict keys and values, specs'
    `callable`)."""
    if depth > 4:
        return
    if isinstance(value, str):
        if "." in value and " " not in value and not value.startswith("."):
            out.add(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _dotted(key, out, depth + 1)
            _dotted(item, out, depth + 1)
    elif isinstance(value, (tuple, list, set, frozenset)):
        for item in value:
            _dotted(item, out, depth + 1)
    elif hasattr(value, "callable"):
        _dotted(value.callable, out, depth + 1)


def register_builtin_names() -> None:
    _register_known(())


def _register_known(extra: Iterable[Any]) -> None:
    """Tell the resolver which spellings the tables hold (scopes.KNOWN_NAMES)."""
    from leaklint.analysis import scopes
    from leaklint.knowledge import spawns as _spawns

    names: set = set()
    for module in (_buffers, _limits, _resources, _subscriptions, _tasks, _spawns):
        for attr, value in vars(module).items():
            if attr.isupper() or attr.lstrip("_").isupper():
                _dotted(value, names)
    _dotted(list(extra), names)
    scopes.KNOWN_NAMES.update(names)


@dataclass
class Knowledge:
    """All tables, built-in plus user-declared."""

    limits: Dict[str, Tuple[LimitParam, ...]] = field(default_factory=dict)
    resources: Dict[str, Tuple[ResourceSpec, ...]] = field(default_factory=dict)
    subscriptions: Dict[str, Tuple[SubscriptionSpec, ...]] = field(default_factory=dict)
    buffers: Dict[str, Tuple[BufferParam, ...]] = field(default_factory=dict)
    task_factories: frozenset = frozenset()
    loop_task_methods: frozenset = frozenset()
    _short: Dict[str, frozenset] = field(default_factory=dict, repr=False)
    _by_last: Dict[str, Dict[str, Tuple[Any, ...]]] = field(default_factory=dict, repr=False)

    def short_names(self, table: str) -> frozenset:
        """Last components of the callables in a table (`limits`, `resources`, ...):
        what a call's name must end with to be worth resolving."""
        names = self._short.get(table)
        if names is None:
            names = frozenset(last_component(name) for name in getattr(self, table))
            self._short[table] = names
        return names

    def by_last_name(self, table: str) -> Dict[str, Tuple[Any, ...]]:
        """A table's rows by the last component of their callable (several callables
        may share one: `asyncio.Semaphore`, `threading.Semaphore`)."""
        rows = self._by_last.get(table)
        if rows is None:
            grouped: Dict[str, List[Any]] = {}
            for name, specs in getattr(self, table).items():
                grouped.setdefault(last_component(name), []).extend(specs)
            rows = self._by_last[table] = {name: tuple(specs) for name, specs in grouped.items()}
        return rows

    @classmethod
    def build(
        cls,
        user_resources: Optional[Dict[str, Any]] = None,
        user_limits: Optional[Dict[str, Any]] = None,
        user_subscriptions: Optional[Dict[str, Any]] = None,
        user_buffers: Optional[Dict[str, Any]] = None,
    ) -> "Knowledge":
        """Built-in tables plus the (already validated) user tables."""
        limits = list(_limits.LIMITS)
        for name, entry in (user_limits or {}).items():
            limits.append(
                LimitParam(
                    name,
                    entry["param"],
                    entry.get("position"),
                    unbounded=_unbounded_values(entry.get("unbounded", ())),
                    note="declared in [tool.leaklint.limits]",
                )
            )
        resources = list(_resources.RESOURCES) + [
            ResourceSpec(name, tuple(release), note="declared in [tool.leaklint.resources]")
            for name, release in (user_resources or {}).items()
        ]
        subscriptions = list(_subscriptions.SUBSCRIPTIONS) + [
            SubscriptionSpec(name, channel_arg=entry.get("channel-arg"), note="declared in [tool.leaklint.subscriptions]")
            for name, entry in (user_subscriptions or {}).items()
        ]
        buffers = list(_buffers.BUFFERS) + [
            BufferParam(
                name,
                entry["param"],
                entry.get("position"),
                unbounded=_unbounded_values(entry.get("unbounded", ())),
                maximum=entry.get("max"),
                note="declared in [tool.leaklint.buffers]",
            )
            for name, entry in (user_buffers or {}).items()
        ]
        _register_known((limits, resources, subscriptions, buffers))
        return cls(
            limits=_index(limits),
            resources=_index(resources),
            subscriptions=_index(subscriptions),
            buffers=_index(buffers),
            task_factories=frozenset(_tasks.TASK_FACTORIES),
            loop_task_methods=frozenset(_tasks.LOOP_TASK_METHODS),
        )
